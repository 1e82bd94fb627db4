{#-
    One row per customer account, test accounts removed. PII leaves staging only hashed
    (email_hash) or not at all (names, phone, street address, postal code).
-#}
with

source as (

    select * from {{ source('shop', 'customers') }}

),

hard_deletes as (

    select * from {{ source('shop', 'hard_deletes') }}
    {# One NULL id would make `id in (...)` NULL instead of false for unlisted rows. #}
    where table_name = 'customers' and id is not null

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as customer_id,

        ----------  strings
        {{ hash_pii('email') }} as email_hash,
        nullif(lower(trim(city)), '') as city,
        upper(trim(country_code)) as country_code,

        ----------  booleans
        (
            deleted_at is not null
            or id in (select hard_deletes.id from hard_deletes)
        ) as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at', var('shop_local_timezone')) }} as customer_created_at,
        {{ to_utc('updated_at') }} as customer_updated_at,
        coalesce(
            {{ to_utc('deleted_at') }},
            (
                select {{ to_utc('max(hard_deletes.detected_at)') }}
                from hard_deletes
                where hard_deletes.id = deduplicated.id
            )
        ) as deleted_at

    from deduplicated
    where not {{ is_test_account('first_name', 'last_name', 'email') }}

)

select * from renamed
