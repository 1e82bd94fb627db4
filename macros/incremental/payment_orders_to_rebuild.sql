{#-
    Renders a select of the order_id of every order fct_payment_reconciliation must rebuild
    since since (a timestamp expression, the mart's high_water_mark): every order
    shop_orders_to_rebuild finds (the order or its customer loaded after it: a status
    change, a deletion, a customer now a test account), and every order id with a charge
    or a refund loaded after it, or a refund whose charge was (a charge recognised as a
    test account's takes its refunds out). Order ids only the processor knows come with
    their charges and refunds.
-#}
{% macro payment_orders_to_rebuild(since) -%}
    {{ shop_orders_to_rebuild(since) }}

    union

    select stg_payments__charges.order_id
    from {{ ref('stg_payments__charges') }} as stg_payments__charges
    where stg_payments__charges.loaded_at > {{ since }}

    union

    select stg_payments__refunds.order_id
    from {{ ref('stg_payments__refunds') }} as stg_payments__refunds
    left join {{ ref('stg_payments__charges') }} as refunded_charges
        on stg_payments__refunds.charge_id = refunded_charges.charge_id
    where
        stg_payments__refunds.loaded_at > {{ since }}
        or refunded_charges.loaded_at > {{ since }}
{%- endmacro %}
