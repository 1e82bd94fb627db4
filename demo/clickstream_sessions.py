"""The simulated web logs' sessions: one day of buying and browsing sessions, timed and dressed
as events. What they draw from (catalogue, campaigns) is in ``clickstream_catalogue``; its names
are importable from here too."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import psycopg
import pyarrow as pa

from .clickstream_catalogue import _campaign_of as _campaign_of
from .clickstream_catalogue import _campaigns as _campaigns
from .clickstream_catalogue import _Catalogue as _Catalogue
from .clickstream_draw import (
    _any_product,
    _epoch_us,
    _events,
    _has_second_device,
    _mix,
    _pick,
    _segment,
    _stack,
    _utc_offsets,
    _write_file,
    file_path,
)
from .clickstream_render import RENDER_SQL, _garbage
from .clickstream_settings import (
    ABANDONED_AT_CHECKOUT_SHARE,
    ACCOUNT_ID_RELEASE,
    ADD_TO_CART,
    BROWSING_KIND_SHARES,
    BROWSING_SESSIONS_PER_ORDER,
    CART,
    CHECKOUT,
    CHECKOUT_STARTED,
    CONFIRMATION,
    DAY_US,
    DEALS,
    DEVICE_SHARES,
    DEVICES,
    DUPLICATE_RATE,
    EPOCH_MS,
    HOME,
    HOUR_US,
    KNOWN_VISITOR_SHARE,
    LOCAL_OFFSET,
    MALFORMED_RATE,
    MS_US,
    ORDER_COMPLETED,
    PAGE_VIEW,
    PRODUCT,
    PRODUCT_VIEW,
    RANDOM_STREAM,
    SERVER_SIDE_EVENTS,
    UTC_Z,
    ZONE_SHARES,
)
from .shop_settings import Clock

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# One day of logs


def _write_day(
    db: duckdb.DuckDBPyConnection,
    clock: Clock,
    catalogue: _Catalogue,
    orders: dict[str, np.ndarray],
    items: dict[str, np.ndarray],
    root: Path,
    day: datetime,
    day_end: datetime,
) -> np.ndarray:
    """Generate and write the hourly files of one day; return (lines, duplicates, malformed)."""
    day_us, end_us = _epoch_us(day), _epoch_us(day_end)
    rng = np.random.default_rng([clock.seed, day_us // DAY_US, RANDOM_STREAM])
    buying = _buying_sessions(rng, clock.seed, catalogue, orders, items, day_us)
    browsing = _browsing_sessions(rng, clock.seed, catalogue, len(orders["id"]), day_us, end_us)
    browsing["session"] += len(orders["id"])
    events = _timed(rng, _stack([buying, browsing]), day_us, end_us)
    events = _dressed(rng, events, catalogue.campaigns, end_us)
    garbage = _garbage(rng, len(events["t_us"]), day_us, end_us)

    db.register("events", pa.table(events))
    db.register("garbage", garbage)
    db.register("campaigns", catalogue.campaigns)
    rendered = db.execute(RENDER_SQL, {"release_us": _epoch_us(ACCOUNT_ID_RELEASE)}).fetchall()
    texts = {hour: text for hour, _, text in rendered}
    # Every hour has its file, even an empty one: the shipper rotates hourly.
    files = [
        (file_path(root, day + timedelta(hours=h)), texts.get(day_us // HOUR_US + h, ""))
        for h in range((end_us - day_us) // HOUR_US)
    ]
    # zlib releases the GIL: two threads compress two hours at once.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda file: _write_file(*file), files))
    lines = sum(count for _, count, _ in rendered)
    malformed = int(events["truncated"].sum()) + garbage.num_rows
    return np.array([lines, int(events["duplicate"].sum()), malformed])


def _orders(
    conn: psycopg.Connection, start: datetime, end: datetime
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The orders placed in the window (from their plans) and their items, by order id."""
    window = {"start": start, "end": end}
    orders = conn.execute(
        """
        select order_id, customer_id, subtotal_cents + shipping_cents,
            (extract(epoch from created_at) * 1000000)::bigint
        from demo_meta.order_plans
        where created_at >= %(start)s and created_at < %(end)s
        order by order_id
        """,
        window,
    ).fetchall()
    items = conn.execute(
        """
        select i.order_id, i.product_id, i.quantity
        from shop.order_items as i
        inner join demo_meta.order_plans as p on i.order_id = p.order_id
        where p.created_at >= %(start)s and p.created_at < %(end)s
        order by i.order_id, i.id
        """,
        window,
    ).fetchall()
    order_columns = np.array(orders, dtype=np.int64).reshape(-1, 4).T
    item_columns = np.array(items, dtype=np.int64).reshape(-1, 3).T
    return (
        dict(zip(("id", "customer_id", "total_cents", "placed_us"), order_columns, strict=True)),
        dict(zip(("order_id", "product_id", "quantity"), item_columns, strict=True)),
    )


