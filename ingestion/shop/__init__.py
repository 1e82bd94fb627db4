"""The shop source: GlobalRetail's OLTP PostgreSQL, replicated into ``raw_shop``.

Two modes (``[sources.shop] mode``), landing the same tables:

- ``cdc`` (the default): a snapshot, then the changes from a logical replication slot
  (``cdc.py``). Inserts and updates merge on ``id``; deletes come from the log into
  ``hard_deletes``; no table is scanned again. Needs replication rights (docs/sources.md).
- ``cursor``: each table read incrementally on ``updated_at`` and merged on ``id``; hard
  deletes leave nothing to read, so the ``hard_deletes`` resource compares the keys still in
  the source with the keys already loaded (a key scan of every table on every run).

Either way rows travel as Arrow chunks (PostgreSQL's COPY, or the log's text values, parsed by
pyarrow), so memory stays flat whatever the table size. Soft deletes arrive as a normal update
(``deleted_at`` set); hard-deleted rows stay in raw (raw is the data as it arrived) and staging
flags them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

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
    session_options,
    source_keys,
    vanished_keys,
)
from .settings import (
    CURSOR_COLUMN,
    HARD_DELETES_TABLE,
    MODES,
    PRIMARY_KEY,
    SCHEMA_CONTRACT,
    TABLES,
)

__all__ = ["ShopSourceError", "shop"]

log = logging.getLogger(__name__)


@dlt.source(name="shop", max_table_nesting=0, schema_contract=SCHEMA_CONTRACT)
def shop(
    credentials: str = dlt.secrets.value,
    schema: str = "shop",
    tables: Sequence[str] = TABLES,
    chunk_size: int = 50_000,
    detect_hard_deletes: bool = True,
    mode: str = "cdc",
    statement_timeout: str = "30min",
    lock_timeout: str = "5s",
) -> list[DltResource]:
    """Read the shop's tables (a snapshot then the change log, or incrementally by cursor),
    hard deletes included.

    Args:
        credentials: a PostgreSQL URL (``[sources.shop] credentials``).
        schema: the PostgreSQL schema holding the tables.
        tables: which tables to replicate.
        chunk_size: rows per Arrow batch; bounds the memory of the extract.
        detect_hard_deletes: cursor mode: compare keys to find hard deletes, a full key scan
            of every table (CDC mode reads them from the log).
        mode: ``cdc`` (logical replication) or ``cursor`` (``updated_at`` and key scans).
        statement_timeout: the extraction sessions' ``statement_timeout`` (a PostgreSQL
            duration); they also run read-only.
        lock_timeout: the extraction sessions' ``lock_timeout``.
    """
    if mode not in MODES:
        raise ShopSourceError(
            f"shop source: [sources.shop] mode = {mode!r} (env SOURCES__SHOP__MODE) is not a "
            f"mode; choose {' or '.join(repr(m) for m in MODES)}."
        )
    options = session_options(statement_timeout, lock_timeout)
    check_source(credentials, schema, tables)
    if mode == "cdc":
        from .cdc import cdc_resources

        return cdc_resources(credentials, schema, tables, chunk_size, options)
    resources = [
        table_resource(credentials, schema, table, chunk_size, options) for table in tables
    ]
    if detect_hard_deletes:
        resources.append(hard_deletes(credentials, schema, tables, chunk_size, options))
    return resources


def table_resource(
    credentials: str, schema: str, table: str, chunk_size: int, options: str | None = None
) -> DltResource:
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
        yield from hinted(
            read_table(credentials, schema, table, CURSOR_COLUMN, start, chunk_size, options)
        )

    return table_resource_of(table, rows)


def table_resource_of(table: str, rows: Callable[..., Iterator[pa.Table]]) -> DltResource:
    """The dlt resource of one shop table whose Arrow batches ``rows`` yields, merged on
    ``id``. Each run's batches hold a key at most once (one COPY is one consistent snapshot;
    the change log's rows are gathered by key), so the merge skips deduplicating the staged
    rows (a window over every row: a third of a full load's time)."""
    merge = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
    return dlt.resource(rows, name=table, primary_key=PRIMARY_KEY, write_disposition=merge)


def hinted(batches: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The batches, the first carrying the hints that keep zone-less timestamps zone-less:
    dlt would make a zone-less Arrow timestamp (`timestamp without time zone`, the legacy
    columns) a timestamptz; raw keeps it as the source has it."""
    first = next(batches)
    naive = {
        field.name: {"data_type": "timestamp", "timezone": False}
        for field in first.schema
        if pa.types.is_timestamp(field.type) and field.type.tz is None
    }
    yield dlt.mark.with_hints(first, dlt.mark.make_hints(columns=naive)) if naive else first
    yield from batches


@dlt.resource(
    name=HARD_DELETES_TABLE,
    primary_key=("table_name", PRIMARY_KEY),
    write_disposition="merge",
)
def hard_deletes(
    credentials: str,
    schema: str,
    tables: Sequence[str],
    chunk_size: int,
    options: str | None = None,
) -> Iterator[pa.Table]:
    """Yield ``(table_name, id, detected_at)`` for rows loaded earlier and gone from the source.

    Keys already recorded are skipped, so a rerun yields nothing and ``detected_at`` keeps the
    first sighting: the run is idempotent.
    """
    # An empty batch creates the table on the first run, so staging can always select from it.
    yield deletions("", pa.array([], type=pa.int64()))
    yield from vanished(
        dlt.current.pipeline(),
        tables,
        lambda table: source_keys(credentials, schema, table, options),
        chunk_size,
    )


def vanished(
    pipeline: dlt.Pipeline,
    tables: Sequence[str],
    keys_of: Callable[[str], pa.Array],
    chunk_size: int,
) -> Iterator[pa.Table]:
    """``hard_deletes`` rows for the keys loaded earlier that the source (its keys now:
    ``keys_of(table)``) no longer has and that are not recorded yet."""
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
            keys_of(table),
        )
        if len(gone):
            log.info("shop.%s: %d row(s) deleted at the source", table, len(gone))
            yield from batches(deletions(table, gone), chunk_size)
