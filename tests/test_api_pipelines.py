"""The payments, marketing and reviews pipelines against the running demo API server: a full
load equals what the server holds, a rerun after ``advance`` asks only for records at or after
its cursor (checked in the server's request log), throttling and server errors are retried
without losing a record, and a bad token or a dead API gives one clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources import DltSource

from demo import world
from demo.api.behaviour import LoggedRequest
from demo.api.server import DEMO_TOKEN, ApiServer, Behaviour, running
from ingestion.marketing import marketing
from ingestion.payments import payments
from ingestion.rest import ApiSourceError
from ingestion.reviews import reviews
from ingestion.runner import IngestReport, pipeline_for, run
from warehouse.errors import reason
from warehouse.paths import Paths
from warehouse.sources import SOURCES

from .conftest import TEST_SCALE

# Each source: its dlt source, and per endpoint the raw table, the server's table, the query
# parameter that carries the cursor, and SQL giving the cursor's value as the API serves it.
SOURCE_FUNCTIONS: dict[str, Callable[..., DltSource]] = {
    "payments": payments,
    "marketing": marketing,
    "reviews": reviews,
}
ENDPOINTS = {
    "payments": {
        "/v1/charges": ("charges", "created[gte]", "extract(epoch from {})::bigint::text"),
        "/v1/refunds": ("refunds", "created[gte]", "extract(epoch from {})::bigint::text"),
    },
    "marketing": {
        "/v1/campaigns": ("campaigns", "updated_since", "to_json({}) #>> '{{}}'"),
        "/v1/ad_spend": ("ad_spend", "updated_since", "to_json({}) #>> '{{}}'"),
    },
    "reviews": {
        "/v1/reviews": (
            "reviews",
            "updated_since",
            """to_char({}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')""",
        ),
    },
}
CURSOR_COLUMNS = {"charges": "created_at", "refunds": "created_at"}  # else updated_at


