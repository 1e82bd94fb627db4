"""``make bench``: how fast the warehouse refreshes and how much memory it takes, each figure
beside a baseline measured in the same run, on the same data and the same machine.

    python -m warehouse.bench --scale 10 --runs 3 [--home DIR] [--only shop,dbt ...]

Every step runs in a subprocess of its own, so its peak RSS (``wait4``) is its own and one
step's caches never help the next. Steps that are repeated alternate with their baseline, and
the table reports medians. The baselines are what the engines do with no pipeline around them:

- shop: PostgreSQL ``COPY ... TO STDOUT`` (CSV) -> pyarrow's streaming CSV reader -> a DuckDB
  table, for the same tables (orders, order_items) the dlt pipeline loads.
- clickstream: DuckDB's ``read_json`` of the same gzip files into a table, with the same text
  columns the pipeline writes.
- API: a plain ``requests`` loop that pages through the same endpoints of the same demo server,
  with the same page sizes, and parses every page.
- dbt build: the SQL dbt compiled for every node of that build, executed straight in DuckDB in
  the order dbt completed them (models as ``create or replace``, tests as ``count(*)``).
- incremental: a full ``warehouse run`` (ingest everything, build, publish) on an empty
  warehouse, against ``warehouse demo advance`` (one day) then ``warehouse run``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .access import analyst_connection
from .paths import PROJECT_DIR, Paths

# The shop tables the ingest figure is about: the big ones, millions of rows at scale 10.
SHOP_TABLES = ("orders", "order_items")
API_SOURCES = ("payments", "marketing", "reviews")
STEPS = ("generate", "shop", "clickstream", "api", "full", "dbt", "incremental", "serving")
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
        command = [sys.executable, "-m", "warehouse.bench", "--home", str(self.paths.home)]
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

    sections: dict[str, tuple[str, Callable[[], None]]] = {
        "generate": (f"generate the demo at scale {bench.scale:g}", generate),
        "shop": ("shop ingest vs COPY", shop),
        "clickstream": ("clickstream ingest vs read_json", clickstream),
        "api": ("API ingest vs a plain paginated loop", api),
        "full": ("full run on an empty warehouse: ingest everything, build, publish", full),
        "dbt": ("dbt build --full-refresh vs its compiled SQL in DuckDB", dbt),
        "incremental": ("incremental: advance one day, then run", incremental),
        "serving": ("serving: every saved-query view on serving.duckdb", serving),
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

        from .sources import shop_dsn

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

    from .sources import shop_dsn

    with psycopg.connect(shop_dsn(paths)) as conn:
        now = shop.read_clock(conn).now
    return int((now - timedelta(days=max(1.0, API_WINDOW_DAYS / scale))).timestamp())


# --------------------------------------------------------------------------------------------
# Workers: each runs in its own process, times its own work and writes what it measured


def worker(task: str, folder: Path, paths: Paths) -> dict[str, Any]:
    return WORKERS[task](folder, paths)


def work_shop_dlt(folder: Path, paths: Paths) -> dict[str, Any]:
    from ingestion.runner import pipeline_for, run
    from ingestion.shop import shop

    from .sources import shop_dsn

    dsn = shop_dsn(paths)
    started = time.perf_counter()
    pipeline = pipeline_for("shop", folder / "warehouse.duckdb", folder / "dlt")
    report = run(pipeline, shop(credentials=dsn, tables=list(SHOP_TABLES)))
    seconds = time.perf_counter() - started
    trace = {step.step: round(_step_seconds(step), 2) for step in pipeline.last_trace.steps}
    return {"seconds": seconds, "rows": sum(report.rows[t] for t in SHOP_TABLES), **trace}


def _step_seconds(step: Any) -> float:
    return (step.finished_at - step.started_at).total_seconds()


def work_shop_copy(folder: Path, paths: Paths) -> dict[str, Any]:
    """COPY each table as CSV, parse it with pyarrow, and let DuckDB create a table from the
    batches as they come: the engines' own bulk paths and nothing else. A thread reads the COPY
    while the main thread parses and inserts, so both cores work, as they may for dlt."""
    import duckdb
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as csv

    from .sources import shop_dsn

    dsn = shop_dsn(paths)
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(dsn) as pg, duckdb.connect(str(folder / "copy.duckdb")) as db:
        pg.execute("set timezone = 'UTC'")
        for table in SHOP_TABLES:
            columns = pg.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'shop' and table_name = %s order by ordinal_position",
                (table,),
            ).fetchall()
            schema = pa.schema((name, _arrow_type(kind)) for name, kind in columns)
            options = {
                "read_options": csv.ReadOptions(column_names=schema.names, block_size=16 << 20),
                "convert_options": csv.ConvertOptions(
                    column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
                ),
            }

            def batches(blocks: Iterator[bytes], options: dict = options) -> Iterator[Any]:
                for block in blocks:
                    yield from csv.read_csv(pa.py_buffer(block), **options).to_batches()

            with pg.cursor().copy(f"copy shop.{table} to stdout (format csv)") as copy:
                reader = pa.RecordBatchReader.from_batches(schema, batches(_blocks(copy)))
                db.register("copied", reader)
                db.execute(f"create table {table} as select * from copied")
                db.unregister("copied")
            rows += db.execute(f"select count(*) from {table}").fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _blocks(copy: Any, rows: int = 200_000) -> Iterator[bytes]:
    """The COPY's rows joined into blocks, read ahead by a thread (at most 4 blocks queued)."""
    import queue
    import threading

    blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)

    def read() -> None:
        try:
            pending: list[bytes] = []
            for row in copy:
                pending.append(row)
                if len(pending) >= rows:
                    blocks.put(b"".join(pending))
                    pending = []
            blocks.put(b"".join(pending))
        finally:
            blocks.put(None)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    while (block := blocks.get()) is not None:
        if block:
            yield block
    thread.join()


