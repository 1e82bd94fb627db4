{#-
    Every order in fct_orders charges exactly its lines plus shipping:
    order_total = sum(fct_order_items.line_total) + shipping_fee.
    Returns the orders that do not.
    Scope: the order, with all its lines. A scoped run checks the orders with a row or a
    line loaded since the last green build (test_scoped): both marts rebuild an order
    whose row or lines were loaded, so the others are as the last green build tested them.
    Whole-table otherwise.
-#}
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),
{%- set scoped = test_scope_column(ref('fct_orders')) %}
{% if scoped %}

orders_in_scope as (

    select order_id from {{ test_scoped(ref('fct_orders')) }}

    union

    select order_id from {{ test_scoped(ref('fct_order_items')) }}

),
{%- endif %}

order_lines as (

    select
        order_id,
        sum(line_total) as lines_total

    from fct_order_items
    {% if scoped -%}
        where order_id in (select orders_in_scope.order_id from orders_in_scope)
    {%- endif %}
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
        {% if scoped -%}
            fct_orders.order_id in (select orders_in_scope.order_id from orders_in_scope)
            and
        {% endif -%}
        fct_orders.order_total
        != coalesce(order_lines.lines_total, 0) + fct_orders.shipping_fee

)

select * from final
