{#-
    One row per order in its current state, test accounts' orders included: dropping
    them needs customers, and staging does not join.
-#}
with

source as (

    select * from {{ source('shop', 'orders') }}

),

hard_deletes as (

    select * from {{ source('shop', 'hard_deletes') }}
    {# One NULL id would make `id in (...)` NULL instead of false for unlisted rows. #}
    where table_name = 'orders' and id is not null

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as order_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,

        ----------  strings
        lower(trim(status)) as order_status,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('subtotal_cents') }} as order_subtotal,
        {{ cents_to_units('shipping_cents') }} as shipping_fee,
        {{ cents_to_units('total_cents') }} as order_total,

        ----------  booleans
        (
            deleted_at is not null
            or id in (select hard_deletes.id from hard_deletes)
        ) as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as ordered_at,
        {{ to_utc('updated_at') }} as order_updated_at,
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
