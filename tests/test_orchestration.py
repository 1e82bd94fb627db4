"""The warehouse as Dagster assets, run for real on the test-scale demo.

One home (``orchestrated``) is built only by Dagster, from the same shop database and a copy of
the same log files as the CLI-built demo home, with the instance (SQLite) in ``<home>/dagster``.
The tests run in file order on it: the definitions, a full materialization compared with the
CLI's marts, a failing dbt test, the clickstream sensor, two runs at once, and the UI in
Debian's chromium.
"""

from __future__ import annotations

import gzip
import itertools
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from orchestration.instance import dagster_home
from orchestration.location import build_definitions
from orchestration.resources import WRITER_POOL, WRITER_TAGS, WarehouseResource
from tests.chaos.harness import differences, mart_checksums
from tests.helpers import change_as_a_load, cli_server, free_port
from warehouse.dbt import mart_relations
from warehouse.paths import PROJECT_DIR, Paths
from warehouse.sources import shop_dsn

pytestmark = pytest.mark.slow

MARTS_GROUP = "marts"


@pytest.fixture(scope="module")
def demo_shop(built_demo_home: Path) -> str:
    """The demo's shop database (its embedded PostgreSQL started if a test stopped it)."""
    return shop_dsn(Paths(built_demo_home))


@pytest.fixture(scope="module")
def orchestrated(built_demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A home of its own holding a copy of the demo's log files; nothing loaded yet."""
    paths = Paths(tmp_path_factory.mktemp("orchestrated") / "home").ensure()
    shutil.copytree(Paths(built_demo_home).clickstream, paths.clickstream)
    return paths


@pytest.fixture
def shop(demo_shop: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read the demo's shop (and its API server's data) from the orchestrated home too."""
    monkeypatch.setenv("SOURCES__SHOP__CREDENTIALS", demo_shop)
    return demo_shop


@pytest.fixture(scope="module")
def definitions(orchestrated: Paths) -> Definitions:
    return build_definitions(orchestrated)


@pytest.fixture(scope="module")
def instance(orchestrated: Paths) -> Iterator[DagsterInstance]:
    """The home's persistent instance, as `warehouse ui` uses it (dagster.yaml included)."""
    with DagsterInstance.from_config(str(dagster_home(orchestrated))) as instance:
        yield instance


def test_definitions_cover_every_source_table_dbt_node_and_step(
    definitions: Definitions, built_demo_home: Path, orchestrated: Paths
) -> None:
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    # Every table the CLI's dlt pipelines landed (dlt's own tables aside) is an asset.
    with duckdb.connect(str(Paths(built_demo_home).duckdb), read_only=True) as conn:
        landed = {
            f"{schema}/{table}"
            for schema, table in conn.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema like 'raw\\_%' escape '\\' and table_name not like '\\_dlt%'"
                " escape '\\' and table_schema not like '%\\_staging' escape '\\'"
            ).fetchall()
        }
    assert len(landed) == 14 and landed <= keys, landed - keys
    # Every dbt seed, snapshot and model, as dbt names them.
    marts = {f"{schema}/{table}" for schema, table in mart_relations(orchestrated)}
    assert len(marts) >= 14 and marts <= keys
    for node in ("reference/carrier_service_levels", "snapshots/snp_shop__customers"):
        assert node in keys
    # Lineage: landed table -> staging -> mart -> serving file -> metric view -> reverse ETL.
    assert (
        AssetKey(["raw_shop", "orders"])
        in graph.get(AssetKey(["staging", "stg_shop__orders"])).parent_keys
    )
    assert {AssetKey(mart.split("/")) for mart in marts} <= graph.get(
        AssetKey("serving")
    ).parent_keys
    metric_view = graph.get(AssetKey(["metrics", "daily_sales_and_engagement"]))
    assert {AssetKey("serving"), AssetKey(["sales", "fct_orders"])} <= metric_view.parent_keys
    assert graph.get(AssetKey(["crm", "customer_flags"])).parent_keys == {AssetKey("serving")}
    # dbt tests are asset checks; the raw tables have freshness checks.
    checks = {key.name for key in graph.asset_check_keys}
    assert "accepted_values_stg_shop__orders_currency__USD" in checks
    assert any("freshness" in name for name in checks)
    # Schedules, the sensor, retries of the API sources, the writer pool.
    schedules = {s.name: s.cron_schedule for s in definitions.schedules}
    assert schedules == {"hourly_refresh": "0 * * * *", "nightly_full_test_schedule": "0 3 * * *"}
    assert {s.name for s in definitions.sensors} >= {"clickstream_logs", "raw_freshness"}
    for source in ("payments", "marketing", "reviews"):
        node = graph.get(AssetKey([f"raw_{source}", graph_table(source)]))
        assert node.assets_def.op.retry_policy is not None, source
        assert node.assets_def.op.pool == WRITER_POOL
    assert graph.get(AssetKey(["raw_shop", "orders"])).assets_def.op.retry_policy is None
    for job in ("refresh", "nightly_full_test", "clickstream_refresh"):
        assert definitions.resolve_job_def(job).tags == WRITER_TAGS


