{#-
    One row per customer account per as-of date at which the account existed and was not
    deleted, with the as-of instant and the warehouse clock: the grain of customer_features.
    Nothing depends on the wall clock: as-of dates end at the warehouse clock (the latest
    order), so a rebuild on the same data gives the same rows. The grid and the clock are
    macros (customer_features_clock, customer_features_as_of_dates), which the model's
    pre-hook reads too.

    On an incremental run of customer_features, the spine holds only what its table lacks
    after the pre-hook: the customers it deleted to rebuild (and new ones), and the as-of
    dates it does not hold (new, or deleted as no longer current). Every step reads this
    spine, so the run reads only those customers and dates.
-#}
with

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

warehouse_clock as (

    {{ customer_features_clock() }}

),

as_of_dates as (

    {{ customer_features_as_of_dates('warehouse_clock') }}

),

{# Accounts that existed, and were not deleted, at the as-of instant. #}
customer_as_of_dates as (

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

),

{%- set built = incremental_mart_relation('customer_features') %}

final as (

    select * from customer_as_of_dates
    {%- if built is not none %}
        where
            customer_id not in (select built_rows.customer_id from {{ built }} as built_rows)
            or as_of_date not in (select built_rows.as_of_date from {{ built }} as built_rows)
    {%- endif %}

)

select * from final
