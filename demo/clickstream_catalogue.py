"""What the simulated web logs' sessions draw from (products, customers, campaigns, read once
per window) and which campaign a session comes from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
import pyarrow as pa

from .channels import CHANNELS
from .clickstream_settings import AD_SESSION_SHARE
from .shop_settings import LOCAL_TIMEZONE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Catalogue:
    """Products, customers and campaigns, read once per window."""

    product_ids: np.ndarray
    customer_ids: np.ndarray  # sorted by signup time
    customer_created_us: np.ndarray
    # campaign (index), utm_*, started_us, ended_us, daily_clicks, relative_conversion
    campaigns: pa.Table

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
    """Campaigns created before ``end``, from the simulated ad platform (if it is there), with
    the clicks a day of each buys (``daily_clicks``: budget over the channel's cost per click)
    and how well its visitors convert (``relative_conversion``, from ``demo.channels``)."""
    names = ["utm_source", "utm_medium", "utm_campaign", "started_us", "ended_us"]
    types = [pa.string()] * 3 + [pa.int64()] * 2
    exists = conn.execute("select to_regclass('demo_api.campaigns') is not null").fetchone()
    rows: list[tuple] = []
    if exists[0]:
        rows = conn.execute(
            """
            select utm_source, utm_medium, utm_campaign,
                (extract(epoch from started_at) * 1000000)::bigint,
                coalesce((extract(epoch from ended_at) * 1000000)::bigint, %s),
                channel, daily_budget_cents
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
    channels = [CHANNELS[row[5]] for row in rows]
    columns["daily_clicks"] = pa.array(
        [
            row[6] / channel.cost_per_click_cents
            for row, channel in zip(rows, channels, strict=True)
        ],
        type=pa.float64(),
    )
    columns["relative_conversion"] = pa.array(
        [channel.relative_conversion for channel in channels], type=pa.float64()
    )
    return pa.table({"campaign": pa.array(range(len(rows)), type=pa.int64()), **columns})


def _campaign_of(
    rng: np.random.Generator, campaigns: pa.Table, events: dict[str, np.ndarray]
) -> np.ndarray:
    """Each event's campaign (its index in ``campaigns``), or -1.

    About ``AD_SESSION_SHARE`` of the sessions that start while campaigns run come from one of
    them, each campaign in proportion to the clicks a day of it buys, so that its sessions
    follow the clicks the ad platform reports. A session that ends in an order (a buying
    session: its events carry the order's time in ``ends_us``) is also weighted by the
    channel's relative conversion: search intent buys, display mostly browses.
    """
    session, first = events["session"], events["is_first"]
    n_sessions = int(session.max()) + 1 if len(session) else 0
    chosen = np.full(n_sessions, -1)
    if campaigns.num_rows and n_sessions:
        starts = np.zeros(n_sessions, dtype=np.int64)
        starts[session[first]] = events["t_us"][first]
        buying = np.zeros(n_sessions, dtype=bool)
        buying[session[first]] = events["ends_us"][first] > 0
        began = campaigns["started_us"].to_numpy()
        ended = campaigns["ended_us"].to_numpy()
        running = (began[None, :] <= starts[:, None]) & (starts[:, None] < ended[None, :])
        clicks = campaigns["daily_clicks"].to_numpy() * running
        total = clicks.sum(axis=1, keepdims=True)
        share = np.divide(clicks, total, out=np.zeros_like(clicks), where=total > 0)
        conversion = campaigns["relative_conversion"].to_numpy()
        chance = AD_SESSION_SHARE * np.where(buying[:, None], share * conversion, share)
        # One uniform draw per session: the campaign whose slice of [0, 1) it falls in.
        bounds = np.cumsum(chance, axis=1)
        picked = (bounds <= rng.random(n_sessions)[:, None]).sum(axis=1)
        chosen = np.where(picked < campaigns.num_rows, picked, -1)
    return chosen[session]
