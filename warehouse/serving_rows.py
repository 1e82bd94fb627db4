"""Bring one mart's published copy level with the warehouse by writing only the rows that differ.

Used by ``warehouse.serving.publish`` on a previous publish's file (the spare, or a copy of the
serving file), attached to the warehouse's connection. Every row of both sides is hashed once
(DuckDB's ``hash`` of the whole row) into a temporary ``(rowid, hash)`` table; the hashes whose
counts differ between the two sides are the differing rows, as multisets (a row held twice in
the copy and once in the warehouse loses one copy). The copy's rows of those hashes are deleted
by ``rowid`` and the warehouse's are inserted. That one read of each side replaces both the old
fingerprint comparison (which read both sides only to say *whether* a mart changed) and the
whole-table rewrite that followed it.

Two rows are taken as equal when their 64-bit hashes are: the chance that a changed row hashes
like another row of its mart is about one in 2**64 per pair, the same trust the warehouse's
order-independent checksums put in ``hash``; ``warehouse publish --full`` rewrites everything.

A mart whose columns (names, types, order) changed, or one where most rows differ, is rewritten
whole instead: deleting most of a table costs more than writing it and leaves its space to reuse.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# The catalog name the previous publish's file is attached under.
TARGET = "serving_build"

# A mart whose differing rows (deleted plus inserted) exceed this share of its rows is rewritten
# whole rather than row by row.
REWRITE_SHARE = 0.5


@dataclass(frozen=True)
class MartWrite:
    """What publishing did to one mart: its rows now, rows deleted and inserted, or rewritten
    whole (``rewritten``; then ``deleted`` and ``inserted`` are zero)."""

    name: str
    rows: int
    deleted: int = 0
    inserted: int = 0
    rewritten: bool = False
    seconds: float = 0.0

    @property
    def written(self) -> bool:
        return self.rewritten or bool(self.deleted or self.inserted)


def columns(conn: duckdb.DuckDBPyConnection, qualified: str) -> tuple[tuple[str, str], ...]:
    """Names and types of ``qualified``'s columns, in order."""
    return tuple(
        (name, kind) for name, kind, *_ in conn.execute(f"describe {qualified}").fetchall()
    )


def rewrite(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> MartWrite:
    """Write the warehouse's ``schema.table`` whole into the attached copy."""
    started = time.perf_counter()
    quoted = f'"{schema}"."{table}"'
    conn.execute(f"create or replace table {TARGET}.{quoted} as select * from {quoted}")
    (rows,) = conn.execute(f"select count(*) from {TARGET}.{quoted}").fetchone()
    return MartWrite(
        f"{schema}.{table}", rows, rewritten=True, seconds=time.perf_counter() - started
    )


def sync(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> MartWrite:
    """Make the attached copy's ``schema.table`` hold the warehouse's rows: delete the copy's rows
    the warehouse lacks, insert the warehouse's rows the copy lacks; rewrite it whole when its
    columns changed or most of its rows differ. Both tables must exist."""
    started = time.perf_counter()
    quoted = f'"{schema}"."{table}"'
    if columns(conn, quoted) != columns(conn, f"{TARGET}.{quoted}"):
        log.info("%s.%s: columns changed, rewriting it whole", schema, table)
        return rewrite(conn, schema, table)
    try:
        conn.execute(
            f"create or replace temp table _publish_new as"
            f" select rowid as r, hash(t) as h from {quoted} as t"
        )
        conn.execute(
            f"create or replace temp table _publish_old as"
            f" select rowid as r, hash(t) as h from {TARGET}.{quoted} as t"
        )
        # Per differing hash, how many more rows the warehouse holds (negative: the copy holds
        # more). Equal rows cancel out, so this is the multiset difference both ways.
        conn.execute(
            """
            create or replace temp table _publish_delta as
            select h, sum(n) as n
            from (
                select h, 1 as n from _publish_new
                union all
                select h, -1 as n from _publish_old
            )
            group by h
            having sum(n) <> 0
            """
        )
        rows, deleted, inserted = conn.execute(
            """
            select
                (select count(*) from _publish_new),
                coalesce(sum(-n) filter (where n < 0), 0),
                coalesce(sum(n) filter (where n > 0), 0)
            from _publish_delta
            """
        ).fetchone()
        if deleted + inserted > REWRITE_SHARE * max(rows, 1):
            return rewrite(conn, schema, table)
        if deleted:
            conn.execute(
                f"delete from {TARGET}.{quoted} where rowid in ({_rowids('_publish_old', -1)})"
            )
        if inserted:
            conn.execute(
                f"insert into {TARGET}.{quoted}"
                f" select * from {quoted} where rowid in ({_rowids('_publish_new', 1)})"
            )
    finally:
        for temporary in ("_publish_new", "_publish_old", "_publish_delta"):
            conn.execute(f"drop table if exists {temporary}")
    return MartWrite(
        f"{schema}.{table}",
        rows,
        deleted=deleted,
        inserted=inserted,
        seconds=time.perf_counter() - started,
    )


def _rowids(side: str, sign: int) -> str:
    """SQL selecting the ``rowid`` of ``side``'s rows to move: for each differing hash the side
    holds too many of (``sign`` * n > 0), that many of its rows (rows with one hash are equal, so
    which ones does not matter)."""
    return f"""
        select r
        from (
            select
                rows.r,
                {sign} * delta.n as wanted,
                row_number() over (partition by rows.h order by rows.r) as k
            from {side} as rows
            inner join _publish_delta as delta on rows.h = delta.h
            where {sign} * delta.n > 0
        )
        where k <= wanted
    """