def _arrow_type(postgres_type: str) -> Any:
    import pyarrow as pa

    return {
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "smallint": pa.int16(),
        "numeric": pa.float64(),
        "double precision": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "timestamp without time zone": pa.timestamp("us"),
    }.get(postgres_type, pa.string())


def work_clickstream_dlt(folder: Path, paths: Paths) -> dict[str, Any]:
    from ingestion.clickstream import clickstream
    from ingestion.runner import pipeline_for, run

    from .sources import reconcile_clickstream

    started = time.perf_counter()
    pipeline = pipeline_for("clickstream", folder / "warehouse.duckdb", folder / "dlt")
    report = run(pipeline, clickstream(bucket_url=str(paths.clickstream)), reconcile_clickstream)
    seconds = time.perf_counter() - started
    trace = {step.step: round(_step_seconds(step), 2) for step in pipeline.last_trace.steps}
    return {"seconds": seconds, "rows": report.reconciled["lines read"], **trace}


def work_clickstream_read_json(folder: Path, paths: Paths) -> dict[str, Any]:
    import duckdb

    from ingestion.clickstream.settings import EVENT_FIELDS, FILE_GLOB, NESTED_FIELDS

    columns = {name: "JSON" if name in NESTED_FIELDS else "VARCHAR" for name in EVENT_FIELDS}
    started = time.perf_counter()
    with duckdb.connect(str(folder / "read_json.duckdb")) as db:
        db.execute(
            "create table events as select * from read_json("
            "?, format = 'newline_delimited', columns = ?, ignore_errors = true,"
            " filename = true)",
            [str(paths.clickstream / FILE_GLOB), columns],
        )
        (rows,) = db.execute("select count(*) from events").fetchone()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def work_api_dlt(folder: Path, paths: Paths) -> dict[str, Any]:
    from ingestion.runner import pipeline_for, run

    from .sources import SOURCES

    started = time.perf_counter()
    rows = 0
    for source in API_SOURCES:
        with SOURCES[source](paths) as dlt_source:
            pipeline = pipeline_for(source, folder / "warehouse.duckdb", folder / "dlt")
            rows += run(pipeline, dlt_source).total
    return {"seconds": time.perf_counter() - started, "rows": rows}


