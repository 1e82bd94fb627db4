{#- One row per refund; an order may have several (a return, and a duplicate charge). -#}
with

source as (

    select * from {{ source('payments', 'refunds') }}

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='_dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        id as refund_id,
        charge as charge_id,
        cast(metadata__order_id as {{ dbt.type_bigint() }}) as order_id,

        ----------  strings
        lower(trim(reason)) as refund_reason,
        lower(trim(status)) as refund_status,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('amount') }} as refund_amount,

        ----------  timestamps
        {{ to_utc(epoch_to_timestamp('created')) }} as refunded_at,
        {# When the pipeline last loaded the row: incremental marts' marks. #}
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from deduplicated

)

select * from renamed
