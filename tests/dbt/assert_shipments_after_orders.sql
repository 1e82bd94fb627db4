{#-
    Time runs forward for every parcel: it leaves the warehouse at or after the order was
    placed (read from fct_orders, not from fct_shipments' own copy) and is delivered at or
    after it left. Returns the shipments that break either rule.
-#}
with

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        fct_shipments.shipment_id,
        fct_shipments.order_id,
        fct_orders.ordered_at,
        fct_shipments.shipped_at,
        fct_shipments.delivered_at

    from fct_shipments
    inner join fct_orders
        on fct_shipments.order_id = fct_orders.order_id
    where
        fct_shipments.shipped_at < fct_orders.ordered_at
        or fct_shipments.delivered_at < fct_shipments.shipped_at

)

select * from final
