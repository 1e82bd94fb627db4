{#-
    One row per customer account, test accounts removed. PII leaves staging only hashed
    (email_hash) or not at all (names, phone, street address, postal code).
-#}
with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('customers') }}

renamed as (

    select
        ----------  ids
        cast(id as {{ dbt.type_bigint() }}) as customer_id,

        ----------  strings
        {{ hash_pii('email') }} as email_hash,
        nullif(lower(trim(city)), '') as city,
        upper(trim(country_code)) as country_code,

        ----------  booleans
        {{ shop_is_deleted('deleted_at') }} as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at', var('shop_local_timezone')) }} as customer_created_at,
        {{ to_utc('updated_at') }} as customer_updated_at,
        {{ shop_deleted_at('deleted_at') }} as deleted_at,
        {{ shop_loaded_at() }} as loaded_at

    from deduplicated
    where not {{ is_test_account('first_name', 'last_name', 'email') }}

)

select * from renamed
