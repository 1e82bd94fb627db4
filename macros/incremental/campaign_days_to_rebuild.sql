{#-
    Renders a select of every UTC day fct_campaign_performance must rebuild (all campaigns
    of the day), given its marks: the days of spend rows loaded after marketing_since;
    every day with a row of a campaign whose row was loaded after it (a new name or
    channel, or a campaign the platform lists late); the order days of the orders
    attributed_orders_to_rebuild finds (a status, a delete or a late session changes an
    order's attribution, on the day it was placed); and every day with an event of a
    device with an event loaded after events_since: a late event can move, join or
    re-stitch any session of its device (a session's day is its first event's), so those
    days hold every session the device had before and has now; the same for every device
    of a customer whose row was loaded after shop_since (a customer turned test account,
    or back, takes their sessions out of fct_sessions or brings them back).
-#}
{% macro campaign_days_to_rebuild(marketing_since, shop_since, events_since) -%}
    select new_spend.spend_date as activity_date
    from {{ ref('stg_marketing__ad_spend') }} as new_spend
    where new_spend.loaded_at > {{ marketing_since }}

    union

    select campaign_spend.spend_date as activity_date
    from {{ ref('stg_marketing__ad_spend') }} as campaign_spend
    where campaign_spend.campaign_id in ({{ campaigns_loaded_after(marketing_since) }})

    union

    select campaign_sessions.session_date as activity_date
    from {{ ref('fct_sessions') }} as campaign_sessions
    where campaign_sessions.campaign_id in ({{ campaigns_loaded_after(marketing_since) }})

    union

    select campaign_orders.order_date as activity_date
    from {{ ref('fct_order_attribution') }} as campaign_orders
    where
        campaign_orders.first_touch_campaign_id in (
            {{ campaigns_loaded_after(marketing_since) }}
        )
        or campaign_orders.last_touch_campaign_id in (
            {{ campaigns_loaded_after(marketing_since) }}
        )

    union

    select cast(changed_orders.ordered_at as date) as activity_date
    from {{ ref('stg_shop__orders') }} as changed_orders
    where
        changed_orders.order_id in (
            {{ attributed_orders_to_rebuild(shop_since, events_since) }}
        )

    union

    select cast(device_events.event_at as date) as activity_date
    from {{ ref('stg_clickstream__events') }} as device_events
    where
        device_events.event_at is not null
        and device_events.anonymous_id in (
            {{ clickstream_devices_loaded_after(events_since) }}

            union

            {{ clickstream_devices_of_customers_loaded_after(shop_since) }}
        )
{%- endmacro %}

{#- Renders a select of the campaign_id of every campaign whose row was loaded after since. -#}
{% macro campaigns_loaded_after(since) -%}
    select new_campaigns.campaign_id
    from {{ ref('stg_marketing__campaigns') }} as new_campaigns
    where new_campaigns.loaded_at > {{ since }}
{%- endmacro %}
