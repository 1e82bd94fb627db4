{#- One row per real customer account (test accounts excluded), with order history. -#}
with

stg_shop__customers as (

    select * from {{ ref('stg_shop__customers') }}

),

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

customer_orders as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(
            case when order_status != 'cancelled' then order_total else 0 end
        ) as lifetime_value

    from int_orders_enriched
    group by customer_id

),

final as (

    select
        stg_shop__customers.customer_id,
        stg_shop__customers.email_hash,
        stg_shop__customers.city,
        stg_shop__customers.country_code,
        cast(
            coalesce(customer_orders.order_count, 0) as {{ dbt.type_bigint() }}
        ) as order_count,
        cast(coalesce(customer_orders.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        stg_shop__customers.is_deleted,
        stg_shop__customers.customer_created_at,
        customer_orders.first_order_at,
        customer_orders.last_order_at,
        stg_shop__customers.deleted_at

    from stg_shop__customers
    left join customer_orders
        on stg_shop__customers.customer_id = customer_orders.customer_id

)

select * from final
