"""The shop pipeline in CDC mode (logical replication, pgoutput) against a real PostgreSQL."""

from __future__ import annotations

import logging
import threading

import psycopg
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo import shop as demo_shop
from ingestion.runner import pipeline_for, run
from ingestion.shop import ShopSourceError, shop
from ingestion.shop.cdc import confirm, pipeline_slot
from ingestion.shop.settings import TABLES
from ingestion.shop.slot import drop
from warehouse.errors import reason
from warehouse.paths import Paths

from .conftest import TEST_SCALE
from .test_shop_ingestion import assert_warehouse_matches_source, warehouse_rows


def ingest(dsn: str, paths: Paths, advance: bool = True, lag_mb: float = 1024) -> dict:
    """One CDC run: extract, load, then (unless ``advance`` is False, a crash between load and
    advance) move the slot to what was loaded. Returns rows per table and the confirm counts."""
    pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
    report = run(pipeline, shop(credentials=dsn, mode="cdc"))
    counts = confirm(pipeline, dsn, lag_mb) if advance else {}
    return {**report.rows, **counts}


def slot_of(dsn: str, paths: Paths) -> str:
    with psycopg.connect(dsn) as conn:
        return pipeline_slot(pipeline_for("shop", paths.duckdb, paths.pipelines), conn.info.dbname)


