{#- One row per ad campaign, with the UTM codes that tie its clicks to web sessions. -#}
with

source as (

    select * from {{ source('marketing', 'campaigns') }}

),

{# Raw tables are merged on the key, so this is a safeguard that should change nothing. #}
deduplicated as (

    {{ deduplicate('source', partition_by='id', order_by='updated_time desc, _dlt_load_id desc') }}

),

renamed as (

    select
        ----------  ids
        id as campaign_id,

        ----------  strings
        trim(name) as campaign_name,
        lower(trim(channel)) as channel,
        lower(trim(status)) as campaign_status,
        lower(trim(utm__source)) as utm_source,
        lower(trim(utm__medium)) as utm_medium,
        lower(trim(utm__campaign)) as utm_campaign,
        upper(trim(currency)) as currency,

        ----------  numerics
        {{ cents_to_units('daily_budget_cents') }} as daily_budget,

        ----------  timestamps
        {{ to_utc('start_time') }} as started_at,
        {{ to_utc('end_time') }} as ended_at,
        {{ to_utc('created_time') }} as campaign_created_at,
        {{ to_utc('updated_time') }} as campaign_updated_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from deduplicated

)

select * from renamed
