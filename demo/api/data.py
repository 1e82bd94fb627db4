"""The third parties' own records, kept in PostgreSQL schema ``demo_api`` and derived from the
shop's order plans, so that what the APIs serve matches what the shop did.

``apply_window`` is a step of ``demo.world.WINDOW_STEPS``: for the history (``start=None``) it
recreates the schema and writes everything up to ``end``; for a simulated day ``[start, end)``
it adds what happened that day (new charges, refunds, spend reports, reviews) and changes what
changed (campaigns starting or ending, spend restated, reviews edited).

- payments: a succeeded charge at each order's ``paid_at`` (total in cents); some declined
  attempts before it (half of the never-paid orders have one, which is why they never paid);
  about 1% of paid orders charged twice (a double submit), half of those refunded later as
  duplicates; a full refund when a paid order is cancelled, and a refund of the items (some
  only part of them) when an order is returned.
- marketing: the campaigns in ``CAMPAIGNS`` and their daily delivery (impressions, clicks,
  spend), reported the next morning and restated two days later.
- reviews: about 8% of delivered orders get a review of one of their products a few days after
  delivery; the text has the stray whitespace real forms collect; a few reviews are edited.

Every random choice is ``hashtextextended(key, seed)`` of the row's key, as in ``demo.shop``:
the result depends only on the seed and the key, never on scan order or on how the days were
split into windows. All statements are set-based, so scale 10 takes seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ..shop import Clock

log = logging.getLogger(__name__)

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
SCHEMA = "demo_api"

# Campaigns are set up in the ad platform this long before they start.
CAMPAIGN_SETUP = timedelta(days=7)
# Share of orders that get a review, a double charge, or a declined attempt before paying.
REVIEW_RATE = 0.08
DOUBLE_CHARGE_RATE = 0.01
DOUBLE_CHARGE_REFUND_RATE = 0.5
DECLINED_BEFORE_PAYING_RATE = 0.03
DECLINED_NEVER_PAID_RATE = 0.5
PARTIAL_RETURN_RATE = 0.3
REVIEW_EDIT_RATE = 0.04
FAILURE_CODES = ("card_declined", "insufficient_funds", "expired_card", "incorrect_cvc")


@dataclass(frozen=True)
class Campaign:
    """One ad campaign as planned: its UTM codes and flight dates. Budgets are at scale 1."""

    campaign_id: str
    name: str
    channel: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    daily_budget_cents: int
    started_at: datetime
    ended_at: datetime | None = None


def _at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# A year of marketing, ending at shop.HISTORY_END (2026-11-01): always-on search, email and
# affiliates, seasonal bursts on social and display, one new campaign launched three weeks
# before the history ends (the analysts' "new ad campaign"), and one created after it.
CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "cmp_1001", "Brand search", "paid_search", "google", "cpc", "brand_search",
        45_000, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1002", "Generic shopping search", "paid_search", "google", "cpc",
        "generic_shopping", 90_000, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1003", "Weekly newsletter", "email", "newsletter", "email", "weekly_newsletter",
        1_500, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1004", "Black Friday 2025", "social", "facebook", "paid_social",
        "black_friday_2025", 150_000, _at(2025, 11, 20, 8), _at(2025, 12, 2, 8),
    ),
    Campaign(
        "cmp_1005", "Holiday gift guide", "email", "newsletter", "email",
        "holiday_gift_guide_2025", 3_000, _at(2025, 12, 1, 14), _at(2025, 12, 24, 14),
    ),
    Campaign(
        "cmp_1006", "Affiliate partners", "affiliate", "awin", "affiliate",
        "affiliate_partners", 20_000, _at(2026, 2, 1),
    ),
    Campaign(
        "cmp_1007", "Spring home refresh", "display", "google", "display",
        "spring_home_refresh_2026", 35_000, _at(2026, 3, 15, 12), _at(2026, 5, 15, 12),
    ),
    Campaign(
        "cmp_1008", "Summer outdoors", "social", "instagram", "paid_social",
        "summer_outdoors_2026", 60_000, _at(2026, 6, 1, 12), _at(2026, 9, 1, 12),
    ),
    Campaign(
        "cmp_1009", "Autumn launch", "social", "tiktok", "paid_social", "autumn_launch_2026",
        80_000, _at(2026, 10, 9, 16),
    ),
    Campaign(
        "cmp_1010", "Black Friday 2026", "social", "facebook", "paid_social",
        "black_friday_2026", 180_000, _at(2026, 11, 20, 8), _at(2026, 12, 2, 8),
    ),
)  # fmt: skip

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def apply_window(
    conn: psycopg.Connection, clock: Clock, start: datetime | None, end: datetime, home: Path
) -> None:
    """Write the vendors' records for ``[start, end)``; ``start=None`` recreates the history.

    ``home`` is unused: every record lives in PostgreSQL, next to the shop.
    """
    tables_sql, constraints_sql = SCHEMA_SQL.read_text().split("-- @constraints")
    if start is None:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")
        conn.execute(tables_sql)
    params = {"seed": clock.seed, "lo": start or EPOCH, "hi": end}
    _campaigns(conn, clock, end)
    for statement in (
        AD_SPEND_REPORTED_SQL,
        AD_SPEND_RESTATED_SQL,
        CHARGES_SQL,
        REFUNDS_SQL,
        REVIEWS_SQL,
        REVIEW_EDITS_SQL,
    ):
        conn.execute(statement, params)
    if start is None:
        # Building keys and indexes once over the loaded history is several times faster than
        # maintaining them row by row (as pg_restore does).
        conn.execute(constraints_sql)
        conn.execute(f"analyze {SCHEMA}.charges, {SCHEMA}.refunds, {SCHEMA}.reviews")
    log.info("third-party data written up to %s", end)


def counts(conn: psycopg.Connection) -> dict[str, int]:
    """Rows per ``demo_api`` table: what the APIs would serve in a full load."""
    tables = ("charges", "refunds", "campaigns", "ad_spend", "reviews")
    return {
        table: conn.execute(f"select count(*) from {SCHEMA}.{table}").fetchone()[0]
        for table in tables
    }


def _campaigns(conn: psycopg.Connection, clock: Clock, end: datetime) -> None:
    """Insert the campaigns created before ``end`` and move the status of those that started
    or ended; a campaign whose status did not change keeps its ``updated_at``."""
    rows = []
    for campaign in CAMPAIGNS:
        created = campaign.started_at - CAMPAIGN_SETUP
        if created >= end:
            continue
        events = [created]
        status = "scheduled"
        if campaign.started_at < end:
            status = "active"
            events.append(campaign.started_at)
        if campaign.ended_at is not None and campaign.ended_at < end:
            status = "ended"
            events.append(campaign.ended_at)
        # Budgets grow with the company, so spend per order stays realistic at every scale.
        budget = max(100, round(campaign.daily_budget_cents * clock.scale))
        rows.append(
            (
                campaign.campaign_id,
                campaign.name,
                campaign.channel,
                campaign.utm_source,
                campaign.utm_medium,
                campaign.utm_campaign,
                status,
                budget,
                "USD",
                campaign.started_at,
                campaign.ended_at,
                created,
                max(events),
            )
        )
    with conn.cursor() as cursor:
        cursor.executemany(
            f"""
            insert into {SCHEMA}.campaigns (
                campaign_id, campaign_name, channel, utm_source, utm_medium, utm_campaign,
                status, daily_budget_cents, currency, started_at, ended_at, created_at, updated_at
            )
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (campaign_id) do update
            set status = excluded.status, updated_at = excluded.updated_at
            where campaigns.status <> excluded.status
            """,
            rows,
        )


def _chance(key: str, purpose: int) -> str:
    """SQL for a uniform number in [0, 1) drawn from ``key`` (a SQL expression) and the seed;
    ``purpose`` keeps the draws for different decisions about the same row independent."""
    return (
        f"((abs(hashtextextended(({key})::text, %(seed)s * 1000 + {purpose})) %% 1000000)"
        " / 1000000.0)"
    )


def _pick(key: str, purpose: int, values: tuple[str, ...]) -> str:
    """SQL picking one of ``values`` (plain strings) at random for ``key``."""
    literal = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"(array[{literal}])[1 + floor({_chance(key, purpose)} * {len(values)})::int]"


def _object_id(prefix: str, *parts: str) -> str:
    """SQL for a Stripe-style id (``ch_`` + 24 hex digits) derived from the seed and ``parts``."""
    joined = " || ':' || ".join(f"({part})::text" for part in parts)
    return f"'{prefix}_' || substr(md5(%(seed)s::text || ':' || {joined}), 1, 24)"


# --------------------------------------------------------------------------------------------
# Marketing: each UTC day a campaign ran is reported at 03:00 the next day (preliminary, a
# little under the final figures) and restated at 03:00 two days later (final).

_DELIVERY = f"""
    with days as (
        select
            c.campaign_id,
            c.channel,
            c.daily_budget_cents,
            c.started_at,
            c.ended_at,
            day::date as spend_date,
            day at time zone 'UTC' as day_start
        from {SCHEMA}.campaigns as c
        cross join lateral generate_series(
            date_trunc('day', c.started_at at time zone 'UTC'),
            least(coalesce(c.ended_at, %(hi)s), %(hi)s) at time zone 'UTC',
            interval '1 day'
        ) as day
    ),

    running as (
        select
            *,
            day_start + interval '1 day 3 hours' as reported_at,
            day_start + interval '3 days 3 hours' as final_at,
            -- The share of the day the campaign ran: its first and last days are partial.
            extract(epoch from
                least(day_start + interval '1 day', coalesce(ended_at, 'infinity'))
                - greatest(day_start, started_at)
            ) / 86400.0 as share_of_day,
            campaign_id || ':' || spend_date as key
        from days
    ),

    final as (
        select
            campaign_id,
            spend_date,
            reported_at,
            final_at,
            key,
            round(
                daily_budget_cents * share_of_day * (0.7 + 0.3 * {_chance("key", 1)})
            )::bigint as spend_cents,
            -- Cost per click and click-through rate differ by channel.
            case channel
                when 'paid_search' then 85 when 'social' then 60 when 'display' then 35
                when 'affiliate' then 50 else 5
            end * (0.8 + 0.4 * {_chance("key", 2)}) as cost_per_click,
            case channel
                when 'paid_search' then 0.04 when 'social' then 0.012 when 'display' then 0.003
                when 'affiliate' then 0.01 else 0.03
            end * (0.8 + 0.4 * {_chance("key", 3)}) as click_rate,
            0.9 + 0.08 * {_chance("key", 4)} as preliminary_share
        from running
        where share_of_day > 0
    ),

    delivery as (
        select
            campaign_id,
            spend_date,
            reported_at,
            final_at,
            spend_cents,
            round(spend_cents / cost_per_click)::bigint as clicks,
            round(spend_cents / cost_per_click / click_rate)::bigint as impressions,
            preliminary_share
        from final
    )
