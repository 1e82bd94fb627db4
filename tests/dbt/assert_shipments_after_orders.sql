{#-
    Time runs forward for every parcel: it leaves the warehouse at or after the order was
    placed (read from fct_orders, not from fct_shipments' own copy) and is delivered at or
    after it left. Returns the shipments that break either rule.
    Scope: the shipment and its order. A scoped run checks the shipments loaded since the
    last green build and those of the orders loaded since it (test_scoped). Whole-table
    otherwise.
-#}
with

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),
{%- set scoped = test_scope_column(ref('fct_shipments')) %}
{% if scoped %}

orders_in_scope as (

    select order_id from {{ test_scoped(ref('fct_shipments')) }}

    union

    select order_id from {{ test_scoped(ref('fct_orders')) }}

),
{%- endif %}

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
        {% if scoped -%}
            fct_shipments.order_id in (select orders_in_scope.order_id from orders_in_scope)
            and
        {% endif -%}
        (
            fct_shipments.shipped_at < fct_orders.ordered_at
            or fct_shipments.delivered_at < fct_shipments.shipped_at
        )

)

select * from final
