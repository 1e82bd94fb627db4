"""The simulated shop: deterministic, messy in the documented ways, and moving forward."""

from __future__ import annotations

import shutil
from datetime import timedelta

import psycopg
import pytest

from demo import shop
from demo.errors import DemoError

from .conftest import TEST_SCALE

TABLES = ("customers", "products", "orders", "order_items", "shipments")
LIFECYCLE = {"placed": 0, "paid": 1, "shipped": 2, "delivered": 3, "returned": 4}


def checksums(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(
                f"select md5(string_agg(t::text, '|' order by id)) from shop.{table} as t"
            ).fetchone()[0]
            for table in TABLES
        }


def scalar(dsn: str, sql: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


def statuses(dsn: str) -> dict[int, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("select id, status from shop.orders").fetchall())


def items_of(dsn: str, order_ids: list[int]) -> int:
    return scalar(dsn, "select count(*) from shop.order_items where order_id = any(%s)", order_ids)


def test_same_seed_gives_the_same_shop_and_another_seed_does_not(shop_dsn: str) -> None:
    shop.generate(shop_dsn, scale=TEST_SCALE, seed=7)
    shop.advance(shop_dsn, days=2)
    first = checksums(shop_dsn)
    shop.generate(shop_dsn, scale=TEST_SCALE, seed=7)
    shop.advance(shop_dsn, days=2)
    assert checksums(shop_dsn) == first
    shop.generate(shop_dsn, scale=TEST_SCALE, seed=8)
    assert checksums(shop_dsn)["orders"] != first["orders"]


def test_scale_sets_the_size(shop_dsn: str) -> None:
    small = shop.generate(shop_dsn, scale=TEST_SCALE).counts
    larger = shop.generate(shop_dsn, scale=TEST_SCALE * 4).counts
    assert larger["orders"] > 3 * small["orders"]
    assert small["order_items"] > small["orders"]
    with pytest.raises(DemoError, match="scale must be a positive number"):
        shop.generate(shop_dsn, scale=0)


def test_the_shop_has_the_mess_a_real_one_has(shop_dsn: str) -> None:
    shop.generate(shop_dsn, scale=TEST_SCALE)
    q = lambda sql: scalar(shop_dsn, sql)  # noqa: E731 - a one-line local shorthand
    assert q("select count(*) from shop.customers where email <> lower(trim(email))") > 0
    assert q("select count(*) from shop.customers where email <> trim(email)") > 0
    assert q("select count(*) from shop.customers where email ilike '%@example.com%'") > 0
    assert q("select count(*) from shop.customers where first_name = 'Micky'") > 0
    assert q("select count(*) from shop.customers where phone is null") > 0
    assert q("select count(*) from shop.customers where deleted_at is not null") > 0
    assert q("select count(*) from shop.orders where deleted_at is not null") > 0
    assert q("select count(distinct status) from shop.orders") == 6
    # Legacy columns are zone-less; the rest carry their zone.
    types = dict(
        psycopg.connect(shop_dsn)
        .execute(
            "select table_name || '.' || column_name, data_type from information_schema.columns"
            " where table_schema = 'shop'"
        )
        .fetchall()
    )
    assert types["customers.created_at"] == "timestamp without time zone"
    assert types["shipments.shipped_at"] == "timestamp without time zone"
    assert types["orders.updated_at"] == "timestamp with time zone"
    # Totals are consistent with the items, as the application keeps them.
    assert (
        q(
            """
            select count(*) from shop.orders as o
            where o.subtotal_cents <> (
                select sum(i.quantity * i.unit_price_cents) from shop.order_items as i
                where i.order_id = o.id
            ) or o.total_cents <> o.subtotal_cents + o.shipping_cents
            """
        )
        == 0
    )
    # A product's price changes over time, so some items were sold at another price.
    assert (
        q(
            """
            select count(*) from shop.order_items as i
            inner join shop.products as p on p.id = i.product_id
            where i.unit_price_cents <> p.price_cents
            """
        )
        > 0
    )


def rows(dsn: str, table: str) -> dict[int, tuple[str, object]]:
    """id -> (the row as text, its updated_at)."""
    with psycopg.connect(dsn) as conn:
        return {
            row[0]: (row[1], row[2])
            for row in conn.execute(f"select id, t::text, updated_at from shop.{table} as t")
        }


def test_advance_moves_every_order_forward_and_only_touches_what_changed(shop_dsn: str) -> None:
    clock = shop.generate(shop_dsn, scale=TEST_SCALE).clock.now
    before = {table: rows(shop_dsn, table) for table in TABLES}
    status_before = statuses(shop_dsn)
    advanced = shop.advance(shop_dsn, days=1)
    after = {table: rows(shop_dsn, table) for table in TABLES}
    status_after = statuses(shop_dsn)
    assert advanced.clock.now == clock + timedelta(days=1)

    # Every row that changed carries an updated_at inside the new day, and every row that did
    # not change kept its old one: the incremental cursor the pipeline relies on is honest.
    for table in TABLES:
        for key, (text, updated_at) in after[table].items():
            if before[table].get(key, (None,))[0] != text:
                assert clock <= updated_at < advanced.clock.now, (table, key)
            else:
                assert updated_at < clock, (table, key)
        assert any(updated_at >= clock for _, updated_at in after[table].values()), table

    moved = {k: (v, status_after.get(k)) for k, v in status_before.items()}
    moved = {k: change for k, change in moved.items() if change[0] != change[1]}
    assert moved, "no order changed status in a day"
    purged = [k for k, (_, new) in moved.items() if new is None]
    # Cancelled orders past retention are hard-deleted, with their items.
    assert all(moved[k][0] == "cancelled" for k in purged)
    assert items_of(shop_dsn, purged) == 0
    for key, (old, new) in moved.items():
        if new is not None:
            assert new == "cancelled" or LIFECYCLE[new] > LIFECYCLE[old], (key, old, new)


def test_advance_on_a_shop_never_generated_says_what_to_do(shop_dsn: str) -> None:
    with pytest.raises(RuntimeError, match="warehouse demo generate"):
        shop.advance(shop_dsn)


def test_generate_never_overwrites_a_shop_it_did_not_create(shop_dsn: str) -> None:
    with psycopg.connect(shop_dsn) as conn:
        conn.execute("create schema shop; create table shop.orders (id bigint)")
    with pytest.raises(RuntimeError, match="refusing to generate"):
        shop.generate(shop_dsn, scale=TEST_SCALE)
    assert scalar(shop_dsn, "select count(*) from shop.orders") == 0


def test_the_order_plans_survive_a_postgresql_crash() -> None:
    """The plans are the world's future: a server killed without a checkpoint (`pg_ctl stop
    -m immediate`) recovers them from the WAL, and the world moves on."""
    from pgserver._commands import pg_ctl

    from demo.postgres import _system_user, embedded_dsn, stop_embedded

    from .conftest import _world_readable_tempdir

    data_dir = _world_readable_tempdir("warehouse-pg-crash-") / "data"
    dsn = embedded_dsn(data_dir)
    try:
        shop.generate(dsn, scale=TEST_SCALE)
        plans = scalar(dsn, "select count(*) from demo_meta.order_plans")
        # Stopped without a checkpoint, then started with the options it ran with.
        restart = ["-w", "restart", "-m", "immediate", "-l", str(data_dir / "log")]
        pg_ctl(restart, pgdata=data_dir, user=_system_user(), timeout=60)
        assert scalar(dsn, "select count(*) from demo_meta.order_plans") == plans > 0
        shop.advance(dsn)
        assert scalar(dsn, "select count(*) from demo_meta.order_plans") > plans
    finally:
        stop_embedded(data_dir)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def test_an_older_worlds_unlogged_plans_are_made_crash_safe_and_lost_ones_say_what_to_do(
    shop_dsn: str,
) -> None:
    shop.generate(shop_dsn, scale=TEST_SCALE)
    with psycopg.connect(shop_dsn) as conn:  # as worlds generated before the plans were logged
        conn.execute("alter table demo_meta.order_plans set unlogged")
    shop.advance(shop_dsn)
    persistence = "select relpersistence from pg_class where relname = 'order_plans'"
    assert scalar(shop_dsn, persistence) == "p"

    # What a crash left of an unlogged table: nothing, while the orders are still there.
    with psycopg.connect(shop_dsn) as conn:
        conn.execute("truncate demo_meta.order_plans")
    with pytest.raises(DemoError) as lost:
        shop.advance(shop_dsn)
    assert "demo_meta.order_plans is empty while shop.orders has orders" in str(lost.value)
    assert f"warehouse demo generate --scale {TEST_SCALE:g} --seed 42" in str(lost.value)