"""

AD_SPEND_REPORTED_SQL = f"""
    {_DELIVERY}
    insert into {SCHEMA}.ad_spend (
        campaign_id, spend_date, impressions, clicks, spend_cents, currency, is_final, updated_at
    )
    select
        campaign_id,
        spend_date,
        case when final_at < %(hi)s then impressions
            else round(impressions * preliminary_share)::bigint end,
        case when final_at < %(hi)s then clicks
            else round(clicks * preliminary_share)::bigint end,
        case when final_at < %(hi)s then spend_cents
            else round(spend_cents * preliminary_share)::bigint end,
        'USD',
        final_at < %(hi)s,
        case when final_at < %(hi)s then final_at else reported_at end
    from delivery
    where reported_at >= %(lo)s and reported_at < %(hi)s
"""

AD_SPEND_RESTATED_SQL = f"""
    {_DELIVERY}
    update {SCHEMA}.ad_spend as s
    set impressions = d.impressions, clicks = d.clicks, spend_cents = d.spend_cents,
        is_final = true, updated_at = d.final_at
    from delivery as d
    where s.campaign_id = d.campaign_id and s.spend_date = d.spend_date
        and d.final_at >= %(lo)s and d.final_at < %(hi)s and d.reported_at < %(lo)s
"""

# --------------------------------------------------------------------------------------------
# Payments. A charge's time is whole seconds (the API speaks unix time).

CHARGES_SQL = f"""
    insert into {SCHEMA}.charges (
        charge_id, order_id, amount_cents, currency, status, failure_code, billing_email,
        billing_name, created_at
    )
    select
        {_object_id("ch", "attempts.order_id", "attempts.attempt")},
        attempts.order_id,
        amount_cents,
        'usd',
        status,
        failure_code,
        c.email,
        c.first_name || ' ' || c.last_name,
        date_trunc('second', charged_at)
    from (
        select
            p.order_id,
            'paid' as attempt,
            p.subtotal_cents + p.shipping_cents as amount_cents,
            'succeeded' as status,
            null::text as failure_code,
            p.paid_at as charged_at
        from demo_meta.order_plans as p
        where p.paid_at >= %(lo)s and p.paid_at < %(hi)s

        union all

        -- A double submit: the same amount charged again seconds later.
        select
            p.order_id,
            'double',
            p.subtotal_cents + p.shipping_cents,
            'succeeded',
            null,
            p.paid_at + (2 + 38 * {_chance("p.order_id", 11)}) * interval '1 second'
        from demo_meta.order_plans as p
        where p.paid_at is not null and {_chance("p.order_id", 10)} < {DOUBLE_CHARGE_RATE}

        union all

        -- A declined card, between placing the order and paying (or giving up).
        select
            p.order_id,
            'declined',
            p.subtotal_cents + p.shipping_cents,
            'failed',
            {_pick("p.order_id", 14, FAILURE_CODES)},
            p.created_at + (coalesce(p.paid_at, p.created_at + interval '1 hour') - p.created_at)
                * {_chance("p.order_id", 13)}
        from demo_meta.order_plans as p
        where {_chance("p.order_id", 12)} < case when p.paid_at is null
            then {DECLINED_NEVER_PAID_RATE} else {DECLINED_BEFORE_PAYING_RATE} end
    ) as attempts
    -- The card holder is the order's customer (a hard-deleted one has no details left).
    left join demo_meta.order_plans as o on attempts.order_id = o.order_id
    left join shop.customers as c on o.customer_id = c.id
    where charged_at >= %(lo)s and charged_at < %(hi)s
