{#-
    One row per ad campaign and UTC day on which anything happened: the platform reported
    delivery (spend), a session came from the campaign's links, or an order was attributed
    to it (first or last touch, on the day the order was placed). Days with spend but no
    sessions and days with sessions but no spend both appear; a day with nothing does not.
    Attributed orders are conversions: cancelled orders are left out (the net revenue rule
    of fct_daily_sales).

    Incremental on the day: a run recomputes every day campaign_days_to_rebuild finds from
    the marks here (marketing_loaded_at for spend and campaigns, order_loaded_at for the
    shop, events_loaded_at for the clickstream: a mark per source, as sources load
    independently): days with spend restated, days of a
    campaign reloaded, the days of orders whose attribution may have changed, and the days
    of every session a device with a new event had or has. The pre-hook deletes those days
    (all their campaigns) and the select inserts them again, so a day whose activity moved
    away leaves. Nothing here is judged on the clock, and a day's rows depend only on inputs
    of that day, so the other days are what a full refresh would build. Each mark is a load
    its build saw, so every load up to it is in the table. A table on Spark.
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where activity_date in ("
            ~ "{{ campaign_days_to_rebuild(high_water_mark('marketing_loaded_at'),"
            ~ " high_water_mark('order_loaded_at'), high_water_mark('events_loaded_at'))"
            ~ " }}){% endif %}"
        ),
    )
}}
{#- What campaign_days_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}, {{ ref('stg_clickstream__events') }}
with

stg_marketing__campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

stg_marketing__ad_spend as (

    select * from {{ ref('stg_marketing__ad_spend') }}

),

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

fct_order_attribution as (

    select * from {{ ref('fct_order_attribution') }}

),

{% if is_incremental() %}
days_to_rebuild as (

    {{ campaign_days_to_rebuild(
        high_water_mark('marketing_loaded_at'),
        high_water_mark('order_loaded_at'),
        high_water_mark('events_loaded_at'),
    ) }}

),
{% endif %}

daily_spend as (

    select
        campaign_id,
        spend_date as activity_date,
        impressions,
        clicks,
        spend,
        is_final,
        loaded_at

    from stg_marketing__ad_spend
    {% if is_incremental() %}
        where spend_date in (select days_to_rebuild.activity_date from days_to_rebuild)
    {% endif %}

),

daily_sessions as (

    select
        campaign_id,
        session_date as activity_date,
        count(*) as session_count,
        max(events_loaded_at) as events_loaded_at

    from fct_sessions
    where
        campaign_id is not null
    {% if is_incremental() %}
        and session_date in (select days_to_rebuild.activity_date from days_to_rebuild)
    {% endif %}
    group by campaign_id, session_date

),

conversions as (

    select * from fct_order_attribution
    where
        order_status != 'cancelled'
    {% if is_incremental() %}
        and order_date in (select days_to_rebuild.activity_date from days_to_rebuild)
    {% endif %}

),

daily_last_touch_orders as (

    select
        last_touch_campaign_id as campaign_id,
        order_date as activity_date,
        count(*) as order_count,
        sum(order_total) as revenue,
        max(order_loaded_at) as order_loaded_at,
        max(events_loaded_at) as events_loaded_at

    from conversions
    where last_touch_campaign_id is not null
    group by last_touch_campaign_id, order_date

),

daily_first_touch_orders as (

    select
        first_touch_campaign_id as campaign_id,
        order_date as activity_date,
        count(*) as order_count,
        sum(order_total) as revenue,
        max(order_loaded_at) as order_loaded_at,
        max(events_loaded_at) as events_loaded_at

    from conversions
    where first_touch_campaign_id is not null
    group by first_touch_campaign_id, order_date

),

{# Every campaign and day with spend, sessions or orders: `union` dedupes on purpose. #}
campaign_days as (

    select
        campaign_id,
        activity_date
    from daily_spend

    union

    select
        campaign_id,
        activity_date
    from daily_sessions

    union

    select
        campaign_id,
        activity_date
    from daily_last_touch_orders

    union

    select
        campaign_id,
        activity_date
    from daily_first_touch_orders

),

final as (

    select
        campaign_days.campaign_id,
        campaign_days.activity_date,
        stg_marketing__campaigns.campaign_name,
        stg_marketing__campaigns.channel,
        stg_marketing__campaigns.currency,
        case
            when daily_spend.campaign_id is null then 'not_reported'
            when daily_spend.is_final then 'final'
            else 'preliminary'
        end as spend_status,
        cast(coalesce(daily_spend.impressions, 0) as {{ dbt.type_bigint() }}) as impressions,
        cast(coalesce(daily_spend.clicks, 0) as {{ dbt.type_bigint() }}) as clicks,
        cast(coalesce(daily_spend.spend, 0) as decimal(18, 2)) as spend,
        cast(
            coalesce(daily_sessions.session_count, 0) as {{ dbt.type_bigint() }}
        ) as session_count,
        cast(
            coalesce(daily_last_touch_orders.order_count, 0) as {{ dbt.type_bigint() }}
        ) as last_touch_order_count,
        cast(
            coalesce(daily_last_touch_orders.revenue, 0) as decimal(18, 2)
        ) as last_touch_revenue,
        cast(
            coalesce(daily_first_touch_orders.order_count, 0) as {{ dbt.type_bigint() }}
        ) as first_touch_order_count,
        cast(
            coalesce(daily_first_touch_orders.revenue, 0) as decimal(18, 2)
        ) as first_touch_revenue,
        {#
            NULL rather than a division by zero or a guess: no ROAS without spend, no cost
            per acquisition without an order or before the platform reports the day.
        #}
        cast(
            case
                when daily_spend.spend > 0
                    then coalesce(daily_last_touch_orders.revenue, 0) / daily_spend.spend
            end as decimal(18, 4)
        ) as last_touch_roas,
        cast(
            case
                when daily_last_touch_orders.order_count > 0
                    then daily_spend.spend / daily_last_touch_orders.order_count
            end as decimal(18, 2)
        ) as last_touch_cost_per_acquisition,
        {#- The marks: the latest load of each source the row is built from (NULL: none). -#}
        {{ latest_of([
            'stg_marketing__campaigns.loaded_at', 'daily_spend.loaded_at',
        ]) }} as marketing_loaded_at,
        {{ latest_of([
            'daily_last_touch_orders.order_loaded_at',
            'daily_first_touch_orders.order_loaded_at',
        ]) }} as order_loaded_at,
        {{ latest_of([
            'daily_sessions.events_loaded_at',
            'daily_last_touch_orders.events_loaded_at',
            'daily_first_touch_orders.events_loaded_at',
        ]) }} as events_loaded_at,
        {{ latest_of([
            'stg_marketing__campaigns.loaded_at',
            'daily_spend.loaded_at',
            'daily_last_touch_orders.order_loaded_at',
            'daily_first_touch_orders.order_loaded_at',
            'daily_sessions.events_loaded_at',
            'daily_last_touch_orders.events_loaded_at',
            'daily_first_touch_orders.events_loaded_at',
        ]) }} as source_loaded_at

    from campaign_days
    inner join stg_marketing__campaigns
        on campaign_days.campaign_id = stg_marketing__campaigns.campaign_id
    left join daily_spend
        on
            campaign_days.campaign_id = daily_spend.campaign_id
            and campaign_days.activity_date = daily_spend.activity_date
    left join daily_sessions
        on
            campaign_days.campaign_id = daily_sessions.campaign_id
            and campaign_days.activity_date = daily_sessions.activity_date
    left join daily_last_touch_orders
        on
            campaign_days.campaign_id = daily_last_touch_orders.campaign_id
            and campaign_days.activity_date = daily_last_touch_orders.activity_date
    left join daily_first_touch_orders
        on
            campaign_days.campaign_id = daily_first_touch_orders.campaign_id
            and campaign_days.activity_date = daily_first_touch_orders.activity_date

)

select * from final