def test_changes_arrive_through_the_log(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    first = ingest(shop_dsn, paths)
    assert first["orders"] > 0 and "slot lag bytes" in first and "WAL retained bytes" in first
    assert_warehouse_matches_source(shop_dsn, paths)

    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute(
            "update shop.customers set email = 'moved@example.com', updated_at = now()"
            " where id = (select min(id) from shop.customers)"
        )
        # A change that leaves updated_at alone is still seen (cursor mode would miss it).
        conn.execute(
            "update shop.products set product_name = product_name || ' (new)' where id = 2"
        )
        conn.execute("delete from shop.order_items where order_id = 3")
        conn.execute("delete from shop.shipments where order_id = 3")
        conn.execute("delete from shop.orders where id = 3")
    demo_shop.advance(shop_dsn, days=3)
    second = ingest(shop_dsn, paths)
    assert second["orders"] > 0
    assert second["hard_deletes"] >= 1
    assert_warehouse_matches_source(shop_dsn, paths)
    assert ("orders", 3) in warehouse_rows(
        paths, "select table_name, id from raw_shop.hard_deletes"
    )
    assert warehouse_rows(paths, "select product_name from raw_shop.products where id = 2")[0][
        0
    ].endswith(" (new)")
    # Nothing changed: nothing extracted, nothing rescanned.
    third = ingest(shop_dsn, paths)
    assert sum(v for k, v in third.items() if k in TABLES) == 0


def test_snapshot_is_consistent_with_concurrent_writes(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        # The shop app: short transactions inserting, updating and deleting while the
        # snapshot runs.
        with psycopg.connect(shop_dsn, autocommit=True) as conn:
            (key,) = conn.execute("select max(id) from shop.customers").fetchone()
            while not stop.is_set():
                key += 1
                with conn.transaction():
                    row = conn.execute(
                        "insert into shop.customers (id, email, first_name, last_name,"
                        " country_code, created_at, updated_at) values (%s,"
                        " 'w@example.com', 'W', 'X', 'DE', now(), now()) returning id",
                        (key,),
                    ).fetchone()
                    conn.execute(
                        "update shop.customers set updated_at = now(), first_name = 'Y'"
                        " where id = %s",
                        (row[0],),
                    )
                    if row[0] % 3 == 0:
                        conn.execute("delete from shop.customers where id = %s", (row[0],))
                written.append(row[0])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        ingest(shop_dsn, paths)
    finally:
        stop.set()
        thread.join()
    assert written, "the writer ran during the snapshot"
    ingest(shop_dsn, paths)  # the changes after the snapshot's start, from the log
    assert_warehouse_matches_source(shop_dsn, paths)
    # The writes straddle the slot's start: the earlier ones came with the snapshot (first
    # load), the later ones from the log (second load), and each exactly once.
    loads = warehouse_rows(
        paths,
        "select _dlt_load_id, count(*) from raw_shop.customers where first_name = 'Y'"
        " group by all order by 1",
    )
    assert len(loads) == 2, loads
    # A row inserted and deleted in one transaction is in raw and flagged if that transaction
    # came after the slot's start, in neither if before: never half.
    in_raw = {row[0] for row in warehouse_rows(paths, "select id from raw_shop.customers")}
    flagged = warehouse_rows(
        paths, "select id from raw_shop.hard_deletes where table_name = 'customers'"
    )
    gone = {key for key in written if key % 3 == 0}
    assert {row[0] for row in flagged} == gone & in_raw
    assert len(flagged) == len({row[0] for row in flagged})
    assert gone & in_raw and gone - in_raw


def test_crash_between_load_and_advance_rereads_harmlessly(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    demo_shop.advance(shop_dsn, days=2)
    crashed = ingest(shop_dsn, paths, advance=False)  # loaded; the slot never advanced
    loaded = {
        t: warehouse_rows(paths, f"select * exclude (_dlt_load_id) from raw_shop.{t} order by all")
        for t in (*TABLES, "hard_deletes")
    }
    again = ingest(shop_dsn, paths)  # re-reads the same changes from the unmoved slot
    assert {t: again.get(t) for t in TABLES} == {t: crashed.get(t) for t in TABLES}
    for table, rows in loaded.items():
        assert (
            warehouse_rows(
                paths, f"select * exclude (_dlt_load_id) from raw_shop.{table} order by all"
            )
            == rows
        ), table
    assert_warehouse_matches_source(shop_dsn, paths)


def test_lag_is_reported_and_warned_above_the_threshold(
    shop_dsn: str, paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    demo_shop.advance(shop_dsn, days=1)
    with caplog.at_level(logging.WARNING):
        counts = ingest(shop_dsn, paths, lag_mb=1024)
    assert 0 <= counts["slot lag bytes"] <= counts["WAL retained bytes"]
    assert "max_slot_lag_mb" not in caplog.text
    demo_shop.advance(shop_dsn, days=1)
    with caplog.at_level(logging.WARNING):
        ingest(shop_dsn, paths, advance=False)
        pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
        # Before the advance the slot holds the whole day of changes back.
        with psycopg.connect(shop_dsn) as conn:
            held = conn.execute(
                "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) from"
                " pg_replication_slots where slot_name = %s",
                (slot_of(shop_dsn, paths),),
            ).fetchone()[0]
        assert held > 0
        confirm(pipeline, shop_dsn, max_slot_lag_mb=0)
    assert "max_slot_lag_mb = 0" in caplog.text and "warehouse shop drop-slot" in caplog.text


def test_drop_slot_then_fresh_snapshot(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    name = slot_of(shop_dsn, paths)
    assert drop(shop_dsn, name) == [f"replication slot {name}", f"publication {name}"]
    assert drop(shop_dsn, name) == []
    demo_shop.advance(shop_dsn, days=2)
    # Deletes while no slot exists are in no log: the fresh snapshot still finds them.
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute("delete from shop.shipments where id = (select min(id) from shop.shipments)")
    again = ingest(shop_dsn, paths)
    with psycopg.connect(shop_dsn) as conn:
        live_orders = conn.execute("select count(*) from shop.orders").fetchone()[0]
    assert again["orders"] == live_orders  # a whole snapshot, not the changes
    assert again["hard_deletes"] >= 1
    assert_warehouse_matches_source(shop_dsn, paths)


def test_without_replication_rights_the_error_names_privilege_and_fallback(
    shop_dsn: str, paths: Paths
) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute("drop role if exists cdc_reader")
        conn.execute("create role cdc_reader login")
        conn.execute("grant usage on schema shop to cdc_reader")
        conn.execute("grant select on all tables in schema shop to cdc_reader")
    reader = shop_dsn.replace("postgres:@", "cdc_reader:@")
    try:
        with pytest.raises(ShopSourceError) as error:
            ingest(reader, paths)
        assert "REPLICATION" in str(error.value) and "SOURCES__SHOP__MODE=cursor" in str(
            error.value
        )
        with psycopg.connect(shop_dsn, autocommit=True) as conn:
            conn.execute("alter role cdc_reader replication")
        with pytest.raises(PipelineStepFailed) as failed:  # found at extract, dlt wraps it
            ingest(reader, paths)
        assert "ownership of shop.customers" in reason(failed.value)
        assert "create publication" in reason(failed.value)
        # Cursor mode needs only SELECT.
        pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
        assert run(pipeline, shop(credentials=reader, mode="cursor")).rows["orders"] > 0
    finally:
        with psycopg.connect(shop_dsn, autocommit=True) as conn:
            conn.execute("drop owned by cdc_reader")
            conn.execute("drop role cdc_reader")
