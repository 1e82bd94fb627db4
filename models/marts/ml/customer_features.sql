{#-
    One row per customer account per as-of date: features from what was known strictly
    before the as-of instant (as_of_date 00:00 UTC), and the churn label from the window
    that starts at it. Point in time needs timestamps and deleted rows, which the marts
    (current state, deleted rows dropped) do not keep: orders, lines, refunds, reviews and
    events are read from staging, every one filtered on its own timestamp; customer
    attributes come from the SCD2 snapshot version in force just before the instant.
    Nothing depends on the wall clock: as-of dates end at the warehouse clock (the latest
    order), so a rebuild on the same data gives the same rows, and new data only adds
    as-of dates and completes labels.
-#}
{%- set as_of_datepart = var('customer_features_as_of_datepart') -%}
{%- set recent_days = var('customer_features_recent_days') -%}
{%- set churn_window_days = var('customer_churn_window_days') -%}

with

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

snp_shop__customers as (

    select * from {{ ref('snp_shop__customers') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}

),

stg_reviews__reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

stg_clickstream__events as (

    select * from {{ ref('stg_clickstream__events') }}

),

{#
    Every order of a real customer (dim_customers has no test account), deleted ones
    included: an order deleted after an as-of date was there at that date.
#}
customer_orders as (

    select
        stg_shop__orders.order_id,
        stg_shop__orders.customer_id,
        stg_shop__orders.order_total,
        stg_shop__orders.ordered_at,
        stg_shop__orders.deleted_at

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
customer_spine as (

    select
        dim_customers.customer_id,
        dim_customers.customer_created_at,
        as_of_dates.as_of_date,
        as_of_dates.as_of_at

    from dim_customers
    inner join as_of_dates
        on dim_customers.customer_created_at < as_of_dates.as_of_at
    where
        dim_customers.deleted_at is null
        or dim_customers.deleted_at >= as_of_dates.as_of_at

),

{# The snapshot version in force just before the instant; none before the first run. #}
profiles as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        snp_shop__customers.country_code,
        snp_shop__customers.city

    from customer_spine
    inner join snp_shop__customers
        on customer_spine.customer_id = snp_shop__customers.customer_id
    where
        snp_shop__customers.dbt_valid_from < customer_spine.as_of_at
        and customer_spine.as_of_at <= snp_shop__customers.dbt_valid_to
        and snp_shop__customers.dbt_is_deleted = 'False'

),

orders_before as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        customer_spine.as_of_at,
        customer_orders.order_id,
        customer_orders.order_total,
        customer_orders.ordered_at

    from customer_spine
    inner join customer_orders
        on customer_spine.customer_id = customer_orders.customer_id
    where
        customer_orders.ordered_at < customer_spine.as_of_at
        and (
            customer_orders.deleted_at is null
            or customer_orders.deleted_at >= customer_spine.as_of_at
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

refund_history as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as refund_count,
        sum(stg_payments__refunds.refund_amount) as refunded_amount

    from customer_spine
    inner join customer_orders
        on customer_spine.customer_id = customer_orders.customer_id
    inner join stg_payments__refunds
        on customer_orders.order_id = stg_payments__refunds.order_id
    where
        stg_payments__refunds.refunded_at < customer_spine.as_of_at
        and stg_payments__refunds.refund_status = 'succeeded'
    group by customer_spine.customer_id, customer_spine.as_of_date

),

{#
    A review counts from when it was written. Staging keeps only its latest version, so
    its rating is known at the as-of instant only when its last edit came before it.
#}
review_history as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as review_count,
        avg(
            case
                when stg_reviews__reviews.review_updated_at < customer_spine.as_of_at
                    then stg_reviews__reviews.rating
            end
        ) as average_rating,
        max(stg_reviews__reviews.reviewed_at) as last_reviewed_at

    from customer_spine
    inner join customer_orders
        on customer_spine.customer_id = customer_orders.customer_id
    inner join stg_reviews__reviews
        on customer_orders.order_id = stg_reviews__reviews.order_id
    where stg_reviews__reviews.reviewed_at < customer_spine.as_of_at
    group by customer_spine.customer_id, customer_spine.as_of_date

),

{# The web logs start at a given day; before it there is nothing to count. #}
clickstream_coverage as (

    select min(cast(event_at as date)) as first_logged_date
    from stg_clickstream__events

),

web_activity as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as recent_event_count,
        sum(
            case when stg_clickstream__events.event_type = 'product_view' then 1 else 0 end
        ) as recent_product_view_count,
        sum(
            case when stg_clickstream__events.event_type = 'add_to_cart' then 1 else 0 end
        ) as recent_add_to_cart_count,
        count(distinct cast(stg_clickstream__events.event_at as date)) as recent_active_day_count

    from customer_spine
    inner join stg_clickstream__events
        on customer_spine.customer_id = stg_clickstream__events.customer_id
    where
        stg_clickstream__events.event_at < customer_spine.as_of_at
        and stg_clickstream__events.event_at
        >= {{ dbt.dateadd('day', -1 * recent_days, 'customer_spine.as_of_at') }}
    group by customer_spine.customer_id, customer_spine.as_of_date

),

{# The label: orders placed in the churn window, whatever became of them later. #}
future_orders as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        count(*) as future_order_count

    from customer_spine
    inner join customer_orders
        on customer_spine.customer_id = customer_orders.customer_id
    where
        customer_orders.ordered_at >= customer_spine.as_of_at
        and customer_orders.ordered_at
        < {{ dbt.dateadd('day', churn_window_days, 'customer_spine.as_of_at') }}
    group by customer_spine.customer_id, customer_spine.as_of_date

),

features as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        (
            {{ dbt.dateadd('day', churn_window_days, 'customer_spine.as_of_at') }}
            <= warehouse_clock.clock_at
        ) as is_label_complete,
        coalesce(future_orders.future_order_count, 0) as future_order_count,
        profiles.customer_id is not null as is_profile_known,
        profiles.country_code,
        profiles.city,
        {{ dbt.datediff(
            'cast(customer_spine.customer_created_at as date)',
            'customer_spine.as_of_date',
            'day',
        ) }} as account_age_days,
        coalesce(order_history.order_count, 0) as order_count,
        coalesce(order_history.recent_order_count, 0) as recent_order_count,
        coalesce(order_history.total_spend, 0) as total_spend,
        coalesce(order_history.recent_spend, 0) as recent_spend,
        {{ divide('order_history.total_spend', 'order_history.order_count') }}
            as average_order_value,
        order_history.first_order_at,
        order_history.last_order_at,
        {{ dbt.datediff(
            'cast(order_history.first_order_at as date)', 'customer_spine.as_of_date', 'day',
        ) }} as days_since_first_order,
        {{ dbt.datediff(
            'cast(order_history.last_order_at as date)', 'customer_spine.as_of_date', 'day',
        ) }} as days_since_last_order,
        coalesce(category_history.distinct_category_count, 0) as distinct_category_count,
        category_history.top_category,
        coalesce(refund_history.refund_count, 0) as refund_count,
        coalesce(refund_history.refunded_amount, 0) as refunded_amount,
        coalesce(review_history.review_count, 0) as review_count,
        review_history.average_rating,
        review_history.last_reviewed_at,
        coalesce(
            clickstream_coverage.first_logged_date
            <= {{ dbt.dateadd('day', -1 * recent_days, 'customer_spine.as_of_date') }},
            false
        ) as is_clickstream_covered,
        web_activity.recent_event_count,
        web_activity.recent_product_view_count,
        web_activity.recent_add_to_cart_count,
        web_activity.recent_active_day_count

    from customer_spine
    cross join warehouse_clock
    cross join clickstream_coverage
    left join profiles
        on
            customer_spine.customer_id = profiles.customer_id
            and customer_spine.as_of_date = profiles.as_of_date
    left join order_history
        on
            customer_spine.customer_id = order_history.customer_id
            and customer_spine.as_of_date = order_history.as_of_date
    left join category_history
        on
            customer_spine.customer_id = category_history.customer_id
            and customer_spine.as_of_date = category_history.as_of_date
    left join refund_history
        on
            customer_spine.customer_id = refund_history.customer_id
            and customer_spine.as_of_date = refund_history.as_of_date
    left join review_history
        on
            customer_spine.customer_id = review_history.customer_id
            and customer_spine.as_of_date = review_history.as_of_date
    left join web_activity
        on
            customer_spine.customer_id = web_activity.customer_id
            and customer_spine.as_of_date = web_activity.as_of_date
    left join future_orders
        on
            customer_spine.customer_id = future_orders.customer_id
            and customer_spine.as_of_date = future_orders.as_of_date

),

final as (

    select
        customer_id,
        as_of_date,
        case when is_label_complete then future_order_count = 0 end as is_churned,
        is_label_complete,
        is_profile_known,
        country_code,
        city,
        cast(account_age_days as {{ dbt.type_bigint() }}) as account_age_days,
        cast(order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(recent_order_count as {{ dbt.type_bigint() }}) as recent_order_count,
        cast(total_spend as decimal(18, 2)) as total_spend,
        cast(recent_spend as decimal(18, 2)) as recent_spend,
        cast(average_order_value as decimal(18, 2)) as average_order_value,
        first_order_at,
        last_order_at,
        cast(days_since_first_order as {{ dbt.type_bigint() }}) as days_since_first_order,
        cast(days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
        cast(distinct_category_count as {{ dbt.type_bigint() }}) as distinct_category_count,
        top_category,
        cast(refund_count as {{ dbt.type_bigint() }}) as refund_count,
        cast(refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(review_count as {{ dbt.type_bigint() }}) as review_count,
        cast(average_rating as decimal(3, 2)) as average_rating,
        last_reviewed_at,
        is_clickstream_covered,
        {# Unknown (NULL) until the web logs cover the whole recent window. #}
        case
            when is_clickstream_covered
                then cast(coalesce(recent_event_count, 0) as {{ dbt.type_bigint() }})
        end as recent_event_count,
        case
            when is_clickstream_covered
                then cast(coalesce(recent_product_view_count, 0) as {{ dbt.type_bigint() }})
        end as recent_product_view_count,
        case
            when is_clickstream_covered
                then cast(coalesce(recent_add_to_cart_count, 0) as {{ dbt.type_bigint() }})
        end as recent_add_to_cart_count,
        case
            when is_clickstream_covered
                then cast(coalesce(recent_active_day_count, 0) as {{ dbt.type_bigint() }})
        end as recent_active_day_count

    from features

)

select * from final
