{#-
    The analyst story: "What was the new ad campaign's impact on user engagement and sales?"
    The Autumn launch campaign (cmp_1009, utm_campaign autumn_launch_2026) started on
    2026-10-09. One row per window, the 7 days before the launch and the first 7 days of the
    campaign: site-wide sessions, conversion and sales per day, the campaign's own sessions,
    spend and last-touch revenue, and the change after the launch. Days are UTC. Compile
    with `dbt compile -s new_campaign_impact` and run the SQL dbt writes under
    target/compiled/globalretail/analyses/ (the saved queries new_campaign_impact_site and
    new_campaign_impact_campaign give the same days from the semantic layer).
-#}
{%- set campaign_id = 'cmp_1009' -%}
{%- set launch_date = "cast('2026-10-09' as date)" -%}
{%- set window_days = 7 -%}

with

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_campaign_performance as (

    select * from {{ ref('fct_campaign_performance') }}

),

windows as (

    select
        'before' as period,
        cast({{ dbt.dateadd('day', -window_days, launch_date) }} as date) as period_start,
        {{ launch_date }} as period_end

    union all

    select
        'after' as period,
        {{ launch_date }} as period_start,
        cast({{ dbt.dateadd('day', window_days, launch_date) }} as date) as period_end

),

window_sessions as (

    select
        windows.period,
        count(*) as session_count,
        sum(case when fct_sessions.has_order then 1 else 0 end) as converted_session_count,
        sum(case when fct_sessions.is_bounce then 1 else 0 end) as bounced_session_count,
        sum(fct_sessions.page_view_count) as page_view_count

    from windows
    inner join fct_sessions
        on
            windows.period_start <= fct_sessions.session_date
            and windows.period_end > fct_sessions.session_date
    group by windows.period

),

window_orders as (

    select
        windows.period,
        count(*) as order_count,
        sum(fct_orders.order_total) as revenue

    from windows
    inner join fct_orders
        on
            windows.period_start <= fct_orders.order_date
            and windows.period_end > fct_orders.order_date
    where fct_orders.order_status != 'cancelled'
    group by windows.period

),

window_campaign as (

    select
        windows.period,
        sum(fct_campaign_performance.session_count) as campaign_session_count,
        sum(fct_campaign_performance.spend) as campaign_spend,
        sum(fct_campaign_performance.last_touch_order_count) as campaign_order_count,
        sum(fct_campaign_performance.last_touch_revenue) as campaign_revenue

    from windows
    inner join fct_campaign_performance
        on
            windows.period_start <= fct_campaign_performance.activity_date
            and windows.period_end > fct_campaign_performance.activity_date
    where fct_campaign_performance.campaign_id = '{{ campaign_id }}'
    group by windows.period

),

window_figures as (

    select
        windows.period,
        windows.period_start,
        windows.period_end,
        1.0 * coalesce(window_sessions.session_count, 0) / {{ window_days }} as sessions_per_day,
        1.0 * window_sessions.converted_session_count
        / nullif(window_sessions.session_count, 0) as conversion_rate,
        1.0 * window_sessions.bounced_session_count
        / nullif(window_sessions.session_count, 0) as bounce_rate,
        1.0 * window_sessions.page_view_count
        / nullif(window_sessions.session_count, 0) as pages_per_session,
        1.0 * coalesce(window_orders.order_count, 0) / {{ window_days }} as orders_per_day,
        coalesce(window_orders.revenue, 0) / {{ window_days }} as revenue_per_day,
        window_orders.revenue / nullif(window_orders.order_count, 0) as average_order_value,
        window_orders.revenue / nullif(window_sessions.session_count, 0) as revenue_per_session,
        coalesce(window_campaign.campaign_session_count, 0) as campaign_sessions,
        1.0 * coalesce(window_campaign.campaign_session_count, 0)
        / nullif(window_sessions.session_count, 0) as campaign_share_of_sessions,
        coalesce(window_campaign.campaign_spend, 0) as campaign_spend,
        coalesce(window_campaign.campaign_order_count, 0) as campaign_attributed_orders,
        coalesce(window_campaign.campaign_revenue, 0) as campaign_attributed_revenue,
        window_campaign.campaign_revenue
        / nullif(window_campaign.campaign_spend, 0) as campaign_roas

    from windows
    left join window_sessions
        on windows.period = window_sessions.period
    left join window_orders
        on windows.period = window_orders.period
    left join window_campaign
        on windows.period = window_campaign.period

),

final as (

    select
        *,
        sessions_per_day / nullif(
            lag(sessions_per_day) over (order by period_start), 0
        ) - 1 as sessions_per_day_change,
        conversion_rate - lag(conversion_rate) over (order by period_start)
            as conversion_rate_change,
        revenue_per_day / nullif(
            lag(revenue_per_day) over (order by period_start), 0
        ) - 1 as revenue_per_day_change

    from window_figures

)

select * from final
order by period_start
