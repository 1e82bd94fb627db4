{#-
    A timestamp sent as text, as a zone-less timestamp in UTC. Accepted: ISO 8601 with a zone
    (`2026-10-20T11:19:21.362Z`, `...+02:00`, `...-0500`) and epoch milliseconds (13 digits,
    as the mobile app sends them). Anything else, a zone-less ISO string included (its zone
    would be a guess), gives NULL, so a not_null test on the result finds new formats.
-#}
{% macro iso_or_epoch_ms_to_utc(column) -%}
    {{ return(adapter.dispatch('iso_or_epoch_ms_to_utc', 'globalretail')(column)) }}
{%- endmacro %}

{#- Built from the project's cross-database macros: PostgreSQL, Trino and others. -#}
{% macro default__iso_or_epoch_ms_to_utc(column) -%}
    {%- set iso_with_zone = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}'
        ~ '(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' -%}
    case
        when {{ matches_pattern(column, '^[0-9]{13}$') }}
            then {{ dbt.dateadd(
                'millisecond',
                'cast(' ~ column ~ ' as ' ~ dbt.type_bigint() ~ ')',
                "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")"
            ) }}
        when {{ matches_pattern(column, iso_with_zone) }}
            then {{ to_utc(dbt.safe_cast(column, 'timestamp with time zone')) }}
    end
{%- endmacro %}

{#- DuckDB's interval arithmetic overflows on epoch milliseconds; epoch_ms() is exact. -#}
{% macro duckdb__iso_or_epoch_ms_to_utc(column) -%}
    {%- set iso_with_zone = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}'
        ~ '(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' -%}
    case
        when regexp_matches({{ column }}, '^[0-9]{13}$')
            then epoch_ms(cast({{ column }} as bigint))
        when regexp_matches({{ column }}, '{{ iso_with_zone }}')
            then {{ to_utc('try_cast(' ~ column ~ ' as timestamptz)') }}
    end
{%- endmacro %}

{#- Spark parses ISO 8601 with an offset in a cast, and has a function for epoch milliseconds. -#}
{% macro spark__iso_or_epoch_ms_to_utc(column) -%}
    {%- set iso_with_zone = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}'
        ~ '(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' -%}
    case
        when {{ column }} rlike '^[0-9]{13}$'
            then to_utc_timestamp(
                timestamp_millis(cast({{ column }} as bigint)), current_timezone()
            )
        when {{ column }} rlike '{{ iso_with_zone }}'
            then to_utc_timestamp(cast({{ column }} as timestamp), current_timezone())
    end
{%- endmacro %}
