{#- One row per product in the catalogue, delisted ones included (is_deleted). -#}
with

source as (

    select * from {{ source('shop', 'products') }}

),

hard_deletes as (

    select * from {{ source('shop', 'hard_deletes') }}
    {# One NULL id would make `id in (...)` NULL instead of false for unlisted rows. #}
    where table_name = 'products' and id is not null

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),

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
        (
            deleted_at is not null
            or id in (select hard_deletes.id from hard_deletes)
        ) as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as product_created_at,
        {{ to_utc('updated_at') }} as product_updated_at,
        coalesce(
            {{ to_utc('deleted_at') }},
            (
                select {{ to_utc('max(hard_deletes.detected_at)') }}
                from hard_deletes
                where hard_deletes.id = deduplicated.id
            )
        ) as deleted_at

    from deduplicated

)

select * from renamed
