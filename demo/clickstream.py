"""The simulated web logs: the events GlobalRetail's website and app send, as a log shipper
stores them: one gzip JSON-lines file per UTC hour,
``<home>/clickstream/YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz``.

Every order placed in a window gets the session that led to it, on the customer's device:
landing page, product views, the order's products added to the cart, checkout, and an
``order_completed`` event carrying the shop's order id. The visitor is anonymous (an
``anonymous_id`` per device) until they log in, so each device has anonymous events before
the customer's id appears (identity stitching needs them); some customers use two devices.
Around the orders are browsing sessions that buy nothing: bounces, browsing, abandoned carts.
Sessions that start while an ad campaign runs (``demo_api.campaigns``) often carry its
``utm_*`` codes.

The mess real collectors deliver, deterministic like everything else:

- duplicates (at-least-once delivery): about 1.5% of events arrive twice with the same
  ``event_id``, sometimes in a later file;
- malformed lines: about 0.1% (at least one a day): lines cut short by a crashing writer, and
  garbage such as an HTML error page or a JSON object without an event id;
- three timestamp formats: the app sends epoch milliseconds (a JSON number), the website ISO
  8601 in the visitor's local time with its UTC offset, the server ISO 8601 in UTC with ``Z``;
- schema drift: from ``ACCOUNT_ID_RELEASE`` on, the app writes ``account_id`` (a string)
  where it wrote ``user_id`` (a number).

Only the last ``LOG_RETENTION_DAYS`` days of the generated history have logs (web logs are
kept for a short time, and it keeps the demo small), then every day ``advance`` adds. Each day
draws from its own random stream (the clock's seed and the day); devices, their visitor ids and
time zones come from hashes of the customer id, so they stay the same across days. Rendering
(JSON, timestamp formats, duplicates, hourly files) is one DuckDB query per day over Arrow
columns built with numpy: no Python object per event.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import psycopg
import pyarrow as pa

from .shop_settings import LOCAL_TIMEZONE, Clock

log = logging.getLogger(__name__)

# Web logs are kept for a month: the generated history has logs for its last 30 days only.
LOG_RETENTION_DAYS = 30
# The release that renamed the event field `user_id` to `account_id` (inside the generated log
# window, so both shapes are there from the start). A rolling deploy: the 09:00 file has both.
ACCOUNT_ID_RELEASE = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
# A real shop converts 2-3% of sessions; four browsing sessions per order keep scale 1 small.
BROWSING_SESSIONS_PER_ORDER = 4
DUPLICATE_RATE = 0.015
MALFORMED_RATE = 0.001
SITE = "https://www.globalretail.example"
# Fast compression: at scale 10 the demo writes a gigabyte of JSON a month.
GZIP_LEVEL = 1

EVENTS = np.array(
    ["page_view", "product_view", "add_to_cart", "checkout_started", "order_completed"]
)
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, CHECKOUT_STARTED, ORDER_COMPLETED = range(5)
PAGES = np.array(["/", "/deals", "/products/", "/cart", "/checkout", "/checkout/confirmation"])
HOME, DEALS, PRODUCT, CART, CHECKOUT, CONFIRMATION = range(6)
# Who writes the timestamp decides its format: epoch ms, local time with offset, UTC with Z.
EPOCH_MS, LOCAL_OFFSET, UTC_Z = range(3)
SERVER_SIDE_EVENTS = (CHECKOUT_STARTED, ORDER_COMPLETED)

# Devices: (type, os, browser, the app rather than the website), with their shares.
DEVICES = np.array(
    [
        ("desktop", "Windows", "Chrome", False),
        ("desktop", "Windows", "Edge", False),
        ("desktop", "macOS", "Safari", False),
        ("desktop", "macOS", "Chrome", False),
        ("desktop", "Linux", "Firefox", False),
        ("mobile", "iOS", "Safari", False),
        ("mobile", "Android", "Chrome", False),
        ("mobile", "iOS", "GlobalRetail App", True),
        ("mobile", "Android", "GlobalRetail App", True),
        ("tablet", "iPadOS", "Safari", False),
    ],
    dtype=object,
)
DEVICE_SHARES = np.array([0.22, 0.08, 0.12, 0.06, 0.02, 0.14, 0.12, 0.1, 0.08, 0.06])
# Visitors' time zones, as the website's local timestamps show them.
ZONES = np.array(
    [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "America/Toronto",
        "Europe/London",
        "Europe/Berlin",
        "Europe/Paris",
        "Australia/Sydney",
    ]
)
ZONE_SHARES = np.array([0.3, 0.15, 0.15, 0.08, 0.1, 0.1, 0.07, 0.05])
GARBAGE = np.array(
    [
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        '{"event_id": null, "event": "page_view"}',
        "[object Object]",
        "undefined",
        '{"event": "page_view", "timestamp": "2026-10-20T10:00:00Z"}',
    ]
)

# The logs draw from a random stream of their own, so they never repeat the shop's numbers.
RANDOM_STREAM = 0xC11C
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MS_US = 1_000


def apply_window(
    conn: psycopg.Connection, clock: Clock, start: datetime | None, end: datetime, home: Path
) -> None:
    """Write the log files of ``[start, end)``, one UTC day at a time.

    ``start`` None is the generated history: its old log folder is replaced by the last
    ``LOG_RETENTION_DAYS`` days. Campaigns are read from ``demo_api.campaigns`` when the API
    step has created it; without it, no session carries utm codes.
    """
    root = log_folder(home)
    if start is None:
        shutil.rmtree(root, ignore_errors=True)
        start = end - timedelta(days=LOG_RETENTION_DAYS)
    catalogue = _Catalogue.read(conn, end)
    orders, items = _orders(conn, start, end)
    totals = np.zeros(3, dtype=np.int64)
    with duckdb.connect() as db:
        day = start
        while day < end:
            day_end = min(day + timedelta(days=1), end)
            placed = (orders["placed_us"] >= _epoch_us(day)) & (
                orders["placed_us"] < _epoch_us(day_end)
            )
            day_orders = {name: values[placed] for name, values in orders.items()}
            bought = np.isin(items["order_id"], day_orders["id"])
            day_items = {name: values[bought] for name, values in items.items()}
            totals += _write_day(db, clock, catalogue, day_orders, day_items, root, day, day_end)
            day += timedelta(days=1)
    log.info(
        "wrote the web logs of %s to %s: %d lines, %d duplicates, %d malformed",
        f"{start:%Y-%m-%d}..{end:%Y-%m-%d}",
        root,
        *totals,
    )


def log_folder(home: Path) -> Path:
    """Where the demo's log shipper writes under a warehouse home: the clickstream source's
    default ``bucket_url``."""
    return home / "clickstream"


def file_path(root: Path, hour: datetime) -> Path:
    """The file of one UTC hour: ``YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz`` under ``root``."""
    return root / f"{hour:%Y/%m/%d}" / f"events-{hour:%Y%m%d%H}.jsonl.gz"


# --------------------------------------------------------------------------------------------
# What the sessions draw from


@dataclass(frozen=True)
class _Catalogue:
    """Products, customers and campaigns, read once per window."""

    product_ids: np.ndarray
    customer_ids: np.ndarray  # sorted by signup time
    customer_created_us: np.ndarray
    campaigns: pa.Table  # campaign (index), utm_*, started_us, ended_us

    @classmethod
    def read(cls, conn: psycopg.Connection, end: datetime) -> _Catalogue:
        epoch = "(extract(epoch from {}) * 1000000)::bigint"
        products = conn.execute(
            "select id from shop.products where deleted_at is null order by id"
        ).fetchall()
        customers = conn.execute(
            f"select id, {epoch.format('created_at at time zone %s')} from shop.customers"
            " where deleted_at is null order by 2, 1",
            (LOCAL_TIMEZONE,),
        ).fetchall()
        customers_np = np.array(customers, dtype=np.int64).reshape(-1, 2)
        return cls(
            np.array([row[0] for row in products], dtype=np.int64),
            customers_np[:, 0],
            customers_np[:, 1],
            _campaigns(conn, end),
        )


def _campaigns(conn: psycopg.Connection, end: datetime) -> pa.Table:
    """Campaigns created before ``end``, from the simulated ad platform (if it is there)."""
    names = ["utm_source", "utm_medium", "utm_campaign", "started_us", "ended_us"]
    types = [pa.string()] * 3 + [pa.int64()] * 2
    exists = conn.execute("select to_regclass('demo_api.campaigns') is not null").fetchone()
    rows: list[tuple] = []
    if exists[0]:
        rows = conn.execute(
            """
            select utm_source, utm_medium, utm_campaign,
                (extract(epoch from started_at) * 1000000)::bigint,
                coalesce((extract(epoch from ended_at) * 1000000)::bigint, %s)
            from demo_api.campaigns
            where created_at < %s
            order by campaign_id
            """,
            (np.iinfo(np.int64).max, end),
        ).fetchall()
    else:
        log.info("demo_api.campaigns does not exist: no web session carries utm codes")
    columns = {
        name: pa.array([row[i] for row in rows], type=kind)
        for i, (name, kind) in enumerate(zip(names, types, strict=True))
    }
    return pa.table({"campaign": pa.array(range(len(rows)), type=pa.int64()), **columns})


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
    """Sessions that buy nothing: bounces, browsing, and carts abandoned (some at checkout).

    A third are customers who had signed up by then, on one of their devices and half of them
    logged in; the rest are new visitors.
    """
    n = rng.poisson(BROWSING_SESSIONS_PER_ORDER * max(n_orders, 1))
    kind = rng.choice(3, n, p=[0.4, 0.4, 0.2])  # bounce, browse, abandon a cart
    browsed = np.select([kind == 1, kind == 2], [rng.integers(1, 6, n), rng.integers(1, 4, n)], 0)
    carted = np.where(kind == 2, np.minimum(browsed, rng.integers(1, 3, n)), 0)
    checkout = ((kind == 2) & (rng.random(n) < 0.3)).astype(int)

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
    known = (rng.random(n) < 0.35) & (signed_up > 0)
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


def _campaign_of(
    rng: np.random.Generator, campaigns: pa.Table, events: dict[str, np.ndarray]
) -> np.ndarray:
    """Each event's campaign (its index in ``campaigns``), or -1: a third of the sessions that
    start while campaigns run come from one of them."""
    session, first = events["session"], events["is_first"]
    n_sessions = int(session.max()) + 1 if len(session) else 0
    chosen = np.full(n_sessions, -1)
    if campaigns.num_rows and n_sessions:
        starts = np.zeros(n_sessions, dtype=np.int64)
        starts[session[first]] = events["t_us"][first]
        began = campaigns["started_us"].to_numpy()
        ended = campaigns["ended_us"].to_numpy()
        running = (began[None, :] <= starts[:, None]) & (starts[:, None] < ended[None, :])
        score = rng.random(running.shape) * running
        from_ad = running.any(axis=1) & (rng.random(n_sessions) < 0.35)
        chosen = np.where(from_ad, score.argmax(axis=1), -1)
    return chosen[session]


def _garbage(rng: np.random.Generator, n_events: int, day_us: int, end_us: int) -> pa.Table:
    """Lines that are no event at all (an error page, junk): about half the malformed lines."""
    n = rng.binomial(n_events, MALFORMED_RATE / 2)
    return pa.table(
        {
            "arrival_us": (day_us + rng.integers(0, end_us - day_us, n)) // MS_US * MS_US,
            "line": GARBAGE[rng.integers(0, len(GARBAGE), n)],
        }
    )


def _sql_list(values: np.ndarray) -> str:
    return "[" + ", ".join("'" + str(value).replace("'", "''") + "'" for value in values) + "]"


def _uuid_sql(hexed: str) -> str:
    """SQL that formats 32 hex digits as a UUID (8-4-4-4-12)."""
    parts = [f"substr({hexed}, {start}, {length})" for start, length in UUID_GROUPS]
    return " || '-' || ".join(parts)


UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))

# The events as JSON lines, gathered into one text per UTC hour of arrival. A duplicate arrives
# again up to two hours later (within the day); a truncated line lost its end in a crash.
RENDER_SQL = f"""
with

