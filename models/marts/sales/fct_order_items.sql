{#-
    One row per live line of a live order of a real customer: the inner join keeps only
    lines of orders that are in fct_orders.
-#}
with

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select
        stg_shop__order_items.order_item_id,
        stg_shop__order_items.order_id,
        int_orders_enriched.customer_id,
        stg_shop__order_items.product_id,
        int_orders_enriched.order_status,
        int_orders_enriched.currency,
        stg_shop__order_items.quantity,
        stg_shop__order_items.unit_price,
        cast(
            stg_shop__order_items.quantity * stg_shop__order_items.unit_price
            as decimal(18, 2)
        ) as line_total,
        int_orders_enriched.ordered_at,
        cast(int_orders_enriched.ordered_at as date) as order_date

    from stg_shop__order_items
    inner join int_orders_enriched
        on stg_shop__order_items.order_id = int_orders_enriched.order_id
    where not stg_shop__order_items.is_deleted

)

select * from final
