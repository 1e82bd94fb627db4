"""`warehouse ingest` loads the API sources at the same time (warehouse.sources.load_all): one
API that stays down fails alone and is named, the others' rows are in the warehouse, and the
next run loads it; the demo starts a server per source, all at once, on one CA."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from demo.api.server import DEMO_TOKEN, Behaviour, running
from warehouse.cli import main
from warehouse.errors import WarehouseError
from warehouse.paths import Paths
from warehouse.sources import AT_ONCE, _database_open, load_order, sources_at_once

# The raw tables of each API source, named as the demo API's tables.
TABLES = {
    "payments": ("charges", "refunds"),
    "marketing": ("campaigns", "ad_spend"),
    "reviews": ("reviews",),
}


@pytest.fixture(autouse=True)
def _fast_retries_and_no_configured_apis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.delenv("WAREHOUSE__SOURCES_AT_ONCE", raising=False)
    for source in AT_ONCE:
        for name in ("BASE_URL", "TOKEN"):
            monkeypatch.delenv(f"SOURCES__{source.upper()}__{name}", raising=False)


def raw_counts(paths: Paths) -> dict[str, int]:
    """Rows of every API raw table present in the warehouse."""
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        present = {
            f"{schema}.{table}"
            for schema, table in conn.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name like 'raw_%'"
            ).fetchall()
        }
        return {
            name: conn.execute(f"select count(*) from {name}").fetchone()[0]
            for name in sorted(present)
            if not name.split(".")[1].startswith("_dlt")
        }


def served(dsn: str, source: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            f"raw_{source}.{table}": conn.execute(
                f"select count(*) from demo_api.{table}"
            ).fetchone()[0]
            for table in TABLES[source]
        }


def test_one_api_down_fails_alone_while_the_others_load_at_once(
    generated_world_dsn: str,
    paths: Paths,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Marketing and reviews read the demo's own servers (one each, started at once by their
    # threads on a new home: the CA is made once); payments reads an API answering 503.
    monkeypatch.setenv("SOURCES__SHOP__CREDENTIALS", generated_world_dsn)
    command = ["--home", str(paths.home), "ingest", *AT_ONCE]
    with running(generated_world_dsn, Behaviour(fault_rate=1.0)) as down:
        monkeypatch.setenv("SOURCES__PAYMENTS__BASE_URL", down.url)
        monkeypatch.setenv("SOURCES__PAYMENTS__TOKEN", DEMO_TOKEN)
        assert main(command) == 1
        assert len(down.requests) == 2 and {r.status for r in down.requests} <= {500, 502, 503}
    out, err = capsys.readouterr()
    assert "payments, marketing, reviews: loading at the same time" in out
    assert all(f"==> ingest {source}\n" in out for source in AT_ONCE)
    assert "    ingest payments: FAILED" in out
    for source in ("marketing", "reviews"):
        assert f"    ingest {source}: " in out and f"    ingest {source}: FAILED" not in out
    (error,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert f"payments source: the API at {down.url}/v1/" in error
    assert "after 2 attempts" in error
    assert "(not loaded: payments; loaded: marketing, reviews." in error

    loaded = raw_counts(paths)
    expected = served(generated_world_dsn, "marketing") | served(generated_world_dsn, "reviews")
    assert {name: loaded[name] for name in expected} == expected
    assert not any(name.startswith("raw_payments.") and rows for name, rows in loaded.items())

    # The API is back (the demo's server): the next run loads payments, the others stay level.
    monkeypatch.delenv("SOURCES__PAYMENTS__BASE_URL")
    monkeypatch.delenv("SOURCES__PAYMENTS__TOKEN")
    assert main(command) == 0, capsys.readouterr()
    expected |= served(generated_world_dsn, "payments")
    assert {name: rows for name, rows in raw_counts(paths).items() if name in expected} == expected


def test_the_api_sources_load_together_unless_configured_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    everything = ["shop", "payments", "marketing", "reviews", "clickstream"]
    assert sources_at_once() == 3
    assert load_order(everything, 3) == [
        ("shop",),
        ("payments", "marketing", "reviews"),
        ("clickstream",),
    ]
    # Together where the first of them was asked for; a lone API source loads alone.
    assert load_order(["reviews", "shop", "payments"], 2) == [("reviews", "payments"), ("shop",)]
    assert load_order(["shop", "reviews"], 3) == [("shop",), ("reviews",)]
    monkeypatch.setenv("WAREHOUSE__SOURCES_AT_ONCE", "1")
    assert load_order(everything, sources_at_once()) == [(source,) for source in everything]
    for wrong in ("0", "all"):
        monkeypatch.setenv("WAREHOUSE__SOURCES_AT_ONCE", wrong)
        with pytest.raises(WarehouseError, match="sources_at_once is '?" + wrong):
            sources_at_once()


def test_threads_connect_to_a_new_warehouse_file_without_a_conflict(tmp_path) -> None:
    # Threads opening a file with no DuckDB instance yet in the process can collide ("Unique
    # file handle conflict"); load_all keeps the file open around them. 60 new files, three
    # threads each opening and closing it at once: without the guard a few collide.
    import threading

    errors: list[str] = []

    def connect(path: str, ready: threading.Barrier) -> None:
        ready.wait()
        try:
            for _ in range(3):
                duckdb.connect(path).close()
        except duckdb.Error as exc:
            errors.append(str(exc))

    for number in range(60):
        paths = Paths(tmp_path / f"home{number}").ensure()
        with _database_open(paths, "duckdb"):
            ready = threading.Barrier(3)
            threads = [
                threading.Thread(target=connect, args=(str(paths.duckdb), ready)) for _ in range(3)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert errors == []
