"""The shop pipeline in cursor mode (`updated_at` and key scans) against a real PostgreSQL: full
load, incremental merge, deletes, errors. CDC mode: tests/test_shop_cdc.py."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from demo import shop as demo_shop
from ingestion.failed_loads import FailedLoadError
from ingestion.runner import pipeline_for, run
from ingestion.shop import ShopSourceError, shop
from ingestion.shop.settings import TABLES
from warehouse.cli import main
from warehouse.paths import Paths

from .conftest import TEST_SCALE


def ingest(dsn: str, paths: Paths, **options) -> dict[str, int]:
    """Run the shop pipeline once; return the rows it extracted per table."""
    pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
    return run(pipeline, shop(credentials=dsn, **{"mode": "cursor", **options})).rows


def source_rows(dsn: str, table: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"select * from shop.{table} order by id").fetchall()


def warehouse_rows(paths: Paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.duckdb)) as conn:
        return conn.execute(sql).fetchall()


def raw_rows(dsn: str, paths: Paths, table: str) -> list[tuple]:
    """The raw table's rows, with the source's columns in the source's order."""
    with psycopg.connect(dsn) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'shop' and table_name = %s order by ordinal_position",
                (table,),
            )
        ]
    return warehouse_rows(paths, f"select {', '.join(columns)} from raw_shop.{table} order by id")


def assert_warehouse_matches_source(dsn: str, paths: Paths) -> None:
    """Every live source row is in raw exactly as in the source; every raw row that is no
    longer in the source is recorded as hard-deleted."""
    deleted = {
        (table, key)
        for table, key in warehouse_rows(paths, "select table_name, id from raw_shop.hard_deletes")
    }
    for table in TABLES:
        live = {row[0]: row for row in source_rows(dsn, table)}
        raw = {row[0]: row for row in raw_rows(dsn, paths, table)}
        assert {k: raw[k] for k in live} == live, table
        assert {(table, k) for k in raw.keys() - live.keys()} == {
            (t, k) for t, k in deleted if t == table
        }, table


def test_first_load_copies_every_row(shop_dsn: str, paths: Paths) -> None:
    counts = demo_shop.generate(shop_dsn, scale=TEST_SCALE).counts
    extracted = ingest(shop_dsn, paths)
    assert {t: extracted[t] for t in TABLES} == counts
    assert_warehouse_matches_source(shop_dsn, paths)
    # Each raw row knows the load that brought it (for freshness and lineage downstream).
    assert warehouse_rows(paths, "select count(*) from raw_shop.orders where _dlt_load_id is null")[
        0
    ] == (0,)


def test_incremental_run_extracts_only_changed_rows_and_applies_deletes(
    shop_dsn: str, paths: Paths
) -> None:
    clock = demo_shop.generate(shop_dsn, scale=TEST_SCALE).clock.now
    ingest(shop_dsn, paths)
    before_orders = {row[0] for row in source_rows(shop_dsn, "orders")}
    demo_shop.advance(shop_dsn, days=14)

    with psycopg.connect(shop_dsn) as conn:
        changed = {
            table: conn.execute(
                f"select count(*) from shop.{table} where updated_at >= %s", (clock,)
            ).fetchone()[0]
            for table in TABLES
        }
    extracted = ingest(shop_dsn, paths)
    # The cursor's boundary row is re-read and deduplicated by dlt; nothing else is extracted.
    for table in TABLES:
        assert changed[table] <= extracted.get(table, 0) <= changed[table] + 1, table

    after_orders = {row[0] for row in source_rows(shop_dsn, "orders")}
    purged = before_orders - after_orders
    assert purged, "two weeks should purge some cancelled orders"
    assert extracted["hard_deletes"] >= len(purged)
    assert_warehouse_matches_source(shop_dsn, paths)
    # Soft deletes arrive as ordinary updates.
    soft = warehouse_rows(
        paths, "select count(*) from raw_shop.customers where deleted_at is not null"
    )
    assert soft[0][0] > 0


