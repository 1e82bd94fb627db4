{#-
    Fails once per combination of the columns' values that occurs on more than one row of
    the model: the grain of a table keyed on several columns (a day and a category, a key
    and a validity start). NULLs are values like any other here (grouped together), as in
    dbt_utils; add not_null tests on the columns to forbid them.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    {%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            'unique_combination_of_columns needs a list of columns, e.g. [order_date, category]'
        ) }}
    {%- endif -%}
    {%- set columns_csv = combination_of_columns | join(', ') -%}

    select
        {{ columns_csv }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1

{% endtest %}
