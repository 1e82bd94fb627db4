{#-
    The scalars at several paths of one JSON document held as text, as an array of texts in
    the order of paths: element n is what json_extract_text(column, paths[n - 1]) gives. Read
    one with array_element(array, n). On DuckDB the document is parsed once for all the
    paths; one json_extract_text per path parses it once per path, which dominated the
    extraction of a day of clickstream events.
-#}
{% macro json_extract_texts(column, paths) -%}
    {{ return(adapter.dispatch('json_extract_texts', 'globalretail')(column, paths)) }}
{%- endmacro %}

{#- PostgreSQL and others with `array[...]`: one json_value per path. -#}
{% macro default__json_extract_texts(column, paths) -%}
    array[
        {%- for path in paths %}
        {{ json_extract_text(column, path) }}{{ ',' if not loop.last }}
        {%- endfor %}
    ]
{%- endmacro %}

{#- A list of paths is one call that parses the document once and gives a list of texts. -#}
{% macro duckdb__json_extract_texts(column, paths) -%}
    json_extract_string({{ column }}, [
        {%- for path in paths -%}
            '$.{{ path }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    ])
{%- endmacro %}

{% macro spark__json_extract_texts(column, paths) -%}
    array(
        {%- for path in paths %}
        {{ json_extract_text(column, path) }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- Element n (from 1) of an array, NULL when the array is NULL. -#}
{% macro array_element(array, position) -%}
    {{ return(adapter.dispatch('array_element', 'globalretail')(array, position)) }}
{%- endmacro %}

{% macro default__array_element(array, position) -%}
    ({{ array }})[{{ position }}]
{%- endmacro %}

{#- element_at counts from 1, as SQL arrays do; `[n]` on Spark counts from 0. -#}
{% macro spark__array_element(array, position) -%}
    element_at({{ array }}, {{ position }})
{%- endmacro %}
