{#- One row per product in the catalogue, delisted ones included (is_deleted). -#}
with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('products') }}

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as product_id,

        ----------  strings
        trim(sku) as sku,
        trim(product_name) as product_name,
        lower(trim(category)) as category,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('price_cents') }} as price,

        ----------  booleans
        {{ shop_is_deleted('deleted_at') }} as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as product_created_at,
        {{ to_utc('updated_at') }} as product_updated_at,
        {{ shop_deleted_at('deleted_at') }} as deleted_at,
        {{ shop_loaded_at() }} as loaded_at

    from deduplicated

)

select * from renamed
