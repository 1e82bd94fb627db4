{#-
    One row per order in its current state, test accounts' orders included: dropping
    them needs customers, and staging does not join.

    Incremental on order_id (delete+insert): a run rebuilds the ids loaded, or
    recorded as hard deleted, after the latest loaded_at here, from all their raw copies
    (macro shop_staging_ctes). A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
    )
}}

with

{# source, hard_deletes and deduplicated: the opening every shop staging model shares. #}
{{ shop_staging_ctes('orders', incremental=is_incremental()) }}

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
        {{ shop_is_deleted('deleted_at') }} as is_deleted,

        ----------  timestamps
        {{ to_utc('created_at') }} as ordered_at,
        {{ to_utc('updated_at') }} as order_updated_at,
        {{ shop_deleted_at('deleted_at') }} as deleted_at,
        {{ shop_loaded_at() }} as loaded_at

    from deduplicated

)

select * from renamed
