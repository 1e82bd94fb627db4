{#-
    The opening every shop staging model shares: the import CTEs `source` (the raw table)
    and `hard_deletes` (its rows that vanished from the shop), and `deduplicated` (the
    latest version of each row). Renders the three CTEs, each followed by a comma, so the
    model goes on with its own `renamed` CTE.
-#}
{% macro shop_staging_ctes(table_name) -%}
source as (

    select * from {{ source('shop', table_name) }}

),

hard_deletes as (

    select * from {{ source('shop', 'hard_deletes') }}
    {# One NULL id would make `id in (...)` NULL instead of false for unlisted rows. #}
    where table_name = '{{ table_name }}' and id is not null

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),
{%- endmacro %}
