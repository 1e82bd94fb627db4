"""The demo API's endpoints: for each, the JSON PostgreSQL builds (exactly the wire format)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Endpoint:
    """A list endpoint: its table, key column, the SQL building one JSON object per row."""

    path: str
    table: str
    key: str
    noun: str
    json: str


# The JSON each endpoint serves, built by PostgreSQL (fast, and exactly the wire format).
STRIPE = {
    "charges": _Endpoint(
        "/v1/charges",
        "charges",
        "charge_id",
        "charge",
        """json_build_object(
            'id', charge_id, 'object', 'charge', 'amount', amount_cents, 'currency', currency,
            'created', extract(epoch from created_at)::bigint, 'status', status,
            'paid', status = 'succeeded', 'failure_code', failure_code, 'livemode', false,
            'billing_details', json_build_object('email', billing_email, 'name', billing_name),
            'metadata', json_build_object('order_id', order_id::text)
        )::text""",
    ),
    "refunds": _Endpoint(
        "/v1/refunds",
        "refunds",
        "refund_id",
        "refund",
        """json_build_object(
            'id', refund_id, 'object', 'refund', 'amount', amount_cents, 'currency', currency,
            'charge', charge_id, 'created', extract(epoch from created_at)::bigint,
            'reason', reason, 'status', status,
            'metadata', json_build_object('order_id', order_id::text)
        )::text""",
    ),
}
CAMPAIGNS = _Endpoint(
    "/v1/campaigns",
    "campaigns",
    "campaign_id",
    "campaign",
    """json_build_object(
        'id', campaign_id, 'name', campaign_name, 'channel', channel, 'status', status,
        'utm', json_build_object(
            'source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign
        ),
        'daily_budget_cents', daily_budget_cents, 'currency', currency,
        'start_time', started_at, 'end_time', ended_at,
        'created_time', created_at, 'updated_time', updated_at
    )::text""",
)
AD_SPEND = _Endpoint(
    "/v1/ad_spend",
    "ad_spend",
    # The keyset needs one unique text key; campaign and day together are unique.
    "(campaign_id || '/' || spend_date)",
    "report",
    """json_build_object(
        'campaign_id', campaign_id, 'date', spend_date, 'impressions', impressions,
        'clicks', clicks, 'spend_cents', spend_cents, 'currency', currency,
        'is_final', is_final, 'updated_at', updated_at
    )::text""",
)
REVIEWS = _Endpoint(
    "/v1/reviews",
    "reviews",
    "review_id",
    "review",
    """json_build_object(
        'id', review_id, 'order_id', order_id, 'product_id', product_id, 'rating', rating,
        'title', title, 'body', body,
        'created_at', to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    )::text""",
)
