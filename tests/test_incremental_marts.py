"""Every mart after incremental runs equals a full refresh of the same data.

Days pass (`demo advance`: new orders, status changes of older orders, the shop's purge of
old cancelled orders, which the pipeline records as hard deletes), and between them the test
changes the shop as late as it can: an order delivered weeks ago is returned, and a
customer's first order is hard deleted (their new-customer day moves), and the payment
processor refunds half of another old order the shop leaves alone. After the two days'
`warehouse run`s, a copy of the warehouse has every incremental model, and every model
downstream of one, rebuilt from scratch; each mart, read from the manifest so a new mart is
covered without editing this test, must have the same row count and order-independent
checksum (the sum of its rows' hashes) in both. The first run's data tests are scoped to the
rows loaded since the last green build, the second's (`--full-test`) are whole-table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import psycopg
import pytest

from warehouse.paths import Paths
from warehouse.simulation import shop_dsn

from .test_cli import warehouse
from .test_incremental import dbt


def mart_checksums(database: Path, manifest: dict) -> dict[str, tuple]:
    """Row count and order-independent checksum of every mart model's table."""
    marts = sorted(
        f'"{node["schema"]}"."{node["alias"]}"'
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
    )
    assert len(marts) > 10, marts
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table: conn.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchone()
            for table in marts
        }


def late_changes(home: Path) -> dict[str, int]:
    """In the shop: return a delivered order weeks old, and hard delete the first order of a
    customer who has others (with its lines and shipment); at the processor, refund half of
    another delivered order. Returns the orders' ids."""
    with psycopg.connect(shop_dsn(Paths(home).postgres)) as conn:
        now = "(select max(updated_at) + interval '1 second' from shop.orders)"
        (returned,) = conn.execute(
            "select id from shop.orders where status = 'delivered' and deleted_at is null"
            " order by created_at limit 1"
        ).fetchone()
        conn.execute(
            f"update shop.orders set status = 'returned', updated_at = {now} where id = %s",
            [returned],
        )
        (deleted,) = conn.execute(
            "select min(id) from shop.orders where deleted_at is null and status != 'cancelled'"
            " and customer_id in (select customer_id from shop.orders where deleted_at is null"
            " group by customer_id having count(*) > 2)"
            " and id != %s",
            [returned],
        ).fetchone()
        for table in ("order_items", "shipments"):
            conn.execute(f"delete from shop.{table} where order_id = %s", [deleted])
        conn.execute("delete from shop.orders where id = %s", [deleted])
        # A late refund of an order the shop leaves alone: only the payments load brings it
        # (dim_customers' lifetime value, fct_payment_reconciliation).
        (refunded,) = conn.execute(
            "select min(id) from shop.orders as o where status = 'delivered' and deleted_at is"
            " null and id not in (%s, %s) and not exists"
            " (select from demo_api.refunds as r where r.order_id = o.id)",
            [returned, deleted],
        ).fetchone()
        conn.execute(
            "insert into demo_api.refunds select 're_late_' || charge_id, charge_id, order_id,"
            " amount_cents / 2, currency, 'requested_by_customer', 'succeeded',"
            " (select max(created_at) + interval '1 second' from demo_api.refunds)"
            " from demo_api.charges where status = 'succeeded' and order_id = %s",
            [refunded],
        )
    return {"returned": returned, "deleted": deleted, "refunded": refunded}


def assert_marts_equal_a_full_refresh(home: Path, work: Path) -> None:
    """A copy of the warehouse with the incremental models and everything downstream rebuilt
    from scratch holds the same marts."""
    manifest = json.loads((home / "target" / "manifest.json").read_text())
    full = work / "full-refresh"
    full.mkdir(parents=True)
    shutil.copy(home / "warehouse.duckdb", full / "warehouse.duckdb")
    dbt(
        full / "warehouse.duckdb",
        work / "dbt",
        "run",
        "--full-refresh",
        "--select",
        "config.materialized:incremental+",
    )
    incremental = mart_checksums(home / "warehouse.duckdb", manifest)
    rebuilt = mart_checksums(full / "warehouse.duckdb", manifest)
    assert {t for t in incremental if incremental[t] != rebuilt[t]} == set()


@pytest.mark.slow
@pytest.mark.changes_demo_home
def test_marts_after_incremental_runs_equal_a_full_refresh(
    built_demo_home: Path, tmp_path: Path
) -> None:
    home = str(built_demo_home)
    unique_orders = (
        built_demo_home
        / "target/run/globalretail/models/marts/sales/fct_orders.yml/unique_fct_orders_order_id.sql"
    )
    # The first day's tests are scoped to the rows loaded since the last green build; the
    # second day's run asks for the whole-table suite.
    for options in ((), ("--full-test",)):
        result = warehouse("--home", home, "demo", "advance")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        changed = late_changes(built_demo_home)
        result = warehouse("--home", home, "run", *options)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        scoped = "source_loaded_at > cast(" in unique_orders.read_text()
        assert scoped == (not options)
        assert ("data tests: on rows loaded since the last green build" in result.stdout) == scoped
        # The code is the green build's: its unit tests are not run again on a scoped run.
        assert ("unit tests skipped (code unchanged)" in result.stdout) == scoped
        assert ("unit_test " in result.stdout) == (not scoped)
        with duckdb.connect(str(built_demo_home / "warehouse.duckdb"), read_only=True) as conn:
            status = "select order_status from sales.fct_orders where order_id = ?"
            assert conn.execute(status, [changed["returned"]]).fetchone() == ("returned",)
            assert conn.execute(status, [changed["deleted"]]).fetchone() is None
            lines = "select count(*) from sales.fct_order_items where order_id = ?"
            assert conn.execute(lines, [changed["deleted"]]).fetchone() == (0,)
            refund = "select count(*) from staging.stg_payments__refunds where order_id = ?"
            assert conn.execute(refund, [changed["refunded"]]).fetchone()[0] > 0
    # Once, after both days (a full refresh of everything downstream costs a minute).
    assert_marts_equal_a_full_refresh(built_demo_home, tmp_path)
