"""Serving assets: the published serving file, its metric views, and reverse ETL.

``publish`` is ``warehouse publish``: it copies every mart into ``serving.duckdb`` and adds one
view per MetricFlow saved query (``metrics.<name>``), atomically. It depends on every mart, so
it runs only when the dbt build before it in the run succeeded: a failed test fails that build
and the serving file stays the last good one, as with ``warehouse run``. A run that selects
publish without the dbt build (or only part of it) is held to the same rule through the
instance: publish refuses while any dbt test of error severity failed at its latest run. Reverse
ETL reads the published file, never the warehouse mid-build.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DagsterInstance,
    MaterializeResult,
    asset,
    multi_asset,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from warehouse.reverse_etl import reverse_etl
from warehouse.serving import PublishError, publish
from warehouse.writer_lock import writer_lock

from .resources import WRITER_POOL, WarehouseResource
from .transformation import WarehouseTranslator

SERVING = AssetKey("serving")
CUSTOMER_FLAGS = AssetKey(["crm", "customer_flags"])


def mart_keys(manifest: dict[str, Any]) -> list[AssetKey]:
    """Every mart model's asset key (what ``publish`` copies)."""
    translator = WarehouseTranslator()
    return sorted(
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
    )


def metric_view_deps(manifest: dict[str, Any]) -> dict[str, list[AssetKey]]:
    """``{saved query: [models it reads]}``: saved query -> metrics -> semantic models ->
    models, followed through the manifest's ``depends_on``."""
    entries = {
        **manifest["nodes"],
        **manifest["metrics"],
        **manifest["semantic_models"],
        **manifest["saved_queries"],
    }

    translator = WarehouseTranslator()

    def models(unique_id: str, seen: set[str]) -> set[AssetKey]:
        if unique_id in seen or unique_id not in entries:
            return set()
        seen.add(unique_id)
        if unique_id.startswith("model."):
            return {translator.get_asset_key(entries[unique_id])}
        parents = entries[unique_id].get("depends_on", {}).get("nodes", [])
        return set().union(*(models(parent, seen) for parent in parents))

    return {
        query["name"]: sorted(models(unique_id, set()))
        for unique_id, query in manifest["saved_queries"].items()
    }


def failed_checks(instance: DagsterInstance, check_keys: Sequence[AssetCheckKey]) -> list[str]:
    """The checks (dbt tests) whose latest evaluation failed with error severity: a warning
    (``severity: warn``) never blocks, as it does not fail ``dbt build``."""
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    return sorted(
        f"{key.name} (on {key.asset_key.to_user_string()})"
        for key, record in latest.items()
        if record.status == AssetCheckExecutionRecordStatus.FAILED
        and (record.evaluation is None or record.evaluation.severity == AssetCheckSeverity.ERROR)
    )


def serving_assets(
    manifest: dict[str, Any], check_keys: Sequence[AssetCheckKey]
) -> list[AssetsDefinition]:
    """``publish`` (guarded by ``check_keys``, the dbt tests) and reverse ETL."""
    views = metric_view_deps(manifest)
    specs = [
        AssetSpec(
            SERVING,
            deps=mart_keys(manifest),
            group_name="serving",
            kinds={"duckdb"},
            description="serving.duckdb: the marts, copied for BI tools (read-only readers).",
        ),
        *(
            AssetSpec(
                AssetKey(["metrics", name]),
                deps=[SERVING, *deps],
                group_name="serving",
                kinds={"duckdb"},
                description=f"The view metrics.{name} in serving.duckdb (a saved query).",
                skippable=True,
            )
            for name, deps in sorted(views.items())
        ),
    ]

    # Reads warehouse.duckdb with a writable handle (as the CLI does): in the writer pool.
    @multi_asset(name="publish", specs=specs, pool=WRITER_POOL)
    def publish_serving(
        context: AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[MaterializeResult]:
        failed = failed_checks(context.instance, check_keys)
        if failed:
            raise PublishError(
                f"not published: {len(failed)} dbt test(s) failed at their latest run: "
                f"{', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}. Fix the data or "
                "the model and rebuild; serving.duckdb is still the last good build."
            )
        with writer_lock(warehouse.paths):  # as `warehouse publish` holds it
            report = publish(warehouse.paths)
        yield MaterializeResult(
            asset_key=SERVING,
            metadata={
                "path": str(report.path),
                "tables": len(report.tables),
                "size_mib": round(report.size_bytes / 1024**2, 1),
                **{name: rows for name, rows in report.tables.items()},
            },
        )
        for view in report.views:
            yield MaterializeResult(asset_key=AssetKey(view.split(".", 1)))

    # Reads only the serving file, so it needs no turn at the warehouse's lock.
    @asset(key=CUSTOMER_FLAGS, deps=[SERVING], group_name="serving", kinds={"postgres", "dlt"})
    def customer_flags(warehouse: WarehouseResource) -> MaterializeResult:
        """Customer segments and high-value flags merged into the shop's crm schema."""
        report = reverse_etl(warehouse.paths)
        return MaterializeResult(
            metadata={
                "table": report.table,
                "customers": report.customers,
                "changed": report.changed,
            }
        )

    return [publish_serving, customer_flags]
