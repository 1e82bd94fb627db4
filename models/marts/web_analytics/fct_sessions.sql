{#-
    One row per web or app session of a visitor, with the customer it belongs to after
    identity stitching (int_sessions_stitched). Sessions of staff test accounts (a customer
    that is not in dim_customers) are left out, as their orders are.

    Incremental like int_events_sessionized, and on the same unit: a run replaces all the
    sessions of every device with a session ending at most var clickstream_lookback_hours
    before the latest session end already here, or with a session not here as it is now (a
    new session_id, event_count or events_loaded_at: the device was rebuilt for a late event,
    however old, or an event's first delivery is now a later-loaded copy),
    with delete+insert on anonymous_id, which takes in the devices' new and rebuilt sessions
    and their refreshed stitching (a first login re-attributes the device's earlier
    anonymous sessions). The pre-hook removes the sessions of customers gone from
    dim_customers (a customer who became a test account: their sessions are not rebuilt,
    and delete+insert only replaces the devices the select returns); should one become a
    real customer again, their sessions are not here as they are now, so their devices are
    rebuilt. Not on Spark (no DELETE on its parquet tables).
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

with

int_sessions_stitched as (

    select * from {{ ref('int_sessions_stitched') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

stg_marketing__campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

devices_to_build as (

    select distinct anonymous_id
    from int_sessions_stitched
    {% if is_incremental() %}
        where
            session_ended_at >= {{
                incremental_lookback_start('session_ended_at', var('clickstream_lookback_hours'))
            }}
            or not exists (
                select 1
                from {{ this }} as built
                where
                    built.session_id = int_sessions_stitched.session_id
                    and built.event_count = int_sessions_stitched.event_count
                    and built.events_loaded_at = int_sessions_stitched.events_loaded_at
            )
    {% endif %}

),

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
    inner join devices_to_build
        on int_sessions_stitched.anonymous_id = devices_to_build.anonymous_id
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

final as (

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

)

select * from final
