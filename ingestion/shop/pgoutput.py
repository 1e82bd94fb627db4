"""A decoder of PostgreSQL's built-in ``pgoutput`` logical replication messages (protocol 1).

The shop's CDC mode reads its changes with ``pg_logical_slot_peek_binary_changes`` (plain SQL,
so psycopg 3 suffices: it has no client for the streaming replication protocol). Each row of
that function is one binary message; this module turns them into change events. Values arrive
in PostgreSQL's text output format, the same text ``COPY ... (format csv)`` writes, so the
changes and the snapshot are parsed into Arrow by the same code (``helpers.parse_csv``).

Message layouts: https://www.postgresql.org/docs/16/protocol-logicalrep-message-formats.html
(protocol version 1: no streamed transactions, no binary values).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# pgoutput's timestamps count microseconds from 2000-01-01 00:00 UTC.
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Unchanged:
    """A TOASTed value an UPDATE left as it was: pgoutput does not send it again."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()
Value = bytes | None | Unchanged


class DecodeError(ValueError):
    """A message this decoder does not understand (another protocol version or plugin)."""


@dataclass(frozen=True)
class Relation:
    """A table as pgoutput describes it before its first change in a decoding session."""

    oid: int
    namespace: str
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One row change: ``kind`` is ``insert``, ``update`` or ``delete``; ``values`` are the new
    row (insert, update) or the replica identity key (delete), in the relation's columns."""

    kind: str
    relation: Relation
    values: list[Value]


@dataclass(frozen=True)
class Truncate:
    """A TRUNCATE of one or more published tables."""

    relations: tuple[Relation, ...]


@dataclass(frozen=True)
class Begin:
    """The start of a transaction, with its commit time (the changes' ``detected_at``)."""

    commit_time: datetime


Event = Change | Truncate | Begin


class Decoder:
    """Decode a session's pgoutput messages in order; it remembers the Relation messages,
    which the later changes refer to by table OID."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}

    def decode(self, message: bytes) -> Event | None:
        """The event a message carries, or None for bookkeeping (relation, commit, origin,
        type, logical message)."""
        kind = message[:1]
        if kind == b"I":
            relation = self._relation(message, 1)
            values, _ = tuple_data(message, 6)  # after the relation OID and the 'N' marker
            return Change("insert", relation, values)
        if kind == b"U":
            relation = self._relation(message, 1)
            offset = 5
            if message[offset : offset + 1] in (b"K", b"O"):  # the old key or row: skip it
                _, offset = tuple_data(message, offset + 1)
            values, _ = tuple_data(message, offset + 1)
            return Change("update", relation, values)
        if kind == b"D":
            relation = self._relation(message, 1)
            values, _ = tuple_data(message, 6)  # after the 'K' (key) or 'O' (old row) marker
            return Change("delete", relation, values)
        if kind == b"B":
            (micros,) = struct.unpack_from("!q", message, 9)
            return Begin(POSTGRES_EPOCH + timedelta(microseconds=micros))
        if kind == b"R":
            self._add_relation(message)
            return None
        if kind == b"T":
            (count,) = struct.unpack_from("!i", message, 1)
            oids = struct.unpack_from(f"!{count}I", message, 6)
            return Truncate(tuple(self.relations[oid] for oid in oids))
        if kind in (b"C", b"O", b"Y", b"M"):
            return None
        raise DecodeError(f"unknown pgoutput message type {kind!r}")

    def _relation(self, message: bytes, offset: int) -> Relation:
        (oid,) = struct.unpack_from("!I", message, offset)
        try:
            return self.relations[oid]
        except KeyError:
            raise DecodeError(f"change for relation {oid} before its Relation message") from None

    def _add_relation(self, message: bytes) -> None:
        (oid,) = struct.unpack_from("!I", message, 1)
        namespace, offset = cstring(message, 5)
        name, offset = cstring(message, offset)
        offset += 1  # replica identity setting
        (count,) = struct.unpack_from("!h", message, offset)
        offset += 2
        columns = []
        for _ in range(count):
            column, offset = cstring(message, offset + 1)  # after the flags byte
            offset += 8  # type OID and modifier: the types come from the catalog instead
            columns.append(column)
        self.relations[oid] = Relation(oid, namespace, name, tuple(columns))


def cstring(message: bytes, offset: int) -> tuple[str, int]:
    """A NUL-terminated string at ``offset``, and the offset after it."""
    end = message.index(b"\x00", offset)
    return message[offset:end].decode(), end + 1


def tuple_data(message: bytes, offset: int) -> tuple[list[Value], int]:
    """The values of a TupleData at ``offset`` (None for NULL, UNCHANGED for an unchanged
    TOASTed value, else the text bytes), and the offset after it."""
    (count,) = struct.unpack_from("!h", message, offset)
    offset += 2
    values: list[Value] = []
    for _ in range(count):
        kind = message[offset]
        offset += 1
        if kind == 0x74:  # 't': text
            (length,) = struct.unpack_from("!i", message, offset)
            offset += 4
            values.append(message[offset : offset + length])
            offset += length
        elif kind == 0x6E:  # 'n': null
            values.append(None)
        elif kind == 0x75:  # 'u': unchanged TOASTed value
            values.append(UNCHANGED)
        else:
            raise DecodeError(f"unknown tuple value kind {chr(kind)!r} (binary values?)")
    return values, offset