"""

REFUNDS_SQL = f"""
    insert into {SCHEMA}.refunds (
        refund_id, charge_id, order_id, amount_cents, currency, reason, status, created_at
    )
    select
        {_object_id("re", "r.order_id", "r.kind")},
        {_object_id("ch", "r.order_id", "r.attempt")},
        order_id,
        amount_cents,
        'usd',
        reason,
        'succeeded',
        date_trunc('second', refunded_at)
    from (
        -- Cancelled after payment: everything back.
        select
            p.order_id,
            'paid' as attempt,
            'cancelled' as kind,
            p.subtotal_cents + p.shipping_cents as amount_cents,
            'requested_by_customer' as reason,
            p.cancelled_at as refunded_at
        from demo_meta.order_plans as p
        where p.paid_at is not null and p.cancelled_at >= %(lo)s and p.cancelled_at < %(hi)s

        union all

        -- Returned: the items back, shipping kept; some customers send back only part.
        select
            p.order_id,
            'paid',
            'returned',
            case when {_chance("p.order_id", 20)} < {PARTIAL_RETURN_RATE}
                then greatest(
                    1, round(p.subtotal_cents * (0.3 + 0.6 * {_chance("p.order_id", 21)}))
                )
                else p.subtotal_cents
            end,
            'requested_by_customer',
            p.returned_at
        from demo_meta.order_plans as p
        where p.returned_at >= %(lo)s and p.returned_at < %(hi)s

        union all

        -- Some double charges are noticed (by the customer, or by support) and refunded.
        select
            p.order_id,
            'double',
            'double',
            p.subtotal_cents + p.shipping_cents,
            'duplicate',
            p.paid_at + (1 + 4 * {_chance("p.order_id", 22)}) * interval '1 day'
        from demo_meta.order_plans as p
        where p.paid_at is not null and {_chance("p.order_id", 10)} < {DOUBLE_CHARGE_RATE}
            and {_chance("p.order_id", 23)} < {DOUBLE_CHARGE_REFUND_RATE}
    ) as r
    where refunded_at >= %(lo)s and refunded_at < %(hi)s
