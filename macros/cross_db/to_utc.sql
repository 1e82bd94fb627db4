{#-
    A timestamp as a zone-less timestamp in UTC.

    source_timezone none: the column is zone-aware (timestamptz); it is converted to UTC.
    source_timezone 'America/New_York': the column is zone-less wall-clock time in that zone
    (the shop's legacy columns); it is interpreted in that zone, then converted to UTC.
-#}
{% macro to_utc(column, source_timezone=none) -%}
    {{ return(adapter.dispatch('to_utc', 'globalretail')(column, source_timezone)) }}
{%- endmacro %}

{#- Standard SQL `at time zone` (Postgres, Trino, Snowflake and others). -#}
{% macro default__to_utc(column, source_timezone) -%}
    {%- if source_timezone is none -%}
        cast(({{ column }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast(
            (({{ column }}) at time zone '{{ source_timezone }}') at time zone 'UTC'
            as {{ dbt.type_timestamp() }}
        )
    {%- endif -%}
{%- endmacro %}

{#- timezone(zone, timestamptz) gives the wall-clock time in that zone, without zone. -#}
{% macro duckdb__to_utc(column, source_timezone) -%}
    {%- if source_timezone is none -%}
        timezone('UTC', {{ column }})
    {%- else -%}
        timezone('UTC', timezone('{{ source_timezone }}', {{ column }}))
    {%- endif -%}
{%- endmacro %}

{#-
    Spark timestamps are instants shown in the session zone; to_utc_timestamp shifts them so
    the displayed value is the UTC wall-clock time. A wall-clock time that occurs twice (the
    hour repeated when daylight saving time ends) is read as the second one, standard time,
    as DuckDB does: to_utc_timestamp takes the first, so one hour is added when that later
    instant shows the same wall-clock time (zones whose clocks move by one hour).
-#}
{% macro spark__to_utc(column, source_timezone) -%}
    {%- if source_timezone is none -%}
        to_utc_timestamp({{ column }}, current_timezone())
    {%- else -%}
        {%- set first = 'to_utc_timestamp(' ~ column ~ ", '" ~ source_timezone ~ "')" -%}
        case
            when
                from_utc_timestamp({{ first }} + interval 1 hour, '{{ source_timezone }}')
                = {{ column }}
                then {{ first }} + interval 1 hour
            else {{ first }}
        end
    {%- endif -%}
{%- endmacro %}
