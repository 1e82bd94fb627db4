{#-
    One row per web or app session of a visitor, with the customer it belongs to after
    identity stitching (int_sessions_stitched). Sessions of staff test accounts (a customer
    that is not in dim_customers) are left out, as their orders are.

    Incremental on the session, written device by device: a run compares the sessions of
    the devices whose sessions can have changed (devices_to_compare), and rebuilds every
    session not here as it is now (a new session_id, event_count, events_loaded_at,
    device_session_number or customer_id: int_events_sessionized rebuilt it for a late
    event, or an event's first delivery is now a later-loaded copy, or a first login
    re-stitched the device's anonymous sessions to another customer), and every session
    ending at most var
    clickstream_lookback_hours before the latest session end already here. delete+insert on
    anonymous_id replaces all the sessions of those devices: the rebuilt ones, and the ones
    here as they are now, inserted again unchanged; a session that no longer exists (joined
    to another, or its start moved) leaves. The pre-hook removes the sessions of customers
    gone from dim_customers (a customer who became a test account: their sessions are not
    rebuilt, and delete+insert only replaces the devices the select returns); should one
    become a real customer again, their sessions are not here as they are now, so they are
    rebuilt. A session's campaign_id is taken when it is rebuilt. Not on Spark (no DELETE on
    its parquet tables): there the pre-hook is skipped.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='anonymous_id',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() and target.type != 'spark' %}delete from {{ this }}"
            ~ " where customer_id not in ("
            ~ "select live.customer_id from {{ ref('dim_customers') }} as live)"
            ~ "{% endif %}"
        ),
    )
}}
{# The table's columns in order, for the union all below (it matches by position). #}
{%- set columns = [
    'session_id', 'anonymous_id', 'customer_id', 'order_id', 'device_type', 'device_os',
    'device_browser', 'landing_page_path', 'utm_source', 'utm_medium', 'utm_campaign',
    'campaign_id', 'device_session_number', 'event_count', 'page_view_count',
    'product_view_count', 'add_to_cart_count', 'checkout_count', 'order_count',
    'duration_seconds', 'is_logged_in', 'is_stitched', 'has_order', 'is_bounce',
    'session_started_at', 'session_ended_at', 'session_date', 'events_loaded_at',
] %}

{#- What the devices to compare read, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('int_events_sessionized') }}

with

{% if is_incremental() %}
{#
    The devices whose sessions this run compares, a day's devices and not the history's:
    stitching is per device (its first login), so a device whose sessions in
    int_events_sessionized are as they were has the same stitched sessions. A changed
    session has an event loaded after the latest load here (events_loaded_at: a new event,
    a late one that joins or renumbers sessions, a redelivery staging now takes); the
    devices with one are compared, with those of the sessions ending within the lookback
    (rebuilt anyway, below) and those of customers back in dim_customers: a customer who was
    a test account has no session here (the pre-hook removed them), and their devices'
    sessions are theirs again.
#}
returning_customers as (

    select distinct sessionized.logged_in_customer_id as customer_id
    from {{ ref('int_events_sessionized') }} as sessionized
    inner join {{ ref('dim_customers') }} as live
        on sessionized.logged_in_customer_id = live.customer_id
    where live.customer_id not in (
        select built.customer_id from {{ this }} as built
        where built.customer_id is not null
    )

),

{#- The latest load here as a subquery, not high_water_mark(): the unit tests give this
    table as a fixture (input: this), which a query made at compile time would not read. -#}
devices_to_compare as (

    select distinct sessionized.anonymous_id
    from {{ ref('int_events_sessionized') }} as sessionized
    where
        sessionized.events_loaded_at > (select max(built.events_loaded_at) from {{ this }} as built)
        or sessionized.session_ended_at >= {{
            incremental_lookback_start('session_ended_at', var('clickstream_lookback_hours'))
        }}
        or sessionized.logged_in_customer_id in (
            select returning_customers.customer_id from returning_customers
        )

),
{% endif %}

int_sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}
    {% if is_incremental() %}
        where anonymous_id in (select devices_to_compare.anonymous_id from devices_to_compare)
    {% endif %}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

stg_marketing__campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

{% if is_incremental() %}
{#
    Each session as stitched now, and whether this table holds it as it is: the same id
    (device and start), events, latest load, number on the device and customer. Those
    determine every column the select derives (the events of a session with the same start
    and count are the same events: events are never removed). A session ending within the
    lookback is rebuilt anyway.
#}
compared_sessions as (

    select
        int_sessions_stitched.session_id,
        int_sessions_stitched.anonymous_id,
        {#- The customer is compared after the join: an `or` in a join condition made it
            a nested loop over every pair of sessions. -#}
        coalesce(
            built.session_id is not null
            and int_sessions_stitched.customer_id is not distinct from built.customer_id
            and int_sessions_stitched.session_ended_at < {{
                incremental_lookback_start('session_ended_at', var('clickstream_lookback_hours'))
            }},
            false
        ) as is_unchanged

    from int_sessions_stitched
    left join {{ this }} as built
        on
            int_sessions_stitched.session_id = built.session_id
            and int_sessions_stitched.event_count = built.event_count
            and int_sessions_stitched.events_loaded_at = built.events_loaded_at
            and int_sessions_stitched.device_session_number = built.device_session_number

),

sessions_to_build as (

    select
        session_id,
        anonymous_id

    from compared_sessions
    where not is_unchanged

),

{#
    The sessions of the devices a run rebuilds that are stored as they are now: delete+insert
    on anonymous_id removes all the device's rows, so these are inserted again unchanged,
    and a stored session that no longer exists (joined to another, or its start moved by a
    late event) is not.
#}
kept_sessions as (

    select built.*
    from {{ this }} as built
    inner join compared_sessions
        on built.session_id = compared_sessions.session_id
    where
        compared_sessions.is_unchanged
        and built.anonymous_id in (select sessions_to_build.anonymous_id from sessions_to_build)

),
{% endif %}

{#
    Anonymous sessions, and those of real customers: test accounts drop out. A session
    comes from an ad campaign when its utm source, medium and campaign are the campaign's
    (utm_campaign is unique per campaign, so a session has at most one).
#}
customer_sessions as (

    select
        int_sessions_stitched.*,
        stg_marketing__campaigns.campaign_id

    from int_sessions_stitched
    {% if is_incremental() %}
        inner join sessions_to_build
            on int_sessions_stitched.session_id = sessions_to_build.session_id
    {% endif %}
    left join dim_customers
        on int_sessions_stitched.customer_id = dim_customers.customer_id
    left join stg_marketing__campaigns
        on
            int_sessions_stitched.utm_source = stg_marketing__campaigns.utm_source
            and int_sessions_stitched.utm_medium = stg_marketing__campaigns.utm_medium
            and int_sessions_stitched.utm_campaign = stg_marketing__campaigns.utm_campaign
    where
        int_sessions_stitched.customer_id is null
        or dim_customers.customer_id is not null

),

rebuilt_sessions as (

    select
        session_id,
        anonymous_id,
        customer_id,
        order_id,
        device_type,
        device_os,
        device_browser,
        landing_page_path,
        utm_source,
        utm_medium,
        utm_campaign,
        campaign_id,
        device_session_number,
        event_count,
        page_view_count,
        product_view_count,
        add_to_cart_count,
        checkout_count,
        order_count,
        cast(
            {{ dbt.datediff('session_started_at', 'session_ended_at', 'millisecond') }}
            / 1000.0 as decimal(18, 3)
        ) as duration_seconds,
        is_logged_in,
        is_stitched,
        order_count > 0 as has_order,
        event_count = 1 as is_bounce,
        session_started_at,
        session_ended_at,
        cast(session_started_at as date) as session_date,
        events_loaded_at

    from customer_sessions

),

final as (

    select {{ columns | join(', ') }} from rebuilt_sessions
    {% if is_incremental() %}
        union all

        select {{ columns | join(', ') }} from kept_sessions
    {% endif %}

)

select * from final
