{#-
    One row per session: a device's (anonymous_id's) events, in event-time order, until more
    than var session_timeout_minutes (30) pass without an event. An event exactly 30 minutes
    after the previous one continues the session; one millisecond more starts a new one.
    Events are ordered by when they happened (event_at), not by when they arrived, so an
    event delivered late or out of order lands in the session it belongs to.

    Incremental, the exception in its folder: the unit of work is the device, from its first
    session a new event can reach. A run rebuilds every device with an event loaded after the
    latest load already built (events_loaded_at), however old the event, or an event at most
    var clickstream_lookback_hours before the latest session end already built (the sessions
    new events extend across the boundary). Let rebuild_from be the earliest of those events:
    a stored session that ended more than session_timeout_minutes before it can neither be
    joined nor bridged by them, so it stays as built (its id, its device_session_number), and
    only the device's events after its last such stable session are sessionized again,
    numbered on from the stable sessions' count. delete+insert on anonymous_id replaces all the
    device's sessions: the rebuilt ones and the stable ones, inserted again from the table
    unchanged, so a late event that moves a session's start (its id) or joins two sessions
    leaves no superseded row behind (keyed on session_id, it would). One key and one
    statement on both engines (Spark has no DELETE; macros/overrides). The load time is the
    watermark that finds late events: an event time cannot, since a late event lies before it
    (and a device clock set wrong after it).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='anonymous_id',
        on_schema_change='fail',
    )
}}
{# The table's columns in order, for the union all below (it matches by position). #}
{%- set columns = [
    'session_id', 'anonymous_id', 'logged_in_customer_id', 'order_id',
    'device_session_number', 'device_type', 'device_os', 'device_browser',
    'landing_page_path', 'utm_source', 'utm_medium', 'utm_campaign', 'event_count',
    'page_view_count', 'product_view_count', 'add_to_cart_count', 'checkout_count',
    'order_count', 'session_started_at', 'session_ended_at', 'events_loaded_at',
] %}

with

stg_clickstream__events as (

    select * from {{ ref('stg_clickstream__events') }}

),

{% if is_incremental() %}
{#
    The device's events that make this run rebuild it: loaded after the latest load built
    (late events, however old; a redelivery whose later copy staging now takes), or at or
    after the lookback's start. rebuild_from is the earliest of them. (An event without a
    parsable time has no place in a session; staging's not_null warns.) The ref, not the
    import CTE: DuckDB materializes a CTE read twice, every event ever loaded.
#}
rebuild_points as (

    select
        anonymous_id,
        min(event_at) as rebuild_from

    from (
        {#- Two scans, not one with an `or`: each filter alone skips the row groups it
            excludes (an `or` of two columns reads every row). -#}
        select
            anonymous_id,
            event_at
        from {{ ref('stg_clickstream__events') }}
        where loaded_at > (select max(events_loaded_at) from {{ this }})

        union all

        select
            anonymous_id,
            event_at
        from {{ ref('stg_clickstream__events') }}
        where event_at >= {{
            incremental_lookback_start('session_ended_at', var('clickstream_lookback_hours'))
        }}
    ) as rebuilding_events
    where event_at is not null
    group by anonymous_id

),

{#
    The device's stored sessions, and whether an event at or after rebuild_from can reach
    them: a session that ended more than session_timeout_minutes before it can neither be
    joined nor bridged by such an event, so it is stable. Stable sessions are the first
    sessions of the device (sessions do not overlap), and stay as built: their rows are
    inserted again, unchanged.
#}
built_sessions as (

    select
        built.*,
        built.session_ended_at < {{ dbt.dateadd(
            'minute', -1 * var('session_timeout_minutes'), 'rebuild_points.rebuild_from'
        ) }} as is_stable

    from {{ this }} as built
    inner join rebuild_points
        on built.anonymous_id = rebuild_points.anonymous_id

),

stable_sessions as (

    select * from built_sessions
    where is_stable

),

{#
    Each device to rebuild, with the end of its last stable session (NULL: none, the device
    is rebuilt whole), how many stable sessions it has (the rebuilt ones number on), and the
    earliest event time to read for it (read_from): its events after the last stable session
    are those of its other stored sessions, the first of which starts at the earliest
    unstable start, and its new events, at or after rebuild_from. Every event is in a stored
    session or new, so read_from loses none; its minimum over the devices bounds the scan of
    the events below to the recent ones (a filter on event_at the table's row groups answer),
    instead of every event ever loaded.
#}
devices_to_build as (

    select
        rebuild_points.anonymous_id,
        max(case when built_sessions.is_stable then built_sessions.session_ended_at end)
            as stable_ended_at,
        count(case when built_sessions.is_stable then built_sessions.session_id end)
            as stable_session_count,
        least(
            min(rebuild_points.rebuild_from),
            coalesce(
                min(
                    case
                        when not built_sessions.is_stable
                            then built_sessions.session_started_at
                    end
                ),
                min(rebuild_points.rebuild_from)
            )
        ) as read_from

    from rebuild_points
    left join built_sessions
        on rebuild_points.anonymous_id = built_sessions.anonymous_id
    group by rebuild_points.anonymous_id

),

{% endif %}

{#
    The events to sessionize: on an incremental run, those after each rebuilt device's last
    stable session (the sessions to rebuild, new ones included).
#}
device_events as (

    select
        stg_clickstream__events.*,
        {{ 'devices_to_build.stable_session_count' if is_incremental() else '0' }}
            as stable_session_count

    from stg_clickstream__events
    {% if is_incremental() %}
        inner join devices_to_build
            on stg_clickstream__events.anonymous_id = devices_to_build.anonymous_id
    {% endif %}
    where
        stg_clickstream__events.event_at is not null
    {% if is_incremental() %}
        and stg_clickstream__events.event_at
        >= (select min(devices_to_build.read_from) from devices_to_build)
        and (
            devices_to_build.stable_ended_at is null
            or stg_clickstream__events.event_at > devices_to_build.stable_ended_at
        )
    {% endif %}

),

previous_events as (

    select
        *,
        lag(event_at) over (
            partition by anonymous_id
            order by event_at, event_id
        ) as previous_event_at

    from device_events

),

session_starts as (

    select
        *,
        case
            when previous_event_at is null then 1
            when
                event_at > {{ dbt.dateadd(
                    'minute', var('session_timeout_minutes'), 'previous_event_at'
                ) }}
                then 1
            else 0
        end as is_session_start

    from previous_events

),

numbered_events as (

    select
        *,
        stable_session_count + sum(is_session_start) over (
            partition by anonymous_id
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as device_session_number

    from session_starts

),

{# Rank of each event in its session, and among the session's events of the same kind. #}
ranked_events as (

    select
        *,
        row_number() over (
            partition by anonymous_id, device_session_number
            order by event_at, event_id
        ) as event_rank,
        row_number() over (
            partition by
                anonymous_id,
                device_session_number,
                coalesce(utm_source, utm_medium, utm_campaign) is not null
            order by event_at, event_id
        ) as utm_rank,
        row_number() over (
            partition by anonymous_id, device_session_number, customer_id is not null
            order by event_at, event_id
        ) as login_rank,
        row_number() over (
            partition by
                anonymous_id,
                device_session_number,
                event_type = 'order_completed' and order_id is not null
            order by event_at, event_id
        ) as order_rank

    from numbered_events

),

session_totals as (

    select
        anonymous_id,
        device_session_number,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at,
        max(loaded_at) as events_loaded_at,
        count(*) as event_count,
        sum(
            case when event_type in ('page_view', 'product_view') then 1 else 0 end
        ) as page_view_count,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when event_type = 'checkout_started' then 1 else 0 end) as checkout_count,
        count(
            distinct case when event_type = 'order_completed' then order_id end
        ) as order_count

    from ranked_events
    group by anonymous_id, device_session_number

),

first_events as (

    select * from ranked_events
    where event_rank = 1

),

{# The session's campaign: the utm codes of its first event that carries any. #}
first_campaign_events as (

    select * from ranked_events
    where utm_rank = 1 and coalesce(utm_source, utm_medium, utm_campaign) is not null

),

{# A session belongs to the first customer who is logged in during it. #}
first_login_events as (

    select * from ranked_events
    where login_rank = 1 and customer_id is not null

),

first_order_events as (

    select * from ranked_events
    where order_rank = 1 and event_type = 'order_completed' and order_id is not null

),

rebuilt_sessions as (

    select
        {{ dbt.hash(dbt.concat([
            'session_totals.anonymous_id',
            "'/'",
            dbt.safe_cast('session_totals.session_started_at', dbt.type_string()),
        ])) }} as session_id,
        session_totals.anonymous_id,
        first_login_events.customer_id as logged_in_customer_id,
        first_order_events.order_id,
        cast(session_totals.device_session_number as {{ dbt.type_int() }})
            as device_session_number,
        first_events.device_type,
        first_events.device_os,
        first_events.device_browser,
        first_events.page_path as landing_page_path,
        first_campaign_events.utm_source,
        first_campaign_events.utm_medium,
        first_campaign_events.utm_campaign,
        cast(session_totals.event_count as {{ dbt.type_int() }}) as event_count,
        cast(session_totals.page_view_count as {{ dbt.type_int() }}) as page_view_count,
        cast(session_totals.product_view_count as {{ dbt.type_int() }}) as product_view_count,
        cast(session_totals.add_to_cart_count as {{ dbt.type_int() }}) as add_to_cart_count,
        cast(session_totals.checkout_count as {{ dbt.type_int() }}) as checkout_count,
        cast(session_totals.order_count as {{ dbt.type_int() }}) as order_count,
        session_totals.session_started_at,
        session_totals.session_ended_at,
        session_totals.events_loaded_at

    from session_totals
    inner join first_events
        on
            session_totals.anonymous_id = first_events.anonymous_id
            and session_totals.device_session_number = first_events.device_session_number
    left join first_campaign_events
        on
            session_totals.anonymous_id = first_campaign_events.anonymous_id
            and session_totals.device_session_number
            = first_campaign_events.device_session_number
    left join first_login_events
        on
            session_totals.anonymous_id = first_login_events.anonymous_id
            and session_totals.device_session_number = first_login_events.device_session_number
    left join first_order_events
        on
            session_totals.anonymous_id = first_order_events.anonymous_id
            and session_totals.device_session_number = first_order_events.device_session_number

),

final as (

    select {{ columns | join(', ') }} from rebuilt_sessions
    {% if is_incremental() %}
        union all

        select {{ columns | join(', ') }} from stable_sessions
    {% endif %}

)

select * from final
