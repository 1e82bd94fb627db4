"""``warehouse stream``: the pipeline and the refresher, together, until told to stop.

The pipeline (streaming/consumer.py) runs in a process of its own, landing batches as they
come; the refresher (streaming/refresher.py) ticks every ``[streaming] refresh_seconds`` in the
calling thread. They share nothing but the landing folder: the pipeline only ever renames
complete units into it, the refresher only ever moves loaded units out of it. On stop, the
pipeline finishes its batch (landed and acknowledged, or neither) and a last tick loads what is
landed.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warehouse.paths import Paths

from .consumer import consume
from .refresher import TickReport, tick
from .settings import PipelineSettings, RefreshSettings, StreamingError

log = logging.getLogger(__name__)


@dataclass
class StreamTotals:
    """What a ``stream`` run did, over all its ticks."""

    ticks: int = 0
    events: int = 0
    quarantined: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, report: TickReport) -> None:
        self.ticks += 1
        self.events += report.events
        self.quarantined += report.quarantined
        self.latencies.extend(report.latencies)


class _Pipeline:
    """The consumer in a process of its own: the Beam runs and dbt's build do not share one
    interpreter lock, and the pipeline process never opens the warehouse."""

    def __init__(self, paths: Paths, settings: PipelineSettings) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self.stop = context.Event()
        self.process = context.Process(
            target=_pipeline_main,
            args=(paths, self.stop, settings, os.getpid()),
            name="streaming-pipeline",
            daemon=True,
        )

    def start(self) -> None:
        self.process.start()

    def alive(self) -> bool:
        return self.process.is_alive()

    def join(self) -> int | None:
        self.stop.set()
        self.process.join()
        return self.process.exitcode


def _pipeline_main(paths: Paths, stop: Any, settings: PipelineSettings, parent: int) -> None:
    """The pipeline process: land batches until ``stop`` is set or the parent is gone."""
    # Ctrl-C reaches the whole process group: the parent stops this process between batches.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.getLogger().level or logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    tally = asyncio.run(consume(paths, stop, settings, parent=parent))
    log.info("pipeline: landed %d message(s) in %d batch(es)", tally.messages, tally.batches)


def run_stream(
    paths: Paths,
    stop: threading.Event,
    on_tick: Callable[[TickReport], None] | None = None,
    refresh: RefreshSettings | None = None,
    pipeline: PipelineSettings | None = None,
    ready: threading.Event | None = None,
) -> StreamTotals:
    """Run the pipeline and the refresher until ``stop`` is set; the totals. ``ready`` is set
    once both run and the refresher's libraries are loaded (the first tick is not slower)."""
    if not paths.duckdb.exists():
        raise StreamingError(
            f"no warehouse at {paths.duckdb}: build it first (`warehouse demo` or "
            "`warehouse run`); the refresher builds the web-analytics slice on top of it"
        )
    refresh = refresh or RefreshSettings.from_config()
    worker = _Pipeline(paths, pipeline or PipelineSettings.from_config())
    worker.start()
    _warm_up()
    if ready is not None:
        ready.set()
    totals = StreamTotals()
    failed = False

    def refresh_once() -> None:
        nonlocal failed
        report = tick(paths, refresh, retry=failed)
        failed = report.failed is not None
        if report.units or report.skipped or report.failed:
            totals.add(report)
            if on_tick:
                on_tick(report)

    try:
        next_tick = time.monotonic() + refresh.refresh_seconds
        while not stop.wait(max(0.0, next_tick - time.monotonic())):
            next_tick = time.monotonic() + refresh.refresh_seconds
            if not worker.alive():
                break
            refresh_once()
    finally:
        stop.set()
        exitcode = worker.join()
    if exitcode != 0:
        raise StreamingError(
            f"the streaming pipeline process stopped (exit code {exitcode}): its error is "
            "above; what it landed is loaded by the next `warehouse stream`, what it did not "
            "acknowledge is redelivered"
        )
    refresh_once()  # what the pipeline landed since the last tick
    return totals


def _warm_up() -> None:
    """Import what a tick uses (dbt, MetricFlow, dlt's DuckDB destination: seconds of imports)
    before the first events wait on it."""
    import dbt.cli.main  # noqa: F401
    import dlt.destinations.impl.duckdb.duck  # noqa: F401
    import metricflow.engine.metricflow_engine  # noqa: F401
