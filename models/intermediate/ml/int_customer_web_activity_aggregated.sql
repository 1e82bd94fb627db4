{#-
    The customer's logged-in web and app events in the recent window before each as-of
    instant. The web logs start at a given day: before they cover the whole window the
    counts are unknown (NULL), not zero.
-#}
{%- set recent_days = var('customer_features_recent_days') -%}

with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

stg_clickstream__events as (

    select * from {{ ref('stg_clickstream__events') }}

),

{# The web logs start at a given day; before it there is nothing to count. #}
clickstream_coverage as (

    {{ customer_features_clickstream_coverage() }}

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

covered_activity as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        {{ customer_features_is_clickstream_covered(
            'clickstream_coverage.first_logged_date', 'customer_spine.as_of_date'
        ) }} as is_clickstream_covered,
        web_activity.recent_event_count,
        web_activity.recent_product_view_count,
        web_activity.recent_add_to_cart_count,
        web_activity.recent_active_day_count

    from customer_spine
    cross join clickstream_coverage
    left join web_activity
        on
            customer_spine.customer_id = web_activity.customer_id
            and customer_spine.as_of_date = web_activity.as_of_date

),

{# Unknown (NULL) until the web logs cover the whole recent window. #}
final as (

    select
        customer_id,
        as_of_date,
        is_clickstream_covered,
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

    from covered_activity

)

select * from final
