{#-
    A string without leading and trailing whitespace: spaces, tabs, carriage returns and
    line feeds (plain trim() removes only spaces). Free text from web forms needs it.
-#}
{% macro trim_whitespace(column) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'globalretail')(column)) }}
{%- endmacro %}

{#- Standard SQL (PostgreSQL, Spark, Snowflake). -#}
{% macro default__trim_whitespace(column) -%}
    trim(both ' ' || chr(9) || chr(10) || chr(13) from {{ column }})
{%- endmacro %}

{% macro duckdb__trim_whitespace(column) -%}
    trim({{ column }}, ' ' || chr(9) || chr(10) || chr(13))
{%- endmacro %}
