{#-
    One row per order of a real customer (deleted orders included, flagged: money taken for
    a voided order still has to be given back), plus one row per order id the payment
    processor knows and the shop does not (is_order_in_shop false), with its succeeded
    charges and refunds added up and classified. Charges and refunds of test accounts'
    orders are left out with the orders, and so are those whose charge's billing details
    are a test account's (stg_payments__charges.is_test_account), whatever became of the
    order. Declined attempts move no money: they are counted (failed_charge_count), never
    added; pending and failed refunds are neither.

    Inlined into fct_payment_reconciliation alone. On an incremental run of that mart the
    step reads only the orders it rebuilds (payment_orders_to_rebuild) and their charges
    and refunds, so the day's cost follows the orders the day touched: every row depends on
    its order, its customer, its charges and refunds alone. Test accounts' charges are all
    kept: a refund is left out by its charge's billing details, whichever order that names.
-#}
{%- set mart = incremental_mart_relation('fct_payment_reconciliation') %}
{#- What payment_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__order_items') }}, {{ ref('stg_shop__shipments') }}
-- depends_on: {{ source('shop', 'customers') }}, {{ source('shop', 'hard_deletes') }}

with

{% if mart is not none %}
orders_to_rebuild as (

    {{ payment_orders_to_rebuild(mart) }}

),
{% endif %}

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}
    {%- if mart is not none %}
        where order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)
    {%- endif %}

),

stg_shop__customers as (

    select * from {{ ref('stg_shop__customers') }}

),

{# Every test account's charge is kept: see test_account_charges. #}
stg_payments__charges as (

    select * from {{ ref('stg_payments__charges') }}
    {%- if mart is not none %}
        where
            order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)
            or coalesce(is_test_account, false)
    {%- endif %}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}
    {%- if mart is not none %}
        where order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)
    {%- endif %}

),

