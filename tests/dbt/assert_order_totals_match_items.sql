{#-
    Every order in fct_orders charges exactly its lines plus shipping:
    order_total = sum(fct_order_items.line_total) + shipping_fee.
    Returns the orders that do not.
-#}
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),

order_lines as (

    select
        order_id,
        sum(line_total) as lines_total

    from fct_order_items
    group by order_id

),

final as (

    select
        fct_orders.order_id,
        fct_orders.order_total,
        fct_orders.shipping_fee,
        coalesce(order_lines.lines_total, 0) as lines_total

    from fct_orders
    left join order_lines
        on fct_orders.order_id = order_lines.order_id
    where
        fct_orders.order_total
        != coalesce(order_lines.lines_total, 0) + fct_orders.shipping_fee

)

select * from final
