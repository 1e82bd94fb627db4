{#-
    One row per customer account per as-of date: features from what was known strictly
    before the as-of instant (as_of_date 00:00 UTC), and the churn label from the window
    that starts at it. Point in time needs timestamps and deleted rows, which the marts
    (current state, deleted rows dropped) do not keep: orders, lines, refunds, reviews and
    events are read from staging, every one filtered on its own timestamp; customer
    attributes come from the SCD2 snapshot version in force just before the instant.
    Nothing depends on the wall clock: as-of dates end at the warehouse clock (the latest
    order), so a rebuild on the same data gives the same rows, and new data only adds
    as-of dates and completes labels. Each concern is an intermediate model of
    models/intermediate/ml with one row per spine row (customer_id, as_of_date): this
    model joins them and sets the contract's types.

    Incremental (a table on Spark), the unit of work a customer or an as-of date. The
    pre-hook deletes: every row of the customers customer_features_customers_to_rebuild
    finds (an input loaded after the mark of its source: profile_loaded_at, order_loaded_at,
    refund_loaded_at, review_loaded_at, events_loaded_at; a product whose category changed;
    a city `warehouse forget` blanked); the customers gone from dim_customers (now test
    accounts); and every as-of date that is no longer current (customer_features_current_as_of_dates):
    its label window closed on this clock (or reopened: the clock can move back when the
    latest order's customer becomes a test account), the web logs' first day moved (the
    coverage flag), or the grid lost it (the first order or the clock moved, or var
    customer_features_as_of_datepart changed). Those flags and the grid are the only things
    on a row that do not come from the customer's own rows, and they are the same on every
    row of a date, so a date they move is rebuilt whole rather than the table. Then the
    spine holds only what the table lacks (customers and dates with no row), and every step
    reads the spine, so the run reads only them. A change of var customer_features_recent_days
    or customer_churn_window_days moves every row: it needs --full-refresh.
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where customer_id in ("
            ~ "{{ customer_features_customers_to_rebuild() }})"
            ~ " or customer_id not in (select gone.customer_id from {{ ref('dim_customers') }}"
            ~ " as gone)"
            ~ " or as_of_date not in ({{ customer_features_current_as_of_dates(this) }})"
            ~ "{% endif %}"
        ),
    )
}}
{#- What the pre-hook reads, declared for dbt's parse (incremental runs only). -#}
-- depends_on: {{ ref('stg_shop__customers') }}, {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__order_items') }}, {{ ref('stg_shop__products') }}
-- depends_on: {{ ref('snp_shop__products') }}, {{ ref('snp_shop__customers') }}
-- depends_on: {{ ref('stg_payments__refunds') }}, {{ ref('stg_reviews__reviews') }}
-- depends_on: {{ ref('stg_clickstream__events') }}, {{ ref('dim_customers') }}
with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

profiles as (

    select * from {{ ref('int_customer_profiles_resolved') }}

),

order_history as (

    select * from {{ ref('int_customer_order_history_aggregated') }}

),

refund_history as (

    select * from {{ ref('int_customer_refund_history_aggregated') }}

),

review_history as (

    select * from {{ ref('int_customer_review_history_aggregated') }}

),

web_activity as (

    select * from {{ ref('int_customer_web_activity_aggregated') }}

),

churn_labels as (

    select * from {{ ref('int_customer_churn_labels_computed') }}

),

source_loads as (

    select * from {{ ref('int_customer_source_loads_aggregated') }}

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        churn_labels.is_churned,
        churn_labels.is_label_complete,
        profiles.is_profile_known,
        profiles.country_code,
        profiles.city,
        cast({{ dbt.datediff(
            'cast(customer_spine.customer_created_at as date)',
            'customer_spine.as_of_date',
            'day',
        ) }} as {{ dbt.type_bigint() }}) as account_age_days,
        cast(order_history.order_count as {{ dbt.type_bigint() }}) as order_count,
        cast(order_history.recent_order_count as {{ dbt.type_bigint() }}) as recent_order_count,
        cast(order_history.total_spend as decimal(18, 2)) as total_spend,
        cast(order_history.recent_spend as decimal(18, 2)) as recent_spend,
        cast(order_history.average_order_value as decimal(18, 2)) as average_order_value,
        order_history.first_order_at,
        order_history.last_order_at,
        cast(order_history.days_since_first_order as {{ dbt.type_bigint() }})
            as days_since_first_order,
        cast(order_history.days_since_last_order as {{ dbt.type_bigint() }})
            as days_since_last_order,
        cast(order_history.distinct_category_count as {{ dbt.type_bigint() }})
            as distinct_category_count,
        order_history.top_category,
        cast(refund_history.refund_count as {{ dbt.type_bigint() }}) as refund_count,
        cast(refund_history.refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(review_history.review_count as {{ dbt.type_bigint() }}) as review_count,
        cast(review_history.average_rating as decimal(3, 2)) as average_rating,
        review_history.last_reviewed_at,
        web_activity.is_clickstream_covered,
        web_activity.recent_event_count,
        web_activity.recent_product_view_count,
        web_activity.recent_add_to_cart_count,
        web_activity.recent_active_day_count,
        source_loads.profile_loaded_at,
        source_loads.order_loaded_at,
        source_loads.refund_loaded_at,
        source_loads.review_loaded_at,
        source_loads.events_loaded_at,
        {{ latest_of([
            'source_loads.profile_loaded_at',
            'source_loads.order_loaded_at',
            'source_loads.refund_loaded_at',
            'source_loads.review_loaded_at',
            'source_loads.events_loaded_at',
        ]) }} as source_loaded_at

    from customer_spine
    left join profiles
        on
            customer_spine.customer_id = profiles.customer_id
            and customer_spine.as_of_date = profiles.as_of_date
    left join order_history
        on
            customer_spine.customer_id = order_history.customer_id
            and customer_spine.as_of_date = order_history.as_of_date
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
    left join churn_labels
        on
            customer_spine.customer_id = churn_labels.customer_id
            and customer_spine.as_of_date = churn_labels.as_of_date
    left join source_loads
        on
            customer_spine.customer_id = source_loads.customer_id
            and customer_spine.as_of_date = source_loads.as_of_date

)

select * from final
