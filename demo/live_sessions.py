"""The web app's live visitors: sessions of page views, product views, carts and checkouts,
each event stamped with the moment it is sent, shaped exactly as the web logs' lines are.

The hourly log files (``clickstream_*``) are history; this is now. The visitors are drawn the
same way: a third are the shop's customers (on one of their devices, some logged in), the rest
new visitors; device, time zone and ``anonymous_id`` come from the same hashes of the visitor,
and each device writes its timestamp in its own format (the app epoch milliseconds, the website
local time with its offset, the server UTC). Live sessions stop at checkout: an order only
exists once the shop places it, and ``order_completed`` comes from the shop's own history.

Many sessions run at once and their clicks interleave, as on the real site; the events come
out in the order they happen, one at a time, so the sender decides the rate.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from .clickstream_draw import _has_second_device, _mix, _pick, _utc_offsets
from .clickstream_settings import (
    ADD_TO_CART,
    CART,
    CHECKOUT,
    CHECKOUT_STARTED,
    DEALS,
    DEVICE_SHARES,
    DEVICES,
    EVENTS,
    HOME,
    HOUR_US,
    MS_US,
    PAGE_VIEW,
    PAGES,
    PRODUCT,
    PRODUCT_VIEW,
    SERVER_SIDE_EVENTS,
    SITE,
    ZONE_SHARES,
    ZONES,
)
from .errors import DemoError
from .shop import read_clock

log = logging.getLogger(__name__)

# Sessions open at once: enough that consecutive events rarely share a session.
CONCURRENT_SESSIONS = 64
# Shares of the session kinds: bounce, browse, abandon a cart (some at checkout).
SESSION_KINDS = (0.4, 0.4, 0.2)
KNOWN_VISITOR_SHARE = 0.35
# Visitors drawn at a time (their hashes are vectorised).
VISITOR_BATCH = 256
EVENT_NAMES = [str(name) for name in EVENTS]
DEVICE_JSON = [{"type": row[0], "os": row[1], "browser": row[2]} for row in DEVICES]
PAGE_PATHS = [str(path) for path in PAGES]


@dataclass(frozen=True)
class LiveCatalogue:
    """What live visitors look at and who they may be: the shop's products and customers."""

    product_ids: np.ndarray
    customer_ids: np.ndarray
    # The simulated company's seed: which customers own a second device, as in the logs, so a
    # customer's devices (and their anonymous ids) are the same live as in the history.
    seed: int = 0

    @classmethod
    def read(cls, dsn: str) -> LiveCatalogue:
        """The live products and customers of the shop at ``dsn``."""
        with psycopg.connect(dsn) as conn:
            seed = read_clock(conn).seed
            products = conn.execute(
                "select id from shop.products where deleted_at is null order by id"
            ).fetchall()
            customers = conn.execute(
                "select id from shop.customers where deleted_at is null order by id"
            ).fetchall()
        if not products:
            raise DemoError(
                "the shop has no products for live visitors to view: generate it first "
                "(`warehouse demo` or `warehouse demo generate`)"
            )
        return cls(
            np.array([row[0] for row in products], dtype=np.int64),
            np.array([row[0] for row in customers], dtype=np.int64),
            seed,
        )


@dataclass
class _Session:
    """One visitor's visit: the steps still to come, and who is visiting on what."""

    steps: list[tuple[int, int, int, int]]  # (event, page, product_id, quantity)
    anonymous_id: str
    account_id: str | None
    device: dict[str, str]
    is_app: bool
    offset_minutes: int
    referrer: str | None = None
    done: int = 0


