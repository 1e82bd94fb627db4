{#-
    Attribution never invents revenue: on every day, the orders and revenue
    fct_campaign_performance attributes by last touch, and those it attributes by first
    touch, both equal those of the day's orders (fct_orders, not cancelled) that have a
    campaign touch, and never exceed those of all the day's orders that are not cancelled.
    Returns the disagreeing days.
    Scope: whole tables on every run. A day's attributed revenue changes when a login re-
    stitches an old session or an order changes, without a row of the day being loaded; the
    marts are read only by day sums.
-#}
with

fct_campaign_performance as (

    select * from {{ ref('fct_campaign_performance') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_order_attribution as (

    select * from {{ ref('fct_order_attribution') }}

),

attributed_by_day as (

    select
        activity_date as order_date,
        sum(last_touch_order_count) as last_touch_order_count,
        sum(last_touch_revenue) as last_touch_revenue,
        sum(first_touch_order_count) as first_touch_order_count,
        sum(first_touch_revenue) as first_touch_revenue

    from fct_campaign_performance
    group by activity_date

),

orders_by_day as (

    select
        fct_orders.order_date,
        count(*) as order_count,
        sum(fct_orders.order_total) as revenue,
        sum(
            case when fct_order_attribution.touch_count > 0 then 1 else 0 end
        ) as touched_order_count,
        sum(
            case
                when fct_order_attribution.touch_count > 0 then fct_orders.order_total
                else 0
            end
        ) as touched_revenue

    from fct_orders
    left join fct_order_attribution
        on fct_orders.order_id = fct_order_attribution.order_id
    where fct_orders.order_status != 'cancelled'
    group by fct_orders.order_date

),

compared as (

    select
        coalesce(attributed_by_day.order_date, orders_by_day.order_date) as order_date,
        coalesce(attributed_by_day.last_touch_order_count, 0) as last_touch_order_count,
        coalesce(attributed_by_day.last_touch_revenue, 0) as last_touch_revenue,
        coalesce(attributed_by_day.first_touch_order_count, 0) as first_touch_order_count,
        coalesce(attributed_by_day.first_touch_revenue, 0) as first_touch_revenue,
        coalesce(orders_by_day.order_count, 0) as order_count,
        coalesce(orders_by_day.revenue, 0) as revenue,
        coalesce(orders_by_day.touched_order_count, 0) as touched_order_count,
        coalesce(orders_by_day.touched_revenue, 0) as touched_revenue

    from attributed_by_day
    full outer join orders_by_day
        on attributed_by_day.order_date = orders_by_day.order_date

),

final as (

    select * from compared
    where
        last_touch_revenue > revenue
        or first_touch_revenue > revenue
        or last_touch_order_count > order_count
        or first_touch_order_count > order_count
        or last_touch_revenue != touched_revenue
        or first_touch_revenue != touched_revenue
        or last_touch_order_count != touched_order_count
        or first_touch_order_count != touched_order_count

)

select * from final
