{#-
    One row per live order of a real customer, with its line-item totals and its shipment.
    Test accounts' orders drop out through the inner join (stg_shop__customers has none),
    deleted orders through the filter. Deleted lines and shipments are left out.
-#}
with

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

stg_shop__shipments as (

    select * from {{ ref('stg_shop__shipments') }}

),

stg_shop__customers as (

    select * from {{ ref('stg_shop__customers') }}

),

order_item_totals as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        sum(quantity * unit_price) as items_subtotal,
        max(loaded_at) as items_loaded_at

    from stg_shop__order_items
    where not is_deleted
    group by order_id

),

live_shipments as (

    select * from stg_shop__shipments
    where not is_deleted

),

final as (

    select
        stg_shop__orders.order_id,
        stg_shop__orders.customer_id,
        live_shipments.shipment_id,
        stg_shop__orders.order_status,
        stg_shop__orders.currency,
        live_shipments.carrier,
        cast(coalesce(order_item_totals.item_count, 0) as {{ dbt.type_bigint() }}) as item_count,
        cast(coalesce(order_item_totals.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(
            coalesce(order_item_totals.items_subtotal, 0) as decimal(18, 2)
        ) as items_subtotal,
        stg_shop__orders.order_subtotal,
        stg_shop__orders.shipping_fee,
        stg_shop__orders.order_total,
        stg_shop__orders.ordered_at,
        live_shipments.shipped_at,
        live_shipments.delivered_at,
        stg_shop__orders.order_updated_at,
        {# greatest() skips the NULLs of an order without lines or shipment (DuckDB, Spark). #}
        greatest(
            stg_shop__orders.loaded_at,
            order_item_totals.items_loaded_at,
            live_shipments.loaded_at,
            stg_shop__customers.loaded_at
        ) as source_loaded_at

    from stg_shop__orders
    inner join stg_shop__customers
        on stg_shop__orders.customer_id = stg_shop__customers.customer_id
    left join order_item_totals
        on stg_shop__orders.order_id = order_item_totals.order_id
    left join live_shipments
        on stg_shop__orders.order_id = live_shipments.order_id
    where not stg_shop__orders.is_deleted

)

select * from final
