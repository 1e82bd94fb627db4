"""The simulated shop's clock moving over a window: new orders placed, their planned events
applied, existing rows changed, cancelled orders purged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa

from .shop_rows import _copy, _customers, _order_times, _plan_orders
from .shop_settings import (
    CANCELLED_RETENTION,
    CUSTOMER_PROFILE_UPDATE_RATE,
    CUSTOMER_SOFT_DELETE_RATE,
    CUSTOMERS_PER_SCALE,
    HISTORY_DAYS,
    LOCAL_TIMEZONE,
    ORDERS_PER_SCALE,
    PRODUCT_DISCONTINUE_RATE,
    PRODUCT_PRICE_CHANGE_RATE,
    Clock,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# One day forward


def _advance_one_day(conn: psycopg.Connection, clock: Clock) -> None:
    start, end = clock.now, clock.now + timedelta(days=1)
    rng = np.random.default_rng([clock.seed, clock.day + 1])
    growth = 1.8  # the history's trend at its end: the shop keeps growing
    n_orders = rng.poisson(ORDERS_PER_SCALE * clock.scale / HISTORY_DAYS * growth)
    n_customers = rng.poisson(CUSTOMERS_PER_SCALE * clock.scale / (2 * HISTORY_DAYS) * growth)

    first_customer = conn.execute("select coalesce(max(id), 0) + 1 from shop.customers")
    customers = _customers(rng, first_customer.fetchone()[0], n_customers, start, end)
    _copy(conn, "shop.customers", customers)

    active = conn.execute(
        "select id, price_cents from shop.products where deleted_at is null order by id"
    ).fetchall()
    buyers = conn.execute(
        "select id from shop.customers where deleted_at is null order by id"
    ).fetchall()
    product_ids = np.array([row[0] for row in active], dtype=np.int64)
    prices = np.array([row[1] for row in active], dtype=np.int64)
    order_times = _order_times(rng, n_orders, start, end)
    # Existing customers order again; the newest sign-ups place some of the day's orders.
    customer_ids = rng.choice(np.array([row[0] for row in buyers], dtype=np.int64), n_orders)
    next_ids = conn.execute(
        "select coalesce(max(order_id), 0) + 1 from demo_meta.order_plans"
    ).fetchone()[0]
    next_item = conn.execute("select coalesce(max(id), 0) + 1 from shop.order_items").fetchone()[0]
    price_history = {
        int(p): (int(c), int(c), None) for p, c in zip(product_ids, prices, strict=True)
    }
    plans, items = _plan_orders(
        rng,
        next_ids,
        next_item,
        order_times,
        customer_ids,
        lambda times: rng.choice(product_ids, len(times)),
        price_history,
    )
    _apply_window(conn, rng, clock, start, end, plans, items)
    conn.execute("update demo_meta.clock set now = %s", (end,))


def _apply_window(
    conn: psycopg.Connection,
    rng: np.random.Generator,
    clock: Clock,
    start: datetime | None,
    end: datetime,
    plans: pa.Table,
    items: pa.Table,
) -> None:
    """Apply everything that happens in ``[start, end)`` (``start=None``: from the beginning)."""
    _copy(conn, "demo_meta.order_plans", plans)
    params = {"start": start or datetime(1970, 1, 1, tzinfo=UTC), "end": end, "tz": LOCAL_TIMEZONE}
    status_at_end = """
        case
            when p.returned_at < %(end)s then 'returned'
            when p.cancelled_at < %(end)s then 'cancelled'
            when p.delivered_at < %(end)s then 'delivered'
            when p.shipped_at < %(end)s then 'shipped'
            when p.paid_at < %(end)s then 'paid'
            else 'placed'
        end
    """
    last_change = """
        greatest(
            p.created_at,
            case when p.paid_at < %(end)s then p.paid_at end,
            case when p.cancelled_at < %(end)s then p.cancelled_at end,
            case when p.shipped_at < %(end)s then p.shipped_at end,
            case when p.delivered_at < %(end)s then p.delivered_at end,
            case when p.returned_at < %(end)s then p.returned_at end,
            case when p.deleted_at < %(end)s then p.deleted_at end
        )
    """
    in_window = " or ".join(
        f"(p.{col} >= %(start)s and p.{col} < %(end)s)"
        for col in (
            "paid_at",
            "cancelled_at",
            "shipped_at",
            "delivered_at",
            "returned_at",
            "deleted_at",
        )
    )
    conn.execute(
        f"""
        insert into shop.orders
        select p.order_id, p.customer_id, {status_at_end}, 'USD', p.subtotal_cents,
            p.shipping_cents, p.subtotal_cents + p.shipping_cents, p.created_at, {last_change},
            case when p.deleted_at < %(end)s then p.deleted_at end
        from demo_meta.order_plans as p
        where p.created_at >= %(start)s and p.created_at < %(end)s
        order by p.order_id
        """,
        params,
    )
    _copy(conn, "shop.order_items", items)
    # Orders placed before the window move on through their lifecycle.
    conn.execute(
        f"""
        update shop.orders as o
        set status = {status_at_end},
            updated_at = {last_change},
            deleted_at = case when p.deleted_at < %(end)s then p.deleted_at end
        from demo_meta.order_plans as p
        where o.id = p.order_id and p.created_at < %(start)s and ({in_window})
        """,
        params,
    )
    # Shipments: created when the parcel leaves, updated when it arrives. The carrier feed
    # writes zone-less local times.
    conn.execute(
        """
        insert into shop.shipments
        select p.order_id, p.order_id, p.carrier, p.tracking_number,
            p.shipped_at at time zone %(tz)s,
            case when p.delivered_at < %(end)s then p.delivered_at at time zone %(tz)s end,
            case when p.delivered_at < %(end)s then p.delivered_at else p.shipped_at end
        from demo_meta.order_plans as p
        inner join shop.orders as o on o.id = p.order_id
        where p.shipped_at >= %(start)s and p.shipped_at < %(end)s
        order by p.order_id
        """,
        params,
    )
    conn.execute(
        """
        update shop.shipments as s
        set delivered_at = p.delivered_at at time zone %(tz)s, updated_at = p.delivered_at
        from demo_meta.order_plans as p
        where s.order_id = p.order_id and p.shipped_at < %(start)s
            and p.delivered_at >= %(start)s and p.delivered_at < %(end)s
        """,
        params,
    )
    if start is not None:
        _change_existing_rows(conn, clock, start)
    # Retention: cancelled orders are purged with their items: the source's hard deletes.
    conn.execute(
        """
        with purged as (
            delete from shop.orders where status = 'cancelled' and updated_at < %s returning id
        )
        delete from shop.order_items where order_id in (select id from purged)
        """,
        (end - CANCELLED_RETENTION,),
    )


def _change_existing_rows(conn: psycopg.Connection, clock: Clock, start: datetime) -> None:
    """Profile updates, soft deletes, price changes and discontinued products for one day.

    Each row's chance is decided by a hash of its id and the day, and its moment in the day by a
    second hash, so the outcome is reproducible whatever the scan order.
    """
    salt = clock.seed * 1_000_003 + clock.day
    chance = "(abs(hashtextextended(id::text, %(salt)s)) %% 1000000) / 1000000.0"
    moment = (
        "%(start)s + (abs(hashtextextended(id::text, %(salt)s + 1)) %% 86400000)"
        " * interval '1 millisecond'"
    )
    params = {"salt": salt, "start": start}
    conn.execute(
        f"""
        update shop.customers
        set email = upper(substr(email, 1, 1)) || substr(email, 2),
            city = coalesce(city, 'Chicago'), updated_at = {moment}
        where deleted_at is null and email is not null
            and {chance} < {CUSTOMER_PROFILE_UPDATE_RATE}
        """,
        params,
    )
    conn.execute(
        f"""
        update shop.customers set deleted_at = {moment}, updated_at = {moment}
        where deleted_at is null
            and {chance} between 0.5 and 0.5 + {CUSTOMER_SOFT_DELETE_RATE}
        """,
        params,
    )
    conn.execute(
        f"""
        update shop.products
        set price_cents = greatest(
                99, round(price_cents * (0.8 + 0.4 * {chance} / {PRODUCT_PRICE_CHANGE_RATE}))
            ),
            updated_at = {moment}
        where deleted_at is null and {chance} < {PRODUCT_PRICE_CHANGE_RATE}
        """,
        params,
    )
    conn.execute(
        f"""
        update shop.products set deleted_at = {moment}, updated_at = {moment}
        where deleted_at is null
            and {chance} between 0.5 and 0.5 + {PRODUCT_DISCONTINUE_RATE}
        """,
        params,
    )
