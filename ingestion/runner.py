"""Run a dlt source into the warehouse and report what it loaded."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources import DltResource, DltSource

from . import failed_loads
from .destination_caps import capabilities_resolved_once
from .lake import is_lake, keep_one_row_per_key

# Where a pipeline lands its source: the DuckDB warehouse file (the default), or the lake:
# one Delta Lake table per source table, <lake>/<dataset>/<table>/ (docs/lakehouse.md).
DESTINATIONS = ("duckdb", "lake")
# The lake's table format: Delta (transaction log in <table>/_delta_log/, parquet data files).
LAKE_TABLE_FORMAT = "delta"
# A table hint naming the columns that identify a row of an appended table (a list): a load
# resumed after a kill keeps one row per key (see _drop_restaged_duplicates).
ROW_KEY_HINT = "x-row-key"
# dlt keeps every load package it has loaded, under <pipeline>/load/loaded/. The rows go as the
# package completes ([load] delete_completed_jobs in .dlt/config.toml; a package with a failed
# job keeps them); the folder (its state and schema, ~50 KB) stays for `dlt pipeline <name>
# load-package`: the newest this many per pipeline. Without both, the home would grow with
# every run: by a copy of each day's rows, and by a folder every 10 s the real-time refresher
# loads.
KEPT_LOADED_PACKAGES = 24

log = logging.getLogger(__name__)

# A source's own check after a load (given the load ids): the counts to report, or an error
# if they do not reconcile, e.g. the clickstream's lines read = loaded + quarantined.
Reconcile = Callable[[dlt.Pipeline, Sequence[str]], dict[str, int]]


@dataclass(frozen=True)
class IngestReport:
    """What one pipeline run loaded: rows per table, how long it took, and the source's
    reconciliation counts if it has a check."""

    source: str
    rows: dict[str, int]
    seconds: float
    reconciled: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def pipeline_for(source: str, duckdb_path: Path, pipelines_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline that lands ``source`` in schema ``raw_<source>`` of the DuckDB file.

    Pipeline state (incremental cursors) lives under ``pipelines_dir`` and is also stored in the
    warehouse itself, so a fresh working folder resumes where the warehouse left off.
    """
    return dlt.pipeline(
        pipeline_name=source,
        destination=capabilities_resolved_once(dlt.destinations.duckdb(str(duckdb_path))),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(pipelines_dir),
    )


