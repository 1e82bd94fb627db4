{#-
    The scalar at a path of a JSON document held as text, as text (NULL when the path is
    missing or holds JSON null). path is dotted without the leading `$.`, e.g. 'page.url'.
-#}
{% macro json_extract_text(column, path) -%}
    {{ return(adapter.dispatch('json_extract_text', 'globalretail')(column, path)) }}
{%- endmacro %}

{#- SQL:2016 json_value (PostgreSQL 17, Trino, MySQL, BigQuery, Oracle). -#}
{% macro default__json_extract_text(column, path) -%}
    json_value({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_extract_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_extract_text(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}
