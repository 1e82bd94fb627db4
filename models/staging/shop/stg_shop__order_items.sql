{#-
    One row per order line. The shop deletes lines only with their order (no soft delete),
    so is_deleted comes from the pipeline's hard_deletes list alone.

    Incremental on order_item_id (delete+insert): a run rebuilds the ids loaded, or
    recorded as hard deleted, after the latest loaded_at here, from all their raw copies
    (macro shop_staging_ctes). A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='order_item_id',
        on_schema_change='fail',
    )
}}

with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('order_items', incremental=is_incremental()) }}

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
        {{ shop_is_deleted() }} as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as order_item_created_at,
        {{ to_utc('updated_at') }} as order_item_updated_at,
        {{ shop_deleted_at() }} as deleted_at,
        {{ shop_loaded_at() }} as loaded_at

    from deduplicated

)

select * from renamed
