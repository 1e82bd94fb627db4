{#-
    One row per shipment (at most one per order). The shop deletes shipments only with their
    order (no soft delete), so is_deleted comes from the pipeline's hard_deletes list alone.
-#}
with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('shipments') }}

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
