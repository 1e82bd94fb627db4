{#-
    True when a string column matches a regular expression (case-sensitive, unanchored).
    Write patterns without backslashes ([0-9], [.]): engines escape them differently in
    string literals.
-#}
{% macro matches_pattern(column, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'globalretail')(column, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(column, pattern) -%}
    regexp_like({{ column }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__matches_pattern(column, pattern) -%}
    regexp_matches({{ column }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_pattern(column, pattern) -%}
    {{ column }} rlike '{{ pattern }}'
{%- endmacro %}
