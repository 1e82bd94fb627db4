{#-
    The rules of customer_features' incremental runs, each with one home here: the as-of
    grid and the warehouse clock (read by the spine, int_customer_as_of_dates_spined, and by
    the model's pre-hook), the two flags every row of an as-of date shares (read by the
    churn label and web activity steps, and by the pre-hook), and the customers whose inputs
    were loaded after the model's marks. Whether a run is incremental, which the spine's
    filter asks, is incremental_mart_relation's.
-#}

{#-
    Renders a select of one row: the first order and the warehouse clock (the latest order)
    of real customers (dim_customers has no test account), deleted orders included: an order
    deleted later was there before, and the clock never moves back when one is deleted.
-#}
{% macro customer_features_clock() -%}
    select
        min(clock_orders.ordered_at) as first_ordered_at,
        max(clock_orders.ordered_at) as clock_at

    from {{ ref('stg_shop__orders') }} as clock_orders
    inner join {{ ref('dim_customers') }} as clock_customers
        on clock_orders.customer_id = clock_customers.customer_id
{%- endmacro %}

{#-
    Renders a select of the as-of grid (as_of_date, as_of_at): the first day of every period
    (var customer_features_as_of_datepart) after the first order's, up to the warehouse
    clock. clock is a relation (a CTE's name, or a parenthesized customer_features_clock()).
-#}
{% macro customer_features_as_of_dates(clock) -%}
    {%- set as_of_datepart = var('customer_features_as_of_datepart') -%}
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
                    as_of_datepart,
                    '(select grid_clock.first_ordered_at from ' ~ clock ~ ' as grid_clock)',
                ),
            ),
            '(select grid_clock.clock_at from ' ~ clock ~ ' as grid_clock)',
        ) }}
    ) as as_of_spine
{%- endmacro %}

{#-
    The expression for is_label_complete: the churn window (var customer_churn_window_days)
    from the as-of instant ends at or before the warehouse clock.
-#}
{% macro customer_features_is_label_complete(as_of_at, clock_at) -%}
    ({{ dbt.dateadd('day', var('customer_churn_window_days'), as_of_at) }} <= {{ clock_at }})
{%- endmacro %}

{#- Renders a select of one row: the first day the web logs hold (first_logged_date). -#}
{% macro customer_features_clickstream_coverage() -%}
    select min(cast(covered_events.event_at as date)) as first_logged_date
    from {{ ref('stg_clickstream__events') }} as covered_events
{%- endmacro %}

{#-
    The expression for is_clickstream_covered: the web logs cover the whole recent window
    (var customer_features_recent_days) before the as-of date; false without logs.
-#}
{% macro customer_features_is_clickstream_covered(first_logged_date, as_of_date) -%}
    coalesce(
        {{ first_logged_date }}
        <= {{ dbt.dateadd('day', -1 * var('customer_features_recent_days'), as_of_date) }},
        false
    )
{%- endmacro %}

{#-
    Renders a select of the as-of dates of relation (customer_features) that are still
    current: in today's grid, with the label completeness and the web-log coverage the
    clock and the logs give today. Both flags are the same on every row of a date, and only
    the clock, the logs' first day and the grid move them; a date that is not current
    (a label window that closed, the logs' first day moved, a date the grid lost) is
    rebuilt whole.
-#}
{% macro customer_features_current_as_of_dates(relation) -%}
    select stored_dates.as_of_date
    from (
        select distinct as_of_date, is_label_complete, is_clickstream_covered
        from {{ relation }}
    ) as stored_dates
    cross join ({{ customer_features_clock() }}) as current_clock
    cross join ({{ customer_features_clickstream_coverage() }}) as current_coverage
    where
        stored_dates.as_of_date in (
            select current_grid.as_of_date
            from (
                {{ customer_features_as_of_dates('(' ~ customer_features_clock() ~ ')') }}
            ) as current_grid
        )
        and stored_dates.is_label_complete = {{ customer_features_is_label_complete(
            'cast(stored_dates.as_of_date as ' ~ dbt.type_timestamp() ~ ')',
            'current_clock.clock_at',
        ) }}
        and stored_dates.is_clickstream_covered = {{ customer_features_is_clickstream_covered(
            'current_coverage.first_logged_date', 'stored_dates.as_of_date'
        ) }}
{%- endmacro %}

{#-
    In customer_features' pre-hook: renders a select of the customer_id of every customer
    whose rows may have changed since the model's marks, one per source (the high_water_mark
    of its load-time columns): the account's row (profile_loaded_at: created, deleted, a new
    snapshot version); an order, a line, or a product of a line (its category) loaded after
    order_loaded_at (a status, a hard delete: staging keeps deleted rows, flagged; a product
    only if its category ever changed, per its snapshot versions, as a price change moves
    no feature); a refund
    of an order after refund_loaded_at; a review of an order after review_loaded_at; a
    logged-in web event after events_loaded_at (a late or redelivered event). And every
    customer whose stored city is in no snapshot version of theirs: `warehouse forget` blanks
    it in the snapshot in place, with no new load.
-#}
{% macro customer_features_customers_to_rebuild() -%}
    {%- set order_mark = high_water_mark('order_loaded_at') -%}
    select loaded_customers.customer_id
    from {{ ref('stg_shop__customers') }} as loaded_customers
    where loaded_customers.loaded_at > {{ high_water_mark('profile_loaded_at') }}

    union

    select changed_orders.customer_id
    from {{ ref('stg_shop__orders') }} as changed_orders
    where
        changed_orders.loaded_at > {{ order_mark }}
        or changed_orders.order_id in (
            select loaded_lines.order_id
            from {{ ref('stg_shop__order_items') }} as loaded_lines
            where
                loaded_lines.loaded_at > {{ order_mark }}
                or loaded_lines.product_id in (
                    select loaded_products.product_id
                    from {{ ref('stg_shop__products') }} as loaded_products
                    where
                        loaded_products.loaded_at > {{ order_mark }}
                        and loaded_products.product_id in (
                            select product_versions.product_id
                            from {{ ref('snp_shop__products') }} as product_versions
                            group by product_versions.product_id
                            having count(distinct product_versions.category) > 1
                        )
                )
        )
        or changed_orders.order_id in (
            select loaded_refunds.order_id
            from {{ ref('stg_payments__refunds') }} as loaded_refunds
            where loaded_refunds.loaded_at > {{ high_water_mark('refund_loaded_at') }}
        )
        or changed_orders.order_id in (
            select loaded_reviews.order_id
            from {{ ref('stg_reviews__reviews') }} as loaded_reviews
            where loaded_reviews.loaded_at > {{ high_water_mark('review_loaded_at') }}
        )

    union

    select loaded_events.customer_id
    from {{ ref('stg_clickstream__events') }} as loaded_events
    where
        loaded_events.customer_id is not null
        and loaded_events.loaded_at > {{ high_water_mark('events_loaded_at') }}

    union

    select stored_rows.customer_id
    from {{ this }} as stored_rows
    where
        stored_rows.city is not null
        and not exists (
            select 1
            from {{ ref('snp_shop__customers') }} as customer_versions
            where
                customer_versions.customer_id = stored_rows.customer_id
                and customer_versions.city = stored_rows.city
        )
{%- endmacro %}
