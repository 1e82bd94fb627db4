{#-
    One row per order line. The shop deletes lines only with their order (no soft delete),
    so is_deleted comes from the pipeline's hard_deletes list alone.
-#}
with

source as (

    select * from {{ source('shop', 'order_items') }}

),

hard_deletes as (

    select * from {{ source('shop', 'hard_deletes') }}
    {# One NULL id would make `id in (...)` NULL instead of false for unlisted rows. #}
    where table_name = 'order_items' and id is not null

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as order_item_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,

        ----------  numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        {{ cents_to_units('unit_price_cents') }} as unit_price,

        ----------  booleans
        id in (select hard_deletes.id from hard_deletes) as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as order_item_created_at,
        {{ to_utc('updated_at') }} as order_item_updated_at,
        (
            select {{ to_utc('max(hard_deletes.detected_at)') }}
            from hard_deletes
            where hard_deletes.id = deduplicated.id
        ) as deleted_at

    from deduplicated

)

select * from renamed