def lake_pipeline_for(source: str, lake_url: str, pipelines_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline that lands ``source`` as Delta tables under ``<lake_url>/raw_<source>``.

    ``lake_url`` is a local folder or a bucket URL (``s3://``, ``gs://``, ``az://``: dlt's
    filesystem destination; its credentials come from ``[destination.filesystem.credentials]``).
    Use a ``pipelines_dir`` of its own: a pipeline's state (its incremental cursors) belongs to
    one destination, and the lake must be loaded from the start, not from the DuckDB cursors.
    """
    return dlt.pipeline(
        pipeline_name=source,
        destination=dlt.destinations.filesystem(bucket_url=lake_url),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(pipelines_dir),
    )


def run(
    pipeline: dlt.Pipeline, source: DltSource | DltResource, reconcile: Reconcile | None = None
) -> IngestReport:
    """Extract, normalize and load ``source`` (or a single resource, into DuckDB or another
    SQL destination); raise if any load job failed or the source's ``reconcile`` check
    fails."""
    started = time.perf_counter()
    try:
        resumed = _finish_interrupted(pipeline)
        if is_lake(pipeline):
            assert isinstance(source, DltSource), "the lake loads sources"
            _as_delta_tables(source)
            info = pipeline.run(source, loader_file_format="parquet")
        else:
            info = pipeline.run(source)
    except PipelineStepFailed as failure:
        if failure.step != "load":
            raise
        # Name the table and columns, and the way out if a rerun cannot fix it.
        raise failed_loads.explain(pipeline, failure) from failure
    info.raise_on_failed_jobs()
    _prune_loaded_packages(pipeline, KEPT_LOADED_PACKAGES)
    normalized = pipeline.last_trace.last_normalize_info
    counts = normalized.row_counts if normalized else {}
    rows = {
        table: count
        for table, count in sorted(counts.items())
        if count and not table.startswith("_dlt")
    }
    reconciled = reconcile(pipeline, [*resumed, *info.loads_ids]) if reconcile else {}
    return IngestReport(source.name, rows, time.perf_counter() - started, reconciled)


def _finish_interrupted(pipeline: dlt.Pipeline) -> list[str]:
    """Normalize and load the packages a killed run left in the working folder; their load ids.

    Left there, ``pipeline.run`` would finish only those and return without extracting, so
    the run after a crash would be one run behind. Each package carries the pipeline state
    (incremental cursors) of its extract, so loading it first and then extracting from the
    state it brings loads every row once.
    """
    _drop_committed_extracts(pipeline)
    if not pipeline.has_pending_data:
        return []
    log.warning(
        "%s: finishing the load package(s) of an interrupted run before extracting",
        pipeline.pipeline_name,
    )
    # In the lake, the extracted schema already says Delta, which dlt writes only as parquet.
    pipeline.normalize()
    info = pipeline.load()
    info.raise_on_failed_jobs()
    _drop_restaged_duplicates(pipeline, info.loads_ids)
    return list(info.loads_ids)


def _drop_committed_extracts(pipeline: dlt.Pipeline) -> None:
    """Finish a normalize that a kill cut between its two last steps.

    dlt's normalize commits a package by renaming its normalized folder into
    ``load/normalized``, then deletes the extracted package. Killed between the two, both are
    left, and normalizing the extracted one again fails on the rename ("Directory not
    empty") on every run after. The normalized package is complete (the rename is atomic), so
    the extracted copy is what dlt would have deleted next.
    """
    working = Path(pipeline.working_dir)
    extracted = working / "normalize" / "extracted"
    if not extracted.is_dir():
        return
    for package in extracted.iterdir():
        committed = [working / "load" / stage / package.name for stage in ("normalized", "loaded")]
        if any(folder.is_dir() for folder in committed):
            log.warning(
                "%s: package %s was normalized when the run was killed; deleting its extracted"
                " copy",
                pipeline.pipeline_name,
                package.name,
            )
            shutil.rmtree(package)


def _prune_loaded_packages(pipeline: dlt.Pipeline, keep: int) -> int:
    """Delete all but the newest ``keep`` loaded packages of ``pipeline``; how many went."""
    loaded = Path(pipeline.working_dir) / "load" / "loaded"
    if not loaded.is_dir():
        return 0
    packages = sorted(
        (entry for entry in loaded.iterdir() if entry.name.replace(".", "", 1).isdigit()),
        key=lambda entry: float(entry.name),  # a load id is the unix time it started
    )
    old = packages[: max(0, len(packages) - keep)]
    for package in old:
        shutil.rmtree(package)
    return len(old)


def _drop_restaged_duplicates(pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> None:
    """Keep one row per key in the tables a resumed package may have loaded twice.

    A resumed package re-runs the jobs the kill interrupted, and one killed after its insert
    committed, before dlt recorded it, loads the same file twice. The two copies are the same
    rows, so any one of them is kept. Two kinds of table say what a row's key is:

    - a merged table whose staged rows are declared deduplicated (the shop's: each batch holds
      a key once, so the merge skips its window over them): one row per primary key;
    - an appended table with a ``ROW_KEY_HINT`` (the clickstream's: a line of a file is loaded
      once): one row per key among the rows of the resumed loads, the only ones a re-run
      job can have doubled, so the check reads the new rows, not the history.
    """
    if is_lake(pipeline):
        # Delta's MERGE (upsert) on the key keeps one row per key by itself; appends do not.
        keys = {
            table["name"]: table[ROW_KEY_HINT]
            for table in pipeline.default_schema.data_tables(seen_data_only=True)
            if table.get(ROW_KEY_HINT)
        }
        removed = keep_one_row_per_key(pipeline, keys, list(load_ids))
    else:
        removed = _drop_duplicates_in_duckdb(pipeline, load_ids)
    for name, count in removed.items():
        log.warning(
            "%s: %s: removed %d row(s) the resumed load staged twice",
            pipeline.pipeline_name,
            name,
            count,
        )


def _drop_duplicates_in_duckdb(pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> dict[str, int]:
    """``_drop_restaged_duplicates`` in the DuckDB warehouse: the rows removed per table."""
    loads = ", ".join(f"'{load_id}'" for load_id in load_ids)
    removed = {}
    with pipeline.sql_client() as client:
        for table in pipeline.default_schema.data_tables():
            if table.get("x-stage-data-deduplicated"):
                keys = [c for c, column in table["columns"].items() if column.get("primary_key")]
                rows = ""
            elif table.get(ROW_KEY_HINT) and loads:
                keys, rows = table[ROW_KEY_HINT], f" where _dlt_load_id in ({loads})"
            else:
                continue
            if not keys:
                continue
            qualified = client.make_qualified_table_name(table["name"])
            key_list = ", ".join(client.escape_column_name(key) for key in keys)
            deleted = client.execute_sql(
                f"delete from {qualified} where rowid in (select rowid from (select rowid,"
                f" row_number() over (partition by {key_list}) as copy from {qualified}{rows})"
                " where copy > 1)"
            )
            if deleted and deleted[0][0]:
                removed[table["name"]] = deleted[0][0]
    return removed


def _as_delta_tables(source: DltSource) -> None:
    """Make every resource of a lake load a Delta table, merging where the source merges.

    A ``merge`` resource becomes a Delta MERGE on its primary key (dlt's ``upsert`` strategy):
    one transaction per load that updates the rows whose key it carries and inserts the new
    ones, so the current version holds each key once. ``append`` resources (the clickstream's
    events) stay appends: one commit adding the load's files. New columns and widened types
    evolve the table's schema in the same commit; nothing is re-landed.
    """
    for resource in source.selected_resources.values():
        disposition = resource.write_disposition  # "merge", or {"disposition": "merge", ...}
        if isinstance(disposition, dict):
            disposition = disposition.get("disposition")
        if disposition == "merge":
            resource.apply_hints(
                table_format=LAKE_TABLE_FORMAT,
                write_disposition={"disposition": "merge", "strategy": "upsert"},
            )
        else:
            resource.apply_hints(table_format=LAKE_TABLE_FORMAT)
