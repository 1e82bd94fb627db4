{#-
    Identity stitching: one row per session with the customer it belongs to. A session in
    which someone logged in belongs to the first customer logged in during it. An anonymous
    session belongs to its device's customer, the first customer who ever logged in on that
    device (anonymous_id), before or after the session: browsing before the first login is
    attributed to whoever then logged in. First login wins: a device two customers share
    stays with the first one for its anonymous sessions (each keeps their logged-in ones),
    and a later login by someone else never rewrites history. A device nobody ever logged in
    on stays anonymous (customer_id NULL).
-#}
with

int_events_sessionized as (

    select * from {{ ref('int_events_sessionized') }}

),

login_sessions as (

    select
        anonymous_id,
        logged_in_customer_id,
        row_number() over (
            partition by anonymous_id
            order by session_started_at, session_id
        ) as login_session_rank

    from int_events_sessionized
    where logged_in_customer_id is not null

),

device_customers as (

    select
        anonymous_id,
        logged_in_customer_id as device_customer_id

    from login_sessions
    where login_session_rank = 1

),

final as (

    select
        int_events_sessionized.session_id,
        int_events_sessionized.anonymous_id,
        int_events_sessionized.logged_in_customer_id,
        int_events_sessionized.order_id,
        int_events_sessionized.device_session_number,
        int_events_sessionized.device_type,
        int_events_sessionized.device_os,
        int_events_sessionized.device_browser,
        int_events_sessionized.landing_page_path,
        int_events_sessionized.utm_source,
        int_events_sessionized.utm_medium,
        int_events_sessionized.utm_campaign,
        int_events_sessionized.event_count,
        int_events_sessionized.page_view_count,
        int_events_sessionized.product_view_count,
        int_events_sessionized.add_to_cart_count,
        int_events_sessionized.checkout_count,
        int_events_sessionized.order_count,
        int_events_sessionized.session_started_at,
        int_events_sessionized.session_ended_at,
        int_events_sessionized.events_loaded_at,
        coalesce(
            int_events_sessionized.logged_in_customer_id, device_customers.device_customer_id
        ) as customer_id,
        int_events_sessionized.logged_in_customer_id is not null as is_logged_in,
        (
            int_events_sessionized.logged_in_customer_id is null
            and device_customers.device_customer_id is not null
        ) as is_stitched

    from int_events_sessionized
    left join device_customers
        on int_events_sessionized.anonymous_id = device_customers.anonymous_id

)

select * from final
