{#-
    Logistics and sales tell one story: every order of fct_orders with a shipment has that
    shipment in fct_shipments with the same carrier and times, and fct_shipments holds no
    other shipment. Returns the shipments where the two marts disagree.
    Scope: whole tables on every run. A reconciliation both ways: a shipment missing from
    either mart has no loaded row to be found by.
-#}
with

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

shipped_orders as (

    select * from fct_orders
    where shipment_id is not null

),

final as (

    select
        shipped_orders.order_id as order_id_in_fct_orders,
        fct_shipments.order_id as order_id_in_fct_shipments,
        coalesce(shipped_orders.shipment_id, fct_shipments.shipment_id) as shipment_id

    from shipped_orders
    full outer join fct_shipments
        on shipped_orders.shipment_id = fct_shipments.shipment_id
    where
        shipped_orders.shipment_id is null
        or fct_shipments.shipment_id is null
        or shipped_orders.order_id != fct_shipments.order_id
        or shipped_orders.carrier != fct_shipments.carrier
        or shipped_orders.shipped_at != fct_shipments.shipped_at
        or coalesce(shipped_orders.delivered_at != fct_shipments.delivered_at, false)
        or (shipped_orders.delivered_at is null) != (fct_shipments.delivered_at is null)

)

select * from final
