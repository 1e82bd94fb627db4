"""The simulated GlobalRetail shop: a deterministic, scalable generator for its OLTP database.

``generate`` builds a year of history; ``advance`` moves the world forward one day at a time.
Both are reproducible: the same seed and scale give the same database, row for row.

How it works. Every order's whole life is planned when the order is placed (paid, shipped,
delivered, cancelled, returned, soft-deleted: each a timestamp or NULL) and kept in
``demo_meta.order_plans``, outside the ``shop`` schema the pipeline reads. Moving the clock over
a window ``[start, end)`` then means: insert the orders placed in it, apply every planned event
that falls in it, and purge what the shop's retention rule purges. ``generate`` is one big window
over the history, ``advance`` a one-day window, so both follow exactly the same rules.

Random numbers come from numpy (vectorised, for new rows) and from
``hashtextextended(id, seed)`` in SQL (for changes to existing rows): a hash of the row's key and
the day, so the result never depends on the order in which PostgreSQL scans the rows.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
import psycopg

from .errors import DemoError
from .shop_days import _advance_one_day, _apply_window
from .shop_rows import _copy, _counts, _customers, _order_times, _picker, _plan_orders, _products
from .shop_settings import (
    CUSTOMERS_PER_SCALE,
    HISTORY_DAYS,
    HISTORY_END,
    MIN_ROWS,
    ORDERS_PER_SCALE,
    PRODUCTS_PER_SCALE,
    SCHEMA_SQL,
    Clock,
    Summary,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Public API


def generate(dsn: str, scale: float = 1.0, seed: int = 42) -> Summary:
    """(Re)create the shop schema and fill it with a year of history ending at ``HISTORY_END``.

    Args:
        dsn: a PostgreSQL connection URL.
        scale: the scale factor; 1 gives about 100k orders, 10 about 1M.
        seed: the random seed; the same seed and scale give the same database.

    Returns:
        The clock and the row count of every shop table.
    """
    if not scale > 0:
        raise DemoError(f"scale must be a positive number, got {scale!r}")
    rng = np.random.default_rng(seed)
    start = HISTORY_END - timedelta(days=HISTORY_DAYS)
    n_customers = max(MIN_ROWS, round(CUSTOMERS_PER_SCALE * scale))
    n_products = max(MIN_ROWS, round(PRODUCTS_PER_SCALE * scale))
    n_orders = max(MIN_ROWS, round(ORDERS_PER_SCALE * scale))

    with psycopg.connect(dsn) as conn:
        _refuse_foreign_shop(conn)
        conn.execute("drop schema if exists shop cascade")
        conn.execute("drop schema if exists demo_meta cascade")
        tables_sql, constraints_sql = SCHEMA_SQL.read_text().split("-- @constraints")
        conn.execute(tables_sql)
        conn.execute(
            """
            create schema demo_meta;
            create table demo_meta.clock (
                seed bigint not null, scale double precision not null, now timestamptz not null
            );
            create table demo_meta.order_plans (
                order_id bigint primary key,
                customer_id bigint not null,
                subtotal_cents bigint not null,
                shipping_cents bigint not null,
                created_at timestamptz not null,
                paid_at timestamptz,
                cancelled_at timestamptz,
                shipped_at timestamptz,
                delivered_at timestamptz,
                returned_at timestamptz,
                deleted_at timestamptz,
                carrier text,
                tracking_number text
            );
            """
        )
        conn.execute(
            "insert into demo_meta.clock values (%s, %s, %s)", (seed, float(scale), HISTORY_END)
        )

        # Customers sign up over two years, so some were there before the history starts.
        customers = _customers(
            rng, 1, n_customers, start - timedelta(days=HISTORY_DAYS), HISTORY_END
        )
        _copy(conn, "shop.customers", customers)
        products, price_history = _products(rng, n_products, start, HISTORY_END)
        _copy(conn, "shop.products", products)

        order_times = _order_times(rng, n_orders, start, HISTORY_END)
        customer_ids = _picker(rng, customers["id"], customers["_created_utc"])(order_times)
        pick_products = _picker(rng, products["id"], products["_created_utc"])
        plans, items = _plan_orders(
            rng, 1, 1, order_times, customer_ids, pick_products, price_history
        )
        _apply_window(conn, rng, Clock(seed, scale, HISTORY_END), None, HISTORY_END, plans, items)
        conn.execute(constraints_sql)
        conn.execute("analyze")
        summary = Summary(Clock(seed, scale, HISTORY_END), _counts(conn))
    log.info("generated the shop at scale %s: %s", scale, summary.counts)
    return summary


def advance(dsn: str, days: int = 1) -> Summary:
    """Move the shop forward ``days`` days: new customers and orders, status changes, price
    changes, soft deletes and the purge of old cancelled orders (hard deletes)."""
    if days < 1:
        raise DemoError(f"days must be at least 1, got {days}")
    with psycopg.connect(dsn) as conn:
        check_plans(conn)
        for _ in range(days):
            clock = read_clock(conn)
            _advance_one_day(conn, clock)
        summary = Summary(read_clock(conn), _counts(conn))
    log.info("advanced the shop to %s: %s", summary.clock.now, summary.counts)
    return summary


def read_clock(conn: psycopg.Connection) -> Clock:
    """Read the simulated clock; a clear error if the shop was never generated."""
    try:
        row = conn.execute("select seed, scale, now from demo_meta.clock").fetchone()
    except psycopg.errors.UndefinedTable as exc:
        conn.rollback()
        raise DemoError(
            "the shop database has not been generated yet: run `warehouse demo generate` first"
        ) from exc
    assert row is not None, "demo_meta.clock is empty"
    return Clock(seed=row[0], scale=row[1], now=row[2])


def check_plans(conn: psycopg.Connection) -> Clock:
    """The world's clock; but stop, saying what to do, if the world has lost its order plans,
    and make them crash-safe if they are not yet.

    The plans are the world's future (every order's later events) and the vendors' APIs read
    them, so they are never deleted. Worlds generated before they were a logged table kept them
    in an unlogged one, which PostgreSQL empties when it restarts after a crash (a killed
    server, a machine switched off): such a table is made logged here, once. One already
    emptied cannot be rebuilt from the shop's tables.
    """
    clock = read_clock(conn)  # a clear error if the world was never generated
    persistence, planned, ordered = conn.execute(
        "select relpersistence, exists (select from demo_meta.order_plans),"
        " exists (select from shop.orders)"
        " from pg_class where oid = 'demo_meta.order_plans'::regclass"
    ).fetchone()
    if ordered and not planned:
        raise DemoError(
            "the simulated world has lost its order plans: demo_meta.order_plans is empty while"
            " shop.orders has orders (the world was generated before the plans were crash-safe,"
            " and PostgreSQL empties an unlogged table when it restarts after a crash). Generate"
            f" it again: `warehouse demo generate --scale {clock.scale:g} --seed {clock.seed}`"
            " (this starts the warehouse afresh too)."
        )
    if persistence == "u":
        log.info("making demo_meta.order_plans crash-safe (a logged table)")
        conn.execute("alter table demo_meta.order_plans set logged")
        conn.commit()
    return clock


def _refuse_foreign_shop(conn: psycopg.Connection) -> None:
    """Never drop a ``shop`` schema the generator did not create (a real shop database)."""
    schemas = {
        row[0]
        for row in conn.execute(
            "select schema_name from information_schema.schemata"
            " where schema_name in ('shop', 'demo_meta')"
        )
    }
    if "shop" in schemas and "demo_meta" not in schemas:
        raise DemoError(
            "refusing to generate: this database already has a `shop` schema that the demo "
            "generator did not create. Point the demo at another database (unset "
            "SOURCES__SHOP__CREDENTIALS to use the embedded one)."
        )
