{#-
    Renders a select of the order_id of every order an incremental run of
    fct_payment_reconciliation rebuilds, mart being its table: every order
    shop_orders_to_rebuild finds since the mart's mark, high_water_mark('source_loaded_at')
    (the order or its customer loaded after it: a status change, a deletion, a customer now
    a test account), and every order id with a charge or a refund loaded after it, or a
    refund whose charge was (a charge recognised as a test account's takes its refunds out).
    Order ids only the processor knows come with their charges and refunds. With
    open_orders, also every order still open on the warehouse clock in the mart: due, not
    charged at all (amount_due > 0 and charged_amount = 0), whose mismatch the clock alone
    can move. The mart's pre-hook deletes the orders without them first (an order that left,
    a test account's, is not inserted again); the open ones are read after that delete.
-#}
{% macro payment_orders_to_rebuild(mart, open_orders=true) -%}
    {%- set since = high_water_mark('source_loaded_at', mart) -%}
    {{ shop_orders_to_rebuild(since) }}

    union

    select stg_payments__charges.order_id
    from {{ ref('stg_payments__charges') }} as stg_payments__charges
    where stg_payments__charges.loaded_at > {{ since }}

    union

    select stg_payments__refunds.order_id
    from {{ ref('stg_payments__refunds') }} as stg_payments__refunds
    where
        stg_payments__refunds.loaded_at > {{ since }}
        {#- The charges loaded since, not every charge: a join on the day's few. #}
        or stg_payments__refunds.charge_id in (
            select refunded_charges.charge_id
            from {{ ref('stg_payments__charges') }} as refunded_charges
            where refunded_charges.loaded_at > {{ since }}
        )
    {%- if open_orders %}

    union

    select open_orders.order_id
    from {{ mart }} as open_orders
    where open_orders.amount_due > 0 and open_orders.charged_amount = 0
    {%- endif %}
{%- endmacro %}