def graph_table(source: str) -> str:
    return {"payments": "charges", "marketing": "campaigns", "reviews": "reviews"}[source]


def test_materializing_everything_gives_the_marts_of_warehouse_run(
    definitions: Definitions,
    instance: DagsterInstance,
    orchestrated: Paths,
    built_demo_home: Path,
    shop: str,
) -> None:
    result = definitions.resolve_job_def("refresh").execute_in_process(
        instance=instance, raise_on_error=False
    )
    failures = [event.message for event in result.all_events if event.is_step_failure]
    assert result.success, failures
    expected, actual = mart_checksums(built_demo_home), mart_checksums(orchestrated.home)
    assert len(expected) >= 14
    assert actual == expected, differences(expected, actual)
    # The serving file and reverse ETL ran too, and every dbt test of error severity passed.
    with duckdb.connect(str(orchestrated.serving), read_only=True) as conn:
        (views,) = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'metrics'"
        ).fetchone()
    assert views >= 6
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 400
    failed = [e.check_name for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    assert not failed, failed
    flags = instance.get_latest_materialization_event(AssetKey(["crm", "customer_flags"]))
    assert flags is not None and flags.run_id == result.run_id


def test_a_failing_dbt_test_fails_its_check_and_publish_does_not_run(
    definitions: Definitions, instance: DagsterInstance, orchestrated: Paths, shop: str
) -> None:
    published = orchestrated.serving.stat().st_mtime_ns
    publishing = AssetSelection.groups("serving") - AssetSelection.assets(["crm", "customer_flags"])

    def run(selection: AssetSelection):
        return definitions.resolve_job_def("refresh").execute_in_process(
            instance=instance,
            asset_selection=list(selection.resolve(definitions.resolve_asset_graph())),
            raise_on_error=False,
        )

    with duckdb.connect(str(orchestrated.duckdb)) as conn:
        (order_id,) = conn.execute("select min(id) from raw_shop.orders").fetchone()
        change_as_a_load(conn, "raw_shop.orders", order_id, currency="eur")
    try:
        # The orders' staging model, a mart built on it, and the serving file.
        result = run(
            AssetSelection.assets(["staging", "stg_shop__orders"], ["sales", "fct_orders"])
            | publishing
        )
        # Publish alone, as `warehouse publish` after that build: refused while a test fails.
        alone = run(publishing)
    finally:
        with duckdb.connect(str(orchestrated.duckdb)) as conn:
            change_as_a_load(conn, "raw_shop.orders", order_id, currency="usd")
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["accepted_values_stg_shop__orders_currency__USD"] is False

    def steps(kind: DagsterEventType) -> set[str]:
        return {event.step_key for event in result.all_events if event.event_type == kind}

    assert steps(DagsterEventType.STEP_FAILURE) == {"dbt_build"}
    assert "publish" not in steps(DagsterEventType.STEP_START)  # never started
    assert not alone.success
    (failure,) = [event for event in alone.all_events if event.is_step_failure]
    assert failure.step_key == "publish"
    assert "accepted_values_stg_shop__orders_currency__USD" in str(failure.step_failure_data.error)
    assert not alone.asset_materializations_for_node("publish")
    assert orchestrated.serving.stat().st_mtime_ns == published  # the last good file stays


def test_the_sensor_requests_a_run_when_a_log_file_lands(
    definitions: Definitions, orchestrated: Paths, instance: DagsterInstance
) -> None:
    sensor = definitions.resolve_sensor_def("clickstream_logs")
    resources = {"warehouse": WarehouseResource(home=str(orchestrated.home))}

    def evaluate(cursor: str | None) -> SensorResult | SkipReason:
        context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        return sensor(context)

    first = evaluate(None)  # never evaluated: the files already there count as new
    assert isinstance(first, SensorResult) and len(first.run_requests) == 1
    assert isinstance(evaluate(first.cursor), SkipReason)  # nothing new since

    logs = sorted(orchestrated.clickstream.rglob("*.jsonl.gz"))
    new_file = logs[-1].with_name("events-2099010100.jsonl.gz")
    with gzip.open(new_file, "wt") as out:
        out.write('{"event_id": "sensor-test", "event": "page_viewed", "timestamp": 0}\n')
    try:
        later = os.stat(logs[-1]).st_mtime + 5
        os.utime(new_file, (later, later))
        fired = evaluate(first.cursor)
        assert isinstance(fired, SensorResult), fired
        (request,) = fired.run_requests
        assert request.run_key != first.run_requests[0].run_key
        assert request.tags["warehouse/writes"] == "duckdb"
        assert sensor.job_name == "clickstream_refresh"
        assert isinstance(evaluate(fired.cursor), SkipReason)
    finally:
        new_file.unlink()


CONCURRENT_RUN = textwrap.dedent(
    """
    import sys
    from dagster import AssetKey, DagsterInstance
    from orchestration.location import build_definitions
    from warehouse.paths import Paths

    definitions = build_definitions(Paths.from_env(sys.argv[1]))
    selection = [AssetKey(key.split("/")) for key in sys.argv[2:]]
    with DagsterInstance.get() as instance:
        result = definitions.resolve_job_def("refresh").execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False
        )
    print(result.run_id)
    sys.exit(0 if result.success else 1)
    """
)


def test_two_runs_at_once_take_turns_at_the_warehouse(
    orchestrated: Paths, instance: DagsterInstance, shop: str
) -> None:
    # The instance queues writer runs one at a time and has a one-slot pool for writer steps.
    config = instance.get_concurrency_config()
    assert [
        (limit["key"], limit["limit"]) for limit in config.run_queue_config.tag_concurrency_limits
    ] == [("warehouse/writes", 1)]
    assert config.pool_config.default_pool_limit == 1
    # Two runs, each loading a source (one also building its staging model), started together
    # in their own processes (as the daemon launches them) on the same warehouse file.
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home(orchestrated))}
    selections = [
        ["raw_reviews/reviews", "staging/stg_reviews__reviews"],
        ["raw_marketing/campaigns", "raw_marketing/ad_spend"],
    ]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_RUN, str(orchestrated.home), *selection],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for selection in selections
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out[-2000:] + err[-3000:]
    run_ids = [out.strip().splitlines()[-1] for out, _ in outputs]

    steps: list[tuple[float, float, str]] = []
    blocked = []
    spans = []
    for run_id in run_ids:
        events = instance.all_logs(run_id)
        spans.append((events[0].timestamp, events[-1].timestamp))
        started: dict[str, float] = {}
        for entry in events:
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS and _writes(event.step_key):
                steps.append((started[event.step_key], entry.timestamp, event.step_key))
            elif f"blocked by limit for pool {WRITER_POOL}" in (event.message or ""):
                blocked.append(event.step_key)
    (first_start, first_end), (second_start, second_end) = spans
    assert first_start < second_end and second_start < first_end, "the runs did not overlap"
    steps.sort()
    for (_, end, step), (start, _, other) in itertools.pairwise(steps):
        assert end <= start, f"{step} and {other} wrote the warehouse at the same time"
    assert blocked, "no step waited for the writer pool: the runs never competed"


