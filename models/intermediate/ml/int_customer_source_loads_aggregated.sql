{#-
    When the pipeline last loaded each source's rows of the customer: the load-time marks of
    customer_features' incremental runs, one per source, since sources load independently.
    Taken over all the customer's rows (not only those before the as-of date), so every row
    of a customer carries the same marks and a rebuild of the same data gives the same ones.
    Shop rows are the account (profile_loaded_at) and its orders and their lines
    (order_loaded_at); then the refunds and the reviews of its orders, and its logged-in web
    events. Only what finds the customer again when it loads later is in a mark: a product
    (its category) is not, as its reloads rebuild only the buyers of products whose category
    changed.
-#}
with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_shop__customers as (

    select * from {{ ref('stg_shop__customers') }}

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

spine_customers as (

    select distinct customer_id
    from customer_spine

),

customer_orders as (

    select
        stg_shop__orders.customer_id,
        stg_shop__orders.order_id,
        stg_shop__orders.loaded_at

    from stg_shop__orders
    inner join spine_customers
        on stg_shop__orders.customer_id = spine_customers.customer_id

),

order_loads as (

    select
        customer_orders.customer_id,
        {{ latest_of(['max(customer_orders.loaded_at)', 'max(stg_shop__order_items.loaded_at)']) }}
            as loaded_at

    from customer_orders
    left join stg_shop__order_items
        on customer_orders.order_id = stg_shop__order_items.order_id
    group by customer_orders.customer_id

),

refund_loads as (

    select
        customer_orders.customer_id,
        max(stg_payments__refunds.loaded_at) as loaded_at

    from customer_orders
    inner join stg_payments__refunds
        on customer_orders.order_id = stg_payments__refunds.order_id
    group by customer_orders.customer_id

),

review_loads as (

    select
        customer_orders.customer_id,
        max(stg_reviews__reviews.loaded_at) as loaded_at

    from customer_orders
    inner join stg_reviews__reviews
        on customer_orders.order_id = stg_reviews__reviews.order_id
    group by customer_orders.customer_id

),

event_loads as (

    select
        stg_clickstream__events.customer_id,
        max(stg_clickstream__events.loaded_at) as loaded_at

    from stg_clickstream__events
    inner join spine_customers
        on stg_clickstream__events.customer_id = spine_customers.customer_id
    group by stg_clickstream__events.customer_id

),

customer_loads as (

    select
        spine_customers.customer_id,
        stg_shop__customers.loaded_at as profile_loaded_at,
        order_loads.loaded_at as order_loaded_at,
        refund_loads.loaded_at as refund_loaded_at,
        review_loads.loaded_at as review_loaded_at,
        event_loads.loaded_at as events_loaded_at

    from spine_customers
    left join stg_shop__customers
        on spine_customers.customer_id = stg_shop__customers.customer_id
    left join order_loads
        on spine_customers.customer_id = order_loads.customer_id
    left join refund_loads
        on spine_customers.customer_id = refund_loads.customer_id
    left join review_loads
        on spine_customers.customer_id = review_loads.customer_id
    left join event_loads
        on spine_customers.customer_id = event_loads.customer_id

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        customer_loads.profile_loaded_at,
        customer_loads.order_loaded_at,
        customer_loads.refund_loaded_at,
        customer_loads.review_loaded_at,
        customer_loads.events_loaded_at

    from customer_spine
    inner join customer_loads
        on customer_spine.customer_id = customer_loads.customer_id

)

select * from final
