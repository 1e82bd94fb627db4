{#-
    One row per ad campaign and UTC day on which anything happened: the platform reported
    delivery (spend), a session came from the campaign's links, or an order was attributed
    to it (first or last touch, on the day the order was placed). Days with spend but no
    sessions and days with sessions but no spend both appear; a day with nothing does not.
    Attributed orders are conversions: cancelled orders are left out (the net revenue rule
    of fct_daily_sales).
-#}
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

daily_spend as (

    select
        campaign_id,
        spend_date as activity_date,
        impressions,
        clicks,
        spend,
        is_final

    from stg_marketing__ad_spend

),

daily_sessions as (

    select
        campaign_id,
        session_date as activity_date,
        count(*) as session_count

    from fct_sessions
    where campaign_id is not null
    group by campaign_id, session_date

),

conversions as (

    select * from fct_order_attribution
    where order_status != 'cancelled'

),

daily_last_touch_orders as (

    select
        last_touch_campaign_id as campaign_id,
        order_date as activity_date,
        count(*) as order_count,
        sum(order_total) as revenue

    from conversions
    where last_touch_campaign_id is not null
    group by last_touch_campaign_id, order_date

),

daily_first_touch_orders as (

    select
        first_touch_campaign_id as campaign_id,
        order_date as activity_date,
        count(*) as order_count,
        sum(order_total) as revenue

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
        ) as last_touch_cost_per_acquisition

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
