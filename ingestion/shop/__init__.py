"""The shop source: GlobalRetail's OLTP PostgreSQL, replicated into ``raw_shop``.

Each table is read incrementally on ``updated_at`` and merged on ``id``, in Arrow chunks
(PostgreSQL's COPY, parsed by pyarrow), so memory stays flat whatever the table size. Soft
deletes arrive as a normal update (``deleted_at`` set). Hard deletes leave nothing to read, so
the ``hard_deletes`` resource compares the keys still in the source with the keys already
loaded and records the ones that vanished; the raw rows stay (raw is the data as it arrived)
and staging flags them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ..lake import query_loaded
from .helpers import (
    ShopSourceError,
    batches,
    check_source,
    deletions,
    read_table,
    source_keys,
    vanished_keys,
)
from .settings import CURSOR_COLUMN, HARD_DELETES_TABLE, PRIMARY_KEY, SCHEMA_CONTRACT, TABLES

__all__ = ["ShopSourceError", "shop"]

log = logging.getLogger(__name__)


@dlt.source(name="shop", max_table_nesting=0, schema_contract=SCHEMA_CONTRACT)
def shop(
    credentials: str = dlt.secrets.value,
    schema: str = "shop",
    tables: Sequence[str] = TABLES,
    chunk_size: int = 50_000,
    detect_hard_deletes: bool = True,
) -> list[DltResource]:
    """Read the shop's tables incrementally, and detect rows deleted at the source.

    Args:
        credentials: a PostgreSQL URL (``[sources.shop] credentials``).
        schema: the PostgreSQL schema holding the tables.
        tables: which tables to replicate.
        chunk_size: rows per Arrow batch; bounds the memory of the extract.
        detect_hard_deletes: compare keys to find hard deletes; a full key scan of every
            table, cheap next to the data but worth switching off for very frequent runs.
    """
    check_source(credentials, schema, tables)
    resources = [table_resource(credentials, schema, table, chunk_size) for table in tables]
    if detect_hard_deletes:
        resources.append(hard_deletes(credentials, schema, tables, chunk_size))
    return resources


def table_resource(credentials: str, schema: str, table: str, chunk_size: int) -> DltResource:
    """One shop table, read incrementally on ``updated_at`` and merged on ``id``.

    The rows come through PostgreSQL's COPY as Arrow batches (``read_table``): a full load runs
    near the speed of the database's own bulk export (``make bench``; BENCHMARKS.md), where
    dlt's ``sql_table`` spends most of its time making Python objects of the rows.
    """

    def rows(
        # dlt's way to declare a cursor: it binds the default to the resource's state.
        cursor: dlt.sources.incremental = dlt.sources.incremental(CURSOR_COLUMN),  # noqa: B008
    ) -> Iterator[pa.Table]:
        # Rows at the last cursor value come back (>=); dlt drops the ones it already loaded.
        start = cursor.last_value
        batches = read_table(credentials, schema, table, CURSOR_COLUMN, start, chunk_size)
        first = next(batches)
        # dlt would make a zone-less Arrow timestamp (`timestamp without time zone`, the
        # legacy columns) a timestamptz; raw keeps it as the source has it.
        naive = {
            field.name: {"data_type": "timestamp", "timezone": False}
            for field in first.schema
            if pa.types.is_timestamp(field.type) and field.type.tz is None
        }
        yield dlt.mark.with_hints(first, dlt.mark.make_hints(columns=naive)) if naive else first
        yield from batches

    # One COPY is one consistent snapshot: no key occurs twice in a load, so the merge can skip
    # deduplicating the staged rows (a window over every row: a third of a full load's time).
    merge = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
    return dlt.resource(rows, name=table, primary_key=PRIMARY_KEY, write_disposition=merge)


@dlt.resource(
    name=HARD_DELETES_TABLE,
    primary_key=("table_name", PRIMARY_KEY),
    write_disposition="merge",
)
def hard_deletes(
    credentials: str, schema: str, tables: Sequence[str], chunk_size: int
) -> Iterator[pa.Table]:
    """Yield ``(table_name, id, detected_at)`` for rows loaded earlier and gone from the source.

    Keys already recorded are skipped, so a rerun yields nothing and ``detected_at`` keeps the
    first sighting: the run is idempotent.
    """
    pipeline = dlt.current.pipeline()
    # An empty batch creates the table on the first run, so staging can always select from it.
    yield deletions("", pa.array([], type=pa.int64()))
    if pipeline.default_schema_name is None:  # the first run: nothing loaded, nothing to compare
        return
    loaded_tables = set(pipeline.default_schema.data_table_names(seen_data_only=True))
    recorded: dict[str, pa.Array] = {}
    if HARD_DELETES_TABLE in loaded_tables:
        known = query_loaded(
            pipeline,
            f"select table_name, {PRIMARY_KEY} from {HARD_DELETES_TABLE}",
            HARD_DELETES_TABLE,
        )
        for table in tables:
            mask = pc.equal(known["table_name"], table)
            recorded[table] = known.filter(mask)[PRIMARY_KEY].combine_chunks()
    for table in tables:
        if table not in loaded_tables:
            continue
        loaded = query_loaded(pipeline, f"select {PRIMARY_KEY} from {table}", table)[PRIMARY_KEY]
        gone = vanished_keys(
            loaded.combine_chunks(),
            recorded.get(table, pa.array([], type=pa.int64())),
            source_keys(credentials, schema, table),
        )
        if len(gone):
            log.info("shop.%s: %d row(s) deleted at the source", table, len(gone))
            yield from batches(deletions(table, gone), chunk_size)
