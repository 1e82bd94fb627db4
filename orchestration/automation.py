"""Jobs, schedules and the clickstream sensor.

- ``refresh`` (hourly): every source, the dbt build (incremental models add what is new),
  publish and reverse ETL: ``warehouse run`` plus reverse ETL, on a schedule.
- ``nightly_full_test`` (03:00): the same with ``dbt build --full-refresh``: incremental models
  rebuilt from scratch and every test run on them, catching drift an incremental run hides.
- ``clickstream_logs`` sensor: a new log file in the clickstream folder starts
  ``clickstream_refresh`` (load the logs, rebuild what reads them, publish).

Every job is tagged as a warehouse writer, so the run queue starts one at a time.
"""

import json
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from warehouse.sources import clickstream_bucket

from .resources import WRITER_TAGS, WarehouseResource
from .transformation import DBT_OP, DbtBuildConfig

CLICKSTREAM_GROUP = "raw_clickstream"


def jobs(asset_selection: AssetSelection) -> list[Any]:
    """``refresh``, ``nightly_full_test`` and ``clickstream_refresh`` over ``asset_selection``
    (every asset and its dbt tests; not the freshness checks, which the sensor evaluates)."""
    return [
        define_asset_job("refresh", selection=asset_selection, tags=WRITER_TAGS),
        define_asset_job(
            "nightly_full_test",
            selection=asset_selection,
            tags=WRITER_TAGS,
            config=RunConfig(ops={DBT_OP: DbtBuildConfig(full_refresh=True)}),
        ),
        define_asset_job(
            "clickstream_refresh",
            selection=AssetSelection.groups(CLICKSTREAM_GROUP).downstream(),
            tags=WRITER_TAGS,
        ),
    ]


def schedules() -> list[ScheduleDefinition]:
    """Stopped until switched on (UI or ``dagster schedule start``), so starting the UI never
    writes the warehouse by itself."""
    return [
        ScheduleDefinition(
            name="hourly_refresh",
            job_name="refresh",
            cron_schedule="0 * * * *",
            execution_timezone="UTC",
            default_status=DefaultScheduleStatus.STOPPED,
        ),
        ScheduleDefinition(
            name="nightly_full_test_schedule",
            job_name="nightly_full_test",
            cron_schedule="0 3 * * *",
            execution_timezone="UTC",
            default_status=DefaultScheduleStatus.STOPPED,
        ),
    ]


def new_log_files(bucket_url: str, file_glob: str, after: float) -> list[tuple[str, float]]:
    """``(relative path, modified unix time)`` of the log files modified after ``after``, with
    the glob and file system dlt's clickstream source lists them with (local or a bucket)."""
    from dlt.common.storages.configuration import FilesystemConfiguration
    from dlt.common.storages.fsspec_filesystem import fsspec_filesystem, glob_files

    config = FilesystemConfiguration(bucket_url=bucket_url)
    filesystem, _ = fsspec_filesystem(config.protocol)
    found = [
        (item["relative_path"], item["modification_date"].timestamp())
        for item in glob_files(filesystem, config.bucket_url, file_glob)
    ]
    return sorted((name, mtime) for name, mtime in found if mtime > after)


@sensor(
    name="clickstream_logs",
    job_name="clickstream_refresh",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
)
def clickstream_logs(
    context: SensorEvaluationContext, warehouse: WarehouseResource
) -> SensorResult | SkipReason:
    """Request a ``clickstream_refresh`` run when log files newer than the last seen land.

    The cursor is the newest modification time seen (as the source's own incremental cursor
    is), so each file starts one run at most and a restart of the daemon misses none.
    """
    import dlt

    from ingestion.clickstream.settings import FILE_GLOB

    after = json.loads(context.cursor)["modified"] if context.cursor else 0.0
    bucket = clickstream_bucket(warehouse.paths)
    file_glob = dlt.config.get("sources.clickstream.file_glob") or FILE_GLOB
    files = new_log_files(bucket, file_glob, after)
    if not files:
        return SkipReason(f"no log file in {bucket} modified after {_when(after)}")
    newest = max(mtime for _, mtime in files)
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"clickstream-{newest}",
                tags={**WRITER_TAGS, "warehouse/log_files": str(len(files))},
            )
        ],
        cursor=json.dumps({"modified": newest}),
    )


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else "the start"
