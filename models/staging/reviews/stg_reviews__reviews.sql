{#- One row per product review, its text trimmed (blank text becomes NULL). -#}
with

source as (

    select * from {{ source('reviews', 'reviews') }}

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_at desc, _dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        id as review_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,

        ----------  strings
        nullif({{ trim_whitespace('title') }}, '') as review_title,
        nullif({{ trim_whitespace('body') }}, '') as review_text,

        ----------  numerics
        cast(rating as {{ dbt.type_int() }}) as rating,

        ----------  booleans
        updated_at > created_at as is_edited,

        ----------  timestamps
        {{ to_utc('created_at') }} as reviewed_at,
        {{ to_utc('updated_at') }} as review_updated_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from deduplicated

)

select * from renamed
