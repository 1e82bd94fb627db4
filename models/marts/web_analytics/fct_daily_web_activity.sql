{#-
    One row per UTC day from the first to the latest session in fct_sessions, days without
    sessions included (zeros). A session counts on the day it started, with everything it
    holds (a session across midnight is the first day's).
-#}
with

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

calendar as (

    select cast(date_day as date) as session_date
    from (
        {{ date_spine(
            'day',
            '(select min(fct_sessions.session_date) from fct_sessions)',
            dbt.dateadd('day', 1, '(select max(fct_sessions.session_date) from fct_sessions)'),
        ) }}
    ) as day_spine

),

daily_sessions as (

    select
        session_date,
        count(*) as session_count,
        count(distinct anonymous_id) as visitor_count,
        count(distinct customer_id) as customer_count,
        sum(case when is_logged_in then 1 else 0 end) as logged_in_session_count,
        sum(case when is_bounce then 1 else 0 end) as bounced_session_count,
        sum(case when has_order then 1 else 0 end) as converted_session_count,
        sum(page_view_count) as page_view_count,
        sum(order_count) as order_count

    from fct_sessions
    group by session_date

),

final as (

    select
        calendar.session_date,
        cast(
            coalesce(daily_sessions.session_count, 0) as {{ dbt.type_bigint() }}
        ) as session_count,
        cast(
            coalesce(daily_sessions.visitor_count, 0) as {{ dbt.type_bigint() }}
        ) as visitor_count,
        cast(
            coalesce(daily_sessions.customer_count, 0) as {{ dbt.type_bigint() }}
        ) as customer_count,
        cast(
            coalesce(daily_sessions.logged_in_session_count, 0) as {{ dbt.type_bigint() }}
        ) as logged_in_session_count,
        cast(
            coalesce(daily_sessions.bounced_session_count, 0) as {{ dbt.type_bigint() }}
        ) as bounced_session_count,
        cast(
            coalesce(daily_sessions.converted_session_count, 0) as {{ dbt.type_bigint() }}
        ) as converted_session_count,
        cast(
            coalesce(daily_sessions.page_view_count, 0) as {{ dbt.type_bigint() }}
        ) as page_view_count,
        cast(coalesce(daily_sessions.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
        cast(
            {{ divide(
                'daily_sessions.converted_session_count', 'daily_sessions.session_count', 4
            ) }} as decimal(9, 4)
        ) as conversion_rate,
        cast(
            {{ divide(
                'daily_sessions.bounced_session_count', 'daily_sessions.session_count', 4
            ) }} as decimal(9, 4)
        ) as bounce_rate

    from calendar
    left join daily_sessions
        on calendar.session_date = daily_sessions.session_date

)

select * from final
