{#-
    fct_daily_category_sales adds up to fct_order_items: for every day and category (the
    product's category in dim_products), its units and item revenues equal those of the
    order lines, and a day's categories together hold every line of the day. Returns the
    disagreeing days and categories.
    Scope: whole tables on every run. A reconciliation by day and category over small day
    tables; a line moving between days leaves no loaded row on its old day.
-#}
with

fct_daily_category_sales as (

    select * from {{ ref('fct_daily_category_sales') }}

),

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

lines_by_day_and_category as (

    select
        fct_order_items.order_date,
        dim_products.category,
        count(distinct fct_order_items.order_id) as order_count,
        sum(fct_order_items.quantity) as unit_count,
        sum(fct_order_items.line_total) as gross_item_revenue,
        sum(
            case
                when fct_order_items.order_status != 'cancelled'
                    then fct_order_items.line_total
                else 0
            end
        ) as net_item_revenue

    from fct_order_items
    left join dim_products
        on fct_order_items.product_id = dim_products.product_id
    group by fct_order_items.order_date, dim_products.category

),

final as (

    select
        fct_daily_category_sales.gross_item_revenue as mart_gross_item_revenue,
        coalesce(
            fct_daily_category_sales.order_date, lines_by_day_and_category.order_date
        ) as order_date,
        coalesce(
            fct_daily_category_sales.category, lines_by_day_and_category.category
        ) as category,
        coalesce(lines_by_day_and_category.gross_item_revenue, 0) as expected_gross_item_revenue

    from fct_daily_category_sales
    full outer join lines_by_day_and_category
        on
            fct_daily_category_sales.order_date = lines_by_day_and_category.order_date
            and fct_daily_category_sales.category = lines_by_day_and_category.category
    where
        fct_daily_category_sales.order_date is null
        or fct_daily_category_sales.order_count
        != coalesce(lines_by_day_and_category.order_count, 0)
        or fct_daily_category_sales.unit_count
        != coalesce(lines_by_day_and_category.unit_count, 0)
        or fct_daily_category_sales.gross_item_revenue
        != coalesce(lines_by_day_and_category.gross_item_revenue, 0)
        or fct_daily_category_sales.net_item_revenue
        != coalesce(lines_by_day_and_category.net_item_revenue, 0)

)

select * from final
