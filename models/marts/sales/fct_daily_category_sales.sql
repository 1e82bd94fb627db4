{#-
    One row per UTC day and product category, over the days of fct_daily_sales and every
    category of the catalogue, zeros where a category sold nothing. Built from the same live
    lines of live orders as fct_order_items; amounts are line totals (no shipping, which
    belongs to the order, not to a category).
-#}
with

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

stg_shop__products as (

    select * from {{ ref('stg_shop__products') }}

),

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

order_lines as (

    select
        int_orders_enriched.order_id,
        int_orders_enriched.customer_id,
        int_orders_enriched.order_status,
        cast(int_orders_enriched.ordered_at as date) as order_date,
        stg_shop__products.category,
        stg_shop__order_items.quantity,
        stg_shop__order_items.quantity * stg_shop__order_items.unit_price as line_total

    from stg_shop__order_items
    inner join int_orders_enriched
        on stg_shop__order_items.order_id = int_orders_enriched.order_id
    inner join stg_shop__products
        on stg_shop__order_items.product_id = stg_shop__products.product_id
    where not stg_shop__order_items.is_deleted

),

calendar as (

    select cast(date_day as date) as order_date
    from (
        {{ date_spine(
            'day',
            '(select min(cast(ordered_at as date)) from int_orders_enriched)',
            dbt.dateadd(
                'day', 1, '(select max(cast(ordered_at as date)) from int_orders_enriched)'
            ),
        ) }}
    ) as day_spine

),

categories as (

    select distinct category
    from stg_shop__products

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
        count(distinct customer_id) as customer_count

    from order_lines
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
        ) as net_item_revenue

    from calendar
    cross join categories
    left join daily_category_lines
        on
            calendar.order_date = daily_category_lines.order_date
            and categories.category = daily_category_lines.category

)

select * from final
