{#-
    One row per payment attempt at the processor, declined ones included (is_succeeded):
    an order may have none (never paid), one, or several (a declined card, a double charge).
-#}
with

source as (

    select * from {{ source('payments', 'charges') }}

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='_dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        id as charge_id,
        cast(metadata__order_id as {{ dbt.type_bigint() }}) as order_id,

        ----------  strings
        lower(trim(status)) as charge_status,
        lower(trim(failure_code)) as failure_code,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('amount') }} as charge_amount,

        ----------  booleans
        lower(trim(status)) = 'succeeded' as is_succeeded,
        livemode as is_live,

        ----------  timestamps
        {{ to_utc(epoch_to_timestamp('created')) }} as charged_at

    from deduplicated

)

select * from renamed
