{#-
    Renders a select of the order_id of every order whose campaign attribution may have
    changed since the marts' marks: the orders shop_orders_to_rebuild finds since
    shop_since (the order itself, its customer, a hard delete), and every order of each
    customer who ever logged in on a device with a clickstream event loaded after
    events_since. A device's sessions change only when one of its events arrives (late
    events move, split or join sessions), and so does who they belong to: a device's
    customer is the first customer ever logged in on it, and a session's the first logged in
    during it. Every customer a device's sessions belong to, before or after the new event,
    logged in on it, so the customer ids of all the device's events include the one who
    loses sessions (a late earlier login by someone else) as well as the one who gains them.
    Deleted orders stay in staging, flagged, so they are found too.
-#}
{% macro attributed_orders_to_rebuild(shop_since, events_since) -%}
    {{ shop_orders_to_rebuild(shop_since) }}

    union

    select customer_orders.order_id
    from {{ ref('stg_shop__orders') }} as customer_orders
    where
        customer_orders.customer_id in (
            select device_events.customer_id
            from {{ ref('stg_clickstream__events') }} as device_events
            where
                device_events.customer_id is not null
                and device_events.anonymous_id in (
                    {{ clickstream_devices_loaded_after(events_since) }}
                )
        )
{%- endmacro %}

{#-
    Renders a select of the anonymous_id of every device with a clickstream event loaded
    after since: the devices whose sessions (int_events_sessionized, fct_sessions) a run
    may have rebuilt.
-#}
{% macro clickstream_devices_loaded_after(since) -%}
    select new_events.anonymous_id
    from {{ ref('stg_clickstream__events') }} as new_events
    where new_events.loaded_at > {{ since }}
{%- endmacro %}

{#-
    Renders a select of the anonymous_id of every device on which a customer whose shop row
    was loaded after since (shop_customers_loaded_after) ever logged in: the devices whose
    sessions may belong to a customer who became a test account (fct_sessions drops their
    sessions) or stopped being one (they come back). A device's sessions belong to a
    customer logged in on it (int_sessions_stitched), so this holds every such device.
-#}
{% macro clickstream_devices_of_customers_loaded_after(since) -%}
    select customer_events.anonymous_id
    from {{ ref('stg_clickstream__events') }} as customer_events
    where customer_events.customer_id in ({{ shop_customers_loaded_after(since) }})
{%- endmacro %}
