{#-
    dbt.dateadd on Spark, exact to the microsecond. dbt-spark's own goes through
    to_unix_timestamp, which drops the fraction of a second (an event 30 minutes after one at
    10:00:00.400 would be compared with 10:30:00.000), and turns a millisecond interval into
    zero. Calendar parts (day and up) add a calendar interval, as DuckDB does (a month from
    January 31 is the end of February); smaller parts add microseconds. Like DuckDB's, the
    result is a timestamp, also for a date. Replaces dbt-spark's spark__dateadd for every
    dbt.dateadd call of the project (dispatch looks in the root project first).
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set months = {'year': 12, 'quarter': 3, 'month': 1} -%}
    {%- set days = {'week': 7, 'day': 1} -%}
    {%- set micros = {
        'hour': 3600000000, 'minute': 60000000, 'second': 1000000,
        'millisecond': 1000, 'microsecond': 1,
    } -%}
    {%- set timestamp = 'cast(' ~ from_date_or_timestamp ~ ' as timestamp)' -%}
    {%- if datepart in months -%}
        {{ timestamp }} + make_interval(0, cast(({{ interval }}) * {{ months[datepart] }} as int))
    {%- elif datepart in days -%}
        {{ timestamp }}
        + make_interval(0, 0, 0, cast(({{ interval }}) * {{ days[datepart] }} as int))
    {%- elif datepart in micros -%}
        timestamp_micros(
            unix_micros({{ timestamp }}) + cast(({{ interval }}) * {{ micros[datepart] }} as bigint)
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart '" ~ datepart ~ "' is not supported") }}
    {%- endif -%}
{%- endmacro %}
