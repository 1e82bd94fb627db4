{#-
    The sales marts' revenue is the shop's: for the orders of real customers that are not
    deleted (test accounts found again in the raw source with is_test_account(),
    independently of the staging filter), the order count, gross revenue (every status)
    and net revenue (cancelled orders left out) of staging equal those of fct_orders,
    of fct_daily_sales summed over its days and of dim_customers summed over its customers;
    and dim_customers' lifetime value equals the net revenue less what was refunded on
    those orders (succeeded refunds other than of duplicate charges, an order never below
    0). Returns the disagreeing measures, by model.
    Scope: whole tables on every run. Totals over all orders: a sum cannot be checked on
    part of the rows.
-#}
with

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_daily_sales as (

    select * from {{ ref('fct_daily_sales') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

test_accounts as (

    {{ test_account_ids() }}

),

real_live_orders as (

    select * from stg_shop__orders
    where
        not is_deleted
        and customer_id not in (select test_accounts.customer_id from test_accounts)

),

customer_refunds as (

    select
        order_id,
        sum(refund_amount) as refunded_amount

    from stg_payments__refunds
    where refund_status = 'succeeded' and refund_reason != 'duplicate'
    group by order_id

),

staging_totals as (

    select
        count(*) as order_count,
        coalesce(sum(real_live_orders.order_total), 0) as gross_revenue,
        coalesce(
            sum(
                case
                    when real_live_orders.order_status != 'cancelled'
                        then real_live_orders.order_total
                    else 0
                end
            ),
            0
        ) as net_revenue,
        coalesce(
            sum(
                case
                    when real_live_orders.order_status = 'cancelled' then 0
                    when
                        coalesce(customer_refunds.refunded_amount, 0)
                        >= real_live_orders.order_total
                        then 0
                    else
                        real_live_orders.order_total
                        - coalesce(customer_refunds.refunded_amount, 0)
                end
            ),
            0
        ) as lifetime_value

    from real_live_orders
    left join customer_refunds
        on real_live_orders.order_id = customer_refunds.order_id

),

mart_totals as (

    select
        'fct_orders' as model_name,
        count(*) as order_count,
        coalesce(sum(order_total), 0) as gross_revenue,
        coalesce(
            sum(case when order_status != 'cancelled' then order_total else 0 end), 0
        ) as net_revenue,
        cast(null as decimal(18, 2)) as lifetime_value

    from fct_orders

    union all

    select
        'fct_daily_sales' as model_name,
        coalesce(sum(order_count), 0) as order_count,
        coalesce(sum(gross_revenue), 0) as gross_revenue,
        coalesce(sum(net_revenue), 0) as net_revenue,
        cast(null as decimal(18, 2)) as lifetime_value

    from fct_daily_sales

    union all

    select
        'dim_customers' as model_name,
        coalesce(sum(order_count), 0) as order_count,
        cast(null as decimal(18, 2)) as gross_revenue,
        cast(null as decimal(18, 2)) as net_revenue,
        coalesce(sum(lifetime_value), 0) as lifetime_value

    from dim_customers

),

final as (

    select
        mart_totals.model_name,
        mart_totals.order_count as mart_order_count,
        staging_totals.order_count as staging_order_count,
        mart_totals.gross_revenue as mart_gross_revenue,
        staging_totals.gross_revenue as staging_gross_revenue,
        mart_totals.net_revenue as mart_net_revenue,
        staging_totals.net_revenue as staging_net_revenue,
        mart_totals.lifetime_value as mart_lifetime_value,
        staging_totals.lifetime_value as staging_lifetime_value

    from mart_totals
    cross join staging_totals
    where
        mart_totals.order_count != staging_totals.order_count
        or coalesce(mart_totals.gross_revenue != staging_totals.gross_revenue, false)
        or coalesce(mart_totals.net_revenue != staging_totals.net_revenue, false)
        or coalesce(mart_totals.lifetime_value != staging_totals.lifetime_value, false)

)

select * from final
