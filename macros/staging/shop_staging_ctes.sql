{#-
    The opening every shop staging model shares: the import CTEs `source` (the raw table)
    and `hard_deletes` (its rows that vanished from the shop), and `deduplicated` (the
    latest version of each row). Renders the three CTEs, each followed by a comma, so the
    model goes on with its own `renamed` CTE.

    In an incremental model's incremental run (the model passes is_incremental(), which a
    unit test overrides only in the model itself), `source` holds every copy of each id
    the pipeline loaded, or recorded a hard delete of, after the model's latest `loaded_at`
    (the two load times `shop_loaded_at` takes the later of): updates merged in place, new
    rows, and deletes (raw keeps a deleted row; hard_deletes lists it). Deduplication then
    re-picks among all copies of those ids, so each rebuilt row is the one a full refresh
    gives, and `delete+insert` on the key replaces it. `hard_deletes` stays whole: the delete
    columns read it for the rebuilt ids alone.
-#}
{% macro shop_staging_ctes(table_name, incremental=false) -%}
source as (

    select * from {{ source('shop', table_name) }}
    {% if incremental %}
        {%- set since = high_water_mark('loaded_at') %}
        where
            id in (
                select loaded.id
                from {{ source('shop', table_name) }} as loaded
                where {{ to_utc(epoch_to_timestamp('loaded._dlt_load_id')) }} > {{ since }}

                union all

                select deleted.id
                from {{ source('shop', 'hard_deletes') }} as deleted
                where
                    deleted.table_name = '{{ table_name }}'
                    and {{ to_utc(epoch_to_timestamp('deleted._dlt_load_id')) }} > {{ since }}
            )
    {% endif %}

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
