{#-
    fct_daily_sales adds up to fct_orders: for every day, its order counts, units and
    revenues equal those of the orders fct_orders has on that day, and its new customers
    those whose first order in dim_customers falls on it; every day from the first to the
    latest order has exactly one row (unique and not_null on order_date cover the rest),
    and days without orders are zeros. Returns the disagreeing days and measures.
    Scope: whole tables on every run. A reconciliation by day; a deleted or moved order
    leaves no loaded row on its old day, and every day must have its row.
-#}
with

fct_daily_sales as (

    select * from {{ ref('fct_daily_sales') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

orders_by_day as (

    select
        order_date,
        count(*) as order_count,
        sum(unit_count) as unit_count,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_order_count,
        sum(case when order_status = 'returned' then 1 else 0 end) as returned_order_count,
        count(distinct customer_id) as customer_count,
        sum(order_total) as gross_revenue,
        sum(case when order_status != 'cancelled' then order_total else 0 end) as net_revenue

    from fct_orders
    group by order_date

),

new_customers_by_day as (

    select
        cast(first_order_at as date) as order_date,
        count(*) as new_customer_count

    from dim_customers
    where first_order_at is not null
    group by cast(first_order_at as date)

),

expected as (

    select
        orders_by_day.*,
        coalesce(new_customers_by_day.new_customer_count, 0) as new_customer_count

    from orders_by_day
    left join new_customers_by_day
        on orders_by_day.order_date = new_customers_by_day.order_date

),

compared as (

    select
        fct_daily_sales.order_count as mart_order_count,
        fct_daily_sales.gross_revenue as mart_gross_revenue,
        fct_daily_sales.net_revenue as mart_net_revenue,
        fct_daily_sales.unit_count as mart_unit_count,
        fct_daily_sales.cancelled_order_count as mart_cancelled_order_count,
        fct_daily_sales.returned_order_count as mart_returned_order_count,
        fct_daily_sales.customer_count as mart_customer_count,
        fct_daily_sales.new_customer_count as mart_new_customer_count,
        coalesce(fct_daily_sales.order_date, expected.order_date) as order_date,
        fct_daily_sales.order_date is null as is_missing_day,
        coalesce(expected.order_count, 0) as expected_order_count,
        coalesce(expected.gross_revenue, 0) as expected_gross_revenue,
        coalesce(expected.net_revenue, 0) as expected_net_revenue,
        coalesce(expected.unit_count, 0) as expected_unit_count,
        coalesce(expected.cancelled_order_count, 0) as expected_cancelled_order_count,
        coalesce(expected.returned_order_count, 0) as expected_returned_order_count,
        coalesce(expected.customer_count, 0) as expected_customer_count,
        coalesce(expected.new_customer_count, 0) as expected_new_customer_count

    from fct_daily_sales
    full outer join expected
        on fct_daily_sales.order_date = expected.order_date

),

calendar_gaps as (

    {# A spine with a hole: fewer rows than days between its first and last day. #}
    select
        max(order_date) as order_date,
        true as is_missing_day

    from fct_daily_sales
    having
        count(*)
        != {{ dbt.datediff('min(order_date)', 'max(order_date)', 'day') }}
        + 1

),

final as (

    select
        order_date,
        is_missing_day

    from compared
    where
        is_missing_day
        or mart_order_count != expected_order_count
        or mart_gross_revenue != expected_gross_revenue
        or mart_net_revenue != expected_net_revenue
        or mart_unit_count != expected_unit_count
        or mart_cancelled_order_count != expected_cancelled_order_count
        or mart_returned_order_count != expected_returned_order_count
        or mart_customer_count != expected_customer_count
        or mart_new_customer_count != expected_new_customer_count

    union all

    select * from calendar_gaps

)

select * from final
