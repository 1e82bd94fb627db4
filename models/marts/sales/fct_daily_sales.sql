{#-
    One row per UTC day from the first to the latest order in the warehouse, days without
    orders included (zeros), from the orders of fct_orders. A day's figures are those of the
    orders placed that day, in their current status.

    Incremental on the day (delete+insert on order_date): a run recomputes the days of every
    order shop_orders_to_rebuild finds since the latest source_loaded_at here (deleted orders
    included: staging keeps them), the current first-order day of those orders' customers
    (a deleted or back-dated first order moves a customer's new-customer day), and the days
    the table does not hold yet; the pre-hook drops days outside the orders' new range. A
    table on Spark.
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='order_date',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where"
            ~ " order_date < (select min(order_date) from {{ ref('fct_orders') }})"
            ~ " or order_date > (select max(order_date) from {{ ref('fct_orders') }})"
            ~ "{% endif %}"
        ),
    )
}}
{#- What shop_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}

with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

orders_to_rebuild as (

    select stg_shop__orders.order_id, stg_shop__orders.customer_id, stg_shop__orders.ordered_at
    from stg_shop__orders
    where
        stg_shop__orders.order_id in (
            {{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }}
        )

),

days_to_rebuild as (

    select cast(ordered_at as date) as order_date
    from orders_to_rebuild

    union

    select min(fct_orders.order_date) as order_date
    from fct_orders
    where fct_orders.customer_id in (select orders_to_rebuild.customer_id from orders_to_rebuild)
    group by fct_orders.customer_id

),
{% endif %}

order_days as (

    select * from fct_orders

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
    {% if is_incremental() %}
        where
            cast(date_day as date) in (select days_to_rebuild.order_date from days_to_rebuild)
            or cast(date_day as date) > coalesce(
                (select max(built.order_date) from {{ this }} as built),
                cast('1900-01-01' as date)
            )
            or cast(date_day as date) < coalesce(
                (select min(built.order_date) from {{ this }} as built),
                cast('9999-12-31' as date)
            )
    {% endif %}

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
        count(distinct customer_id) as customer_count,
        max(source_loaded_at) as source_loaded_at

    from order_days
    {% if is_incremental() %}
        where order_date in (select calendar.order_date from calendar)
    {% endif %}
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
            as gross_average_order_value,
        daily_orders.source_loaded_at

    from calendar
    left join daily_orders
        on calendar.order_date = daily_orders.order_date
    left join daily_new_customers
        on calendar.order_date = daily_new_customers.order_date

)

select * from final
