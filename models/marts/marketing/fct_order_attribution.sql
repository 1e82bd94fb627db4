{#-
    Campaign attribution: one row per order of fct_orders with its first-touch and
    last-touch campaign, so sales can be grouped by campaign. A touch is a session of the order's customer (after identity
    stitching, so anonymous browsing before a login counts) that came from an ad campaign
    (fct_sessions.campaign_id: its utm codes are the campaign's), started at most var attribution_lookback_days (30) days
    before the order and not after it; a touch exactly 30 days before still counts. The
    first touch is the earliest of them, the last touch the latest (ties broken by
    session_id); an order without touches has neither. Each order goes to at most one
    campaign per model, so attributed revenue can never add up to more than the orders'.

    Incremental on the order: a run rebuilds every order attributed_orders_to_rebuild finds
    since the marks here, order_loaded_at (the shop: the order, its customer, a hard
    delete) and events_loaded_at (the clickstream: every order of every customer who ever
    logged in on a device with an event loaded since, as only a device's own events change
    its sessions and their owner). A mark per source: sources load independently, so a
    load of one may finish after a later-started load of another was built. The pre-hook deletes those orders and the select inserts
    the ones still in fct_orders, so a deleted order leaves, a late session re-attributes
    its customer's orders, and a late status replaces the row. Nothing here is judged on the
    clock. fct_sessions rebuilds a device only for its events, and so does this model:
    a change of the lookback (var attribution_lookback_days) needs --full-refresh. Each mark
    is a load its build saw, so every load up to it is in the table (the loads of a source
    run one after another). A table on Spark.
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where order_id in ("
            ~ "{{ attributed_orders_to_rebuild(high_water_mark('order_loaded_at'),"
            ~ " high_water_mark('events_loaded_at')) }}){% endif %}"
        ),
    )
}}
{#- What attributed_orders_to_rebuild reads, declared for dbt's parse (incremental runs only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}, {{ ref('stg_clickstream__events') }}
with

fct_orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
        where order_id in (
            {{ attributed_orders_to_rebuild(
                high_water_mark('order_loaded_at'), high_water_mark('events_loaded_at')
            ) }}
        )
    {% endif %}

),

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

campaign_sessions as (

    select
        session_id,
        customer_id,
        session_started_at,
        campaign_id,
        events_loaded_at

    from fct_sessions
    where campaign_id is not null and customer_id is not null

),

touches as (

    select
        fct_orders.order_id,
        campaign_sessions.session_id,
        campaign_sessions.campaign_id,
        campaign_sessions.session_started_at,
        max(campaign_sessions.events_loaded_at) over (
            partition by fct_orders.order_id
        ) as touches_loaded_at,
        row_number() over (
            partition by fct_orders.order_id
            order by campaign_sessions.session_started_at, campaign_sessions.session_id
        ) as first_touch_rank,
        row_number() over (
            partition by fct_orders.order_id
            order by
                campaign_sessions.session_started_at desc, campaign_sessions.session_id desc
        ) as last_touch_rank,
        count(*) over (partition by fct_orders.order_id) as touch_count

    from fct_orders
    inner join campaign_sessions
        on
            fct_orders.customer_id = campaign_sessions.customer_id
            and fct_orders.ordered_at >= campaign_sessions.session_started_at
            and {{ dbt.dateadd(
                'day', -1 * var('attribution_lookback_days'), 'fct_orders.ordered_at'
            ) }} <= campaign_sessions.session_started_at

),

first_touches as (

    select * from touches
    where first_touch_rank = 1

),

last_touches as (

    select * from touches
    where last_touch_rank = 1

),

final as (

    select
        fct_orders.order_id,
        fct_orders.customer_id,
        fct_orders.order_status,
        fct_orders.currency,
        fct_orders.order_total,
        fct_orders.ordered_at,
        fct_orders.order_date,
        first_touches.campaign_id as first_touch_campaign_id,
        first_touches.session_id as first_touch_session_id,
        first_touches.session_started_at as first_touch_at,
        last_touches.campaign_id as last_touch_campaign_id,
        last_touches.session_id as last_touch_session_id,
        last_touches.session_started_at as last_touch_at,
        cast(coalesce(first_touches.touch_count, 0) as {{ dbt.type_int() }}) as touch_count,
        fct_orders.source_loaded_at as order_loaded_at,
        first_touches.touches_loaded_at as events_loaded_at,
        {{ latest_of(['fct_orders.source_loaded_at', 'first_touches.touches_loaded_at']) }}
            as source_loaded_at

    from fct_orders
    left join first_touches
        on fct_orders.order_id = first_touches.order_id
    left join last_touches
        on fct_orders.order_id = last_touches.order_id

)

select * from final