def _buying_sessions(
    rng: np.random.Generator,
    seed: int,
    catalogue: _Catalogue,
    orders: dict[str, np.ndarray],
    items: dict[str, np.ndarray],
    day_us: int,
) -> dict[str, np.ndarray]:
    """One session per order: a landing page, a few product views, the order's products viewed
    and added to the cart, the cart, checkout, and ``order_completed`` at the order's time.

    Four in ten customers are logged in from the start; the others log in at checkout, so the
    first part of their session is anonymous on that device.
    """
    n = len(orders["id"])
    item_session = np.searchsorted(orders["id"], items["order_id"])
    lines = np.bincount(item_session, minlength=n)
    item_rank = _segment(lines)[1]
    browsed = rng.integers(0, 4, n)
    checkout = 2 + browsed + 2 * lines  # the seq of checkout_started, after the cart page

    landing, views, tail = _segment(np.ones(n, int)), _segment(browsed), _segment(np.full(n, 3))
    item_seq = 1 + browsed[item_session] + 2 * item_rank
    parts = [
        _events(landing[0], 0, PAGE_VIEW, rng.choice([HOME, DEALS], n, p=[0.7, 0.3])),
        _events(
            views[0], 1 + views[1], PRODUCT_VIEW, PRODUCT, _any_product(rng, catalogue, views[0])
        ),
        _events(item_session, item_seq, PRODUCT_VIEW, PRODUCT, items["product_id"]),
        _events(
            item_session, item_seq + 1, ADD_TO_CART, PRODUCT, items["product_id"], items["quantity"]
        ),
        _events(
            tail[0],
            checkout[tail[0]] - 1 + tail[1],
            np.array([PAGE_VIEW, CHECKOUT_STARTED, ORDER_COMPLETED])[tail[1]],
            np.array([CART, CHECKOUT, CONFIRMATION])[tail[1]],
        ),
    ]
    completed = parts[-1]["event"] == ORDER_COMPLETED
    parts[-1]["order_id"] = np.where(completed, orders["id"][tail[0]], 0)
    parts[-1]["revenue_cents"] = np.where(completed, orders["total_cents"][tail[0]], 0)
    events = _stack(parts)

    session = events["session"]
    customer = orders["customer_id"]
    device = np.where(_has_second_device(seed, customer) & (rng.random(n) < 0.35), 1, 0)
    logged_in = rng.random(n) < 0.4
    events["user_id"] = np.where(
        logged_in[session] | (events["seq"] >= checkout[session]), customer[session], 0
    )
    events["visitor"] = (customer * 2 + device)[session]
    events["ends_us"] = orders["placed_us"][session]
    events["starts_us"] = np.full(len(session), day_us)
    return events


def _browsing_sessions(
    rng: np.random.Generator,
    seed: int,
    catalogue: _Catalogue,
    n_orders: int,
    day_us: int,
    end_us: int,
) -> dict[str, np.ndarray]:
    """Sessions that buy nothing: bounces, browsing, and carts abandoned (some at checkout),
    ``BROWSING_SESSIONS_PER_ORDER`` per order of the day, in ``BROWSING_KIND_SHARES``.

    ``KNOWN_VISITOR_SHARE`` are customers who had signed up by then, on one of their devices
    and half of them logged in; the rest are new visitors.
    """
    n = rng.poisson(BROWSING_SESSIONS_PER_ORDER * max(n_orders, 1))
    kind = rng.choice(3, n, p=BROWSING_KIND_SHARES)  # bounce, browse, abandon a cart
    browsed = np.where(kind > 0, rng.integers(1, 4, n), 0)
    carted = np.where(kind == 2, np.minimum(browsed, rng.integers(1, 3, n)), 0)
    checkout = ((kind == 2) & (rng.random(n) < ABANDONED_AT_CHECKOUT_SHARE)).astype(int)

    landing, views, adds, checkouts = (
        _segment(c) for c in (np.ones(n, int), browsed, carted, checkout)
    )
    viewed_products = _any_product(rng, catalogue, views[0])
    # The k-th product added to the cart is the k-th product viewed in the session.
    first_view = np.cumsum(browsed) - browsed
    parts = [
        _events(landing[0], 0, PAGE_VIEW, rng.choice([HOME, DEALS], n, p=[0.7, 0.3])),
        _events(views[0], 1 + views[1], PRODUCT_VIEW, PRODUCT, viewed_products),
        _events(
            adds[0],
            1 + browsed[adds[0]] + adds[1],
            ADD_TO_CART,
            PRODUCT,
            viewed_products[first_view[adds[0]] + adds[1]],
            rng.choice([1, 1, 1, 2, 3], len(adds[0])),
        ),
        _events(
            checkouts[0],
            1 + browsed[checkouts[0]] + carted[checkouts[0]],
            CHECKOUT_STARTED,
            CHECKOUT,
        ),
    ]
    events = _stack(parts)

    start = day_us + rng.integers(0, end_us - day_us, n)
    signed_up = np.searchsorted(catalogue.customer_created_us, start, side="right")
    known = (rng.random(n) < KNOWN_VISITOR_SHARE) & (signed_up > 0)
    customer = (
        catalogue.customer_ids[(rng.random(n) * signed_up).astype(np.int64)]
        if len(catalogue.customer_ids)
        else np.zeros(n, np.int64)
    )
    customer = np.where(known, customer, 0)
    device = np.where(_has_second_device(seed, customer) & (rng.random(n) < 0.35), 1, 0)
    visitor = np.where(known, customer * 2 + device, rng.integers(2**40, 2**62, n))
    logged_in = known & (rng.random(n) < 0.5)

    session = events["session"]
    events["user_id"] = np.where(logged_in[session], customer[session], 0)
    events["visitor"] = visitor[session]
    events["starts_us"] = start[session]
    events["ends_us"] = np.zeros(len(session), dtype=np.int64)
    return events


