{#-
    Reviews of the customer's orders as known at each as-of instant. A review counts from
    when it was written. Staging keeps only its latest version, so its rating is known at
    the as-of instant only when its last edit came before it.
-#}
with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_reviews__reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

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
    inner join stg_shop__orders
        on customer_spine.customer_id = stg_shop__orders.customer_id
    inner join stg_reviews__reviews
        on stg_shop__orders.order_id = stg_reviews__reviews.order_id
    where stg_reviews__reviews.reviewed_at < customer_spine.as_of_at
    group by customer_spine.customer_id, customer_spine.as_of_date

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        review_history.average_rating,
        review_history.last_reviewed_at,
        coalesce(review_history.review_count, 0) as review_count

    from customer_spine
    left join review_history
        on
            customer_spine.customer_id = review_history.customer_id
            and customer_spine.as_of_date = review_history.as_of_date

)

select * from final
