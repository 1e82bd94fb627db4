{#-
    The churn label of each customer and as-of date: orders placed in the churn window
    that starts at the as-of instant, whatever became of them later; unknown (NULL) while
    the window reaches past the warehouse clock. Orders are joined to the spine, which
    holds only real customers (no test account).
-#}
{%- set churn_window_days = var('customer_churn_window_days') -%}

with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

future_orders as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as future_order_count

    from customer_spine
    inner join stg_shop__orders
        on customer_spine.customer_id = stg_shop__orders.customer_id
    where
        stg_shop__orders.ordered_at >= customer_spine.as_of_at
        and stg_shop__orders.ordered_at
        < {{ dbt.dateadd('day', churn_window_days, 'customer_spine.as_of_at') }}
    group by customer_spine.customer_id, customer_spine.as_of_date

),

labels as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        {{ customer_features_is_label_complete(
            'customer_spine.as_of_at', 'customer_spine.clock_at'
        ) }} as is_label_complete,
        coalesce(future_orders.future_order_count, 0) as future_order_count

    from customer_spine
    left join future_orders
        on
            customer_spine.customer_id = future_orders.customer_id
            and customer_spine.as_of_date = future_orders.as_of_date

),

final as (

    select
        customer_id,
        as_of_date,
        is_label_complete,
        future_order_count,
        case when is_label_complete then future_order_count = 0 end as is_churned

    from labels

)

select * from final