def _timed(
    rng: np.random.Generator, events: dict[str, np.ndarray], day_us: int, end_us: int
) -> dict[str, np.ndarray]:
    """Sort the events by session and step, and give each its time (whole milliseconds).

    Seconds to a minute or two pass between clicks. A buying session ends at the order's time,
    a browsing session starts at its start; all stay inside the day.
    """
    order = np.lexsort((events["seq"], events["session"]))
    events = {name: values[order] for name, values in events.items()}
    session = events["session"]
    n = len(session)
    first = np.r_[True, session[1:] != session[:-1]][:n]
    last = np.r_[session[1:] != session[:-1], True][:n]
    gaps = np.where(first, 0, rng.exponential(45_000_000.0, n)).astype(np.int64)
    elapsed = np.cumsum(gaps)
    index = np.arange(n)
    session_first = np.maximum.accumulate(np.where(first, index, 0))
    session_last = np.minimum.accumulate(np.where(last, index, n)[::-1])[::-1]
    t = np.where(
        events["ends_us"] > 0,
        events["ends_us"] - (elapsed[session_last] - elapsed),
        events["starts_us"] + (elapsed - elapsed[session_first]),
    )
    events["t_us"] = np.clip(t, day_us, end_us - 1) // MS_US * MS_US
    events["is_first"] = first
    return events


def _dressed(
    rng: np.random.Generator, events: dict[str, np.ndarray], campaigns: pa.Table, end_us: int
) -> dict[str, np.ndarray]:
    """Add what the collector adds (devices, zones, ids, campaigns) and the mess."""
    n = len(events["session"])
    visitor = events["visitor"].astype(np.uint64)
    device = _pick(_mix(visitor, 1), DEVICE_SHARES)
    is_app = DEVICES[device, 3].astype(bool)
    server_side = np.isin(events["event"], SERVER_SIDE_EVENTS)
    events["device"] = device
    events["offset_minutes"] = _utc_offsets(_pick(_mix(visitor, 2), ZONE_SHARES), events["t_us"])
    events["ts_format"] = np.where(server_side, UTC_Z, np.where(is_app, EPOCH_MS, LOCAL_OFFSET))
    events["anonymous_hi"], events["anonymous_lo"] = _mix(visitor, 3), _mix(visitor, 4)
    events["event_hi"] = rng.integers(0, 2**63, n, dtype=np.uint64)
    events["event_lo"] = rng.integers(0, 2**63, n, dtype=np.uint64)
    events["campaign"] = _campaign_of(rng, campaigns, events)

    events["duplicate"] = rng.random(n) < DUPLICATE_RATE
    delay = rng.integers(MS_US, 2 * HOUR_US, n) // MS_US * MS_US
    events["duplicate_us"] = np.minimum(events["t_us"] + delay, end_us - MS_US)
    truncated = rng.random(n) < MALFORMED_RATE / 2
    if n and not truncated.any():  # the writer crashes at least once a day
        truncated[rng.integers(0, n)] = True
    events["truncated"] = truncated
    events["cut"] = rng.uniform(0.2, 0.9, n)
    events["ordinal"] = np.arange(n)
    return events
