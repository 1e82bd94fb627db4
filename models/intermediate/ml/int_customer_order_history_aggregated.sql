{#-
    The customer's orders, and the categories of their lines, as known at each as-of date:
    orders placed strictly before the as-of instant and not deleted by then. Orders are
    joined to the spine, which holds only real customers (no test account).
-#}
{%- set recent_days = var('customer_features_recent_days') -%}

with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

orders_before as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        customer_spine.as_of_at,
        stg_shop__orders.order_id,
        stg_shop__orders.order_total,
        stg_shop__orders.ordered_at

    from customer_spine
    inner join stg_shop__orders
        on customer_spine.customer_id = stg_shop__orders.customer_id
    where
        stg_shop__orders.ordered_at < customer_spine.as_of_at
        and (
            stg_shop__orders.deleted_at is null
            or stg_shop__orders.deleted_at >= customer_spine.as_of_at
        )

),

order_history as (

    select
        customer_id,
        as_of_date,
        count(*) as order_count,
        sum(order_total) as total_spend,
        sum(
            case
                when
                    ordered_at >= {{ dbt.dateadd('day', -1 * recent_days, 'as_of_at') }}
                    then 1
                else 0
            end
        ) as recent_order_count,
        sum(
            case
                when
                    ordered_at >= {{ dbt.dateadd('day', -1 * recent_days, 'as_of_at') }}
                    then order_total
                else 0
            end
        ) as recent_spend,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at

    from orders_before
    group by customer_id, as_of_date

),

{# Categories are the products' current ones (dim_products): see the column description. #}
category_units as (

    select
        orders_before.customer_id,
        orders_before.as_of_date,
        dim_products.category,
        sum(stg_shop__order_items.quantity) as unit_count

    from orders_before
    inner join stg_shop__order_items
        on orders_before.order_id = stg_shop__order_items.order_id
    inner join dim_products
        on stg_shop__order_items.product_id = dim_products.product_id
    group by orders_before.customer_id, orders_before.as_of_date, dim_products.category

),

category_history as (

    select
        customer_id,
        as_of_date,
        count(*) as distinct_category_count,
        {# The most units; ties go to the first category in alphabetical order. #}
        min(case when unit_rank = 1 then category end) as top_category

    from (
        select
            category_units.*,
            rank() over (
                partition by category_units.customer_id, category_units.as_of_date
                order by category_units.unit_count desc, category_units.category asc
            ) as unit_rank

        from category_units
    ) as ranked_categories
    group by customer_id, as_of_date

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        coalesce(order_history.order_count, 0) as order_count,
        coalesce(order_history.recent_order_count, 0) as recent_order_count,
        coalesce(order_history.total_spend, 0) as total_spend,
        coalesce(order_history.recent_spend, 0) as recent_spend,
        {{ divide('order_history.total_spend', 'order_history.order_count') }}
            as average_order_value,
        order_history.first_order_at,
        order_history.last_order_at,
        {{ dbt.datediff(
            'cast(order_history.first_order_at as date)',
            'customer_spine.as_of_date',
            'day',
        ) }} as days_since_first_order,
        {{ dbt.datediff(
            'cast(order_history.last_order_at as date)',
            'customer_spine.as_of_date',
            'day',
        ) }} as days_since_last_order,
        coalesce(category_history.distinct_category_count, 0) as distinct_category_count,
        category_history.top_category

    from customer_spine
    left join order_history
        on
            customer_spine.customer_id = order_history.customer_id
            and customer_spine.as_of_date = order_history.as_of_date
    left join category_history
        on
            customer_spine.customer_id = category_history.customer_id
            and customer_spine.as_of_date = category_history.as_of_date

)

select * from final