def work_api_loop(folder: Path, paths: Paths) -> dict[str, Any]:
    """Page through every endpoint the API pipelines read, as the API documents it."""
    import dlt
    import requests

    def setting(source: str, name: str) -> Any:
        return dlt.config.get(f"sources.{source}.{name}")

    # A secret, so read as one: dlt records values read as config in its next trace.
    token = dlt.secrets.get("sources.payments.token")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def get(url: str, params: dict[str, Any] | None = None) -> Any:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    since = int(os.environ["BENCH_API_SINCE"])
    iso = datetime.fromtimestamp(since, UTC).isoformat()
    started = time.perf_counter()
    rows = 0
    base = setting("payments", "base_url")
    for path in ("v1/charges", "v1/refunds"):  # Stripe: starting_after the last id
        params = {"limit": setting("payments", "page_size") or 100, "created[gte]": since}
        while True:
            page = get(f"{base}/{path}", params)
            rows += len(page["data"])
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
    base = setting("marketing", "base_url")
    for path in ("v1/campaigns", "v1/ad_spend"):  # Graph style: follow paging.next
        url: str | None = f"{base}/{path}"
        params = {"limit": setting("marketing", "page_size") or 500, "updated_since": iso}
        while url:
            page = get(url, params)
            rows += len(page["data"])
            url, params = page["paging"].get("next"), None
    base = setting("reviews", "base_url")
    number, pages = 1, 1
    while number <= pages:  # page numbers up to meta.total_pages
        per_page = setting("reviews", "page_size") or 100
        params = {"page": number, "per_page": per_page, "updated_since": iso}
        page = get(f"{base}/v1/reviews", params)
        rows += len(page["reviews"])
        pages, number = page["meta"]["total_pages"], number + 1
    return {"seconds": time.perf_counter() - started, "rows": rows}


def work_dbt_build(folder: Path, paths: Paths) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner  # noqa: F401 (imported before the clock starts)

    from .dbt import dbt

    started = time.perf_counter()
    report = dbt(paths, "build", "--full-refresh", "--quiet")
    return {"seconds": time.perf_counter() - started, **report.statuses}


def work_dbt_sql(folder: Path, paths: Paths) -> dict[str, Any]:
    """The compiled SQL of the last build's nodes, in the order dbt finished them (a valid DAG
    order), straight in DuckDB on the same warehouse. Seeds are reloaded from their CSV; unit
    tests, which run on fixtures dbt makes up, have no counterpart and are left out."""
    import duckdb

    manifest = json.loads((paths.dbt_target / "manifest.json").read_text())
    results = json.loads((paths.dbt_target / "run_results.json").read_text())["results"]
    nodes = manifest["nodes"]
    statements = []
    for result in results:
        node = nodes.get(result["unique_id"])
        if node is None:
            continue
        kind, relation = node["resource_type"], result["relation_name"]
        sql = node.get("compiled_code")  # seeds have none
        materialized = node["config"].get("materialized")
        if kind == "seed":
            seed = PROJECT_DIR / node["original_file_path"]
            statements.append(
                f"create or replace table {relation} as select * from read_csv('{seed}')"
            )
        elif kind == "model" and materialized == "view":
            statements.append(f"create or replace view {relation} as ({sql})")
        elif kind in ("model", "snapshot"):
            # A snapshot's select goes to a scratch table: the snapshot keeps its history.
            target = f"table {relation}" if kind == "model" else f"temp table {node['name']}"
            statements.append(f"create or replace {target} as ({sql})")
        elif kind == "test":
            statements.append(f"select count(*) from ({sql}) as dbt_internal_test")
    started = time.perf_counter()
    with duckdb.connect(str(paths.duckdb)) as db:
        db.execute("set TimeZone = 'UTC'")  # as dbt's sessions (not settable at connect)
        for statement in statements:
            db.execute(statement).fetchall()
    return {"seconds": time.perf_counter() - started, "statements": len(statements)}


