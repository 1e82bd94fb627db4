{#-
    Seconds since the Unix epoch (an integer, a fraction, or a string of either, such as
    dlt's _dlt_load_id) as a zone-aware timestamp; wrap it in to_utc() for a UTC column.
    The cast is to a 64-bit float on every engine: a 32-bit one (DuckDB's `float`) would
    round today's epoch to about two minutes.
-#}
{% macro epoch_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'globalretail')(column)) }}
{%- endmacro %}

{#- PostgreSQL, Snowflake and others with to_timestamp(double precision). -#}
{% macro default__epoch_to_timestamp(column) -%}
    to_timestamp(cast({{ column }} as double precision))
{%- endmacro %}

{% macro duckdb__epoch_to_timestamp(column) -%}
    to_timestamp(cast({{ column }} as double))
{%- endmacro %}

{% macro spark__epoch_to_timestamp(column) -%}
    timestamp_seconds(cast({{ column }} as double))
{%- endmacro %}
