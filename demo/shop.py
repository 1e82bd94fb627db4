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

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import DemoError

log = logging.getLogger(__name__)

SCHEMA_SQL = Path(__file__).with_name("shop_schema.sql")

# The history covers the year before this instant; ``advance`` moves on from here.
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 365
# The back office writes its legacy zone-less timestamps in head-office local time.
LOCAL_TIMEZONE = "America/New_York"

# Sizes at scale 1; everything grows linearly with the scale factor.
CUSTOMERS_PER_SCALE = 20_000
PRODUCTS_PER_SCALE = 1_000
ORDERS_PER_SCALE = 110_000
MIN_ROWS = 40

# Daily rates of change applied by ``advance`` to existing rows (probabilities per row per day).
CUSTOMER_PROFILE_UPDATE_RATE = 0.003
CUSTOMER_SOFT_DELETE_RATE = 0.0005
PRODUCT_PRICE_CHANGE_RATE = 0.01
PRODUCT_DISCONTINUE_RATE = 0.001
# Cancelled orders are purged (hard-deleted, with their items) this long after cancellation.
CANCELLED_RETENTION = timedelta(days=30)

FIRST_NAMES = np.array(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Maria Wei Aisha Carlos Yuki Omar "
    "Sofia Liam Olivia Noah Emma Mateo Chloe Lucas Mia Hiro Priya Ahmed Fatima Lars Ingrid".split()
)
LAST_NAMES = np.array(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Nguyen Kim Patel Chen Muller Rossi Silva Kowalski Novak Schmidt Dubois Jansen Tanaka".split()
)
EMAIL_DOMAINS = np.array(["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me"])
CITIES = np.array(
    [
        ("New York", "US"),
        ("Los Angeles", "US"),
        ("Chicago", "US"),
        ("Houston", "US"),
        ("Seattle", "US"),
        ("Boston", "US"),
        ("Toronto", "CA"),
        ("Vancouver", "CA"),
        ("London", "GB"),
        ("Manchester", "GB"),
        ("Berlin", "DE"),
        ("Paris", "FR"),
        ("Amsterdam", "NL"),
        ("Madrid", "ES"),
        ("Sydney", "AU"),
    ]
)
STREETS = np.array(["Main St", "Oak Ave", "Maple Rd", "Park Lane", "High St", "Elm St", "Pine Ct"])
CATEGORIES = np.array(
    ["Electronics", "Home & Kitchen", "Apparel", "Books", "Sports", "Beauty", "Toys", " Garden"]
)
CATEGORY_MEDIAN_PRICE = np.array([120.0, 45.0, 35.0, 15.0, 40.0, 25.0, 22.0, 30.0])
PRODUCT_WORDS = np.array(
    "Classic Pro Ultra Eco Smart Mini Max Essential Deluxe Urban Nordic Vintage Compact".split()
)
CARRIERS = np.array(["UPS", "FedEx", "DHL", "USPS"])
CARRIER_WEIGHTS = np.array([0.35, 0.25, 0.15, 0.25])
CARRIER_TRANSIT_DAYS = np.array([2.5, 2.0, 4.0, 3.5])

US = np.timedelta64(1, "us")
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000


@dataclass(frozen=True)
class Clock:
    """The simulated world's state: its seed, scale and the current simulated instant."""

    seed: int
    scale: float
    now: datetime

    @property
    def day(self) -> int:
        """Days since the end of the generated history (0 right after ``generate``)."""
        return (self.now - HISTORY_END).days


