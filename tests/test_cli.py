"""The `warehouse` command end to end, as a user runs it: demo, advance, rerun, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from .conftest import TEST_SCALE
from .helpers import shareable_home

# Every table a build publishes or keeps history in: marts of every domain, and snapshots.
BUILT_SCHEMAS = ("sales", "logistics", "finance", "marketing", "web_analytics", "ml", "snapshots")


def warehouse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warehouse.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


def mart_checksums(database: Path) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every mart and snapshot."""
    with duckdb.connect(str(database), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            f" where table_schema in {BUILT_SCHEMAS} and table_type = 'BASE TABLE'"
        ).fetchall()
        assert len(tables) >= 14, tables
        return {
            table: conn.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchone()
            for (table,) in tables
        }


def expected_orders(home: Path) -> int:
    """Orders a mart should hold: live (not deleted) orders of real (non-test) customers."""
    pg = home / "postgres"
    dsn = f"postgresql://postgres:@/postgres?host={pg}"
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """
            select count(*) from shop.orders as o
            inner join shop.customers as c on c.id = o.customer_id
            where o.deleted_at is null
                and coalesce(lower(trim(c.email)), '') not like '%%@example.com'
                and not (c.first_name = 'Micky' and c.last_name = 'Mouse')
            """
        ).fetchone()[0]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    home = shareable_home(tmp_path_factory, "demo")
    yield home
    warehouse("--home", str(home), "demo", "stop")


@pytest.mark.slow
def test_demo_builds_marts_that_reconcile_with_the_source(demo_home: Path) -> None:
    result = warehouse("--home", str(demo_home), "demo", "--scale", str(TEST_SCALE))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for step in (
        "generate",
        "ingest shop",
        "dbt build",
        "Marts built:",
        "sales.fct_orders",
        "publish",
    ):
        assert step in result.stdout
    assert re.search(r"revenue +USD +[1-9][0-9,]*\.[0-9]{2}", result.stdout), "no headline metrics"
    database = demo_home / "warehouse.duckdb"
    counts = mart_checksums(database)
    assert counts["sales.fct_orders"][0] == expected_orders(demo_home)

    # A rerun on unchanged sources changes nothing.
    assert warehouse("--home", str(demo_home), "run").returncode == 0
    assert mart_checksums(database) == counts

    # A day later, the incremental run brings the marts level with the source again.
    assert warehouse("--home", str(demo_home), "demo", "advance").returncode == 0
    rerun = warehouse("--home", str(demo_home), "run")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert mart_checksums(database)["sales.fct_orders"][0] == expected_orders(demo_home)


@pytest.mark.slow
def test_build_passes_dbt_options_on(demo_home: Path) -> None:
    """`warehouse build --full-refresh --select X` is dbt's selection, as docs/usage.md shows;
    other commands still reject options they do not know."""
    result = warehouse(
        "--home", str(demo_home), "build", "--full-refresh", "--select", "dim_products"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_results = json.loads((demo_home / "target" / "run_results.json").read_text())
    built = {r["unique_id"] for r in run_results["results"] if r["unique_id"].startswith("model.")}
    assert built == {"model.globalretail.dim_products"}
    assert run_results["args"]["full_refresh"] is True

    rejected = warehouse("--home", str(demo_home), "run", "--select", "dim_products")
    assert rejected.returncode == 2
    assert "unrecognized arguments: --select dim_products" in rejected.stderr


def test_bad_scale_is_rejected_with_a_clear_message(tmp_path: Path) -> None:
    result = warehouse("--home", str(tmp_path), "demo", "generate", "--scale", "-3")
    assert result.returncode == 2
    assert "scale must be a positive number" in result.stderr


def test_unknown_source_is_named(tmp_path: Path) -> None:
    result = warehouse("--home", str(tmp_path), "ingest", "shop", "crm")
    assert result.returncode == 1
    assert "unknown source(s) crm" in result.stderr


def test_unreachable_configured_shop_fails_in_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    credentials = f"postgresql://reader:hunter2-secret@/shop?host={tmp_path}/no-server"
    result = warehouse(
        "--home", str(tmp_path), "ingest", "shop", env={"SOURCES__SHOP__CREDENTIALS": credentials}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: shop source: cannot reach the database")
    assert "Traceback" not in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing half-written
