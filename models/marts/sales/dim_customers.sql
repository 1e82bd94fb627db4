{#-
    One row per real customer account (test accounts excluded), with order history and a
    segment. Ages are counted to the warehouse clock, the day of the latest order in the
    warehouse, not to the wall clock: a rebuild on the same data gives the same segments,
    and a warehouse loaded with old data is segmented as it was then.

    Incremental on the customer (delete+insert on customer_id). A run aggregates the orders
    of the affected customers only: those whose customer row was loaded after the latest
    source_loaded_at here (the mark), whose orders shop_orders_to_rebuild finds (an order,
    line, shipment loaded after the mark, a deleted order: staging keeps it), whose refunds
    were loaded after it, and whose row here differs from staging in a column staging gives
    (warehouse forget blanks the raw PII in place, without a new load) or is missing. Every
    other customer with orders whose days_since_last_order is not the one on the current
    clock is re-aged from the stored row (first and last order, count, lifetime value are
    all the segment rule reads), through the same segment rule. Why that equals a full
    refresh with the same clock: the clock only enters days_since_last_order and the
    segment, of customers with orders, and both change with it exactly when
    days_since_last_order does; every other column is the customer's row and orders,
    whose changes reload a row after the mark. The pre-hook removes customers gone from
    staging (now a test account). A table on Spark (no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where customer_id not in ("
            ~ "select live.customer_id from {{ ref('stg_shop__customers') }} as live)"
            ~ "{% endif %}"
        ),
    )
}}
{#- What shop_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}

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

{% if is_incremental() %}
{% set mark = high_water_mark('source_loaded_at') %}
stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

built as (

    select * from {{ this }}

),

{# Customers whose orders are aggregated again: see the header. #}
customers_to_rebuild as (

    select stg_shop__customers.customer_id
    from stg_shop__customers
    where stg_shop__customers.loaded_at > {{ mark }}

    union

    select stg_shop__orders.customer_id
    from stg_shop__orders
    where stg_shop__orders.order_id in ({{ shop_orders_to_rebuild(mark) }})

    union

    select stg_shop__orders.customer_id
    from stg_payments__refunds
    inner join stg_shop__orders
        on stg_payments__refunds.order_id = stg_shop__orders.order_id
    where stg_payments__refunds.loaded_at > {{ mark }}

    union

    select stg_shop__customers.customer_id
    from stg_shop__customers
    left join built
        on stg_shop__customers.customer_id = built.customer_id
    where
        built.customer_id is null
        or built.email_hash is distinct from stg_shop__customers.email_hash
        or built.city is distinct from stg_shop__customers.city
        or built.country_code is distinct from stg_shop__customers.country_code
        or built.is_deleted is distinct from stg_shop__customers.is_deleted
        or built.customer_created_at is distinct from stg_shop__customers.customer_created_at
        or built.deleted_at is distinct from stg_shop__customers.deleted_at

),

{# The other customers with orders whose age moved with the clock, as stored. #}
customers_to_age as (

    select
        built.customer_id,
        built.first_order_at,
        built.last_order_at,
        built.order_count,
        built.lifetime_value,
        built.source_loaded_at as orders_loaded_at

    from built
    cross join warehouse_clock
    {# An anti-join, not "not in": a NULL customer_id in the list would make it match nothing. #}
    left join customers_to_rebuild
        on built.customer_id = customers_to_rebuild.customer_id
    where
        customers_to_rebuild.customer_id is null
        and built.order_count > 0
        and built.days_since_last_order is distinct from {{ dbt.datediff(
            'cast(built.last_order_at as date)', 'warehouse_clock.as_of_date', 'day'
        ) }}

),
{% endif %}

{#
    Money given back to the customer for an order: succeeded refunds, except those of a
    duplicate charge, which return an overcharge and leave the order's value as it was.
#}
order_refunds as (

    select
        order_id,
        sum(refund_amount) as refunded_amount,
        max(loaded_at) as refunds_loaded_at

    from stg_payments__refunds
    where refund_status = 'succeeded' and refund_reason != 'duplicate'
    group by order_id

),

order_values as (

    select
        int_orders_enriched.customer_id,
        int_orders_enriched.ordered_at,
        greatest(
            int_orders_enriched.source_loaded_at, order_refunds.refunds_loaded_at
        ) as loaded_at,
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
    {% if is_incremental() %}
        where
            int_orders_enriched.customer_id in (
                select customers_to_rebuild.customer_id from customers_to_rebuild
            )
    {% endif %}

),

customer_orders as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(net_order_value) as lifetime_value,
        max(loaded_at) as orders_loaded_at

    from order_values
    group by customer_id

    {% if is_incremental() %}
        union all

        select * from customers_to_age
    {% endif %}

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
        stg_shop__customers.deleted_at,
        greatest(
            stg_shop__customers.loaded_at, customer_ages.orders_loaded_at
        ) as source_loaded_at

    from stg_shop__customers
    left join customer_ages
        on stg_shop__customers.customer_id = customer_ages.customer_id
    {% if is_incremental() %}
        where
            stg_shop__customers.customer_id in (
                select customers_to_rebuild.customer_id from customers_to_rebuild
            )
            or stg_shop__customers.customer_id in (
                select customers_to_age.customer_id from customers_to_age
            )
    {% endif %}

)

select * from final
