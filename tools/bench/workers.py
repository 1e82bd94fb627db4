"""``make bench``: the measured tasks, each run in a process of its own, and their baselines."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse.access import analyst_connection
from warehouse.paths import PROJECT_DIR, Paths

from .collector import work_collector, work_collector_overload
from .measure import API_SOURCES, SERVING_QUERIES, SHOP_TABLES
from .oltp import work_shop_cdc, work_shop_cdc_snapshot

# --------------------------------------------------------------------------------------------
# Workers: each runs in its own process, times its own work and writes what it measured


def worker(task: str, folder: Path, paths: Paths) -> dict[str, Any]:
    return WORKERS[task](folder, paths)


def work_shop_dlt(folder: Path, paths: Paths) -> dict[str, Any]:
    from ingestion.runner import pipeline_for, run
    from ingestion.shop import shop
    from warehouse.sources import shop_dsn

    dsn = shop_dsn(paths)
    started = time.perf_counter()
    pipeline = pipeline_for("shop", folder / "warehouse.duckdb", folder / "dlt")
    # Cursor mode: a full load by COPY, the figure compared with COPY itself (the CDC mode's
    # snapshot is the same COPY under an exported snapshot; its rows: the `cdc` step).
    report = run(pipeline, shop(credentials=dsn, tables=list(SHOP_TABLES), mode="cursor"))
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

    from warehouse.sources import shop_dsn

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


def _blocks(copy: Any, rows: int = 200_000) -> Iterator[bytearray]:
    """The COPY's rows joined into blocks, read ahead by a thread (at most 4 blocks queued)."""
    import queue
    import threading

    blocks: queue.Queue[bytearray | None] = queue.Queue(maxsize=4)

    def read() -> None:
        try:
            # Each row (a memoryview) is copied at once: views kept until a block is full
            # make Python's garbage collector rescan them (see ingestion/shop/helpers.py).
            pending, count = bytearray(), 0
            for row in copy:
                pending += row
                count += 1
                if count >= rows:
                    blocks.put(pending)
                    pending, count = bytearray(), 0
            blocks.put(pending)
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
    from warehouse.sources import reconcile_clickstream

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
    """The API sources loaded as `warehouse ingest` loads them (at the same time), into the
    scratch folder as a home: its warehouse.duckdb and dlt/ folder."""
    from warehouse.sources import load_all

    started = time.perf_counter()
    rows = 0
    for outcome in load_all(API_SOURCES, Paths(folder)):
        if outcome.error is not None:
            raise outcome.error
        rows += outcome.report.total if outcome.report else 0
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

    from warehouse.dbt import dbt

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


def work_live(folder: Path, paths: Paths) -> dict[str, Any]:
    """The real-time path on the built demo at ``BENCH_LIVE_RATE`` events/s for
    ``BENCH_LIVE_SECONDS``: latency sent -> published (p50, p95), throughput, reconciliation."""
    from streaming.live import run_live

    rate = float(os.environ.get("BENCH_LIVE_RATE", "30"))
    seconds = float(os.environ.get("BENCH_LIVE_SECONDS", "120"))
    report = run_live(paths, seconds, rate)
    return {
        "seconds": report.percentile(0.95) or 0.0,
        "rows": report.sent,
        "p50": report.percentile(0.5) or 0.0,
        "rate": rate,
        "throughput": report.throughput,
        "drain_seconds": report.drain_seconds,
        "reconciled": report.reconciled,
        "landed": report.landed,
        "quarantined": report.quarantined,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


WORKERS: dict[str, Callable[[Path, Paths], dict[str, Any]]] = {
    "live": work_live,
    "shop-dlt": work_shop_dlt,
    "shop-copy": work_shop_copy,
    "clickstream-dlt": work_clickstream_dlt,
    "clickstream-read-json": work_clickstream_read_json,
    "api-dlt": work_api_dlt,
    "api-loop": work_api_loop,
    "dbt-build": work_dbt_build,
    "dbt-sql": work_dbt_sql,
    "serving": work_serving,
    "collector": work_collector,
    "collector-overload": work_collector_overload,
    "shop-cdc": work_shop_cdc,
    "shop-cdc-snapshot": work_shop_cdc_snapshot,
}
