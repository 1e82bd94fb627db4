"""Run a dlt source into the warehouse and report what it loaded."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.sources import DltSource

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
        destination=dlt.destinations.duckdb(str(duckdb_path)),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(pipelines_dir),
    )


def run(
    pipeline: dlt.Pipeline, source: DltSource, reconcile: Reconcile | None = None
) -> IngestReport:
    """Extract, normalize and load ``source``; raise if any load job failed or the source's
    ``reconcile`` check fails."""
    started = time.perf_counter()
    info = pipeline.run(source)
    info.raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    rows = {
        table: count
        for table, count in sorted(counts.items())
        if count and not table.startswith("_dlt")
    }
    reconciled = reconcile(pipeline, info.loads_ids) if reconcile else {}
    return IngestReport(source.name, rows, time.perf_counter() - started, reconciled)