located as (
    select
        events.*,
        campaigns.utm_source,
        campaigns.utm_medium,
        campaigns.utm_campaign,
        make_timestamp(events.t_us) as ts,
        printf('%016x%016x', events.event_hi, events.event_lo) as event_hex,
        printf('%016x%016x', events.anonymous_hi, events.anonymous_lo) as anonymous_hex,
        '{SITE}' || {_sql_list(PAGES)}[events.page + 1]
            || case when events.page = {PRODUCT} then cast(events.product_id as varchar) else ''
            end as page_url
    from events
    left join campaigns on events.campaign = campaigns.campaign
),

fields as (
    select
        *,
        ts + to_minutes(offset_minutes) as local_ts,
        {_uuid_sql("event_hex")} as event_id,
        {_uuid_sql("anonymous_hex")} as anonymous_id,
        json_object(
            'url', page_url || case when utm_campaign is not null and is_first
                then '?utm_source=' || utm_source || '&utm_medium=' || utm_medium
                    || '&utm_campaign=' || utm_campaign
                else '' end,
            'path', {_sql_list(PAGES)}[page + 1]
                || case when page = {PRODUCT} then cast(product_id as varchar) else '' end,
            'referrer', lag(page_url) over (partition by session order by seq)
        ) as page_json,
        json_object(
            'type', {_sql_list(DEVICES[:, 0])}[device + 1],
            'os', {_sql_list(DEVICES[:, 1])}[device + 1],
            'browser', {_sql_list(DEVICES[:, 2])}[device + 1]
        ) as device_json
    from located
),

