{#-
    A device's sessions are apart: each starts more than var session_timeout_minutes (30)
    after the previous one of the same device ended. Closer or overlapping sessions should
    have been one (a sessionization or incremental-merge bug leaves such pairs behind).
    Returns the later session of every offending pair.
    Scope: the devices, every session of each. A scoped run checks the devices with a
    session loaded since the last green build (test_scoped on events_loaded_at): fct_sessions
    replaces all the sessions of every device it rebuilds, so the others are as the last
    green build tested them. Whole-table otherwise.
-#}
with

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),
{%- set scoped = test_scope_column(ref('fct_sessions')) %}
{% if scoped %}

devices_in_scope as (

    select anonymous_id from {{ test_scoped(ref('fct_sessions')) }}

),
{%- endif %}

device_sessions as (

    select
        anonymous_id,
        session_id,
        session_started_at,
        session_ended_at,
        lag(session_id) over (
            partition by anonymous_id
            order by session_started_at, session_id
        ) as previous_session_id,
        lag(session_ended_at) over (
            partition by anonymous_id
            order by session_started_at, session_id
        ) as previous_session_ended_at

    from fct_sessions
    {% if scoped -%}
        where anonymous_id in (select devices_in_scope.anonymous_id from devices_in_scope)
    {%- endif %}

),

final as (

    select * from device_sessions
    where
        previous_session_ended_at is not null
        and session_started_at <= {{ dbt.dateadd(
            'minute', var('session_timeout_minutes'), 'previous_session_ended_at'
        ) }}

)

select * from final
