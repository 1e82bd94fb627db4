"""The shop source: GlobalRetail's OLTP PostgreSQL, replicated into ``raw_shop``.

Each table is read incrementally on ``updated_at`` and merged on ``id``, in Arrow chunks (the
pyarrow backend), so memory stays flat whatever the table size. Soft deletes arrive as a normal
update (``deleted_at`` set). Hard deletes leave nothing to read, so the ``hard_deletes``
resource compares the keys still in the source with the keys already loaded and records the
ones that vanished; the raw rows stay (raw is the data as it arrived) and staging flags them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

from .helpers import (
    ShopSourceError,
    batches,
    check_source,
    deletions,
    source_keys,
    vanished_keys,
)
from .settings import CURSOR_COLUMN, HARD_DELETES_TABLE, PRIMARY_KEY, TABLES

__all__ = ["ShopSourceError", "shop"]

log = logging.getLogger(__name__)


@dlt.source(name="shop", max_table_nesting=0)
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
    resources = [
        sql_table(
            credentials=credentials,
            schema=schema,
            table=table,
            backend="pyarrow",
            chunk_size=chunk_size,
            incremental=dlt.sources.incremental(CURSOR_COLUMN),
            primary_key=PRIMARY_KEY,
            write_disposition="merge",
        )
        for table in tables
    ]
    if detect_hard_deletes:
        resources.append(hard_deletes(credentials, schema, tables, chunk_size))
    return resources


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
    dataset = pipeline.dataset()
    recorded: dict[str, pa.Array] = {}
    if HARD_DELETES_TABLE in loaded_tables:
        known = dataset(f"select table_name, {PRIMARY_KEY} from {HARD_DELETES_TABLE}").arrow()
        for table in tables:
            mask = pc.equal(known["table_name"], table)
            recorded[table] = known.filter(mask)[PRIMARY_KEY].combine_chunks()
    for table in tables:
        if table not in loaded_tables:
            continue
        loaded = dataset(f"select {PRIMARY_KEY} from {table}").arrow()[PRIMARY_KEY]
        gone = vanished_keys(
            loaded.combine_chunks(),
            recorded.get(table, pa.array([], type=pa.int64())),
            source_keys(credentials, schema, table),
        )
        if len(gone):
            log.info("shop.%s: %d row(s) deleted at the source", table, len(gone))
            yield from batches(deletions(table, gone), chunk_size)
