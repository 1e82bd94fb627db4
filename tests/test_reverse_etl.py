"""`warehouse reverse-etl`: customer flags merged into the shop's crm schema, idempotently."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
import yaml

from warehouse.paths import PROJECT_DIR

from .test_cli import warehouse

# The rule's one home: the dbt var the mart computes is_high_value from.
HIGH_VALUE_MIN = Decimal(
    yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"][
        "customer_vip_min_lifetime_value"
    ]
)


def shop_dsn(home: Path) -> str:
    return f"postgresql://postgres:@/postgres?host={home / 'postgres'}"


def crm_rows(home: Path) -> list[tuple]:
    with psycopg.connect(shop_dsn(home)) as conn:
        return conn.execute(
            "select customer_id, customer_segment, lifetime_value, is_high_value, updated_at"
            " from crm.customer_flags order by customer_id"
        ).fetchall()


def shop_checksums(home: Path) -> dict[str, str]:
    """An md5 of every row of every table in the application's `shop` schema."""
    with psycopg.connect(shop_dsn(home)) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'shop'"
        ).fetchall()
        return {
            table: conn.execute(
                "select count(*) || ':' || coalesce("
                f"md5(string_agg(t::text, '|' order by t::text)), '') from shop.{table} as t"
            ).fetchone()[0]
            for (table,) in tables
        }


@pytest.mark.slow
def test_reverse_etl_pushes_segments_once_and_leaves_the_shop_alone(built_demo_home: Path) -> None:
    # The CRM starts empty: the shared demo's shop database may already hold flags pushed by
    # another suite (the orchestrator's crm asset writes the same schema).
    with psycopg.connect(shop_dsn(built_demo_home), autocommit=True) as conn:
        if conn.execute("select to_regclass('crm.customer_flags')").fetchone()[0]:
            conn.execute("delete from crm.customer_flags")
    shop_before = shop_checksums(built_demo_home)
    first = warehouse("--home", str(built_demo_home), "reverse-etl")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    with duckdb.connect(str(built_demo_home / "serving.duckdb"), read_only=True) as conn:
        marts = conn.execute(
            "select customer_id, customer_segment, lifetime_value, is_high_value"
            " from sales.dim_customers order by customer_id"
        ).fetchall()
    pushed = crm_rows(built_demo_home)
    assert [row[:4] for row in pushed] == marts
    assert all(row[3] == (row[2] >= HIGH_VALUE_MIN) for row in pushed)
    assert {row[3] for row in pushed} == {True, False}
    assert f"{len(marts):,} changed" in first.stdout

    second = warehouse("--home", str(built_demo_home), "reverse-etl")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "0 changed" in second.stdout
    assert crm_rows(built_demo_home) == pushed  # updated_at included
    assert shop_checksums(built_demo_home) == shop_before


def test_reverse_etl_without_published_marts_fails_clearly(tmp_path: Path) -> None:
    result = warehouse("--home", str(tmp_path), "reverse-etl")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no serving file")
    assert "warehouse run" in result.stderr
    assert "Traceback" not in result.stderr
