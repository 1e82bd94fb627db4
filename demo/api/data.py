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

from ..channels import CHANNELS
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
        162_000, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1002", "Generic shopping search", "paid_search", "google", "cpc",
        "generic_shopping", 324_000, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1003", "Weekly newsletter", "email", "newsletter", "email", "weekly_newsletter",
        5_400, _at(2025, 11, 1),
    ),
    Campaign(
        "cmp_1004", "Black Friday 2025", "social", "facebook", "paid_social",
        "black_friday_2025", 540_000, _at(2025, 11, 20, 8), _at(2025, 12, 2, 8),
    ),
    Campaign(
        "cmp_1005", "Holiday gift guide", "email", "newsletter", "email",
        "holiday_gift_guide_2025", 10_800, _at(2025, 12, 1, 14), _at(2025, 12, 24, 14),
    ),
    Campaign(
        "cmp_1006", "Affiliate partners", "affiliate", "awin", "affiliate",
        "affiliate_partners", 72_000, _at(2026, 2, 1),
    ),
    Campaign(
        "cmp_1007", "Spring home refresh", "display", "google", "display",
        "spring_home_refresh_2026", 126_000, _at(2026, 3, 15, 12), _at(2026, 5, 15, 12),
    ),
    Campaign(
        "cmp_1008", "Summer outdoors", "social", "instagram", "paid_social",
        "summer_outdoors_2026", 216_000, _at(2026, 6, 1, 12), _at(2026, 9, 1, 12),
    ),
    Campaign(
        "cmp_1009", "Autumn launch", "social", "tiktok", "paid_social", "autumn_launch_2026",
        288_000, _at(2026, 10, 9, 16),
    ),
    Campaign(
        "cmp_1010", "Black Friday 2026", "social", "facebook", "paid_social",
        "black_friday_2026", 648_000, _at(2026, 11, 20, 8), _at(2026, 12, 2, 8),
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


# A few customers come back days later and edit their review, up or down.


# --------------------------------------------------------------------------------------------
# The statements, in sql/*.sql: PostgreSQL with Jinja expressions for the settings above and
# the SQL helpers (chance, pick, object_id), rendered once, at import.

SQL_DIR = Path(__file__).with_name("sql")


def _statement(name: str, **extra: str) -> str:
    """The SQL of ``sql/<name>.sql`` rendered with this module's settings and helpers. The
    psycopg parameters (``%(lo)s``, ``%(hi)s``, ``%(seed)s``) stay for ``execute`` to bind."""
    import jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    template = environment.from_string((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"))
    return template.render(
        schema=SCHEMA,
        channels=CHANNELS,
        chance=_chance,
        pick=_pick,
        object_id=_object_id,
        failure_codes=FAILURE_CODES,
        review_rate=REVIEW_RATE,
        review_edit_rate=REVIEW_EDIT_RATE,
        double_charge_rate=DOUBLE_CHARGE_RATE,
        double_charge_refund_rate=DOUBLE_CHARGE_REFUND_RATE,
        declined_before_paying_rate=DECLINED_BEFORE_PAYING_RATE,
        declined_never_paid_rate=DECLINED_NEVER_PAID_RATE,
        partial_return_rate=PARTIAL_RETURN_RATE,
        ratings=_RATINGS,
        low_ratings=_LOW_RATINGS,
        positive_titles=_POSITIVE_TITLES,
        neutral_titles=_NEUTRAL_TITLES,
        negative_titles=_NEGATIVE_TITLES,
        positive_bodies=_POSITIVE_BODIES,
        neutral_bodies=_NEUTRAL_BODIES,
        negative_bodies=_NEGATIVE_BODIES,
        **extra,
    )


_DELIVERY = _statement("ad_spend_delivery")
AD_SPEND_REPORTED_SQL = _statement("ad_spend_reported", ad_spend_delivery=_DELIVERY)
AD_SPEND_RESTATED_SQL = _statement("ad_spend_restated", ad_spend_delivery=_DELIVERY)
CHARGES_SQL = _statement("charges")
REFUNDS_SQL = _statement("refunds")
REVIEWS_SQL = _statement("reviews")
REVIEW_EDITS_SQL = _statement("review_edits")
