{#-
    fct_daily_web_activity adds up to fct_sessions: for every day, its sessions, visitors,
    customers, page views, bounces, conversions and orders equal those of the sessions
    that started that day, and every day from the first to the latest session has exactly
    one row (days without sessions are zeros). Returns the disagreeing days.
    Scope: whole tables on every run. A reconciliation by day; a re-stitched device changes
    old days' customers, and every day must have its row.
-#}
with

fct_daily_web_activity as (

    select * from {{ ref('fct_daily_web_activity') }}

),

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

sessions_by_day as (

    select
        session_date,
        count(*) as session_count,
        count(distinct anonymous_id) as visitor_count,
        count(distinct customer_id) as customer_count,
        sum(page_view_count) as page_view_count,
        sum(case when is_bounce then 1 else 0 end) as bounced_session_count,
        sum(case when has_order then 1 else 0 end) as converted_session_count,
        sum(order_count) as order_count

    from fct_sessions
    group by session_date

),

compared as (

    select
        fct_daily_web_activity.session_count as mart_session_count,
        fct_daily_web_activity.visitor_count as mart_visitor_count,
        fct_daily_web_activity.customer_count as mart_customer_count,
        fct_daily_web_activity.page_view_count as mart_page_view_count,
        fct_daily_web_activity.bounced_session_count as mart_bounced_session_count,
        fct_daily_web_activity.converted_session_count as mart_converted_session_count,
        fct_daily_web_activity.order_count as mart_order_count,
        coalesce(
            fct_daily_web_activity.session_date, sessions_by_day.session_date
        ) as session_date,
        fct_daily_web_activity.session_date is null as is_missing_day,
        coalesce(sessions_by_day.session_count, 0) as expected_session_count,
        coalesce(sessions_by_day.visitor_count, 0) as expected_visitor_count,
        coalesce(sessions_by_day.customer_count, 0) as expected_customer_count,
        coalesce(sessions_by_day.page_view_count, 0) as expected_page_view_count,
        coalesce(sessions_by_day.bounced_session_count, 0) as expected_bounced_session_count,
        coalesce(
            sessions_by_day.converted_session_count, 0
        ) as expected_converted_session_count,
        coalesce(sessions_by_day.order_count, 0) as expected_order_count

    from fct_daily_web_activity
    full outer join sessions_by_day
        on fct_daily_web_activity.session_date = sessions_by_day.session_date

),

calendar_gaps as (

    {# A spine with a hole: fewer rows than days between its first and last day. #}
    select
        max(session_date) as session_date,
        true as is_missing_day

    from fct_daily_web_activity
    having
        count(*)
        != {{ dbt.datediff('min(session_date)', 'max(session_date)', 'day') }}
        + 1

),

final as (

    select
        session_date,
        is_missing_day

    from compared
    where
        is_missing_day
        or mart_session_count != expected_session_count
        or mart_visitor_count != expected_visitor_count
        or mart_customer_count != expected_customer_count
        or mart_page_view_count != expected_page_view_count
        or mart_bounced_session_count != expected_bounced_session_count
        or mart_converted_session_count != expected_converted_session_count
        or mart_order_count != expected_order_count

    union all

    select * from calendar_gaps

)

select * from final
