"""The PostgreSQL analyst endpoint: marts and metric views in `analytics`, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from warehouse.analytics_endpoint import publish_analytics
from warehouse.paths import Paths


def _as(dsn: str, user: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(dsn), "user": user})


@pytest.mark.slow
def test_analyst_reads_analytics_and_is_refused_everything_else(
    built_demo_home: Path, shop_dsn: str
) -> None:
    # The database also holds the application's tiers, as the shop database does.
    with psycopg.connect(shop_dsn) as conn:
        conn.execute("create schema shop")
        conn.execute("create table shop.customers (id bigint, email text)")
        conn.execute("insert into shop.customers values (1, 'someone@mail.test')")
        conn.execute("create schema crm")
        conn.execute("create table crm.customer_flags (customer_id bigint)")
        conn.execute("create table public.internal_notes (note text)")

    report = publish_analytics(Paths(built_demo_home), shop_dsn)
    with duckdb.connect(str(built_demo_home / "serving.duckdb"), read_only=True) as serving:
        (orders,) = serving.execute("select count(*) from sales.fct_orders").fetchone()
        (days,) = serving.execute(
            "select count(*) from metrics.daily_sales_and_engagement"
        ).fetchone()
        (relations,) = serving.execute("select count(*) from information_schema.tables").fetchone()
    assert report.tables["fct_orders"] == orders
    assert len(report.tables) == relations

    with psycopg.connect(_as(shop_dsn, "analyst"), autocommit=True) as analyst:
        assert analyst.execute("select count(*) from analytics.fct_orders").fetchone() == (orders,)
        assert analyst.execute(
            "select count(*) from analytics.metrics__daily_sales_and_engagement"
        ).fetchone() == (days,)
        refused = {
            "shop": "select * from shop.customers",
            "crm": "select * from crm.customer_flags",
            "public": "select * from public.internal_notes",
            "write": "insert into analytics.fct_orders select * from analytics.fct_orders",
            "create in analytics": "create table analytics.mine (x int)",
            "create in public": "create table public.mine (x int)",
            "create a schema": "create schema mine",
            "grant itself": "grant usage on schema shop to analyst",
        }
        allowed = []
        for what, statement in refused.items():
            try:
                analyst.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                continue
            allowed.append(what)
        assert allowed == [], f"the analyst role was allowed: {allowed}"

    # `warehouse publish` with the endpoint enabled publishes again: the schema is swapped in
    # whole and the grants come with it.
    env = {
        **os.environ,
        "ANALYTICS_ENDPOINT__ENABLED": "true",
        "ANALYTICS_ENDPOINT__CREDENTIALS": shop_dsn,
    }
    result = subprocess.run(
        [sys.executable, "-m", "warehouse.cli", "--home", str(built_demo_home), "publish"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "publish analytics endpoint:" in result.stdout
    with psycopg.connect(_as(shop_dsn, "analyst")) as analyst:
        assert analyst.execute("select count(*) from analytics.fct_orders").fetchone() == (orders,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute("select * from shop.customers")
