{#-
    One row per UTC day and product category, over the days of fct_daily_sales (those of
    fct_orders) and every category of the catalogue, zeros where a category sold nothing.
    Built from the lines of fct_order_items (live lines of live orders); amounts are line
    totals (no shipping, which belongs to the order, not to a category).

    Incremental on the day (delete+insert on order_date, all categories of a day at once): a
    run recomputes the days of every order shop_orders_to_rebuild finds since the latest
    source_loaded_at here, the days with lines of a product loaded since (its category may
    have changed), and the days the table does not hold yet; every day when the set of
    categories changed. The pre-hook drops days outside the orders' new range. A table on
    Spark.
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

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),

stg_shop__products as (

    select * from {{ ref('stg_shop__products') }}

),

categories as (

    select distinct category
    from stg_shop__products

),

{% if is_incremental() %}
stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

days_to_rebuild as (

    select cast(stg_shop__orders.ordered_at as date) as order_date
    from stg_shop__orders
    where
        stg_shop__orders.order_id in (
            {{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }}
        )

    union

    select fct_order_items.order_date
    from fct_order_items
    inner join stg_shop__products
        on fct_order_items.product_id = stg_shop__products.product_id
    where stg_shop__products.loaded_at > {{ high_water_mark('source_loaded_at') }}

),

{# A category added or gone: every day gets its row, or loses it. #}
categories_changed as (

    select count(*) as changed_count
    from (
        select category from categories
        except
        select built.category from {{ this }} as built
    ) as added
    full outer join (
        select built.category from {{ this }} as built
        except
        select category from categories
    ) as removed
        on added.category = removed.category

),
{% endif %}

order_lines as (

    select
        fct_order_items.order_id,
        fct_order_items.customer_id,
        fct_order_items.order_status,
        fct_order_items.order_date,
        stg_shop__products.category,
        fct_order_items.quantity,
        fct_order_items.line_total,
        greatest(fct_order_items.source_loaded_at, stg_shop__products.loaded_at)
            as source_loaded_at

    from fct_order_items
    inner join stg_shop__products
        on fct_order_items.product_id = stg_shop__products.product_id

),

calendar as (

    select cast(date_day as date) as order_date
    from (
        {{ date_spine(
            'day',
            '(select min(fct_orders.order_date) from fct_orders)',
            dbt.dateadd('day', 1, '(select max(fct_orders.order_date) from fct_orders)'),
        ) }}
    ) as day_spine
    {% if is_incremental() %}
        where
            (select categories_changed.changed_count from categories_changed) > 0
            or cast(date_day as date) in (select days_to_rebuild.order_date from days_to_rebuild)
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

daily_category_lines as (

    select
        order_date,
        category,
        count(distinct order_id) as order_count,
        sum(quantity) as unit_count,
        sum(line_total) as gross_item_revenue,
        sum(
            case when order_status != 'cancelled' then line_total else 0 end
        ) as net_item_revenue,
        count(distinct customer_id) as customer_count,
        max(source_loaded_at) as source_loaded_at

    from order_lines
    {% if is_incremental() %}
        where order_date in (select calendar.order_date from calendar)
    {% endif %}
    group by order_date, category

),

final as (

    select
        calendar.order_date,
        categories.category,
        cast(
            coalesce(daily_category_lines.order_count, 0) as {{ dbt.type_bigint() }}
        ) as order_count,
        cast(
            coalesce(daily_category_lines.unit_count, 0) as {{ dbt.type_bigint() }}
        ) as unit_count,
        cast(
            coalesce(daily_category_lines.customer_count, 0) as {{ dbt.type_bigint() }}
        ) as customer_count,
        cast(
            coalesce(daily_category_lines.gross_item_revenue, 0) as decimal(18, 2)
        ) as gross_item_revenue,
        cast(
            coalesce(daily_category_lines.net_item_revenue, 0) as decimal(18, 2)
        ) as net_item_revenue,
        daily_category_lines.source_loaded_at

    from calendar
    cross join categories
    left join daily_category_lines
        on
            calendar.order_date = daily_category_lines.order_date
            and categories.category = daily_category_lines.category

)

select * from final
