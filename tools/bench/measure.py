"""``make bench``: the constants, and one measured subprocess (its time, rows and peak RSS)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.paths import PROJECT_DIR, Paths

# The shop tables the ingest figure is about: the big ones, millions of rows at scale 10.
SHOP_TABLES = ("orders", "order_items")
API_SOURCES = ("payments", "marketing", "reviews")
STEPS = (
    "generate",
    "shop",
    "clickstream",
    "api",
    "full",
    "dbt",
    "incremental",
    "serving",
    "collector",
    "live",
    "cdc",
)
# The API steps read the last 300/scale days of the demo's history (30 days at scale 10).
API_WINDOW_DAYS = 300
# Queries per saved-query view for the serving latency.
SERVING_QUERIES = 20
GB = 1024**3


# --------------------------------------------------------------------------------------------
# Measuring one subprocess


@dataclass
class Sample:
    """One run of one step: wall seconds (as the step measured them), rows, peak RSS."""

    seconds: float
    rows: int = 0
    peak_rss: int = 0  # bytes
    detail: dict[str, Any] = field(default_factory=dict)


class Bench:
    """Runs the steps of one benchmark under ``home`` and collects their samples."""

    def __init__(self, home: Path, scale: float, runs: int) -> None:
        self.paths = Paths(home.resolve()).ensure()
        self.scale = scale
        self.runs = runs
        self.scratch = self.paths.home / "bench-scratch"
        self.log = self.paths.home / "bench.log"
        self.samples: dict[str, list[Sample]] = {}
        self.env = dict(os.environ)

    def spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Sample:
        """Run ``command``; its result is what it wrote to the result file, or its wall time."""
        result = self.scratch / f"{name}.json"
        result.unlink(missing_ok=True)
        environment = {**self.env, **(env or {}), "BENCH_RESULT": str(result)}
        with self.log.open("a") as log:
            log.write(f"\n==== {name}: {' '.join(command)}\n")
            log.flush()
            started = time.perf_counter()
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=PROJECT_DIR
            )
            # wait4 returns the child's own resource usage: its peak RSS, not the bench's.
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(
                f"bench step {name} failed (exit {process.returncode}): see {self.log}"
            )
        sample = Sample(wall, peak_rss=usage.ru_maxrss * 1024)
        if result.exists():
            reported = json.loads(result.read_text())
            sample.seconds = reported.pop("seconds", wall)
            sample.rows = reported.pop("rows", 0)
            sample.detail = reported
        self.samples.setdefault(name, []).append(sample)
        print(f"    {name:<22} {_describe(sample)}", flush=True)
        return sample

    def worker(self, name: str, task: str, env: dict[str, str] | None = None) -> Sample:
        """A task of this module's ``worker`` command, in a scratch folder of its own."""
        folder = self.scratch / task
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        command = [sys.executable, "-m", "tools.bench", "--home", str(self.paths.home)]
        try:
            return self.spawn(name, [*command, "worker", task, str(folder)], env)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def cli(self, name: str, *args: str) -> Sample:
        """A ``warehouse`` command on the bench's home, timed from outside."""
        command = [sys.executable, "-m", "warehouse.cli", "--home", str(self.paths.home), *args]
        return self.spawn(name, command)


def _describe(sample: Sample) -> str:
    rate = f", {sample.rows / sample.seconds:,.0f} rows/s" if sample.rows else ""
    return f"{sample.seconds:8.2f} s{rate}, peak RSS {sample.peak_rss / GB:.2f} GB"
