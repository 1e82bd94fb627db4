{#- One row per live order of a real customer, in its current state. -#}
with

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select
        order_id,
        customer_id,
        shipment_id,
        order_status,
        currency,
        carrier,
        item_count,
        unit_count,
        items_subtotal,
        order_subtotal,
        shipping_fee,
        order_total,
        ordered_at,
        cast(ordered_at as date) as order_date,
        shipped_at,
        delivered_at,
        {{ dbt.datediff('ordered_at', 'delivered_at', 'day') }}
            as days_to_delivery,
        order_updated_at

    from int_orders_enriched

)

select * from final