class LiveSessions:
    """Visitors on the site now; :meth:`next_event` is the next click among them.

    Per event only a few draws and one ``json.dumps`` happen (a few microseconds): the visitor's
    traits are drawn once per session, the zones' UTC offsets once per hour.
    """

    def __init__(self, catalogue: LiveCatalogue, seed: int | None = None) -> None:
        self.catalogue = catalogue
        self.random = random.Random(seed)
        self._offsets: tuple[int, list[int]] = (-1, [])  # the hour, each zone's offset then
        self._visitors: list[tuple[str, str | None, dict, bool, int]] = []
        self._stamps: dict[tuple, str | int] = {}
        self.sessions = [self._new_session() for _ in range(CONCURRENT_SESSIONS)]

    def next_event(self, now: datetime | None = None) -> dict:
        """The next event of one of the open sessions, stamped ``now`` (default: the clock)."""
        now = now or datetime.now(UTC)
        slot = self.random.randrange(len(self.sessions))
        session = self.sessions[slot]
        event = self._render(session, now)
        session.done += 1
        if session.done == len(session.steps):
            self.sessions[slot] = self._new_session()
        return event

    def lines(self, count: int) -> list[str]:
        """The next ``count`` events as log lines (compact JSON), all stamped now."""
        now = datetime.now(UTC)
        self._stamps = {}
        return [json.dumps(self.next_event(now), separators=(",", ":")) for _ in range(count)]

    # ----------------------------------------------------------------------------------------

    def _new_session(self) -> _Session:
        draw, catalogue = self.random, self.catalogue
        kind = draw.choices(range(3), SESSION_KINDS)[0]
        browsed = 0 if kind == 0 else draw.randint(1, 5 if kind == 1 else 3)
        products = catalogue.product_ids
        viewed = [int(products[draw.randrange(len(products))]) for _ in range(browsed)]
        steps = [(PAGE_VIEW, HOME if draw.random() < 0.7 else DEALS, 0, 0)]
        steps += [(PRODUCT_VIEW, PRODUCT, product, 0) for product in viewed]
        if kind == 2:
            steps += [
                (ADD_TO_CART, PRODUCT, product, draw.choice((1, 1, 1, 2, 3)))
                for product in viewed[: draw.randint(1, 2)]
            ]
            steps.append((PAGE_VIEW, CART, 0, 0))
            if draw.random() < 0.3:
                steps.append((CHECKOUT_STARTED, CHECKOUT, 0, 0))
        if not self._visitors:
            self._visitors = self._draw_visitors(VISITOR_BATCH)
        anonymous_id, account_id, device, is_app, offset = self._visitors.pop()
        return _Session(steps, anonymous_id, account_id, device, is_app, offset)

    def _draw_visitors(self, count: int) -> list[tuple[str, str | None, dict, bool, int]]:
        """``count`` visitors at once (the hashes are numpy calls: cheap per array, not per
        visitor): a third the shop's customers, some on their second device, half of those
        logged in; the rest new visitors."""
        draw, customers = self.random, self.catalogue.customer_ids
        visitors, accounts, known = [], [], []
        for _ in range(count):
            is_customer = bool(len(customers)) and draw.random() < KNOWN_VISITOR_SHARE
            known.append(is_customer)
            if is_customer:
                customer = int(customers[draw.randrange(len(customers))])
                visitors.append(customer * 2 + int(draw.random() < 0.35))
                accounts.append(str(customer) if draw.random() < 0.5 else None)
            else:
                visitors.append(draw.randrange(2**40, 2**62))
                accounts.append(None)
        hashes = np.array(visitors, dtype=np.uint64)
        # As in the logs: only a customer with a second device (by hash) ever uses one.
        customer = hashes // np.uint64(2)
        first_device = np.array(known) & ~_has_second_device(self.catalogue.seed, customer)
        hashes = np.where(first_device, customer * np.uint64(2), hashes)
        devices = _pick(_mix(hashes, 1), DEVICE_SHARES)
        zones = _pick(_mix(hashes, 2), ZONE_SHARES)
        high, low = _mix(hashes, 3), _mix(hashes, 4)
        offsets = self._zone_offsets()
        return [
            (
                str(uuid.UUID(f"{int(high[n]):016x}{int(low[n]):016x}")),
                accounts[n],
                DEVICE_JSON[devices[n]],
                bool(DEVICES[devices[n]][3]),
                offsets[zones[n]],
            )
            for n in range(count)
        ]

    def _zone_offsets(self) -> list[int]:
        """Each zone's UTC offset in minutes now (zones change offset on whole hours only)."""
        now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
        hour = now_us // HOUR_US
        if self._offsets[0] != hour:
            zones = np.arange(len(ZONES))
            offsets = _utc_offsets(zones, np.full(len(ZONES), now_us, dtype=np.int64))
            self._offsets = (hour, [int(offset) for offset in offsets])
        return self._offsets[1]

    def _stamp(self, now: datetime, event: int, session: _Session) -> str | int:
        """The event's timestamp as its writer formats it; one formatting per format and
        moment (every event of one :meth:`lines` call is stamped the same moment)."""
        key = (now, event in SERVER_SIDE_EVENTS, session.is_app, session.offset_minutes)
        if key not in self._stamps:
            self._stamps[key] = _timestamp(now, event, session.is_app, session.offset_minutes)
        return self._stamps[key]

    def _render(self, session: _Session, now: datetime) -> dict:
        """One event as the web log's line holds it (field order and formats included)."""
        event, page, product_id, quantity = session.steps[session.done]
        path = PAGE_PATHS[page] + (str(product_id) if page == PRODUCT else "")
        url = SITE + path
        if event == ADD_TO_CART:
            properties: dict = {"product_id": product_id, "quantity": quantity}
        elif event == PRODUCT_VIEW:
            properties = {"product_id": product_id}
        else:
            properties = {}
        line = {
            "event_id": str(uuid.UUID(int=self.random.getrandbits(128))),
            "event": EVENT_NAMES[event],
            "timestamp": self._stamp(now, event, session),
            "anonymous_id": session.anonymous_id,
            "account_id": session.account_id,
            "properties": properties,
            "context": {
                "page": {"url": url, "path": path, "referrer": session.referrer},
                "device": session.device,
            },
        }
        session.referrer = url
        return line


def _timestamp(now: datetime, event: int, is_app: bool, offset_minutes: int) -> str | int:
    """The server writes UTC with Z, the app epoch milliseconds, the website local time."""
    now = now.replace(microsecond=now.microsecond // MS_US * MS_US)
    if event in SERVER_SIDE_EVENTS:
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // MS_US:03d}Z"
    if is_app:
        return int(now.timestamp() * 1000)
    local = now + timedelta(minutes=offset_minutes)
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // MS_US:03d}{sign}{hours:02d}:{minutes:02d}"
    )
