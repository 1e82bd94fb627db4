{#-
    One row per payment attempt at the processor, declined ones included (is_succeeded):
    an order may have none (never paid), one, or several (a declined card, a double charge).

    Incremental on charge_id (delete+insert): a run rebuilds the ids the pipeline loaded
    after the latest loaded_at here, re-picking among all their raw copies (the processor
    deletes nothing). A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='charge_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('payments', 'charges') }}
    {% if is_incremental() %}
        where id in ({{ keys_loaded_after_mark('payments', 'charges', 'id') }})
    {% endif %}

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
        {# Joins to stg_shop__customers.email_hash; the email itself goes no further. #}
        {{ hash_pii('billing_details__email') }} as billing_email_hash,

        ----------  strings
        lower(trim(status)) as charge_status,
        lower(trim(failure_code)) as failure_code,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('amount') }} as charge_amount,

        ----------  booleans
        lower(trim(status)) = 'succeeded' as is_succeeded,
        livemode as is_live,
        {#
            The shop's test-account rules on the card holder's billing details: the one way
            to recognise a test account's charge whose order the shop purged before the
            warehouse saw it. A charge without billing details cannot be recognised.
        #}
        {{ is_test_account(
            dbt.split_part('trim(billing_details__name)', "' '", 1),
            dbt.split_part('trim(billing_details__name)', "' '", 2),
            'billing_details__email',
        ) }} as is_test_account,

        ----------  timestamps
        {{ to_utc(epoch_to_timestamp('created')) }} as charged_at,
        {# When the pipeline last loaded the row: incremental marts' marks. #}
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from deduplicated

)

select * from renamed
