{#-
    Succeeded refunds on the customer's orders made strictly before each as-of instant
    (refunded_at), whatever became of the order.
-#}
with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}

),

refund_history as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as refund_count,
        sum(stg_payments__refunds.refund_amount) as refunded_amount

    from customer_spine
    inner join stg_shop__orders
        on customer_spine.customer_id = stg_shop__orders.customer_id
    inner join stg_payments__refunds
        on stg_shop__orders.order_id = stg_payments__refunds.order_id
    where
        stg_payments__refunds.refunded_at < customer_spine.as_of_at
        and stg_payments__refunds.refund_status = 'succeeded'
    group by customer_spine.customer_id, customer_spine.as_of_date

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        coalesce(refund_history.refund_count, 0) as refund_count,
        coalesce(refund_history.refunded_amount, 0) as refunded_amount

    from customer_spine
    left join refund_history
        on
            customer_spine.customer_id = refund_history.customer_id
            and customer_spine.as_of_date = refund_history.as_of_date

)

select * from final
