{#-
    One row per shipment (at most one per order). The shop deletes shipments only with their
    order (no soft delete), so is_deleted comes from the pipeline's hard_deletes list alone.

    Incremental on shipment_id (delete+insert): a run rebuilds the ids loaded, or
    recorded as hard deleted, after the latest loaded_at here, from all their raw copies
    (macro shop_staging_ctes). A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='shipment_id',
        on_schema_change='fail',
    )
}}

with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('shipments', incremental=is_incremental()) }}

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as shipment_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,

        ----------  strings
        lower(trim(carrier)) as carrier,
        trim(tracking_number) as tracking_number,

        ----------  booleans
        {{ shop_is_deleted() }} as is_deleted,

        ----------  timestamps
        {{ to_utc('shipped_at', var('shop_local_timezone')) }} as shipped_at,
        {{ to_utc('delivered_at', var('shop_local_timezone')) }} as delivered_at,
        {{ to_utc('updated_at') }} as shipment_updated_at,
        {{ shop_deleted_at() }} as deleted_at,
        {{ shop_loaded_at() }} as loaded_at

    from deduplicated

)

select * from renamed