{#
    Charges whose billing details are a test account's, and so their refunds: left out even
    when the shop no longer has their order (purged before the warehouse first loaded it).
#}
test_account_charges as (

    select charge_id
    from stg_payments__charges
    where coalesce(is_test_account, false)

),

{# One row per money movement at the processor, refunds with their own order id. #}
payment_movements as (

    select
        order_id,
        'charge' as movement_type,
        is_succeeded,
        cast(null as {{ dbt.type_string() }}) as refund_reason,
        currency,
        charge_amount as amount,
        charged_at as moved_at,
        loaded_at

    from stg_payments__charges
    where not coalesce(is_test_account, false)

    union all

    select
        stg_payments__refunds.order_id,
        'refund' as movement_type,
        stg_payments__refunds.refund_status = 'succeeded' as is_succeeded,
        stg_payments__refunds.refund_reason,
        stg_payments__refunds.currency,
        stg_payments__refunds.refund_amount as amount,
        stg_payments__refunds.refunded_at as moved_at,
        stg_payments__refunds.loaded_at

    from stg_payments__refunds
    left join test_account_charges
        on stg_payments__refunds.charge_id = test_account_charges.charge_id
    where test_account_charges.charge_id is null

),

order_payments as (

    select
        order_id,
        sum(
            case when movement_type = 'charge' and is_succeeded then 1 else 0 end
        ) as succeeded_charge_count,
        sum(
            case when movement_type = 'charge' and not is_succeeded then 1 else 0 end
        ) as failed_charge_count,
        sum(
            case when movement_type = 'refund' and is_succeeded then 1 else 0 end
        ) as refund_count,
        sum(
            case when movement_type = 'charge' and is_succeeded then amount else 0 end
        ) as charged_amount,
        sum(
            case when movement_type = 'refund' and is_succeeded then amount else 0 end
        ) as refunded_amount,
        {# A duplicate charge given back, not money given back for the order itself. #}
        sum(
            case
                when movement_type = 'refund' and is_succeeded and refund_reason = 'duplicate'
                    then amount
                else 0
            end
        ) as duplicate_refunded_amount,
        min(currency) as payment_currency,
        min(case when is_succeeded then currency end) as lowest_moved_currency,
        max(case when is_succeeded then currency end) as highest_moved_currency,
        min(
            case when movement_type = 'charge' and is_succeeded then moved_at end
        ) as first_charged_at,
        max(
            case when movement_type = 'charge' and is_succeeded then moved_at end
        ) as last_charged_at,
        max(
            case when movement_type = 'refund' and is_succeeded then moved_at end
        ) as last_refunded_at,
        max(loaded_at) as payments_loaded_at

    from payment_movements
    group by order_id

),

{# Test accounts' orders drop out at the inner join: stg_shop__customers has none. #}
real_customer_orders as (

    select
        stg_shop__orders.order_id,
        stg_shop__orders.customer_id,
        stg_shop__orders.order_status,
        stg_shop__orders.currency,
        true as is_order_in_shop,
        stg_shop__orders.is_deleted as is_order_deleted,
        stg_shop__orders.order_total,
        stg_shop__orders.ordered_at,
        greatest(stg_shop__orders.loaded_at, stg_shop__customers.loaded_at) as shop_loaded_at

    from stg_shop__orders
    inner join stg_shop__customers
        on stg_shop__orders.customer_id = stg_shop__customers.customer_id

),

{#
    Order ids the processor has and the shop has never had (orders purged by the shop's
    retention rule before the first load, or a checkout that never wrote its order), or
    not any more in any form: staging keeps deleted orders, flagged. On an incremental run
    both sides hold the same orders to rebuild, so the shop's are the ones to compare with.
#}
unknown_orders as (

    select
        order_payments.order_id,
        cast(null as {{ dbt.type_bigint() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as order_status,
        order_payments.payment_currency as currency,
        false as is_order_in_shop,
        cast(null as {{ dbt.type_boolean() }}) as is_order_deleted,
        cast(null as decimal(18, 2)) as order_total,
        cast(null as {{ dbt.type_timestamp() }}) as ordered_at,
        cast(null as {{ dbt.type_timestamp() }}) as shop_loaded_at

    from order_payments
    where
        order_payments.order_id not in (
            select stg_shop__orders.order_id from stg_shop__orders
        )

),

orders as (

    select * from real_customer_orders
    union all
    select * from unknown_orders

),

orders_with_payments as (

    select
        orders.*,
        cast(
            coalesce(order_payments.succeeded_charge_count, 0) as {{ dbt.type_bigint() }}
        ) as succeeded_charge_count,
        cast(
            coalesce(order_payments.failed_charge_count, 0) as {{ dbt.type_bigint() }}
        ) as failed_charge_count,
        cast(coalesce(order_payments.refund_count, 0) as {{ dbt.type_bigint() }}) as refund_count,
        cast(coalesce(order_payments.charged_amount, 0) as decimal(18, 2)) as charged_amount,
        cast(coalesce(order_payments.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        cast(
            coalesce(order_payments.duplicate_refunded_amount, 0) as decimal(18, 2)
        ) as duplicate_refunded_amount,
        {# Money moved in another currency than the order's cannot be compared with it. #}
        coalesce(
            order_payments.lowest_moved_currency != orders.currency
            or order_payments.highest_moved_currency != orders.currency,
            false
        ) as is_currency_mismatch,
        {# Nothing is owed for a cancelled or voided order; a return depends on the items. #}
        case
            when not orders.is_order_in_shop then null
            when orders.order_status = 'cancelled' or orders.is_order_deleted then 0
            when orders.order_status = 'returned' then null
            else orders.order_total
        end as amount_due,
        order_payments.first_charged_at,
        order_payments.last_charged_at,
        order_payments.last_refunded_at,
        {# greatest() skips the NULL of an order without payments (DuckDB, Spark). #}
        greatest(orders.shop_loaded_at, order_payments.payments_loaded_at) as source_loaded_at

    from orders
    left join order_payments
        on orders.order_id = order_payments.order_id

),

net_amounts as (

    select
        *,
        charged_amount - refunded_amount as net_received_amount

    from orders_with_payments

),

final as (

    select
        order_id,
        customer_id,
        order_status,
        currency,
        {# The first rule that holds wins: see the column's description. #}
        case
            when charged_amount = 0 and refunded_amount = 0 then 'unpaid'
            when net_received_amount <= 0 then 'refunded'
            when net_received_amount = order_total then 'paid'
            when net_received_amount > order_total then 'overpaid'
            when refunded_amount > 0 then 'partially_refunded'
            when net_received_amount < order_total then 'underpaid'
            else 'paid'
        end as payment_status,
        is_order_in_shop,
        is_order_deleted,
        is_currency_mismatch,
        succeeded_charge_count,
        failed_charge_count,
        refund_count,
        order_total,
        cast(amount_due as decimal(18, 2)) as amount_due,
        charged_amount,
        refunded_amount,
        duplicate_refunded_amount,
        cast(refunded_amount - duplicate_refunded_amount as decimal(18, 2))
            as order_refunded_amount,
        cast(net_received_amount as decimal(18, 2)) as net_received_amount,
        cast(net_received_amount - amount_due as decimal(18, 2)) as difference_amount,
        ordered_at,
        first_charged_at,
        last_charged_at,
        last_refunded_at,
        source_loaded_at

    from net_amounts

)

select * from final