def test_running_twice_changes_nothing(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    demo_shop.advance(shop_dsn)
    ingest(shop_dsn, paths)
    snapshot = {
        table: warehouse_rows(
            paths, f"select * exclude (_dlt_load_id) from raw_shop.{table} order by all"
        )
        for table in (*TABLES, "hard_deletes")
    }
    second = ingest(shop_dsn, paths)
    assert sum(second.values()) <= len(TABLES)  # at most each cursor's boundary row
    for table, rows in snapshot.items():
        assert (
            warehouse_rows(
                paths, f"select * exclude (_dlt_load_id) from raw_shop.{table} order by all"
            )
            == rows
        ), table


def test_unreachable_database_names_the_host_and_what_to_do(paths: Paths, tmp_path) -> None:
    dsn = f"postgresql://reader:s3cret-pw@/shop?host={tmp_path}/nowhere"
    with pytest.raises(ShopSourceError) as error:
        ingest(dsn, paths)
    message = str(error.value)
    assert "cannot reach the database" in message
    assert "SOURCES__SHOP__CREDENTIALS" in message
    assert "s3cret-pw" not in message  # the password never reaches an error message


def test_rejected_credentials_say_so(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    wrong_user = shop_dsn.replace("postgres:@", "intruder:guess@")
    with pytest.raises(ShopSourceError, match="rejected the credentials"):
        ingest(wrong_user, paths)


def test_missing_table_is_named(shop_dsn: str, paths: Paths) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    with pytest.raises(ShopSourceError, match=r"shop\.refunds not found"):
        ingest(shop_dsn, paths, tables=("orders", "refunds"))


def test_a_new_not_null_column_loads_and_a_failed_load_can_be_discarded(
    shop_dsn: str, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_shop.generate(shop_dsn, scale=TEST_SCALE)
    ingest(shop_dsn, paths)
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute("alter table shop.orders add column loyalty_points integer not null default 0")
        conn.execute(
            "update shop.orders set loyalty_points = 5, updated_at = now()"
            " where id = (select min(id) from shop.orders)"
        )
    # Raw does not copy the source's constraints: the new column reaches raw.
    # (Rows not changed since keep NULL there until they are: a default fills no updated_at.)
    ingest(shop_dsn, paths)
    assert warehouse_rows(paths, "select sum(loyalty_points) from raw_shop.orders") == [(5,)]
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute("alter table shop.orders drop column loyalty_points")
    assert_warehouse_matches_source(shop_dsn, paths)

    # A load the warehouse refuses (a column added with a constraint, as dlt forwards a NOT NULL
    # hint): the error names table and column and the way out, and so does every rerun, since
    # the failed package is loaded first, even once the cause is gone at the source.
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute("alter table shop.customers add column tier integer not null default 1")
        conn.execute("update shop.customers set updated_at = now() where id <= 3")
    source = shop(credentials=shop_dsn, mode="cursor")
    source.customers.apply_hints(columns={"tier": {"name": "tier", "nullable": False}})
    pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
    for attempt in range(2):
        with pytest.raises(FailedLoadError) as failed:
            run(pipeline, source if attempt == 0 else shop(credentials=shop_dsn, mode="cursor"))
        message = str(failed.value)
        assert "raw_shop.customers (new column(s) tier)" in message, message
        assert "`warehouse discard-failed-load shop`" in message, message
        if attempt == 0:
            with psycopg.connect(shop_dsn, autocommit=True) as conn:
                conn.execute("alter table shop.customers drop column tier")

    assert main(["--home", str(paths.home), "discard-failed-load", "shop"]) == 0
    assert "discarded load package(s)" in capsys.readouterr().out
    # Nothing lost: the next run extracts the discarded package's rows again.
    ingest(shop_dsn, paths)
    assert_warehouse_matches_source(shop_dsn, paths)
    assert main(["--home", str(paths.home), "discard-failed-load", "shop"]) == 0
    assert "no failed load to discard" in capsys.readouterr().out
