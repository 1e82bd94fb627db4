{#-
    One row per customer account per as-of date at which the account existed and was not
    deleted, with the as-of instant and the warehouse clock: the grain of customer_features.
    Nothing depends on the wall clock: as-of dates end at the warehouse clock (the latest
    order), so a rebuild on the same data gives the same rows.
-#}
{%- set as_of_datepart = var('customer_features_as_of_datepart') -%}

with

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

{#
    Every order of a real customer (dim_customers has no test account), deleted ones
    included: an order deleted after an as-of date was there at that date.
#}
customer_orders as (

    select stg_shop__orders.ordered_at

    from stg_shop__orders
    inner join dim_customers
        on stg_shop__orders.customer_id = dim_customers.customer_id

),

{#
    The warehouse clock: the latest order, deleted ones included, so that it never moves
    back when an order is deleted.
#}
warehouse_clock as (

    select max(ordered_at) as clock_at
    from customer_orders

),

{# The first day of every period after the first order's, up to the warehouse clock. #}
as_of_dates as (

    select
        cast(date_{{ as_of_datepart }} as date) as as_of_date,
        cast(date_{{ as_of_datepart }} as {{ dbt.type_timestamp() }}) as as_of_at

    from (
        {{ date_spine(
            as_of_datepart,
            dbt.dateadd(
                as_of_datepart,
                1,
                dbt.date_trunc(
                    as_of_datepart, '(select min(customer_orders.ordered_at) from customer_orders)'
                ),
            ),
            '(select warehouse_clock.clock_at from warehouse_clock)',
        ) }}
    ) as as_of_spine

),

{# Accounts that existed, and were not deleted, at the as-of instant. #}
final as (

    select
        dim_customers.customer_id,
        as_of_dates.as_of_date,
        as_of_dates.as_of_at,
        dim_customers.customer_created_at,
        warehouse_clock.clock_at

    from dim_customers
    inner join as_of_dates
        on dim_customers.customer_created_at < as_of_dates.as_of_at
    cross join warehouse_clock
    where
        dim_customers.deleted_at is null
        or dim_customers.deleted_at >= as_of_dates.as_of_at

)

select * from final
