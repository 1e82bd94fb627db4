{#-
    The two delete columns of a shop staging model, read from the CTEs shop_staging_ctes
    renders. `is_deleted`: soft-deleted (soft_delete_column set) or listed in hard_deletes.
    `deleted_at`: the soft-delete time, else when the hard delete was first seen. Tables
    without soft deletes (order items, shipments) pass no column.
-#}
{% macro shop_is_deleted(soft_delete_column=none) -%}
    {%- if soft_delete_column -%}
        (
            {{ soft_delete_column }} is not null
            or id in (select hard_deletes.id from hard_deletes)
        )
    {%- else -%}
        id in (select hard_deletes.id from hard_deletes)
    {%- endif -%}
{%- endmacro %}

{% macro shop_deleted_at(soft_delete_column=none) -%}
    {%- set hard_deleted_at -%}
        (
            select {{ to_utc('max(hard_deletes.detected_at)') }}
            from hard_deletes
            where hard_deletes.id = deduplicated.id
        )
    {%- endset -%}
    {%- if soft_delete_column -%}
        coalesce({{ to_utc(soft_delete_column) }}, {{ hard_deleted_at }})
    {%- else -%}
        {{ hard_deleted_at }}
    {%- endif -%}
{%- endmacro %}
