"""A shop customer who becomes a staff test account after the warehouse built their sessions
and snapshot versions, and then a real customer again.

Staging drops a test account, so dim_customers loses the customer. Before the fix, the
incremental fct_sessions kept the customer's old sessions (its `relationships` test to
dim_customers and assert_no_test_accounts_in_marts failed), and snp_shop__customers kept the
customer's old versions (assert_no_test_accounts_in_marts failed). Now `warehouse run` passes
its tests and no mart or snapshot holds a row of the customer; turned back into a real
customer, the next run brings the sessions back, and the snapshot starts the customer's
history again.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest

from warehouse.paths import Paths
from warehouse.simulation import shop_dsn

from .test_cli import warehouse

# Where a test account's row may be found; customer_id in each.
TABLES = (
    "sales.dim_customers",
    "web_analytics.fct_sessions",
    "snapshots.snp_shop__customers",
)


def rows_of(home: Path, customer_id: int) -> dict[str, int]:
    """The customer's row count in each of TABLES."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {
            table: conn.execute(
                f"select count(*) from {table} where customer_id = ?", [customer_id]
            ).fetchone()[0]
            for table in TABLES
        }


def set_email(home: Path, customer_id: int, email: str) -> None:
    """Change the customer's email in the shop, as the shop app does (updated_at moves)."""
    with psycopg.connect(shop_dsn(Paths(home).postgres)) as conn:
        conn.execute(
            "update shop.customers set email = %s,"
            " updated_at = (select max(updated_at) + interval '1 second' from shop.customers)"
            " where id = %s",
            [email, customer_id],
        )


def run(home: Path) -> None:
    result = warehouse("--home", str(home), "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.changes_demo_home
def test_a_customer_turned_test_account_leaves_every_mart_and_snapshot(
    built_demo_home: Path,
) -> None:
    with duckdb.connect(str(built_demo_home / "warehouse.duckdb"), read_only=True) as conn:
        # A customer with logged-in sessions of their own (not only stitched anonymous ones).
        (customer_id,) = conn.execute(
            "select customer_id from web_analytics.fct_sessions where is_logged_in"
            " group by customer_id order by count(*) desc, customer_id limit 1"
        ).fetchone()
    before = rows_of(built_demo_home, customer_id)
    assert all(before.values()), before
    with psycopg.connect(shop_dsn(Paths(built_demo_home).postgres)) as conn:
        (email,) = conn.execute(
            "select email from shop.customers where id = %s", [customer_id]
        ).fetchone()

    # Staff take the account over for testing: an example.com address marks a test account.
    set_email(built_demo_home, customer_id, f"qa-{customer_id}@example.com")
    run(built_demo_home)
    assert rows_of(built_demo_home, customer_id) == dict.fromkeys(TABLES, 0)

    # A real customer again: their sessions return; the snapshot's history starts anew.
    set_email(built_demo_home, customer_id, email)
    run(built_demo_home)
    after = rows_of(built_demo_home, customer_id)
    assert after["sales.dim_customers"] == 1
    assert after["web_analytics.fct_sessions"] == before["web_analytics.fct_sessions"]
    assert after["snapshots.snp_shop__customers"] == 1
