{#-
    One row per ad campaign, with the utm codes its links carry: the dimension that
    sessions (web_analytics.fct_sessions), attributed orders (fct_order_attribution) and
    daily delivery (fct_campaign_performance) are grouped by.
-#}
with

stg_marketing__campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        campaign_status,
        utm_source,
        utm_medium,
        utm_campaign,
        currency,
        daily_budget,
        started_at,
        ended_at,
        cast(started_at as date) as start_date

    from stg_marketing__campaigns

)

select * from final
