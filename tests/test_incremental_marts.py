"""Every mart after incremental runs equals a full refresh of the same data.

Days pass (`demo advance`: new orders, status changes of older orders, the shop's purge of
old cancelled orders, which the pipeline records as hard deletes), and between them the test
changes the shop as late as it can: an order delivered weeks ago is returned, and a
customer's first order is hard deleted (their new-customer day moves), the payment
processor refunds half of another old order the shop leaves alone, a review is edited
weeks after it was written, and a customer with campaign sessions becomes a staff test
account. After the two days'
`warehouse run`s, a copy of the warehouse has every incremental model, and every model
downstream of one, rebuilt from scratch; each mart, read from the manifest so a new mart is
covered without editing this test, must have the same row count and order-independent
checksum (the sum of its rows' hashes) in both. The first run's data tests are scoped to the
rows loaded since the last green build, the second's (`--full-test`) are whole-table.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from demo.clickstream import ACCOUNT_ID_RELEASE
from warehouse.paths import Paths
from warehouse.simulation import shop_dsn

from .test_cli import warehouse
from .test_incremental import dbt


def mart_checksums(database: Path, manifest: dict) -> dict[str, tuple]:
    """Row count and order-independent checksum of every mart's table, and of every
    incremental model's (staging and intermediate ones included)."""
    marts = sorted(
        f'"{node["schema"]}"."{node["alias"]}"'
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and (node["fqn"][1:2] == ["marts"] or node["config"]["materialized"] == "incremental")
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
        # A review edited today, weeks after it was written: only the reviews load brings
        # it, and its rating leaves the average of every as-of date since (customer_features).
        conn.execute(
            "update demo_api.reviews set rating = 6 - rating,"
            " updated_at = (select max(updated_at) + interval '1 second' from demo_api.reviews)"
            " where review_id = (select min(review_id) from demo_api.reviews)"
        )
    return {"returned": returned, "deleted": deleted, "refunded": refunded}


def late_test_account(home: Path) -> int:
    """In the shop: a customer with campaign sessions becomes a staff test account (an
    example.com address). Staging drops them: their orders, sessions (and the days of
    campaign performance those held) and snapshot versions leave the marts. Returns the
    customer's id."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        (customer,) = conn.execute(
            "select max(customer_id) from web_analytics.fct_sessions where campaign_id is not null"
        ).fetchone()
    with psycopg.connect(shop_dsn(Paths(home).postgres)) as conn:
        conn.execute(
            "update shop.customers set email = 'qa-' || id || '@example.com',"
            " updated_at = (select max(updated_at) + interval '1 second' from shop.customers)"
            " where id = %s",
            [customer],
        )
    return customer


def late_login(home: Path) -> dict[str, object]:
    """In the web logs: a login by another real customer, in a session of its own before
    the first event of a device whose anonymous campaign session is an order's last touch.
    The device's anonymous sessions move to that customer (first login wins), so the
    order's customer loses the touch, and an old day gains a campaign session. Returns the
    device and the new customer."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        device, previous = conn.execute(
            "select s.anonymous_id, a.customer_id from marketing.fct_order_attribution as a"
            " inner join web_analytics.fct_sessions as s on s.session_id = a.last_touch_session_id"
            " where s.is_stitched order by a.order_id limit 1"
        ).fetchone()
        (customer,) = conn.execute(
            "select min(customer_id) from sales.dim_customers where customer_id != ?", [previous]
        ).fetchone()
        first_at, context = conn.execute(
            "select event_at, e.context from staging.stg_clickstream__events as s"
            " inner join raw_clickstream.events as e on e.event_id = s.event_id"
            " where s.anonymous_id = ? order by event_at limit 1",
            [device],
        ).fetchone()
    at = first_at - timedelta(minutes=40)
    # The app's field for the customer on that day (the drift the demo writes).
    renamed = at.replace(tzinfo=None) >= ACCOUNT_ID_RELEASE.replace(tzinfo=None)
    line = {
        "event_id": f"late-login-{device}-{at.isoformat()}",
        "event": "page_view",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "anonymous_id": device,
        **({"account_id": str(customer)} if renamed else {"user_id": customer}),
        "properties": {},
        "context": json.loads(context),
    }
    path = Paths(home).clickstream / "late" / f"login-{device}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress((json.dumps(line) + "\n").encode()))
    return {"device": device, "customer": customer}


def redelivered_event(home: Path) -> tuple[str, str]:
    """In the web logs: an exact copy of an old event, in a new file whose name sorts before
    every other, so the copy becomes the event's first delivery and staging must take it.
    Returns the event's id and the new file's name."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        event_id, file_name = conn.execute(
            "select event_id, source_file_name from staging.stg_clickstream__events"
            " where source_file_name not like '0-%' order by event_at limit 1"
        ).fetchone()
    folder = Paths(home).clickstream
    with gzip.open(folder / file_name, "rt") as lines:
        line = next(line for line in lines if json.loads(line).get("event_id") == event_id)
    copy = f"0-redelivered/{event_id}.jsonl.gz"
    (folder / copy).parent.mkdir(parents=True, exist_ok=True)
    (folder / copy).write_bytes(gzip.compress(line.encode()))
    return event_id, copy


def assert_device_restitched(home: Path, login: dict[str, object]) -> None:
    """Every anonymous session of the device now belongs to the late login's customer."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        owners = conn.execute(
            "select distinct customer_id from web_analytics.fct_sessions"
            " where anonymous_id = ? and not is_logged_in",
            [login["device"]],
        ).fetchall()
    assert owners == [(login["customer"],)]


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
        test_account = late_test_account(built_demo_home)
        login = late_login(built_demo_home)
        redelivered, copy = redelivered_event(built_demo_home)
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
            # Incremental staging took the update in place and flagged the hard delete.
            staged = (
                "select order_status, is_deleted from staging.stg_shop__orders where order_id = ?"
            )
            assert conn.execute(staged, [changed["returned"]]).fetchone() == ("returned", False)
            assert conn.execute(staged, [changed["deleted"]]).fetchone()[1] is True
            flags = "select distinct is_deleted from staging.{} where order_id = ?"
            assert conn.execute(
                flags.format("stg_shop__order_items"), [changed["deleted"]]
            ).fetchall() == [(True,)]
            # An order not yet shipped has no shipment.
            assert conn.execute(
                flags.format("stg_shop__shipments"), [changed["deleted"]]
            ).fetchall() in ([(True,)], [])
            first_copy = (
                "select source_file_name from staging.stg_clickstream__events where event_id = ?"
            )
            assert conn.execute(first_copy, [redelivered]).fetchall() == [(copy,)]
            refund = "select count(*) from staging.stg_payments__refunds where order_id = ?"
            assert conn.execute(refund, [changed["refunded"]]).fetchone()[0] > 0
            for table in ("web_analytics.fct_sessions", "snapshots.snp_shop__customers"):
                rows = f"select count(*) from {table} where customer_id = ?"
                assert conn.execute(rows, [test_account]).fetchone() == (0,), table
        assert_device_restitched(built_demo_home, login)
    # Once, after both days (a full refresh of everything downstream costs a minute).
    assert_marts_equal_a_full_refresh(built_demo_home, tmp_path)
