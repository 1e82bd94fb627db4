"""``make bench``, step ``cdc``: the shop's change data capture, and what it costs the shop app.

A small load generator plays the shop's web application: threads that each run short write
transactions (an order's status moves on, a customer edits a field) at a steady pace, timing
every commit. Its latencies are measured in three phases of the same run:

- idle: nothing else reads the shop;
- snapshot: a full CDC snapshot of every table runs (a fresh slot, then COPY of each table);
- CDC: after ``demo advance`` one day, the warehouse's shop pipeline reads that day's changes
  from its replication slot and loads them (the row "shop CDC (1 day)").

The generator is paced (not as fast as it can go): a saturating client would measure its own
CPU use, not the database's answer to it.
"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from warehouse.paths import Paths

from .measure import Bench, Sample

# The app's pace: threads x transactions per second each.
APP_THREADS = 4
APP_RATE = 50
# How long the idle phase measures (the others last as long as their extraction).
IDLE_SECONDS = 15.0
# When the app's changes happened: the simulated shop's clock, not the wall clock. The
# simulation runs weeks behind the wall clock; a row stamped now() would have an updated_at
# ahead of the next simulated day's changes to it, which then would not move it (the
# customers' snapshot would miss them, and its test fails the next build of the bench home).
STAMP = "greatest(updated_at, (select clock.now from demo_meta.clock as clock))"


class ShopApp:
    """The load generator: ``APP_THREADS`` connections writing at ``APP_RATE`` tx/s each;
    latencies are recorded into the phase that is current when the transaction starts."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.phase: str | None = None
        self.latencies: dict[str, list[float]] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        with psycopg.connect(dsn) as conn:
            self.orders = conn.execute("select min(id), max(id) from shop.orders").fetchone()
            self.customers = conn.execute("select min(id), max(id) from shop.customers").fetchone()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(APP_THREADS)]

    def __enter__(self) -> ShopApp:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    @contextmanager
    def measuring(self, phase: str):
        """Record the transactions that start inside the block under ``phase`` (afresh: a
        phase's sample is one block's transactions)."""
        with self.lock:
            self.latencies[phase] = []
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        interval = 1.0 / APP_RATE
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            next_at = time.perf_counter()
            while not self.stop.is_set():
                phase = self.phase
                started = time.perf_counter()
                with conn.transaction():
                    order = rng.randint(*self.orders)
                    conn.execute(
                        f"update shop.orders set updated_at = {STAMP} where id = %s", (order,)
                    )
                    customer = rng.randint(*self.customers)
                    conn.execute(
                        f"update shop.customers set phone = %s, updated_at = {STAMP} where id = %s",
                        (f"+1-555-{rng.randint(0, 9999):04d}", customer),
                    )
                elapsed = time.perf_counter() - started
                if phase is not None:
                    with self.lock:
                        self.latencies.setdefault(phase, []).append(elapsed)
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))

    def sample(self, phase: str, seconds: float) -> Sample:
        """The phase's latencies as a bench sample: p50 and p99 in ms, transactions counted."""
        found = sorted(self.latencies.get(phase, [])) or [0.0]
        p99 = found[min(len(found) - 1, int(0.99 * len(found)))]
        detail = {"p50_ms": statistics.median(found) * 1000, "p99_ms": p99 * 1000}
        return Sample(seconds, rows=len(found), detail=detail)


def run_cdc_step(bench: Bench) -> None:
    """The ``cdc`` step: idle, snapshot and CDC phases of the app, and the CDC row itself."""
    from warehouse.sources import shop_dsn

    runs = range(bench.runs)
    # The warehouse's shop pipeline needs its slot: a first load (a snapshot) if it has none.
    bench.cli("shop CDC: first load", "ingest", "shop")
    app = ShopApp(shop_dsn(bench.paths))
    with app:
        started = time.perf_counter()
        with app.measuring("idle"):
            time.sleep(IDLE_SECONDS)
        _record(bench, "app: idle", app.sample("idle", time.perf_counter() - started))
        for _ in runs:
            started = time.perf_counter()
            with app.measuring("snapshot"):
                _niced_worker(bench, "shop CDC: snapshot", "shop-cdc-snapshot")
            _record(bench, "app: snapshot", app.sample("snapshot", time.perf_counter() - started))
        for _ in runs:
            bench.cli("advance", "demo", "advance")
            started = time.perf_counter()
            with app.measuring("cdc"):
                _niced_worker(bench, "shop CDC (1 day)", "shop-cdc")
            _record(bench, "app: CDC", app.sample("cdc", time.perf_counter() - started))


def _niced_worker(bench: Bench, name: str, task: str) -> Sample:
    """``bench.worker``, with the extraction's own process at the lowest CPU priority.

    In production the warehouse runs on another machine than the shop's database; here both
    share two cores, and the app's latency would measure the pipeline's Python and DuckDB work
    competing for CPU with PostgreSQL. Niced, the pipeline takes only CPU the database leaves
    idle, while the database's side of the extraction (COPY, decoding the WAL, which runs in a
    PostgreSQL backend) keeps normal priority: what the application really shares.
    """
    folder = bench.scratch / task
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "tools.bench", "--home", str(bench.paths.home)]
    try:
        return bench.spawn(name, ["nice", "-n", "19", *command, "worker", task, str(folder)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _record(bench: Bench, name: str, sample: Sample) -> None:
    bench.samples.setdefault(name, []).append(sample)
    print(
        f"    {name:<22} p50 {sample.detail['p50_ms']:.1f} ms, p99 {sample.detail['p99_ms']:.1f}"
        f" ms ({sample.rows} transactions)",
        flush=True,
    )


def work_shop_cdc(folder: Path, paths: Paths) -> dict[str, Any]:
    """The warehouse's own shop load (CDC mode): read the slot's changes, load, advance.
    Timed from after the imports (dlt's take ~3 s), as the other ingest steps are."""
    import ingestion.runner
    import ingestion.shop.cdc
    from warehouse.sources import load

    started = time.perf_counter()
    report = load("shop", paths)
    seconds = time.perf_counter() - started
    trace = ingestion.runner.pipeline_for("shop", paths.duckdb, paths.pipelines).last_trace
    steps = {step.step: round(_seconds(step), 2) for step in trace.steps} if trace else {}
    return {"seconds": seconds, "rows": report.total, **report.reconciled, **steps}


def _seconds(step: Any) -> float:
    return (step.finished_at - step.started_at).total_seconds()


def work_shop_cdc_snapshot(folder: Path, paths: Paths) -> dict[str, Any]:
    """A full CDC snapshot of every shop table into a scratch warehouse (a slot of its own,
    dropped afterwards so it holds no WAL back)."""
    import psycopg

    from ingestion.runner import pipeline_for, run
    from ingestion.shop import shop
    from ingestion.shop.cdc import pipeline_slot
    from ingestion.shop.slot import drop
    from warehouse.sources import shop_dsn

    dsn = shop_dsn(paths)
    pipeline = pipeline_for("shop", folder / "warehouse.duckdb", folder / "dlt")
    started = time.perf_counter()
    try:
        report = run(pipeline, shop(credentials=dsn, mode="cdc"))
        seconds = time.perf_counter() - started
    finally:
        with psycopg.connect(dsn) as conn:
            drop(dsn, pipeline_slot(pipeline, conn.info.dbname))
        shutil.rmtree(folder / "dlt", ignore_errors=True)
    return {"seconds": seconds, "rows": report.total}
