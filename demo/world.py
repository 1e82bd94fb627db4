"""The whole simulated GlobalRetail: the shop and the outside world that reacts to it.

The shop (``demo/shop.py``) is the clock's master: it plans and applies orders. Everything else
the demo simulates (third-party APIs, web logs) is derived from the same plans for the same
time window, so payments match orders and clickstream sessions lead to the orders they produced.
Each derived part is a function ``apply_window(conn, clock, start, end, home)`` where ``start``
is None for the generated history; they are listed in ``WINDOW_STEPS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from . import clickstream, shop
from .api import data as api_data
from .errors import DemoError

log = logging.getLogger(__name__)

WindowStep = Callable[[psycopg.Connection, shop.Clock, datetime | None, datetime, Path], None]

# Applied in order after the shop, for the history and then for every simulated day.
# The third parties come first: the clickstream reads their campaigns.
WINDOW_STEPS: list[WindowStep] = [api_data.apply_window, clickstream.apply_window]


def generate(dsn: str, home: Path, scale: float = 1.0, seed: int = 42) -> shop.Summary:
    """Generate the shop's history and everything derived from it."""
    summary = shop.generate(dsn, scale=scale, seed=seed)
    _apply_steps(dsn, summary.clock, None, summary.clock.now, home)
    return summary


def advance(dsn: str, home: Path, days: int = 1) -> shop.Summary:
    """Move the whole world forward ``days`` days, one day at a time."""
    if days < 1:
        raise DemoError(f"days must be at least 1, got {days}")
    for _ in range(days):
        summary = shop.advance(dsn, days=1)
        _apply_steps(
            dsn, summary.clock, summary.clock.now - timedelta(days=1), summary.clock.now, home
        )
    return summary


def _apply_steps(
    dsn: str, clock: shop.Clock, start: datetime | None, end: datetime, home: Path
) -> None:
    with psycopg.connect(dsn) as conn:
        for step in WINDOW_STEPS:
            step(conn, clock, start, end, home)
