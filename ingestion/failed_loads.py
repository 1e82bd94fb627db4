"""Load packages that cannot be loaded: report them by table and column, and discard them safely.

dlt keeps a package whose load failed in the pipeline's working folder and loads it first on
the next run (``runner._finish_interrupted``), which is right for a passing cause (the
warehouse file locked, a disk full) and wedges the pipeline for a cause a rerun cannot fix (a
column the destination refuses): every later run fails on the same package before it
extracts anything. ``discard`` is the way out: dlt aborts the package and restores the
pipeline's state (incremental cursors, schema) to where the package started, so the next run
extracts again everything the package held and nothing is lost.
"""

from __future__ import annotations

import logging
import re

import dlt
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.pipeline.exceptions import PipelineStepFailed

from .errors import SourceError

log = logging.getLogger(__name__)

# The command that discards a source's failed packages (warehouse/discard.py).
DISCARD_COMMAND = "warehouse discard-failed-load {source}"


class FailedLoadError(SourceError):
    """A load failed; the message names the table and columns involved and the way out."""


def explain(pipeline: dlt.Pipeline, failure: PipelineStepFailed) -> FailedLoadError:
    """The error to raise for a failed load step: what failed (tables, new columns, the
    destination's message), that the package is kept and retried first, and the command that
    discards it when a rerun cannot fix the cause."""
    inner = failure.exception
    message = re.sub(r"\s*\n\s*", " ", str(getattr(inner, "failed_message", None) or inner))
    tables = _failed_tables(inner) or sorted(_new_columns(pipeline))
    new_columns = _new_columns(pipeline)
    where = ", ".join(
        f"{pipeline.dataset_name}.{table}"
        + (f" (new column(s) {', '.join(new_columns[table])})" if new_columns.get(table) else "")
        for table in tables
    )
    source = pipeline.pipeline_name
    command = DISCARD_COMMAND.format(source=source)
    return FailedLoadError(
        f"{source}: the load of package {failure.load_id} failed"
        f"{' at ' + where if where else ''}: {message}. The package is kept and every run "
        "loads it first, so a cause a rerun cannot fix (a column the warehouse refuses) stops "
        f"each run here. Fix the cause, or discard the package with `{command}`: nothing is "
        f"lost, the next `warehouse ingest {source}` extracts its rows again."
    )


def discard(pipeline: dlt.Pipeline) -> list[str]:
    """Abort the pipeline's pending packages and restore its state to before the oldest one;
    return their load ids (empty when nothing is pending)."""
    if not pipeline.has_pending_data:
        return []
    plan = pipeline.abort_packages(dry_run=True)
    load_ids = sorted(_planned_load_ids(plan))
    try:
        pipeline.abort_packages()
    except PipelineStepFailed as aborted:
        # dlt reports the aborted package as a failed load step once the abort is done.
        if pipeline.has_pending_data:
            raise
        log.info("%s: %s", pipeline.pipeline_name, aborted.exception)
    log.warning("%s: discarded load package(s) %s", pipeline.pipeline_name, ", ".join(load_ids))
    return load_ids


def _planned_load_ids(plan: object) -> set[str]:
    """Every load id in dlt's abort plan (its shape varies between dlt versions)."""
    found: set[str] = set()
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key == "load_id" and isinstance(value, str):
                found.add(value)
            else:
                found |= _planned_load_ids(value)
    elif isinstance(plan, list | tuple):
        for value in plan:
            found |= _planned_load_ids(value)
    return found


def _failed_tables(exception: BaseException) -> list[str]:
    """The table of a failed load job (dlt's job id starts with it)."""
    job_id = getattr(exception, "job_id", None)
    if not job_id:
        return []
    try:
        return [ParsedLoadJobFileName.parse(job_id).table_name]
    except (ValueError, TypeError):
        return []


def _new_columns(pipeline: dlt.Pipeline) -> dict[str, list[str]]:
    """Columns the pipeline's schema has and the warehouse's tables do not yet, per table: what
    the failed package was adding."""
    if pipeline.default_schema_name is None:
        return {}
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                "select table_name, column_name from information_schema.columns"
                " where table_schema = %s",
                pipeline.dataset_name,
            )
    except Exception:  # the lake, or a warehouse that cannot be read: name no columns
        return {}
    existing: dict[str, set[str]] = {}
    for table, column in rows or ():
        existing.setdefault(table, set()).add(column)
    new: dict[str, list[str]] = {}
    for table in pipeline.default_schema.data_table_names():
        if table not in existing:
            continue
        columns = pipeline.default_schema.get_table_columns(table)
        missing = sorted(name for name in columns if name not in existing[table])
        if missing:
            new[table] = missing
    return new