@pytest.fixture(autouse=True)
def _fast_retries_and_no_configured_apis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff in hundredths of seconds (Retry-After still rules 429s), and no developer's
    API configuration leaking in."""
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    for source in SOURCE_FUNCTIONS:
        for name in ("BASE_URL", "TOKEN"):
            monkeypatch.delenv(f"SOURCES__{source.upper()}__{name}", raising=False)


def load(source: str, server: ApiServer, paths: Paths, **options: object) -> IngestReport:
    dlt_source = SOURCE_FUNCTIONS[source](
        base_url=options.pop("base_url", server.url),
        token=options.pop("token", DEMO_TOKEN),
        **options,
    )
    return run(pipeline_for(source, paths.duckdb, paths.pipelines), dlt_source)


def raw_count(paths: Paths, source: str, table: str) -> int:
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        return conn.execute(f"select count(*) from raw_{source}.{table}").fetchone()[0]


def served(dsn: str, sql: str) -> object:
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        return conn.execute(sql).fetchone()[0]


def assert_warehouse_equals_server(dsn: str, paths: Paths, source: str) -> None:
    for table, _, _ in ENDPOINTS[source].values():
        expected = served(dsn, f"select count(*) from demo_api.{table}")
        assert raw_count(paths, source, table) == expected, f"{source}.{table}"


@pytest.mark.parametrize("source", list(SOURCE_FUNCTIONS))
def test_full_load_then_incremental_after_advance(
    source: str, shop_dsn: str, paths: Paths, tmp_path: Path
) -> None:
    world.generate(shop_dsn, tmp_path, scale=TEST_SCALE, seed=42)
    with running(shop_dsn) as server:
        first = load(source, server, paths)
        assert first.total > 0
        assert_warehouse_equals_server(shop_dsn, paths, source)
        # Where each endpoint's cursor stands after the full load, and as the API writes it.
        before = {}
        for path, (table, _, render) in ENDPOINTS[source].items():
            column = CURSOR_COLUMNS.get(table, "updated_at")
            before[path] = served(
                shop_dsn,
                f"select array[max({column})::text, {render.format(f'max({column})')},"
                f" count(*)::text] from demo_api.{table}",
            )

        world.advance(shop_dsn, tmp_path, days=2)
        server.clear_log()
        second = load(source, server, paths)

        assert second.total > 0, "two days bring new or changed records to every source"
        for path, (table, parameter, _) in ENDPOINTS[source].items():
            cursor, cursor_as_served, total_before = before[path]
            requests = server.requests_to(path)
            assert requests, path
            # Every request of the rerun starts at the cursor: nothing older is asked for...
            assert {request.query.get(parameter) for request in requests} == {cursor_as_served}
            # ...so the server sent only what changed since (and the records at the cursor).
            column = CURSOR_COLUMNS.get(table, "updated_at")
            at_or_after = served(
                shop_dsn,
                f"select count(*) from demo_api.{table} where {column} >= '{cursor}'",
            )
            assert sum(request.rows for request in requests) == at_or_after < int(total_before)
    # Merged on the keys: new records added, changed ones replaced, nothing doubled.
    assert_warehouse_equals_server(shop_dsn, paths, source)
    if source == "marketing":
        with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
            final_raw = conn.execute(
                "select count(*) from raw_marketing.ad_spend where is_final"
            ).fetchone()[0]
        assert final_raw == served(
            shop_dsn, "select count(*) from demo_api.ad_spend where is_final"
        )


def test_throttling_and_server_errors_are_retried_and_nothing_is_lost(
    generated_world_dsn: str, paths: Paths
) -> None:
    behaviour = Behaviour(rate_limit=10, fault_rate=0.2, slow_rate=0.1, slow_seconds=0.05, seed=7)
    with running(generated_world_dsn, behaviour) as server:
        for source in SOURCE_FUNCTIONS:
            load(source, server, paths, page_size=100)
        log = list(server.requests)
    statuses = [request.status for request in log]
    assert 429 in statuses and {500, 502, 503} & set(statuses)
    for source in SOURCE_FUNCTIONS:
        assert_warehouse_equals_server(generated_world_dsn, paths, source)
    # After a 429 the client waited what Retry-After said (1 s), not its 0.01 s backoff, before
    # it asked again: the same request's retry (payments' time slices send theirs at once, so
    # the next request in the log may be another slice's, sent before the 429 came back).
    waits = [
        next(later.at for later in log[index + 1 :] if _same(later, throttled)) - throttled.at
        for index, throttled in enumerate(log)
        if throttled.status == 429
    ]
    assert waits and min(waits) >= 0.9


@pytest.mark.parametrize("source", list(SOURCE_FUNCTIONS))
def test_a_bad_token_gives_one_clear_error(
    source: str, generated_world_dsn: str, paths: Paths
) -> None:
    token = "sk_live_wrong_0123456789"
    with running(generated_world_dsn) as server:
        with pytest.raises(PipelineStepFailed) as failure:
            load(source, server, paths, token=token)
        log = list(server.requests)
    message = reason(failure.value)
    assert isinstance(_innermost(failure.value), ApiSourceError)
    assert message.startswith(f"{source} source: the API at {server.url}/v1/")
    assert "rejected the token (401" in message
    assert f"[sources.{source}] token" in message and f"SOURCES__{source.upper()}__TOKEN" in message
    assert token not in message
    assert [request.status for request in log] == [401], "a rejected token is not retried"


def test_an_api_that_stays_down_gives_one_clear_error(
    generated_world_dsn: str, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    with running(generated_world_dsn, Behaviour(fault_rate=1.0)) as server:
        with pytest.raises(PipelineStepFailed) as failure:
            load("payments", server, paths)
        assert len(server.requests) == 3
    message = reason(failure.value)
    assert message.startswith(f"payments source: the API at {server.url}/v1/charges still")
    assert "after 3 attempts" in message and "request_max_attempts" in message

    # And one that is not there at all (the server is stopped now).
    with pytest.raises(PipelineStepFailed) as failure:
        load("reviews", server, paths)
    assert reason(failure.value).startswith(
        f"reviews source: cannot reach the API at {server.url}/v1/reviews after 3 attempts"
    )


def test_cli_sources_run_the_demo_server_unless_a_base_url_is_configured(
    generated_world_dsn: str, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__SHOP__CREDENTIALS", generated_world_dsn)
    with SOURCES["reviews"](paths) as source:
        report = run(pipeline_for("reviews", paths.duckdb, paths.pipelines), source)
    assert report.rows == {
        "reviews": served(generated_world_dsn, "select count(*) from demo_api.reviews")
    }

    # Configured: the pipeline reads that API, with the configured token.
    with running(generated_world_dsn, Behaviour(token="configured-token")) as server:
        monkeypatch.setenv("SOURCES__MARKETING__BASE_URL", server.url)
        monkeypatch.setenv("SOURCES__MARKETING__TOKEN", "configured-token")
        with SOURCES["marketing"](paths) as source:
            run(pipeline_for("marketing", paths.duckdb, paths.pipelines), source)
        assert {request.status for request in server.requests} == {200}
    assert_warehouse_equals_server(generated_world_dsn, paths, "marketing")


def _same(one: LoggedRequest, other: LoggedRequest) -> bool:
    return (one.method, one.path, one.query) == (other.method, other.path, other.query)


def _innermost(exc: BaseException) -> BaseException:
    while (inner := getattr(exc, "exception", None) or exc.__cause__) is not None:
        exc = inner
    return exc


@pytest.mark.parametrize("source", list(SOURCE_FUNCTIONS))
def test_missing_settings_are_named_before_any_request(source: str) -> None:
    with pytest.raises(ApiSourceError, match=rf"\[sources\.{source}\] base_url"):
        SOURCE_FUNCTIONS[source]()
    with pytest.raises(ApiSourceError, match=rf"no API token.*\[sources\.{source}\] token"):
        SOURCE_FUNCTIONS[source](base_url="https://api.example.com")
