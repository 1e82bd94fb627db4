"""The simulated company behaves like a real online shop: the rates an analyst reads off the
built demo warehouse (conversion, cart abandonment, bounces, return on ad spend, returns,
refunds) sit inside the published e-commerce ranges of docs/demo-calibration.md.

Measured on the shared test-scale demo build (``built_demo_home``) the way an analyst would:
from the marts, and for the headline figures from the governed metrics `warehouse demo` prints.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.headline import headline_metrics
from warehouse.paths import Paths

# The target ranges, as docs/demo-calibration.md states them with their sources.
CONVERSION = (0.01, 0.04)
CART_ABANDONMENT = (0.60, 0.80)
BOUNCE = (0.35, 0.60)
PAID_ROAS = (2.0, 8.0)
EMAIL_ROAS = (20.0, 60.0)
RETURN_RATE = (0.10, 0.25)
REFUND_RATE = (0.10, 0.25)
# Orders placed this long before the latest one have had their time to be sent back.
RETURN_WINDOW_DAYS = 45


def _rows(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(Paths(home).duckdb), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def test_headline_conversion_and_roas_are_a_real_shops(built_demo_home: Path) -> None:
    """The figures `warehouse demo` prints: 1-4% of sessions convert, campaigns return 2-8."""
    headline = headline_metrics(Paths(built_demo_home))
    assert headline is not None
    assert _inside(headline.conversion_rate, CONVERSION), headline
    assert _inside(headline.roas, PAID_ROAS), headline


def test_sessions_convert_bounce_and_abandon_carts_like_a_real_shops(
    built_demo_home: Path,
) -> None:
    ((conversion, bounce, abandonment, carts),) = _rows(
        built_demo_home,
        """
        select
            avg(case when has_order then 1.0 else 0.0 end),
            avg(case when is_bounce then 1.0 else 0.0 end),
            avg(case when has_order then 0.0 else 1.0 end) filter (where add_to_cart_count > 0),
            count(*) filter (where add_to_cart_count > 0)
        from web_analytics.fct_sessions
        """,
    )
    assert carts > 100
    assert _inside(conversion, CONVERSION), conversion
    assert _inside(bounce, BOUNCE), bounce
    assert _inside(abandonment, CART_ABANDONMENT), abandonment


def test_every_campaign_returns_what_its_channel_does(built_demo_home: Path) -> None:
    """Last-touch ROAS per campaign over the days the web logs cover (attribution needs the
    sessions): paid campaigns 2-8; email, owned media, far more.

    At test scale a campaign has a few dozen attributed orders, so its ROAS is judged with
    its sampling error: it fails when the range is more than 2.5 standard errors away
    (the attributed revenue is a sum over a random number of orders, of variance sum(x^2)).
    """
    rows = _rows(
        built_demo_home,
        """
        with logged as (
            select min(session_date) as first_day, max(session_date) as last_day
            from web_analytics.fct_sessions
        ),

        spend as (
            select campaign_id, channel, sum(spend) as spend, sum(last_touch_revenue) as revenue
            from marketing.fct_campaign_performance
            inner join logged on activity_date between first_day and last_day
            group by campaign_id, channel
        ),

        orders as (
            select
                attribution.last_touch_campaign_id as campaign_id,
                count(*) as order_count,
                sum(orders.order_total * orders.order_total) as squares
            from marketing.fct_order_attribution as attribution
            inner join sales.fct_orders as orders on attribution.order_id = orders.order_id
            inner join logged on orders.order_date between first_day and last_day
            where orders.order_status != 'cancelled'
            group by attribution.last_touch_campaign_id
        )

        select
            spend.campaign_id,
            spend.channel,
            spend.revenue / spend.spend,
            sqrt(coalesce(orders.squares, 0)) / spend.spend,
            coalesce(orders.order_count, 0)
        from spend
        left join orders on spend.campaign_id = orders.campaign_id
        where spend.spend > 0
        order by spend.campaign_id
        """,
    )
    channels = {channel for _, channel, *_ in rows}
    assert {"paid_search", "social", "affiliate", "email"} <= channels, rows
    for campaign, channel, roas, error, orders in rows:
        low, high = EMAIL_ROAS if channel == "email" else PAID_ROAS
        assert orders > 0, campaign
        assert float(roas) + 2.5 * error >= low, (campaign, channel, roas, error, orders)
        assert float(roas) - 2.5 * error <= high, (campaign, channel, roas, error, orders)


@pytest.mark.parametrize("rate", ["return", "refund"])
def test_returns_and_refunds_are_a_real_online_shops(built_demo_home: Path, rate: str) -> None:
    if rate == "return":
        # Delivered orders sent back, among those placed long enough ago to have been.
        sql = f"""
            select avg(case when order_status = 'returned' then 1.0 else 0.0 end)
            from sales.fct_orders
            where
                order_status in ('delivered', 'returned')
                and ordered_at < (
                    select max(ordered_at) - interval {RETURN_WINDOW_DAYS} day
                    from sales.fct_orders
                )
        """
        bounds = RETURN_RATE
    else:
        # Of the money charged, the share paid back (returns, cancellations, double charges).
        sql = """
            select sum(refunded_amount) / sum(charged_amount)
            from finance.fct_payment_reconciliation
        """
        bounds = REFUND_RATE
    ((value,),) = _rows(built_demo_home, sql)
    assert _inside(float(value), bounds), (rate, value)
