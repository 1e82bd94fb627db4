"""The code location: every asset, check, job, schedule and sensor of one warehouse home."""

from dagster import AssetSelection, Definitions, in_process_executor

from warehouse.paths import Paths

from .automation import clickstream_logs, jobs, schedules
from .checks import freshness_checks, freshness_sensor
from .ingestion import ingestion_assets
from .resources import (
    WarehouseResource,
    dbt_project,
    dbt_resource,
    prepared_manifest,
    read_manifest,
)
from .serving import serving_assets
from .transformation import transformation_assets


def build_definitions(paths: Paths) -> Definitions:
    """The Definitions of the warehouse at ``paths`` (its dbt manifest parsed if needed).

    Steps run in the run's own process, one after another (the in-process executor): the
    warehouse has one writer, so parallel steps could only wait for each other's lock.
    """
    manifest_path = prepared_manifest(paths)
    manifest = read_manifest(manifest_path)
    dbt_build = transformation_assets(manifest_path, dbt_project(paths))
    assets = [
        *ingestion_assets(manifest),
        dbt_build,
        *serving_assets(manifest, sorted(dbt_build.check_keys)),
    ]
    checks = freshness_checks(manifest)
    selection = AssetSelection.all() - AssetSelection.checks(*checks)
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs(selection),
        schedules=schedules(),
        sensors=[clickstream_logs, freshness_sensor(checks)],
        resources={
            "warehouse": WarehouseResource(home=str(paths.home)),
            "dbt": dbt_resource(paths),
        },
        executor=in_process_executor,
    )