@dataclass(frozen=True)
class Summary:
    """Row counts of the shop tables after a generator step."""

    clock: Clock
    counts: dict[str, int]


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
            create unlogged table demo_meta.order_plans (
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


# --------------------------------------------------------------------------------------------
# Vectorised row generation


def _customers(
    rng: np.random.Generator, first_id: int, n: int, start: datetime, end: datetime
) -> pa.Table:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    created = _uniform_times(rng, n, start, end)
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    domain = EMAIL_DOMAINS[rng.integers(0, len(EMAIL_DOMAINS), n)]
    # Test accounts: QA's "Micky Mouse" and anything on example.com.
    is_test = rng.random(n) < 0.005
    first = np.where(is_test & (rng.random(n) < 0.5), "Micky", first)
    last = np.where(is_test & (first == "Micky"), "Mouse", last)
    domain = np.where(is_test, "example.com", domain)
    local = np.char.add(np.char.add(np.char.lower(first), "."), np.char.lower(last))
    email = np.char.add(np.char.add(np.char.add(local, ids.astype(str)), "@"), domain)
    # The web form never normalised emails: mixed case, and stray spaces around.
    shout = rng.random(n) < 0.15
    email = np.where(shout, np.char.upper(email), email)
    capital = rng.random(n) < 0.2
    email = np.where(capital, np.char.capitalize(email), email)
    spaces = rng.random(n)
    email = np.where(spaces < 0.05, np.char.add(" ", email), email)
    email = np.where(spaces > 0.95, np.char.add(email, "  "), email)
    phone_digits = rng.integers(2_000_000_000, 9_999_999_999, n).astype(str)
    phone_format = rng.integers(0, 3, n)
    phone = np.where(
        phone_format == 0,
        np.char.add("+1", phone_digits),
        np.where(
            phone_format == 1,
            np.array([f"({p[:3]}) {p[3:6]}-{p[6:]}" for p in phone_digits]),
            np.array([f"{p[:3]}.{p[3:6]}.{p[6:]}" for p in phone_digits]),
        ),
    )
    city_index = rng.integers(0, len(CITIES), n)
    street = np.char.add(
        np.char.add(rng.integers(1, 9999, n).astype(str), " "),
        STREETS[rng.integers(0, len(STREETS), n)],
    )
    postal = rng.integers(10000, 99999, n).astype(str)
    deleted = np.where(
        rng.random(n) < 0.02, created + _random_span(rng, n, end - start) // 2, _nat(n)
    )
    deleted = np.where(deleted < np.datetime64(end.replace(tzinfo=None), "us"), deleted, _nat(n))
    updated = np.where(np.isnat(deleted), created, deleted)
    return pa.table(
        {
            "id": ids,
            "first_name": first,
            "last_name": last,
            "email": _with_nulls(rng, email, 0.01),
            "phone": _with_nulls(rng, phone, 0.2),
            "street_address": _with_nulls(rng, street, 0.05),
            "city": _with_nulls(rng, CITIES[city_index, 0], 0.03),
            "postal_code": postal,
            "country_code": CITIES[city_index, 1],
            "created_at": _local_naive(created),
            "updated_at": _utc(updated),
            "deleted_at": _utc(deleted),
            "_created_utc": created,
        }
    )


def _products(
    rng: np.random.Generator, n: int, start: datetime, end: datetime
) -> tuple[pa.Table, dict[int, tuple[int, int, np.datetime64 | None]]]:
    """Products, and for each one its price before and after its (at most one) price change."""
    ids = np.arange(1, n + 1, dtype=np.int64)
    category = rng.integers(0, len(CATEGORIES), n)
    # Most of the catalogue predates the history; a tenth launches during it.
    launched = rng.random(n) < 0.1
    created = np.where(
        launched,
        _uniform_times(rng, n, start, end - timedelta(days=30)),
        _uniform_times(rng, n, start - timedelta(days=700), start),
    )
    first_price = np.maximum(
        99, np.round(CATEGORY_MEDIAN_PRICE[category] * rng.lognormal(0, 0.5, n) * 100) - 1
    ).astype(np.int64)
    changes = rng.random(n) < 0.3
    change_at = np.maximum(created, _uniform_times(rng, n, start, end)) + np.timedelta64(1, "h")
    change_at = np.where(
        changes & (change_at < np.datetime64(end.replace(tzinfo=None))), change_at, _nat(n)
    )
    new_price = np.where(
        np.isnat(change_at),
        first_price,
        np.maximum(99, np.round(first_price * rng.uniform(0.75, 1.25, n))).astype(np.int64),
    )
    words = PRODUCT_WORDS[rng.integers(0, len(PRODUCT_WORDS), n)]
    names = np.array(
        [
            f"{w} {CATEGORIES[c].strip()} Item {i}"
            for w, c, i in zip(words, category, ids, strict=True)
        ]
    )
    table = pa.table(
        {
            "id": ids,
            "sku": np.array([f"SKU-{i:07d}" for i in ids]),
            "product_name": names,
            "category": CATEGORIES[category],
            "price_cents": new_price,
            "currency": np.full(n, "USD"),
            "created_at": _utc(created),
            "updated_at": _utc(np.where(np.isnat(change_at), created, change_at)),
            "deleted_at": _utc(_nat(n)),
            "_created_utc": created,
        }
    )
    history = {
        int(i): (int(a), int(b), None if np.isnat(t) else t)
        for i, a, b, t in zip(ids, first_price, new_price, change_at, strict=True)
    }
    return table, history


def _plan_orders(
    rng: np.random.Generator,
    first_order_id: int,
    first_item_id: int,
    placed: np.ndarray,
    customer_ids: np.ndarray,
    pick_products: Callable[[np.ndarray], np.ndarray],
    price_history: dict[int, tuple[int, int, np.datetime64 | None]],
) -> tuple[pa.Table, pa.Table]:
    """Plan the whole life of each order placed at ``placed``, and its items."""
    n = len(placed)
    order_ids = np.arange(first_order_id, first_order_id + n, dtype=np.int64)

    # Items: one to five lines per order, priced at the product's price on the day.
    lines = rng.choice([1, 2, 3, 4, 5], n, p=[0.35, 0.3, 0.18, 0.1, 0.07])
    item_order = np.repeat(np.arange(n), lines)
    item_placed = placed[item_order]
    item_products = np.asarray(pick_products(item_placed), dtype=np.int64)
    before, after, changed_at = _price_arrays(item_products, price_history)
    unit_price = np.where(np.isnat(changed_at) | (item_placed < changed_at), before, after)
    quantity = rng.choice([1, 1, 1, 2, 2, 3, 4], len(item_order))
    subtotal = np.bincount(item_order, weights=unit_price * quantity, minlength=n).astype(np.int64)
    shipping = np.where(subtotal >= 5000, 0, 599).astype(np.int64)
    item_times = _utc(item_placed)
    items = pa.table(
        {
            "id": np.arange(first_item_id, first_item_id + len(item_order), dtype=np.int64),
            "order_id": order_ids[item_order],
            "product_id": item_products,
            "quantity": quantity.astype(np.int32),
            "unit_price_cents": unit_price.astype(np.int32),
            "created_at": item_times,
            "updated_at": item_times,
        }
    )

    # The lifecycle: placed -> paid -> shipped -> delivered (-> returned), or cancelled.
    fate = rng.random(n)
    never_paid = fate < 0.04
    cancelled_after_payment = (fate >= 0.04) & (fate < 0.07)
    paid = np.where(never_paid, _nat(n), placed + _minutes(rng.uniform(1, 120, n)))
    cancelled = np.where(
        never_paid,
        placed + _minutes(np.full(n, 3 * 24 * 60.0)),
        np.where(cancelled_after_payment, paid + _minutes(rng.uniform(10, 600, n)), _nat(n)),
    )
    ships = np.isnat(cancelled)
    carrier_index = rng.choice(len(CARRIERS), n, p=CARRIER_WEIGHTS)
    shipped = np.where(ships, paid + _minutes(rng.gamma(3, 12 * 60 / 3 * 1.5, n) + 360), _nat(n))
    lost = rng.random(n) < 0.01
    transit = rng.gamma(4, CARRIER_TRANSIT_DAYS[carrier_index] / 4) * 24 * 60 + 180
    delivered = np.where(ships & ~lost, shipped + _minutes(transit), _nat(n))
    returned = np.where(
        rng.random(n) < 0.04, delivered + _minutes(rng.uniform(2, 25, n) * 24 * 60), _nat(n)
    )
    fraud = rng.random(n) < 0.003
    deleted = np.where(fraud, placed + _minutes(rng.uniform(30, 48 * 60, n)), _nat(n))
    tracking = np.char.add(
        np.char.add(CARRIERS[carrier_index], "-"), rng.integers(10**9, 10**10, n).astype(str)
    )
    plans = pa.table(
        {
            "order_id": order_ids,
            "customer_id": np.asarray(customer_ids, dtype=np.int64),
            "subtotal_cents": subtotal,
            "shipping_cents": shipping,
            "created_at": _utc(placed),
            "paid_at": _utc(paid),
            "cancelled_at": _utc(cancelled),
            "shipped_at": _utc(shipped),
            "delivered_at": _utc(delivered),
            "returned_at": _utc(returned),
            "deleted_at": _utc(deleted),
            "carrier": np.where(ships, CARRIERS[carrier_index], None),
            "tracking_number": np.where(ships, tracking, None),
        }
    )
    return plans, items


def _price_arrays(
    product_ids: np.ndarray, history: dict[int, tuple[int, int, np.datetime64 | None]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = np.fromiter(history.keys(), dtype=np.int64, count=len(history))
    order = np.argsort(keys)
    keys = keys[order]
    values = list(history.values())
    before = np.array([v[0] for v in values], dtype=np.int64)[order]
    after = np.array([v[1] for v in values], dtype=np.int64)[order]
    changed = np.array(
        [v[2] if v[2] is not None else np.datetime64("NaT", "us") for v in values],
        dtype="datetime64[us]",
    )[order]
    index = np.searchsorted(keys, product_ids)
    return before[index], after[index], changed[index]


def _order_times(rng: np.random.Generator, n: int, start: datetime, end: datetime) -> np.ndarray:
    """Order timestamps with growth over the year, weekend and Black Friday peaks, and a
    daily rhythm that peaks in the (US) evening."""
    days = max(1, (end - start).days)
    day_index = np.arange(days)
    dates = np.datetime64(start.replace(tzinfo=None), "D") + day_index
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    weight = 1 + 0.8 * day_index / max(days - 1, 1)
    weight = weight * np.where(weekday >= 5, 1.25, 1.0)
    month_day = dates.astype(object)
    black_friday = np.array([d.month == 11 and 24 <= d.day <= 30 for d in month_day])
    weight = weight * np.where(black_friday, 2.5, 1.0)
    chosen = rng.choice(days, n, p=weight / weight.sum())
    hour_weight = 1 + 0.8 * np.sin((np.arange(24) - 19) / 24 * 2 * np.pi + np.pi / 2)
    hours = rng.choice(24, n, p=hour_weight / hour_weight.sum())
    offset = chosen.astype(np.int64) * DAY_US + hours * HOUR_US + rng.integers(0, HOUR_US, n)
    times = np.datetime64(start.replace(tzinfo=None), "us") + offset * US
    return np.sort(times)


def _picker(rng: np.random.Generator, ids: pa.ChunkedArray, created: pa.ChunkedArray):
    """Return ``pick(times)``: for each time, an id among the rows created before it. Earlier
    rows are likelier (loyal customers order more, long-listed products sell more)."""
    created_np = created.to_numpy()
    order = np.argsort(created_np, kind="stable")
    sorted_ids = ids.to_numpy()[order]
    sorted_created = created_np[order]

    def pick(times: np.ndarray) -> np.ndarray:
        available = np.maximum(np.searchsorted(sorted_created, times, side="right"), 1)
        return sorted_ids[(rng.random(len(times)) ** 1.5 * available).astype(np.int64)]

    return pick


# --------------------------------------------------------------------------------------------
# Small helpers


def _nat(n: int) -> np.ndarray:
    return np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")


def _uniform_times(rng: np.random.Generator, n: int, start: datetime, end: datetime) -> np.ndarray:
    span = int((end - start).total_seconds() * 1_000_000)
    return np.datetime64(start.replace(tzinfo=None), "us") + rng.integers(0, span, n) * US


def _random_span(rng: np.random.Generator, n: int, span: timedelta) -> np.ndarray:
    return rng.integers(0, int(span.total_seconds() * 1_000_000), n) * US


def _minutes(values: np.ndarray) -> np.ndarray:
    return (np.asarray(values) * MINUTE_US).astype(np.int64) * US


def _with_nulls(rng: np.random.Generator, values: np.ndarray, rate: float) -> pa.Array:
    return pa.array(values.tolist(), mask=rng.random(len(values)) < rate, type=pa.string())


def _utc(times: np.ndarray) -> pa.Array:
    return pa.array(times, type=pa.timestamp("us", tz="UTC"), from_pandas=True)


def _local_naive(times: np.ndarray) -> pa.Array:
    """UTC instants as zone-less wall-clock times in the head office's time zone."""
    import pandas as pd

    local = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(LOCAL_TIMEZONE)
    return pa.array(local.tz_localize(None).to_numpy(), type=pa.timestamp("us"))


def _copy(conn: psycopg.Connection, table: str, data: pa.Table) -> None:
    """Bulk-load an Arrow table with COPY (CSV), skipping helper columns that start with _."""
    data = data.select([name for name in data.column_names if not name.startswith("_")])
    columns = ", ".join(data.column_names)
    with conn.cursor().copy(f"copy {table} ({columns}) from stdin with (format csv)") as copy:
        for batch in data.to_batches(max_chunksize=100_000):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
            copy.write(buffer.getvalue())


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ("customers", "products", "orders", "order_items", "shipments")
    return {
        table: conn.execute(f"select count(*) from shop.{table}").fetchone()[0] for table in tables
    }
