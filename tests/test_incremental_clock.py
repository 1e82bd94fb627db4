"""Rows judged on the warehouse clock stay equal to a full refresh when only the clock moves.

`fct_payment_reconciliation`, `fct_shipments` and `dim_customers` are incremental on their load
mark, but some of their rows change with no new load of their own: an unpaid order turns past
due, a parcel on the way turns late, a customer ages. Each run recomputes those rows (docs/
models.md, "Incremental marts"). Here a copy of the built demo warehouse gets one new order,
three days after the latest, landed as the pipeline lands it; an incremental run and a full
refresh of everything downstream must then hold the same three marts, and the open orders
must have turned past due (else the test could not fail). The same for `customer_features`
when the clock moves 40 days: a new as-of date, and the churn labels whose window the new
clock closes, rebuilt for every customer, with no load of their own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from .test_incremental import dbt

MARTS = ("sales.dim_customers", "finance.fct_payment_reconciliation", "logistics.fct_shipments")
PAST_DUE = (
    "select count(*) from finance.fct_payment_reconciliation"
    " where mismatch_reason = 'unpaid_past_due'"
)


def checksums(database: Path) -> dict[str, tuple]:
    """Row count and order-independent checksum of each of MARTS."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            mart: conn.execute(f"select count(*), sum(hash(t)) from {mart} as t").fetchone()
            for mart in MARTS
        }


def land_a_later_order(database: Path, hours: int = 73) -> None:
    """A copy of a live order of a real customer, placed ``hours`` (three days and an hour)
    after the latest, in a load after every other: the warehouse clock moves that far, nothing
    that an open row is built from changes."""
    with duckdb.connect(str(database)) as conn:
        conn.execute(
            "insert into raw_shop.orders by name"
            " select * replace ("
            "   (select max(id) + 1 from raw_shop.orders) as id,"
            "   'placed' as status,"
            f"   (select max(created_at) from raw_shop.orders) + interval {hours} hour"
            "     as created_at,"
            f"   (select max(updated_at) from raw_shop.orders) + interval {hours} hour"
            "     as updated_at,"
            "   cast((select max(cast(_dlt_load_id as double)) + 60 from raw_shop.orders)"
            "     as varchar) as _dlt_load_id"
            " ) from raw_shop.orders"
            " where id = (select min(order_id) from sales.fct_orders) limit 1"
        )


def test_clock_judged_rows_follow_the_clock_incrementally(
    built_demo_home: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base" / "warehouse.duckdb"
    base.parent.mkdir()
    shutil.copy(built_demo_home / "warehouse.duckdb", base)
    with duckdb.connect(str(base), read_only=True) as conn:
        (open_orders,) = conn.execute(
            "select count(*) from finance.fct_payment_reconciliation"
            " where amount_due > 0 and charged_amount = 0 and mismatch_reason is null"
        ).fetchone()
        (past_due,) = conn.execute(PAST_DUE).fetchone()
    assert open_orders > 0, "the demo has no order awaiting payment: nothing can turn past due"
    land_a_later_order(base)
    copies = {}
    for name, options in (("incremental", ()), ("full", ("--full-refresh",))):
        copies[name] = tmp_path / name / "warehouse.duckdb"
        copies[name].parent.mkdir()
        shutil.copy(base, copies[name])
        dbt(
            copies[name], tmp_path / f"dbt-{name}", "run", *options, "--select", "stg_shop__orders+"
        )
    with duckdb.connect(str(copies["incremental"]), read_only=True) as conn:
        assert conn.execute(PAST_DUE).fetchone()[0] >= past_due + open_orders
    incremental, full = checksums(copies["incremental"]), checksums(copies["full"])
    assert {mart for mart in MARTS if incremental[mart] != full[mart]} == set()


def test_customer_features_follow_the_clock_incrementally(
    built_demo_home: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base" / "warehouse.duckdb"
    base.parent.mkdir()
    shutil.copy(built_demo_home / "warehouse.duckdb", base)
    # 40 days: at least one new first-of-month before the clock, and one more closed
    # 90-day label window, whatever the demo's date.
    land_a_later_order(base, hours=40 * 24)
    features = (
        "select count(distinct as_of_date), count(*) filter (where is_label_complete)"
        " from ml.customer_features"
    )
    with duckdb.connect(str(base), read_only=True) as conn:
        dates, complete = conn.execute(features).fetchone()
    copies = {}
    for name, options in (("incremental", ()), ("full", ("--full-refresh",))):
        copies[name] = tmp_path / name / "warehouse.duckdb"
        copies[name].parent.mkdir()
        shutil.copy(base, copies[name])
        dbt(
            copies[name],
            tmp_path / f"dbt-{name}",
            "run",
            *options,
            "--select",
            "stg_shop__orders dim_customers customer_features",
        )
    tables = {}
    for name, database in copies.items():
        with duckdb.connect(str(database), read_only=True) as conn:
            tables[name] = conn.execute(
                "select count(*), sum(hash(t)) from ml.customer_features as t"
            ).fetchone()
            if name == "incremental":
                new_dates, new_complete = conn.execute(features).fetchone()
    assert new_dates > dates and new_complete > complete
    assert tables["incremental"] == tables["full"]
