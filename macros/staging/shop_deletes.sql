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

{#-
    A shop staging model's `loaded_at` (UTC): when the pipeline last loaded the row, or
    recorded its hard delete, whichever is later. Incremental marts compare it with the
    latest load they have built to find the rows a run must rebuild (a hard delete changes
    no column of the raw row, so the row's own load time alone would miss it).
-#}
{% macro shop_loaded_at() -%}
    {%- set hard_deleted_load -%}
        (
            select max({{ epoch_to_timestamp('hard_deletes._dlt_load_id') }})
            from hard_deletes
            where hard_deletes.id = deduplicated.id
        )
    {%- endset -%}
    {#- greatest() skips NULL on DuckDB and Spark: most rows were never hard deleted. -#}
    {{ to_utc(
        'greatest(' ~ epoch_to_timestamp('_dlt_load_id') ~ ', ' ~ hard_deleted_load ~ ')'
    ) }}
{%- endmacro %}
