{#-
    One row per refund; an order may have several (a return, and a duplicate charge).

    Incremental on refund_id (delete+insert): a run rebuilds the ids the pipeline loaded
    after the latest loaded_at here, re-picking among all their raw copies (the processor
    deletes nothing). A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='refund_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('payments', 'refunds') }}
    {% if is_incremental() %}
        where id in ({{ keys_loaded_after_mark('payments', 'refunds', 'id') }})
    {% endif %}

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
