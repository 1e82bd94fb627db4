"""The simulated web logs rendered as JSON lines: garbage lines, and the SQL that turns the
events into one text per UTC hour of arrival, duplicates and the three time formats included."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from .clickstream_settings import (
    ADD_TO_CART,
    DEVICES,
    EPOCH_MS,
    EVENTS,
    GARBAGE,
    HOUR_US,
    MALFORMED_RATE,
    MS_US,
    ORDER_COMPLETED,
    PAGES,
    PRODUCT,
    PRODUCT_VIEW,
    SITE,
    UTC_Z,
)

log = logging.getLogger(__name__)


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
