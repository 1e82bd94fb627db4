"""``make bench``: what each step of the benchmark runs, in order."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from warehouse.paths import Paths

from .measure import API_SOURCES, API_WINDOW_DAYS, Bench

# --------------------------------------------------------------------------------------------
# The steps


def run_steps(bench: Bench, steps: list[str]) -> list[str]:
    """Run the chosen steps in order; a step that fails is reported and the others still run.
    Returns the failures."""
    runs = range(bench.runs)
    bench.scratch.mkdir(parents=True, exist_ok=True)

    def generate() -> None:
        bench.cli("generate", "demo", "generate", "--scale", f"{bench.scale:g}")

    def shop() -> None:
        for _ in runs:
            bench.worker("shop: COPY", "shop-copy")
            bench.worker("shop: dlt", "shop-dlt")

    def clickstream() -> None:
        for _ in runs:
            bench.worker("clickstream: read_json", "clickstream-read-json")
            bench.worker("clickstream: dlt", "clickstream-dlt")

    def api() -> None:
        with _api_server(bench.paths, bench.scale) as env:
            for _ in runs:
                bench.worker("api: loop", "api-loop", env)
                bench.worker("api: dlt", "api-dlt", env)

    def full() -> None:
        _reset_warehouse(bench.paths)
        bench.cli("full run", "run")

    def dbt() -> None:
        for _ in runs:
            bench.worker("dbt: build", "dbt-build")
            bench.worker("dbt: compiled SQL", "dbt-sql")

    def incremental() -> None:
        for _ in runs:
            bench.cli("advance", "demo", "advance")
            bench.cli("incremental run", "run")

    def serving() -> None:
        bench.worker("serving", "serving")

    def collector() -> None:
        for _ in runs:
            bench.worker("collector", "collector")
        bench.worker("collector: overload", "collector-overload")

    def live() -> None:
        # A sustained rate the 2-core machine keeps up with, then one well above it.
        bench.worker("live: sustained", "live", {"BENCH_LIVE_RATE": "30"})
        bench.worker(
            "live: overload", "live", {"BENCH_LIVE_RATE": "300", "BENCH_LIVE_SECONDS": "60"}
        )

    def cdc() -> None:
        from .oltp import run_cdc_step

        run_cdc_step(bench)

    sections: dict[str, tuple[str, Callable[[], None]]] = {
        "generate": (f"generate the demo at scale {bench.scale:g}", generate),
        "shop": ("shop ingest vs COPY", shop),
        "clickstream": ("clickstream ingest vs read_json", clickstream),
        "api": ("API ingest vs a plain paginated loop", api),
        "full": ("full run on an empty warehouse: ingest everything, build, publish", full),
        "dbt": ("dbt build --full-refresh vs its compiled SQL in DuckDB", dbt),
        "incremental": ("incremental: advance one day, then run", incremental),
        "serving": ("serving: every saved-query view on serving.duckdb", serving),
        "collector": ("collector: sustained events/s, then 1.5x that (backpressure)", collector),
        "live": ("real-time path: bus -> Beam -> refresher -> serving, latency and rate", live),
        "cdc": ("shop CDC: one day's changes; the shop app's latency idle/snapshot/CDC", cdc),
    }
    failures = []
    for step in steps:
        title, action = sections[step]
        print(f"==> {title}", flush=True)
        try:
            action()
        except Exception as exc:
            print(f"    FAILED: {exc}", flush=True)
            failures.append(f"{step}: {exc}")
    return failures


def _reset_warehouse(paths: Paths) -> None:
    """An empty warehouse on the generated world: what a first `warehouse run` meets."""
    paths.duckdb.unlink(missing_ok=True)
    paths.serving.unlink(missing_ok=True)
    shutil.rmtree(paths.pipelines, ignore_errors=True)


class _api_server:
    """The demo API without injected faults or rate limit, for both the loop and dlt: random
    faults would make medians noise, and a rate limit would make both measure the limit."""

    def __init__(self, paths: Paths, scale: float) -> None:
        self.paths = paths
        self.scale = scale

    def __enter__(self) -> dict[str, str]:
        from demo.api.server import DEMO_TOKEN, Behaviour, running
        from warehouse.sources import shop_dsn

        self.running = running(shop_dsn(self.paths), Behaviour(max_page_size=500))
        server = self.running.__enter__()
        env = {"BENCH_API_SINCE": str(api_window_start(self.paths, self.scale))}
        for source in API_SOURCES:
            env[f"SOURCES__{source.upper()}__BASE_URL"] = server.url
            env[f"SOURCES__{source.upper()}__TOKEN"] = DEMO_TOKEN
        # The same window for dlt (its sources' first-load start) as for the loop.
        since = datetime.fromtimestamp(int(env["BENCH_API_SINCE"]), UTC).isoformat()
        env["SOURCES__PAYMENTS__CREATED_SINCE"] = env["BENCH_API_SINCE"]
        env["SOURCES__MARKETING__UPDATED_SINCE"] = since
        env["SOURCES__REVIEWS__UPDATED_SINCE"] = since
        return env

    def __exit__(self, *exc: Any) -> None:
        self.running.__exit__(*exc)


def api_window_start(paths: Paths, scale: float) -> int:
    """Unix time from which the API steps read: the last ``API_WINDOW_DAYS / scale`` days of
    the demo's clock, about the same number of records (~100k) at every scale. A whole history
    at scale 100 is 12M records one page of 100 at a time: hours, for a rate that a sample
    measures as well."""
    import psycopg

    from demo import shop
    from warehouse.sources import shop_dsn

    with psycopg.connect(shop_dsn(paths)) as conn:
        now = shop.read_clock(conn).now
    return int((now - timedelta(days=max(1.0, API_WINDOW_DAYS / scale))).timestamp())
