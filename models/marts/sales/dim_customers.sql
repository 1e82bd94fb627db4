{#-
    One row per real customer account (test accounts excluded), with order history and a
    segment. Ages are counted to the warehouse clock, the day of the latest order in the
    warehouse, not to the wall clock: a rebuild on the same data gives the same segments,
    and a warehouse loaded with old data is segmented as it was then.
-#}
with

stg_shop__customers as (

    select * from {{ ref('stg_shop__customers') }}

),

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}

),

warehouse_clock as (

    select cast(max(ordered_at) as date) as as_of_date
    from int_orders_enriched

),

{#
    Money given back to the customer for an order: succeeded refunds, except those of a
    duplicate charge, which return an overcharge and leave the order's value as it was.
#}
order_refunds as (

    select
        order_id,
        sum(refund_amount) as refunded_amount

    from stg_payments__refunds
    where refund_status = 'succeeded' and refund_reason != 'duplicate'
    group by order_id

),

order_values as (

    select
        int_orders_enriched.customer_id,
        int_orders_enriched.ordered_at,
        case
            when int_orders_enriched.order_status = 'cancelled' then 0
            when
                coalesce(order_refunds.refunded_amount, 0) >= int_orders_enriched.order_total
                then 0
            else int_orders_enriched.order_total - coalesce(order_refunds.refunded_amount, 0)
        end as net_order_value

    from int_orders_enriched
    left join order_refunds
        on int_orders_enriched.order_id = order_refunds.order_id

),

customer_orders as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(net_order_value) as lifetime_value

    from order_values
    group by customer_id

),

customer_ages as (

    select
        customer_orders.*,
        {{ dbt.datediff(
            'cast(customer_orders.first_order_at as date)',
            'warehouse_clock.as_of_date',
            'day',
        ) }} as days_since_first_order,
        {{ dbt.datediff(
            'cast(customer_orders.last_order_at as date)',
            'warehouse_clock.as_of_date',
            'day',
        ) }} as days_since_last_order

    from customer_orders
    cross join warehouse_clock

),

final as (

    select
        stg_shop__customers.customer_id,
        stg_shop__customers.email_hash,
        stg_shop__customers.city,
        stg_shop__customers.country_code,
        {# The first rule that holds wins: see the column's description. #}
        case
            when stg_shop__customers.is_deleted then 'churned'
            when customer_ages.customer_id is null then 'prospect'
            when
                customer_ages.days_since_last_order > {{ var('customer_churned_after_days') }}
                then 'churned'
            when
                customer_ages.days_since_last_order > {{ var('customer_at_risk_after_days') }}
                then 'at_risk'
            when
                customer_ages.lifetime_value >= {{ var('customer_vip_min_lifetime_value') }}
                then 'vip'
            when
                customer_ages.days_since_first_order <= {{ var('customer_new_within_days') }}
                then 'new'
            else 'active'
        end as customer_segment,
        cast(
            coalesce(customer_ages.order_count, 0) as {{ dbt.type_bigint() }}
        ) as order_count,
        cast(coalesce(customer_ages.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        {# The VIP threshold without the lapse rules: reverse ETL pushes it to the shop. #}
        coalesce(
            customer_ages.lifetime_value >= {{ var('customer_vip_min_lifetime_value') }}, false
        ) as is_high_value,
        cast(
            customer_ages.days_since_last_order as {{ dbt.type_bigint() }}
        ) as days_since_last_order,
        stg_shop__customers.is_deleted,
        stg_shop__customers.customer_created_at,
        customer_ages.first_order_at,
        customer_ages.last_order_at,
        stg_shop__customers.deleted_at

    from stg_shop__customers
    left join customer_ages
        on stg_shop__customers.customer_id = customer_ages.customer_id

)

select * from final
