{#-
    One row per UTC day from the first to the latest order in the warehouse, days without
    orders included (zeros), from the same orders as fct_orders. A day's figures are those
    of the orders placed that day, in their current status.
-#}
with

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

order_days as (

    select
        *,
        cast(ordered_at as date) as order_date

    from int_orders_enriched

),

calendar as (

    select cast(date_day as date) as order_date
    from (
        {{ date_spine(
            'day',
            '(select min(order_days.order_date) from order_days)',
            dbt.dateadd('day', 1, '(select max(order_days.order_date) from order_days)'),
        ) }}
    ) as day_spine

),

first_orders as (

    select
        customer_id,
        min(order_date) as first_order_date

    from order_days
    group by customer_id

),

daily_orders as (

    select
        order_date,
        count(*) as order_count,
        sum(unit_count) as unit_count,
        sum(order_total) as gross_revenue,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_order_count,
        sum(
            case when order_status = 'cancelled' then order_total else 0 end
        ) as cancelled_revenue,
        sum(case when order_status = 'returned' then 1 else 0 end) as returned_order_count,
        sum(
            case when order_status = 'returned' then order_total else 0 end
        ) as returned_revenue,
        count(distinct customer_id) as customer_count

    from order_days
    group by order_date

),

daily_new_customers as (

    select
        first_order_date as order_date,
        count(*) as new_customer_count

    from first_orders
    group by first_order_date

),

final as (

    select
        calendar.order_date,
        cast(coalesce(daily_orders.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
        cast(coalesce(daily_orders.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(
            coalesce(daily_orders.cancelled_order_count, 0) as {{ dbt.type_bigint() }}
        ) as cancelled_order_count,
        cast(
            coalesce(daily_orders.returned_order_count, 0) as {{ dbt.type_bigint() }}
        ) as returned_order_count,
        cast(
            coalesce(daily_orders.customer_count, 0) as {{ dbt.type_bigint() }}
        ) as customer_count,
        cast(
            coalesce(daily_new_customers.new_customer_count, 0) as {{ dbt.type_bigint() }}
        ) as new_customer_count,
        cast(coalesce(daily_orders.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
        cast(
            coalesce(daily_orders.cancelled_revenue, 0) as decimal(18, 2)
        ) as cancelled_revenue,
        cast(
            coalesce(daily_orders.returned_revenue, 0) as decimal(18, 2)
        ) as returned_revenue,
        cast(
            coalesce(daily_orders.gross_revenue - daily_orders.cancelled_revenue, 0)
            as decimal(18, 2)
        ) as net_revenue,
        {{ divide('daily_orders.gross_revenue', 'daily_orders.order_count') }}
            as gross_average_order_value

    from calendar
    left join daily_orders
        on calendar.order_date = daily_orders.order_date
    left join daily_new_customers
        on calendar.order_date = daily_new_customers.order_date

)

select * from final
