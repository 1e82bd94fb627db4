"""Ingestion assets: one asset per raw table a dlt source lands, one op per source.

The tables are the dbt sources (``models/staging/*/_*__sources.yml``, schema ``raw_<source>``),
so the raw assets and the staging models that read them share keys and the lineage runs from
each landed table to the marts. A source loads as a unit, as ``warehouse ingest`` loads it
(its tables share one dlt pipeline, state and load), through the same function.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Jitter,
    MaterializeResult,
    RetryPolicy,
    multi_asset,
)

from warehouse.sources import SOURCES, load
from warehouse.writer_lock import writer_lock

from .resources import WRITER_POOL, WarehouseResource

# The third-party APIs fail in ways a later attempt fixes (rate limits, outages). dlt already
# retries each request ([runtime] request_max_attempts); this retries the whole load after
# those are spent, waiting 30 s, 60 s, 120 s (+-50%).
API_SOURCES = ("payments", "marketing", "reviews")
API_RETRY = RetryPolicy(
    max_retries=3, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def raw_tables(manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{source: [dbt source table, ...]}`` for the tables each dlt source lands."""
    tables: dict[str, list[dict[str, Any]]] = {source: [] for source in SOURCES}
    for props in manifest["sources"].values():
        source = props["schema"].removeprefix("raw_")
        if props["schema"].startswith("raw_") and source in tables:
            tables[source].append(props)
    for source, found in tables.items():
        if not found:
            raise ValueError(
                f"no dbt source declares a table of raw_{source}: declare the tables the "
                f"{source} pipeline lands in models/staging/{source}/_{source}__sources.yml"
            )
        found.sort(key=lambda props: props["identifier"])
    return tables


def raw_key(schema: str, table: str) -> AssetKey:
    """The key of a landed table, ``raw_<source>/<table>``: the dbt source's schema and name."""
    return AssetKey([schema, table])


def ingestion_assets(manifest: dict[str, Any]) -> list[AssetsDefinition]:
    """One multi-asset per source, in the writer pool; the API sources retry with backoff."""
    return [_source_asset(source, tables) for source, tables in raw_tables(manifest).items()]


def _source_asset(source: str, tables: list[dict[str, Any]]) -> AssetsDefinition:
    specs = [
        AssetSpec(
            raw_key(props["schema"], props["identifier"]),
            description=props.get("description") or None,
            group_name=f"raw_{source}",
            kinds={"dlt", "duckdb"},
            metadata={"dagster/table_name": f"warehouse.{props['schema']}.{props['identifier']}"},
        )
        for props in tables
    ]

    @multi_asset(
        name=f"ingest_{source}",
        specs=specs,
        pool=WRITER_POOL,
        retry_policy=API_RETRY if source in API_SOURCES else None,
        description=f"Run the {source} dlt pipeline (`warehouse ingest {source}`).",
    )
    def ingest(
        context: AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[MaterializeResult]:
        # The home's writer lock, as `warehouse ingest` takes it: the streaming refresher
        # skips its tick meanwhile instead of meeting DuckDB's lock error.
        with writer_lock(warehouse.paths):
            report = load(source, warehouse.paths)
        context.log.info("%s: %s rows loaded in %.1f s", source, report.total, report.seconds)
        for spec in specs:
            table = spec.key.path[-1]
            metadata: dict[str, Any] = {"rows_loaded": report.rows.get(table, 0)}
            if report.reconciled:
                metadata["reconciled"] = report.reconciled
            yield MaterializeResult(asset_key=spec.key, metadata=metadata)

    return ingest