"""

# --------------------------------------------------------------------------------------------
# Reviews

_POSITIVE_TITLES = (
    "Love it", "Great value", "Exactly as described", "Five stars", "Would buy again",
    "Better than expected",
)  # fmt: skip
_NEUTRAL_TITLES = ("It's ok", "Does the job", "Mixed feelings", "Average")
_NEGATIVE_TITLES = (
    "Disappointed", "Not as pictured", "Broke quickly", "Waste of money", "Would not recommend",
)  # fmt: skip
_POSITIVE_BODIES = (
    "Arrived quickly and works perfectly. Really happy with this purchase!",
    "Good quality for the price. My second one already.",
    "Exactly what I was looking for, the size is just right.",
    "Bought it as a gift and they loved it 😍",
    "Solid build, nice finish. Shipping was fast too.",
    "Does everything it says. Setup took two minutes.",
    "great product, great price!!",
    "Très bien, je recommande. Livraison rapide.",
)
_NEUTRAL_BODIES = (
    "It's fine. Nothing special but does what it should.",
    "Quality is ok, a bit smaller than I expected.",
    "Took a while to arrive, product itself is decent.",
    "Works, but the instructions were confusing.",
)
_NEGATIVE_BODIES = (
    "Stopped working after a week. Very disappointed.",
    "Colour is nothing like the photos. Sent it back.",
    "Cheap material, feels like it will break any moment.",
    "Arrived damaged and support took days to answer.",
    "not worth the money",
)

# Ratings pile up at 5 with a bump at 1 (the J-shape of real reviews); returned orders and a
# tenth of the catalogue (the duds) get mostly low ratings.
_RATINGS = "array[5,5,5,5,5,5,5,5,5,4,4,4,4,4,3,3,2,1,1,1]"
_LOW_RATINGS = "array[1,1,1,2,2,2,3,3,4,5]"

REVIEWS_SQL = f"""
    with reviewed as (
        select
            p.order_id,
            p.returned_at is not null as was_returned,
            p.delivered_at + (2 + 8 * {_chance("p.order_id", 31)}) * interval '1 day'
                as reviewed_at
        from demo_meta.order_plans as p
        where p.delivered_at is not null and p.deleted_at is null
            and {_chance("p.order_id", 30)} < {REVIEW_RATE}
    ),

    rated as (
        select
            r.order_id,
            item.product_id,
            r.reviewed_at,
            case when r.was_returned or {_chance("item.product_id", 32)} < 0.1
                then ({_LOW_RATINGS})[1 + floor({_chance("r.order_id", 33)} * 10)::int]
                else ({_RATINGS})[1 + floor({_chance("r.order_id", 33)} * 20)::int]
            end as rating
        from reviewed as r
        cross join lateral (
            select i.product_id from shop.order_items as i
            where i.order_id = r.order_id order by i.id limit 1
        ) as item
        where r.reviewed_at >= %(lo)s and r.reviewed_at < %(hi)s
    ),

    written as (
        select
            *,
            case
                when rating >= 4 then {_pick("order_id", 34, _POSITIVE_TITLES)}
                when rating = 3 then {_pick("order_id", 34, _NEUTRAL_TITLES)}
                else {_pick("order_id", 34, _NEGATIVE_TITLES)}
            end as title,
            case
                when rating >= 4 then {_pick("order_id", 35, _POSITIVE_BODIES)}
                when rating = 3 then {_pick("order_id", 35, _NEUTRAL_BODIES)}
                else {_pick("order_id", 35, _NEGATIVE_BODIES)}
            end as body,
            {_chance("order_id", 36)} as mess
        from rated
    )

    insert into {SCHEMA}.reviews (
        review_id, order_id, product_id, rating, title, body, created_at, updated_at
    )
    select
        {_object_id("rv", "order_id", "'review'")},
        order_id,
        product_id,
        rating,
        -- Free text as forms collect it: no title, padding, trailing newlines, a blank body.
        case when mess < 0.15 then null when mess < 0.25 then title || '  ' else title end,
        case
            when mess < 0.05 then null
            when mess < 0.08 then '   '
            when mess < 0.18 then '  ' || body
            when mess < 0.28 then body || E'\\n\\n'
            when mess < 0.32 then E'\\t' || replace(body, ' ', '  ') || ' '
            else body
        end,
        date_trunc('second', reviewed_at),
        date_trunc('second', reviewed_at)
    from written
"""

# A few customers come back days later and edit their review, up or down.
REVIEW_EDITS_SQL = f"""
    update {SCHEMA}.reviews
    set rating = case when {_chance("review_id", 41)} < 0.5
            then least(5, rating + 1) else greatest(1, rating - 2) end,
        body = coalesce(body, '') || case when {_chance("review_id", 41)} < 0.5
            then ' UPDATE: support sorted it out quickly, raising my rating.'
            else ' UPDATE: it broke after a couple of weeks.' end,
        updated_at = date_trunc('second', created_at
            + (1 + 5 * {_chance("review_id", 42)}) * interval '1 day')
    where {_chance("review_id", 40)} < {REVIEW_EDIT_RATE}
        and created_at + (1 + 5 * {_chance("review_id", 42)}) * interval '1 day' >= %(lo)s
        and created_at + (1 + 5 * {_chance("review_id", 42)}) * interval '1 day' < %(hi)s
"""
