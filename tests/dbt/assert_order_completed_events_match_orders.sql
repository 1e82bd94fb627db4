{#-
    Every order_completed event records a real order of the shop: its order id is in
    stg_shop__orders (deleted orders and test accounts' orders included: the event
    happened), and when the event carries the customer, it is the order's customer.
    An event older than the shop's retention of cancelled orders (var
    shop_cancelled_order_retention_days, before the latest order) may name an order the
    shop purged before this warehouse first loaded it. Returns the events that do not match.
    Scope: the event, a row at a time. A scoped run checks the events loaded since the last
    green build (test_scoped); stg_shop__orders, the parent side, is read whole, as
    relationships tests read theirs. Whole-table otherwise.
-#}
with

stg_clickstream__events as (

    select * from {{ test_scoped(ref('stg_clickstream__events')) }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_completed_events as (

    select * from stg_clickstream__events
    where event_type = 'order_completed'

),

purge_horizon as (

    {{ shop_purge_horizon() }}

),

final as (

    select
        order_completed_events.event_id,
        order_completed_events.order_id,
        order_completed_events.customer_id as event_customer_id,
        stg_shop__orders.customer_id as order_customer_id,
        stg_shop__orders.order_id is null as is_unknown_order

    from order_completed_events
    cross join purge_horizon
    left join stg_shop__orders
        on order_completed_events.order_id = stg_shop__orders.order_id
    where
        (
            stg_shop__orders.order_id is null
            and order_completed_events.event_at >= purge_horizon.purged_before
        )
        or order_completed_events.customer_id != stg_shop__orders.customer_id

)

select * from final
