"""The refresher: the only writer of the live path.

Each tick, under the home's writer lock (warehouse/writer_lock.py; a batch run holding it makes
the tick skip, never fail):

1. load the landed units into ``raw_clickstream`` with the clickstream's own dlt pipeline (the
   same tables and columns as the file pipeline, a ``files`` row per unit, the same
   reconciliation ``lines read = loaded + quarantined`` per unit);
2. ``dbt build --select`` the web-analytics slice (``[streaming] select``): staging of the
   clickstream, the sessionized events, ``fct_sessions``, ``fct_daily_web_activity``; the
   session models are incremental, so a tick rebuilds only the devices with new events;
3. publish the serving file (atomic: BI readers keep the old file until the rename), whose
   metric views are computed from those marts;
4. move the units to the done folder.

A unit whose ``files`` row is already in the warehouse (a tick killed between the load and the
move) is not loaded again, just moved: each unit is loaded once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.clickstream.helpers import EVENTS_SCHEMA, FILES_SCHEMA, QUARANTINE_SCHEMA
from ingestion.clickstream.reconciliation import loaded_file_names
from ingestion.clickstream.settings import (
    EVENTS_TABLE,
    FILES_TABLE,
    QUARANTINE_TABLE,
    SCHEMA_CONTRACT,
)
from warehouse.errors import WarehouseError, reason
from warehouse.paths import Paths
from warehouse.writer_lock import writer_lock

from .landing import Unit, landed_units, move_done
from .settings import RefreshSettings, done_dir, landing_dir

log = logging.getLogger(__name__)

# DuckDB's message when another process holds the file's write lock.
DUCKDB_LOCKED = "Could not set lock on file"


@dataclass
class TickReport:
    """What one tick did."""

    units: int = 0
    events: int = 0
    quarantined: int = 0
    models: int = 0
    published: bool = False
    skipped: str | None = None  # why nothing was written (the lock was held)
    failed: str | None = None  # why the build or publish failed (the units are in raw)
    seconds: float = 0.0
    # Seconds from the collector's receipt of each event landed in this tick to the publish
    # that made it visible in the serving file.
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.failed:
            return (
                f"{self.units} unit(s) loaded ({self.events:,} events, {self.quarantined:,} "
                f"quarantined), NOT published: {self.failed}; the next tick builds again"
            )
        return (
            f"{self.units} unit(s): {self.events:,} events landed, {self.quarantined:,} "
            f"quarantined; {self.models} dbt nodes built; "
            f"{'published' if self.published else 'not published'}; {self.seconds:.1f} s"
        )


@dlt.source(name="clickstream", max_table_nesting=0, schema_contract=SCHEMA_CONTRACT)
def landed(units: Sequence[Unit]) -> Any:
    """The landed units as the clickstream source's three tables (the file pipeline's shape)."""

    @dlt.resource(name="landed", write_disposition="append")
    def rows() -> Iterator[Any]:
        yield dlt.mark.with_table_name(EVENTS_SCHEMA.empty_table(), EVENTS_TABLE)
        yield dlt.mark.with_table_name(QUARANTINE_SCHEMA.empty_table(), QUARANTINE_TABLE)
        yield dlt.mark.with_table_name(FILES_SCHEMA.empty_table(), FILES_TABLE)
        for unit in units:
            for table in (EVENTS_TABLE, QUARANTINE_TABLE, FILES_TABLE):
                rows = unit.table(table)
                if rows.num_rows:
                    yield dlt.mark.with_table_name(rows, table)

    return rows


def load_units(paths: Paths, units: Sequence[Unit]) -> dict[str, int]:
    """Load ``units`` into ``raw_clickstream`` (skipping any already loaded) and reconcile;
    the counts. Hold the writer lock around it."""
    from ingestion.runner import pipeline_for, run
    from warehouse.sources import reconcile_clickstream

    pipeline = pipeline_for("clickstream", paths.duckdb, paths.pipelines)
    loaded = loaded_file_names(pipeline)
    new = [unit for unit in units if _file_name(unit) not in loaded]
    if len(new) < len(units):
        log.warning("refresher: %d unit(s) already loaded; moving them", len(units) - len(new))
    if not new:
        return {}
    report = run(pipeline, landed(new), reconcile_clickstream)
    return report.reconciled


def tick(
    paths: Paths, settings: RefreshSettings, publish: bool = True, retry: bool = False
) -> TickReport:
    """One refresh: load what is landed, build the slice, publish, move the units done.
    With nothing landed it does nothing, unless ``retry`` (the last tick's build failed)."""
    from warehouse.dbt import dbt
    from warehouse.serving import publish as publish_serving

    started = time.perf_counter()
    outcome = TickReport()
    units = landed_units(landing_dir(paths))
    if not units and not retry:
        outcome.seconds = time.perf_counter() - started
        return outcome
    with writer_lock(paths, wait=False) as held:
        if not held:
            outcome.skipped = "a batch run holds the warehouse; the next tick loads these units"
            return outcome
        try:
            counts = load_units(paths, units)
        except Exception as error:
            # A writer that does not take the lock (a Dagster run's own pool) holds DuckDB's:
            # the units wait for the next tick, as for a batch run.
            if DUCKDB_LOCKED not in str(error):
                raise
            outcome.skipped = "another process writes the warehouse; the next tick loads these"
            return outcome
        outcome.units = len(units)
        outcome.events = counts.get("loaded", 0)
        outcome.quarantined = counts.get("quarantined", 0)
        try:
            built = dbt(paths, *settings.dbt_args())
            outcome.models = sum(built.statuses.values())
            if publish:
                publish_serving(paths)
                outcome.published = True
                outcome.latencies = _latencies(units, datetime.now(UTC))
        except WarehouseError as error:
            # A failing test or publish keeps the last good serving file; the events are in
            # raw, so the stream goes on and the next tick's build takes them up again.
            log.error("refresher: %s", reason(error))
            outcome.failed = reason(error)
        for unit in units:
            move_done(unit, done_dir(paths))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _file_name(unit: Unit) -> str:
    return unit.table(FILES_TABLE)["file_name"][0].as_py()


def _latencies(units: Sequence[Unit], visible_at: datetime) -> list[float]:
    """Seconds from each bus message's receipt by the collector to ``visible_at``."""
    received = [unit.messages()["collected_at"] for unit in units]
    chunks = [chunk for column in received for chunk in column.chunks]
    if not chunks:
        return []
    times = pa.chunked_array(chunks)
    times = pc.drop_null(times.cast(pa.timestamp("us", tz="UTC")))
    now = pa.scalar(visible_at, pa.timestamp("us", tz="UTC"))
    return [delta.total_seconds() for delta in pc.subtract(now, times).to_pylist()]
