"""The shop's incremental staging tables equal a full refresh, in cursor mode (no CDC).

In cursor mode the shop pipeline finds hard deletes by comparing keys; CDC mode's come from
the log, and tests/test_incremental_marts.py runs the whole demo on it. Here the staging
models alone: after a first build, two weeks pass in the shop (new orders, status changes,
the purge of old cancelled orders) and the test updates an order in place and hard deletes
another with its lines and shipment; the incremental run must flag the delete, carry the
update and hold the same rows as a full refresh of the same raw data. And the clickstream's
staging takes a load's rows once the load is in dlt's load log.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from demo import shop as demo_shop
from ingestion.runner import pipeline_for, run
from ingestion.shop import shop
from warehouse.paths import Paths

from .conftest import TEST_SCALE
from .test_incremental import dbt

MODELS = ("stg_shop__orders", "stg_shop__order_items", "stg_shop__shipments")


def ingest(dsn: str, paths: Paths) -> None:
    """One shop load in cursor mode (updated_at cursors, hard deletes by key comparison)."""
    run(pipeline_for("shop", paths.duckdb, paths.pipelines), shop(credentials=dsn, mode="cursor"))


def checksums(database: Path) -> dict[str, tuple]:
    """Row count and order-independent checksum of each model's table."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            model: conn.execute(
                f"select count(*), sum(hash(t)) from staging.{model} as t"
            ).fetchone()
            for model in MODELS
        }


def change_the_shop(dsn: str) -> dict[str, int]:
    """Update one shipped order in place; hard delete another, with its lines and shipment."""
    with psycopg.connect(dsn) as conn:
        now = "(select max(updated_at) + interval '1 second' from shop.orders)"
        (updated,) = conn.execute(
            "select min(id) from shop.orders where status = 'shipped' and deleted_at is null"
        ).fetchone()
        conn.execute(
            f"update shop.orders set status = 'delivered', updated_at = {now} where id = %s",
            [updated],
        )
        (deleted,) = conn.execute(
            "select min(o.id) from shop.orders as o inner join shop.shipments as s"
            " on s.order_id = o.id where o.deleted_at is null and o.id != %s",
            [updated],
        ).fetchone()
        for table in ("order_items", "shipments"):
            conn.execute(f"delete from shop.{table} where order_id = %s", [deleted])
        conn.execute("delete from shop.orders where id = %s", [deleted])
    return {"updated": updated, "deleted": deleted}


@pytest.mark.slow
def test_shop_staging_after_cursor_mode_loads_equals_a_full_refresh(
    shop_dsn: str, paths: Paths, tmp_path: Path
) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    dbt(paths.duckdb, tmp_path / "dbt", "run", "--select", *MODELS)

    demo_shop.advance(shop_dsn, days=14)
    changed = change_the_shop(shop_dsn)
    ingest(shop_dsn, paths)
    dbt(paths.duckdb, tmp_path / "dbt", "run", "--select", *MODELS)
    compiled = (
        tmp_path / "dbt/target/compiled/globalretail/models/staging/shop/stg_shop__orders.sql"
    )
    assert "deleted.table_name = 'orders'" in compiled.read_text()  # the incremental branch ran

    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        order = "select order_status, is_deleted from staging.stg_shop__orders where order_id = ?"
        assert conn.execute(order, [changed["updated"]]).fetchall() == [("delivered", False)]
        assert [flag for _, flag in conn.execute(order, [changed["deleted"]]).fetchall()] == [True]
        for model in ("stg_shop__order_items", "stg_shop__shipments"):
            flags = conn.execute(
                f"select distinct is_deleted from staging.{model} where order_id = ?",
                [changed["deleted"]],
            ).fetchall()
            assert flags == [(True,)], model
        purged = conn.execute(
            "select count(*) from staging.stg_shop__orders as o inner join raw_shop.hard_deletes"
            " as d on d.table_name = 'orders' and d.id = o.order_id where o.order_id != ?",
            [changed["deleted"]],
        ).fetchone()[0]
    assert purged > 0, "two weeks should purge some cancelled orders"

    full = tmp_path / "full-refresh.duckdb"
    shutil.copy(paths.duckdb, full)
    dbt(full, tmp_path / "dbt-full", "run", "--full-refresh", "--select", *MODELS)
    assert checksums(paths.duckdb) == checksums(full)


def test_events_staging_takes_a_load_once_it_is_in_the_load_log(
    built_demo_home: Path, tmp_path: Path
) -> None:
    """stg_clickstream__events finds the loads after its mark in dlt's load log
    (`_dlt_loads`, macro keys_loaded_after_mark): the rows of a load not logged yet (a load
    still running) wait, and the next run after the load completed takes them."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(Paths(built_demo_home).duckdb, database)
    load_id = f"{time.time():.6f}"
    kept = (
        "select count(*) from staging.stg_clickstream__events where event_id = 'logged-load-test'"
    )
    with duckdb.connect(str(database)) as conn:
        conn.execute(
            "insert into raw_clickstream.events select * replace ("
            " 'logged-load-test' as event_id, ? as _dlt_load_id)"
            " from raw_clickstream.events limit 1",
            [load_id],
        )
    dbt(database, tmp_path / "dbt", "run", "--select", "stg_clickstream__events")
    with duckdb.connect(str(database)) as conn:
        assert conn.execute(kept).fetchone()[0] == 0
        conn.execute(
            "insert into raw_clickstream._dlt_loads select * replace (? as load_id)"
            " from raw_clickstream._dlt_loads limit 1",
            [load_id],
        )
    dbt(database, tmp_path / "dbt", "run", "--select", "stg_clickstream__events")
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute(kept).fetchone()[0] == 1
