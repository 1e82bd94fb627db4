"""The shop's decoded changes of one run, gathered per table and turned into Arrow batches.

The changes of a run are applied with dlt's merge on ``id``, which must see each key once per
load (the merge skips deduplicating: a window over every staged row costs a third of a load).
So the rows are gathered by key, the last change winning in commit order, as one CSV line
each: the values are already PostgreSQL's text output, and the same pyarrow CSV parser as the
snapshot's COPY turns them into the same Arrow types. No Python object per value survives the
decode, and memory holds one line per changed row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import pyarrow as pa

from .helpers import batches, deletions, parse_csv
from .pgoutput import UNCHANGED, Begin, Change, Relation, Truncate, Value
from .settings import PRIMARY_KEY

Columns = tuple[str, ...]


def csv_line(values: Iterable[Value]) -> bytes:
    """One CSV record in COPY's dialect: NULL an unquoted empty field, every value quoted."""
    return (
        b",".join(
            b"" if value is None or value is UNCHANGED else b'"' + value.replace(b'"', b'""') + b'"'
            for value in values
        )
        + b"\n"
    )


class ChangeSet:
    """A run's changes, per table: the latest row of each inserted or updated key, the keys
    deleted (with their commit time), the tables truncated, and the keys whose update left a
    TOASTed value out (re-read from the table: pgoutput does not resend unchanged values)."""

    def __init__(self, schema: str, tables: Iterable[str]) -> None:
        self.schema = schema
        self.rows: dict[str, dict[int, tuple[Columns, bytes]]] = {t: {} for t in tables}
        self.deleted: dict[str, dict[int, datetime]] = {t: {} for t in self.rows}
        self.truncated: dict[str, datetime] = {}
        self.unchanged: dict[str, set[int]] = {t: set() for t in self.rows}
        self.live_after_truncate: dict[str, set[int]] = {}
        self.changes = 0
        self._commit_time: datetime | None = None
        self._keys: dict[Relation, int] = {}

    def apply(self, event: Begin | Change | Truncate) -> None:
        """Apply one decoded event, in commit order."""
        if isinstance(event, Begin):
            self._commit_time = event.commit_time
            return
        if isinstance(event, Truncate):
            for relation in event.relations:
                table = relation.name
                if relation.namespace != self.schema or table not in self.rows:
                    continue
                when = self._when()
                # Rows inserted earlier in this run were truncated too; later inserts are new.
                for key in self.rows[table]:
                    self.deleted[table][key] = when
                self.rows[table].clear()
                self.unchanged[table].clear()
                self.truncated[table] = when
            return
        relation = event.relation
        rows = self.rows.get(relation.name)
        if rows is None or relation.namespace != self.schema:
            return
        self.changes += 1
        key = int(event.values[self._key_index(relation)])  # type: ignore[arg-type]
        table = relation.name
        if event.kind == "delete":
            self.deleted[table][key] = self._when()
            return
        # A key deleted and then inserted again in the same run is live.
        self.deleted[table].pop(key, None)
        if UNCHANGED in event.values:
            self.unchanged[table].add(key)
        else:
            self.unchanged[table].discard(key)
        rows[key] = (relation.columns, csv_line(event.values))

    def _when(self) -> datetime:
        if self._commit_time is None:
            raise ValueError("pgoutput change outside a transaction")
        return self._commit_time

    def _key_index(self, relation: Relation) -> int:
        index = self._keys.get(relation)
        if index is None:
            index = self._keys[relation] = relation.columns.index(PRIMARY_KEY)
        return index

    def table_batches(
        self, table: str, arrow_schema: pa.Schema, chunk_size: int
    ) -> Iterator[pa.Table]:
        """The table's changed rows as Arrow tables of at most ``chunk_size`` rows, freeing
        them as they go. ``arrow_schema`` is the table's schema now; rows decoded under an
        older shape (a column added or dropped since) keep the columns they had."""
        rows = self.rows.pop(table, {})
        if table in self.truncated:
            self.live_after_truncate[table] = set(rows)
        by_columns: dict[Columns, list[bytes]] = {}
        for key, (columns, line) in rows.items():
            if key not in self.unchanged.get(table, ()):
                by_columns.setdefault(columns, []).append(line)
        rows.clear()
        for columns, lines in by_columns.items():
            known = {field.name: field for field in arrow_schema}
            shape = pa.schema(known.get(name, pa.field(name, pa.string())) for name in columns)
            for offset in range(0, len(lines), chunk_size):
                yield parse_csv(b"".join(lines[offset : offset + chunk_size]), shape)
            lines.clear()

    def deletion_batches(self, table: str, chunk_size: int) -> Iterator[pa.Table]:
        """``hard_deletes`` rows for the table's deleted keys, stamped with the commit time of
        their delete (so a rerun of the same changes writes the same rows)."""
        deleted = self.deleted.get(table, {})
        if not deleted:
            return
        keys = pa.array(list(deleted), type=pa.int64())
        times = pa.array(list(deleted.values()), type=pa.timestamp("us", tz="UTC"))
        rows = deletions(table, keys)
        rows = rows.set_column(2, rows.schema.field(2), times)
        yield from batches(rows, chunk_size)