def _writes(step_key: str) -> bool:
    """Whether a step writes warehouse.duckdb (a load, the dbt build, publish); the freshness
    checks a run of raw tables includes only read the instance."""
    return step_key.startswith("ingest_") or step_key in ("dbt_build", "publish")


@pytest.fixture(scope="module")
def ui_url(orchestrated: Paths) -> Iterator[str]:
    """`warehouse ui` on the orchestrated home, in a process group of its own (stopped whole)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["--home", str(orchestrated.home), "ui", "--port", str(port)]
    with cli_server(args, url + "/server_info", timeout=240):
        yield url


def _dismiss_welcome(page) -> None:
    """The UI greets a new instance with a newsletter dialog; skip it."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def test_the_ui_shows_the_asset_graph_with_the_marts_and_the_latest_run(
    ui_url: str, browser, orchestrated: Paths, instance: DagsterInstance, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    location = "orchestration.definitions"
    # The marts' lineage graph: drawn nodes with their latest materialization and checks.
    page.goto(f"{ui_url}/locations/{location}/asset-groups/{MARTS_GROUP}", wait_until="networkidle")
    page.get_by_text("fct_orders", exact=True).first.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    page.get_by_text("Materialized").first.wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "marts-graph.png"))
    assert page.locator("text=/\\d+ \\/ \\d+ Passed/").count() > 0  # the dbt tests as checks
    # Every mart is in the group, as listed beside the graph.
    page.goto(
        f"{ui_url}/locations/{location}/asset-groups/{MARTS_GROUP}/list", wait_until="networkidle"
    )
    page.get_by_text("fct_orders").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    for schema, table in mart_relations(orchestrated):
        assert f"{schema} / {table}" in body, table
    # The runs page: the latest run first, with the status the instance recorded.
    latest, *earlier = instance.get_runs()
    statuses = {"SUCCESS": "Success", "FAILURE": "Failure"}
    page.goto(f"{ui_url}/runs", wait_until="networkidle")
    run_id = page.get_by_text(latest.run_id[:8], exact=True).first
    run_id.wait_for(timeout=60_000)
    # The run's row: the nearest element around its id that shows a status.
    row = run_id.locator(
        "xpath=ancestor::*[contains(., 'Success') or contains(., 'Failure')][1]"
    ).inner_text()
    assert statuses[latest.status.value] in row, row
    assert {word for word in statuses.values() if word in row} == {statuses[latest.status.value]}, (
        row
    )
    body = page.inner_text("body")
    assert all(
        body.index(latest.run_id[:8]) < body.index(run.run_id[:8])
        for run in earlier
        if run.run_id[:8] in body
    )
    page.screenshot(path=str(tmp_path / "runs.png"))
    assert not errors, errors
