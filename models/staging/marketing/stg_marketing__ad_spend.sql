{#- One row per campaign and day delivered, with its latest (preliminary or final) figures. -#}
with

source as (

    select * from {{ source('marketing', 'ad_spend') }}

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{
        deduplicate(
            'source',
            partition_by='campaign_id, date',
            order_by='updated_at desc, _dlt_load_id desc',
        )
    }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(['campaign_id', "'/'", dbt.safe_cast('date', dbt.type_string())]) }}
            as ad_spend_id,
        campaign_id,

        ----------  strings
        upper(trim(currency)) as currency,

        ----------  numerics
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        {{ cents_to_units('spend_cents') }} as spend,

        ----------  booleans
        is_final,

        ----------  dates
        cast(date as date) as spend_date,

        ----------  timestamps
        {{ to_utc('updated_at') }} as spend_reported_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from deduplicated

)

select * from renamed
