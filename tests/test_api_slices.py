"""Payments' charges read in time slices paged at once (ingestion/rest_slices.py), against the
running demo API: records created exactly on a slice's bound are loaded once, and a slice that
fails mid-way fails the run with a clear error, loads nothing, and the rerun loads everything.
The API session, which reads the proxy environment once per host, still honours it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo import world
from demo.api.server import DEMO_TOKEN, ApiServer, Behaviour, running
from ingestion.payments import payments
from ingestion.runner import IngestReport, pipeline_for, run
from warehouse.errors import reason
from warehouse.paths import Paths

from .conftest import TEST_SCALE

SLICES = 4
PAGE_SIZE = 10  # many pages per slice at the test scale


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    for name in ("BASE_URL", "TOKEN", "SLICES", "PAGE_SIZE", "CREATED_SINCE"):
        monkeypatch.delenv(f"SOURCES__PAYMENTS__{name}", raising=False)


def load(server: ApiServer, paths: Paths, **options: object) -> IngestReport:
    source = payments(
        base_url=server.url, token=DEMO_TOKEN, page_size=PAGE_SIZE, slices=SLICES, **options
    )
    return run(pipeline_for("payments", paths.duckdb, paths.pipelines), source)


def served_ids(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return sorted(row[0] for row in conn.execute("select charge_id from demo_api.charges"))


def loaded_ids(paths: Paths) -> list[str]:
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        return sorted(
            row[0] for row in conn.execute("select id from raw_payments.charges").fetchall()
        )


def sliced_bounds(server: ApiServer) -> set[int]:
    """The ``created[lt]`` bounds the slices asked for (the probes ask for one record)."""
    return {
        int(request.query["created[lt]"])
        for request in server.requests
        if request.path == "/v1/charges"
        and "created[lt]" in request.query
        and request.query.get("limit") != "1"
    }


def test_records_on_the_slice_bounds_are_loaded_once(shop_dsn: str, tmp_path: Path) -> None:
    world.generate(shop_dsn, tmp_path / "world", scale=TEST_SCALE, seed=42)
    # Every charge on one of 41 whole seconds: whatever bounds the slices take between the
    # oldest and the newest, records were created exactly on each, and many share a second
    # (the keyset `starting_after` pages through ties).
    start = 1_700_000_000
    with psycopg.connect(shop_dsn) as conn:
        conn.execute(
            "update demo_api.charges"
            " set created_at = to_timestamp(%s + abs(hashtext(charge_id)) %% 41)",
            (start,),
        )
    paths = Paths(tmp_path / "warehouse").ensure()
    with running(shop_dsn) as server:
        load(server, paths, created_since=start - 5)
        bounds = sliced_bounds(server)
    assert len(bounds) == SLICES - 1, f"read in {SLICES} slices: {sorted(bounds)}"
    assert all(start < bound <= start + 40 for bound in bounds), sorted(bounds)
    with psycopg.connect(shop_dsn) as conn:
        on_bounds = conn.execute(
            "select count(*) from demo_api.charges"
            " where extract(epoch from created_at)::bigint = any(%s)",
            (sorted(bounds),),
        ).fetchone()[0]
    assert on_bounds > 0
    ids = served_ids(shop_dsn)
    assert loaded_ids(paths) == ids, "every charge once: none lost on a bound, none twice"


def test_a_slice_failing_mid_way_fails_the_run_and_the_rerun_loads_everything(
    generated_world_dsn: str, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    with running(generated_world_dsn) as server:
        # Once a slice has read its second page, the API goes down for good.
        watcher = threading.Thread(target=_down_after_a_sliced_page, args=(server,), daemon=True)
        watcher.start()
        with pytest.raises(PipelineStepFailed) as failure:
            load(server, paths)
        watcher.join()
        message = reason(failure.value)
        assert message.startswith(f"payments source: the API at {server.url}/v1/charges still")
        assert "after 2 attempts" in message
        with duckdb.connect(str(paths.duckdb)) as conn:
            loaded = conn.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'raw_payments' and table_name = 'charges'"
            ).fetchone()[0]
        assert loaded == 0, "nothing of the failed run is loaded"

        server.behaviour = Behaviour()
        server.clear_log()
        load(server, paths)
        first = server.requests_to("/v1/charges")[0]
    assert first.query["created[gte]"] == "0", "the rerun reads the whole window again"
    assert loaded_ids(paths) == served_ids(generated_world_dsn)


def _down_after_a_sliced_page(server: ApiServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(
            "created[lt]" in request.query and "starting_after" in request.query
            for request in list(server.requests)
        ):
            server.behaviour = Behaviour(fault_rate=1.0)
            return
        time.sleep(0.001)


def test_the_proxy_environment_is_still_honoured(
    generated_world_dsn: str, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session reads HTTP_PROXY / NO_PROXY once per host, but reads them: through a proxy
    that is not there the API cannot be reached; with the host in NO_PROXY it loads."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    monkeypatch.delenv("no_proxy", raising=False)
    with running(generated_world_dsn) as server:
        assert server.url.startswith("http://127.0.0.1")
        with pytest.raises(PipelineStepFailed) as failure:
            load(server, paths)
        assert "cannot reach the API" in reason(failure.value)
        assert not server.requests, "the request went to the proxy"

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        load(server, paths)
    assert loaded_ids(paths) == served_ids(generated_world_dsn)
