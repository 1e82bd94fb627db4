{#-
    One row per order of a real customer and per order id only the payment processor
    knows: what was due, charged, refunded and kept, and whether that is a mismatch finance
    must act on. "Past due" is judged on the warehouse clock, the time of the latest live
    order in the warehouse, not on the wall clock: a rebuild on the same data gives the
    same answer.
-#}
with

int_orders_joined_to_payments as (

    select * from {{ ref('int_orders_joined_to_payments') }}

),

warehouse_clock as (

    select max(ordered_at) as as_of_at
    from int_orders_joined_to_payments
    where is_order_in_shop and not is_order_deleted

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
        last_refunded_at

    from flagged

)

select * from final
