"""The simulated shop's rows, generated vectorised (numpy, Arrow) and written with COPY."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from .shop_settings import (
    CARRIER_TRANSIT_DAYS,
    CARRIER_WEIGHTS,
    CARRIERS,
    CATEGORIES,
    CATEGORY_MEDIAN_PRICE,
    CITIES,
    DAY_US,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    HOUR_US,
    LAST_NAMES,
    LOCAL_TIMEZONE,
    MINUTE_US,
    PRODUCT_WORDS,
    RETURN_RATE,
    STREETS,
    US,
)

log = logging.getLogger(__name__)


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
        rng.random(n) < RETURN_RATE, delivered + _minutes(rng.uniform(2, 25, n) * 24 * 60), _nat(n)
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
