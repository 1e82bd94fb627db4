{#-
    One row per order of a real customer and per order id only the payment processor
    knows: what was due, charged, refunded and kept, and whether that is a mismatch finance
    must act on. "Past due" is judged on the warehouse clock, the time of the latest live
    order of a real customer in the warehouse, not on the wall clock: a rebuild on the same
    data gives the same answer.

    Incremental on the order (delete+insert on order_id): a run recomputes the orders
    payment_orders_to_rebuild finds, the one home of that rule: every order loaded since
    the latest source_loaded_at here (the order or its customer, a charge or a refund loaded
    after the mark), whose rows the pre-hook deletes first (an order that left, a test
    account's, is not inserted again), plus every order still open on the clock: due, not
    charged at all (amount_due > 0 and charged_amount = 0). int_orders_joined_to_payments
    holds only those orders on such a run (it asks incremental_mart_relation), so the run
    reads the day's orders and their payments, not every order's. Why that equals a full
    refresh with the same clock: the clock (recomputed on every run, over the rebuilt rows
    and the rows kept here) decides is_payment_overdue, which only picks between
    unpaid_past_due and no mismatch for such open orders; every other row depends on its
    order, its customer, its charges and refunds alone, and any change to those reloads a
    row after the mark. A table on Spark (no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where order_id in ("
            ~ "{{ payment_orders_to_rebuild(this, open_orders=false) }}){% endif %}"
        ),
    )
}}
{#- What payment_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}
-- depends_on: {{ ref('stg_payments__charges') }}, {{ ref('stg_payments__refunds') }}

with

int_orders_joined_to_payments as (

    select * from {{ ref('int_orders_joined_to_payments') }}

),

{#
    The latest live order of a real customer. On an incremental run the step holds only the
    orders rebuilt; every other order's row here is as a rebuild would make it (nothing it is
    built from was loaded since the mark, and the pre-hook deleted the rows of those that
    were), so the clock reads those rows too, not every order's payments again.
#}
warehouse_clock as (

    select max(clock_orders.ordered_at) as as_of_at
    from (
        select
            ordered_at,
            is_order_in_shop,
            is_order_deleted
        from int_orders_joined_to_payments
        {%- if is_incremental() %}

            union all

            select
                built.ordered_at,
                built.is_order_in_shop,
                built.is_order_deleted
            from {{ this }} as built
        {%- endif %}
    ) as clock_orders
    where clock_orders.is_order_in_shop and not clock_orders.is_order_deleted

),

orders_on_the_clock as (

    select
        int_orders_joined_to_payments.*,
        (
            warehouse_clock.as_of_at
            > {{ dbt.dateadd(
                'day',
                var('order_payment_due_days'),
                'int_orders_joined_to_payments.ordered_at',
            ) }}
        ) as is_payment_overdue

    from int_orders_joined_to_payments
    cross join warehouse_clock

),

reasons as (

    select
        *,
        {# The first rule that holds wins: see the column's description. #}
        case
            when is_currency_mismatch then 'currency_mismatch'
            when not is_order_in_shop and net_received_amount != 0 then 'unknown_order'
            when refunded_amount > charged_amount then 'over_refunded'
            when amount_due = 0 and net_received_amount > 0 then 'refund_missing'
            {# Refunds of a duplicate charge give nothing back for the returned items. #}
            when
                order_status = 'returned'
                and net_received_amount >= order_total
                and order_refunded_amount = 0
                then 'refund_missing'
            when
                succeeded_charge_count > 1 and net_received_amount > order_total
                then 'double_charged'
            {# The return refunded, a duplicate charge kept: the kept part is the duplicate. #}
            when
                order_status = 'returned'
                and succeeded_charge_count > 1
                and net_received_amount >= order_total
                then 'double_charged'
            when
                amount_due > 0 and charged_amount = 0 and is_payment_overdue
                then 'unpaid_past_due'
            {# Not charged yet, and not overdue yet: awaiting payment, not a mismatch. #}
            when amount_due > 0 and charged_amount = 0 then null
            when difference_amount != 0 then 'amount_mismatch'
            when
                order_status = 'returned'
                and (charged_amount < order_total or net_received_amount >= order_total)
                then 'amount_mismatch'
        end as mismatch_reason

    from orders_on_the_clock

),

flagged as (

    select
        *,
        cast(ordered_at as date) as order_date,
        mismatch_reason is not null as is_mismatch

    from reasons

),

final as (

    select
        order_id,
        customer_id,
        order_status,
        currency,
        payment_status,
        is_mismatch,
        mismatch_reason,
        is_order_in_shop,
        is_order_deleted,
        succeeded_charge_count,
        failed_charge_count,
        refund_count,
        order_total,
        amount_due,
        charged_amount,
        refunded_amount,
        duplicate_refunded_amount,
        order_refunded_amount,
        net_received_amount,
        difference_amount,
        ordered_at,
        order_date,
        first_charged_at,
        last_charged_at,
        last_refunded_at,
        source_loaded_at

    from flagged

)

select * from final
