"""The simulated web logs: the events GlobalRetail's website and app send, as a log shipper
stores them: one gzip JSON-lines file per UTC hour,
``<home>/clickstream/YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz``.

Every order placed in a window gets the session that led to it, on the customer's device:
landing page, product views, the order's products added to the cart, checkout, and an
``order_completed`` event carrying the shop's order id. The visitor is anonymous (an
``anonymous_id`` per device) until they log in, so each device has anonymous events before
the customer's id appears (identity stitching needs them); some customers use two devices.
Around the orders are browsing sessions that buy nothing (bounces, browsing, abandoned carts),
``BROWSING_SESSIONS_PER_ORDER`` per order, so that about 3% of sessions convert. A fifth of
the sessions that start while ad campaigns run (``demo_api.campaigns``) carry one's ``utm_*``
codes, each campaign in proportion to the clicks its spend buys (``demo.channels``). The rates
and their published ranges: docs/demo-calibration.md.

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

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import psycopg

from .clickstream_draw import _epoch_us, file_path
from .clickstream_sessions import _Catalogue, _orders, _write_day
from .clickstream_settings import ACCOUNT_ID_RELEASE, LOG_RETENTION_DAYS
from .shop import Clock

# What callers (the world, the tests) read from this module.
__all__ = ["ACCOUNT_ID_RELEASE", "LOG_RETENTION_DAYS", "apply_window", "file_path", "log_folder"]

log = logging.getLogger(__name__)


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
