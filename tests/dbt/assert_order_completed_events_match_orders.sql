{#-
    Every order_completed event records a real order of the shop: its order id is in
    stg_shop__orders (deleted orders and test accounts' orders included: the event
    happened), and when the event carries the customer, it is the order's customer.
    Returns the events that do not match.
-#}
with

stg_clickstream__events as (

    select * from {{ ref('stg_clickstream__events') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_completed_events as (

    select * from stg_clickstream__events
    where event_type = 'order_completed'

),

final as (

    select
        order_completed_events.event_id,
        order_completed_events.order_id,
        order_completed_events.customer_id as event_customer_id,
        stg_shop__orders.customer_id as order_customer_id,
        stg_shop__orders.order_id is null as is_unknown_order

    from order_completed_events
    left join stg_shop__orders
        on order_completed_events.order_id = stg_shop__orders.order_id
    where
        stg_shop__orders.order_id is null
        or order_completed_events.customer_id != stg_shop__orders.customer_id

)

select * from final