rendered as (
    select
        t_us,
        ordinal,
        duplicate,
        duplicate_us,
        truncated,
        cut,
        -- Text, not JSON: a truncated line must stay broken.
        json_object(
            'event_id', event_id,
            'event', {_sql_list(EVENTS)}[event + 1],
            'timestamp', case ts_format
                when {EPOCH_MS} then to_json(epoch_ms(ts))
                when {UTC_Z} then to_json(strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ'))
                else to_json(
                    strftime(local_ts, '%Y-%m-%dT%H:%M:%S.%g')
                    || case when offset_minutes < 0 then '-' else '+' end
                    || printf('%02d:%02d', abs(offset_minutes) // 60, abs(offset_minutes) % 60)
                )
            end,
            'anonymous_id', anonymous_id,
            case when t_us >= $release_us then 'account_id' else 'user_id' end,
            case
                when user_id = 0 then null
                when t_us >= $release_us then to_json(cast(user_id as varchar))
                else to_json(user_id)
            end,
            'properties', case event
                when {PRODUCT_VIEW} then json_object('product_id', product_id)
                when {ADD_TO_CART} then json_object('product_id', product_id, 'quantity', quantity)
                when {ORDER_COMPLETED} then json_object(
                    'order_id', order_id,
                    'revenue', cast(revenue_cents as decimal(18, 2)) / 100,
                    'currency', 'USD'
                )
                else json_object()
            end,
            'context', case when utm_campaign is null
                then json_object('page', page_json, 'device', device_json)
                else json_object(
                    'page', page_json,
                    'device', device_json,
                    'utm_source', utm_source,
                    'utm_medium', utm_medium,
                    'utm_campaign', utm_campaign
                )
            end
        )::varchar as line
    from fields
),

delivered as (
    select
        t_us as arrival_us,
        ordinal,
        case when truncated then left(line, cast(length(line) * cut as integer)) else line end
            as line
    from rendered
    union all
    select duplicate_us, ordinal, line from rendered where duplicate
    union all
    select arrival_us, -1, line from garbage
)

select
    arrival_us // {HOUR_US} as hour,
    count(*) as lines,
    string_agg(line, chr(10) order by arrival_us, ordinal) || chr(10) as text
from delivered
group by all
"""


# --------------------------------------------------------------------------------------------
# Small helpers


def _segment(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-session counts, each element's session and its position within the session."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


def _events(
    session: np.ndarray,
    seq: np.ndarray | int,
    event: np.ndarray | int,
    page: np.ndarray | int,
    product_id: np.ndarray | int = 0,
    quantity: np.ndarray | int = 0,
) -> dict[str, np.ndarray]:
    """Event columns for the given sessions; scalars apply to every event."""
    n = len(session)
    columns = {"seq": seq, "event": event, "page": page, "product_id": product_id}
    events = {name: np.broadcast_to(value, n).astype(np.int64) for name, value in columns.items()}
    zeros = np.zeros(n, dtype=np.int64)
    return {
        "session": session.astype(np.int64),
        **events,
        "quantity": np.broadcast_to(quantity, n).astype(np.int64),
        "order_id": zeros,
        "revenue_cents": zeros,
    }


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _any_product(rng: np.random.Generator, catalogue: _Catalogue, owners: np.ndarray) -> np.ndarray:
    return catalogue.product_ids[rng.integers(0, len(catalogue.product_ids), len(owners))]


def _has_second_device(seed: int, customer: np.ndarray) -> np.ndarray:
    """A quarter of the customers use a second device now and then (always the same ones)."""
    return _mix(customer.astype(np.uint64), seed) % np.uint64(4) == 0


def _mix(values: np.ndarray, salt: int) -> np.ndarray:
    """A 64-bit hash (splitmix64) of each value and a salt: stable ids and traits per key."""
    z = values.astype(np.uint64) ^ np.uint64(salt * 0x9E3779B97F4A7C15 % 2**64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _utc_offsets(zone: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """The UTC offset, in minutes, of each instant in its zone (an index into ``ZONES``).

    These zones change their offset only on whole UTC hours, so one look-up per zone and hour
    is exact, and much faster than converting every instant.
    """
    if not len(t_us):
        return np.zeros(0, dtype=np.int64)
    hours = t_us // HOUR_US
    first = int(hours.min())
    table = np.array(
        [
            [
                datetime.fromtimestamp((first + h) * 3600, ZoneInfo(name)).utcoffset()
                // timedelta(minutes=1)
                for h in range(int(hours.max()) - first + 1)
            ]
            for name in ZONES
        ],
        dtype=np.int64,
    )
    return table[zone, hours - first]


def _pick(hashes: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """An index into ``shares`` for each hash, with those probabilities."""
    uniform = (hashes >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.searchsorted(np.cumsum(shares) / shares.sum(), uniform, side="right")


def _write_file(path: Path, text: str) -> None:
    """Write one hourly file atomically (a reader never sees half a file), reproducibly
    (no time stamp in the gzip header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(gzip.compress(text.encode(), compresslevel=GZIP_LEVEL, mtime=0))
    os.replace(partial, path)


def _epoch_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)