def work_serving(folder: Path, paths: Paths) -> dict[str, Any]:
    """Each saved-query view read in full ``SERVING_QUERIES`` times; the worst view's p95."""

    latencies: dict[str, float] = {}
    with analyst_connection(paths.serving) as db:
        views = [
            f"{schema}.{name}"
            for schema, name in db.execute(
                "select schema_name, view_name from duckdb_views() where not internal"
            ).fetchall()
        ]
        for view in views:
            times = []
            for _ in range(SERVING_QUERIES):
                started = time.perf_counter()
                db.execute(f"select * from {view}").fetch_arrow_table()
                times.append(time.perf_counter() - started)
            latencies[view] = _percentile(times, 0.95)
    worst = max(latencies, key=latencies.get) if latencies else ""
    return {"seconds": latencies.get(worst, 0.0), "worst_view": worst, "views": len(views)}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


WORKERS: dict[str, Callable[[Path, Paths], dict[str, Any]]] = {
    "shop-dlt": work_shop_dlt,
    "shop-copy": work_shop_copy,
    "clickstream-dlt": work_clickstream_dlt,
    "clickstream-read-json": work_clickstream_read_json,
    "api-dlt": work_api_dlt,
    "api-loop": work_api_loop,
    "dbt-build": work_dbt_build,
    "dbt-sql": work_dbt_sql,
    "serving": work_serving,
}


# --------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Row:
    step: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: str
    memory: str


def table(samples: dict[str, list[Sample]]) -> list[Row]:
    """One row per figure of the issue, from the medians of the samples."""

    def median(name: str, value: Callable[[Sample], float]) -> float | None:
        found = samples.get(name)
        return statistics.median(value(sample) for sample in found) if found else None

    def rate(name: str) -> float | None:
        return median(name, lambda s: s.rows / s.seconds if s.seconds else 0.0)

    def seconds(name: str) -> float | None:
        return median(name, lambda s: s.seconds)

    def rss(*names: str) -> str:
        peaks = [max(s.peak_rss for s in samples[n]) / GB for n in names if n in samples]
        return " / ".join(f"{peak:.2f} GB" for peak in peaks)

    rows: list[Row] = []

    def add(
        step: str,
        figure: float | None,
        base: float | None,
        unit: str,
        base_name: str,
        target: str,
        check: Callable[[float], bool],
        ratio_of: Callable[[float, float], float],
        ratio_format: str,
        memory: str,
    ) -> None:
        if figure is None:
            return
        ratio = ratio_of(figure, base) if base else None
        rows.append(
            Row(
                step,
                unit.format(figure),
                f"{unit.format(base)} ({base_name})" if base is not None else base_name,
                ratio_format.format(ratio) if ratio is not None else "",
                target,
                "" if ratio is None else ("yes" if check(ratio) else "NO"),
                memory,
            )
        )

    def per(a: float, b: float) -> float:
        return a / b

    for step, name, base, base_name, target, limit in (
        ("shop ingest", "shop: dlt", "shop: COPY", "COPY", 0.5, "rows/s"),
        (
            "clickstream ingest",
            "clickstream: dlt",
            "clickstream: read_json",
            "read_json",
            0.5,
            "rows/s",
        ),
        ("API ingest", "api: dlt", "api: loop", "plain loop", 0.8, "records/s"),
    ):
        add(
            step,
            rate(name),
            rate(base),
            "{:,.0f} " + limit,
            base_name,
            f">= {target}",
            lambda r, t=target: r >= t,
            per,
            "{:.2f}",
            rss(name, base),
        )
    add(
        "dbt build (full)",
        seconds("dbt: build"),
        seconds("dbt: compiled SQL"),
        "{:.1f} s",
        "compiled SQL",
        "<= 1.5x",
        lambda r: r <= 1.5,
        per,
        "{:.2f}x",
        rss("dbt: build", "dbt: compiled SQL"),
    )
    add(
        "incremental run (1 day)",
        seconds("incremental run"),
        seconds("full run"),
        "{:.1f} s",
        "full run",
        "<= 10%",
        lambda r: r <= 0.10,
        per,
        "{:.1%}",
        rss("incremental run", "full run"),
    )
    ingestion = [n for n in ("shop: dlt", "clickstream: dlt", "api: dlt") if n in samples]
    if ingestion:
        peak = max(max(s.peak_rss for s in samples[n]) for n in ingestion) / GB
        rows.append(
            Row(
                "memory (ingestion)",
                f"{peak:.2f} GB peak",
                "",
                "",
                "<= 1.5 GB",
                "yes" if peak <= 1.5 else "NO",
                rss(*ingestion),
            )
        )
    if "serving" in samples:
        worst = samples["serving"][-1]
        p95 = worst.seconds
        rows.append(
            Row(
                "serving p95 (worst view)",
                f"{p95 * 1000:.0f} ms",
                worst.detail.get("worst_view", ""),
                "",
                "< 1 s",
                "yes" if p95 < 1 else "NO",
                rss("serving"),
            )
        )
    for name in ("generate", "full run", "advance"):
        if name in samples:
            rows.append(Row(name, f"{seconds(name):.1f} s", "", "", "", "", rss(name)))
    return rows


