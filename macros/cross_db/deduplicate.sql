{#-
    A select statement returning one row per partition_by value from relation (a table,
    a ref or a CTE name): the first row in order_by order.
-#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate', 'globalretail')(relation, partition_by, order_by)) }}
{%- endmacro %}

{#-
    Engines without `qualify` filter on a row number in a subquery; the row number stays in
    the result as `_dedupe_row_number`, so select columns by name from it.
-#}
{% macro default__deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            _dedupe_inner.*,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }}
            ) as _dedupe_row_number
        from {{ relation }} as _dedupe_inner
    ) as _dedupe_ranked
    where _dedupe_row_number = 1
{%- endmacro %}

{% macro duckdb__deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ partition_by }}
        order by {{ order_by }}
    ) = 1
{%- endmacro %}