HEADER = Row("step", "figure", "baseline", "ratio", "target", "met", "peak RSS (step / base)")


def format_table(rows: list[Row]) -> str:
    cells = [list(asdict(HEADER).values())] + [list(asdict(row).values()) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER.__dict__))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m warehouse.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--home", help="the bench's warehouse home (default var/bench-<scale>)")
    parser.add_argument("--scale", type=float, default=10.0, help="demo scale (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each step (default 3)")
    parser.add_argument("--only", help=f"comma-separated steps (default all: {','.join(STEPS)})")
    parser.add_argument(
        "--keep", action="store_true", help="leave the embedded PostgreSQL running at the end"
    )
    sub = parser.add_subparsers(dest="command")
    work = sub.add_parser("worker", help="(internal) run one measured task")
    work.add_argument("task", choices=sorted(WORKERS))
    work.add_argument("folder", type=Path)
    args = parser.parse_args(argv)

    home = Path(args.home or PROJECT_DIR / "var" / f"bench-{args.scale:g}")
    if args.command == "worker":
        os.chdir(PROJECT_DIR)  # dlt reads .dlt/config.toml from the working directory
        outcome = worker(args.task, args.folder, Paths(home.resolve()))
        Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(outcome, default=str))
        return 0

    steps = args.only.split(",") if args.only else list(STEPS)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; choose from {STEPS}")
    bench = Bench(home, args.scale, args.runs)
    started = time.perf_counter()
    print(
        f"bench: scale {args.scale:g}, {args.runs} run(s), home {bench.paths.home}"
        f" (step output in {bench.log})",
        flush=True,
    )
    failures: list[str] = []
    try:
        failures = run_steps(bench, steps)
    finally:
        elapsed = time.perf_counter() - started
        rows = table(bench.samples)
        text = format_table(rows)
        print(f"\nScale {args.scale:g}, median of {args.runs} run(s), {elapsed / 60:.1f} min:\n")
        print(text)
        for failure in failures:
            print(f"failed: {failure}")
        results = {
            "scale": args.scale,
            "runs": args.runs,
            "minutes": round(elapsed / 60, 1),
            "samples": {k: [asdict(s) for s in v] for k, v in bench.samples.items()},
        }
        (bench.paths.home / "bench-results.json").write_text(json.dumps(results, indent=2))
        (bench.paths.home / "bench-table.md").write_text(text + "\n")
        if not args.keep:
            from demo.postgres import stop_embedded

            stop_embedded(bench.paths.postgres)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
