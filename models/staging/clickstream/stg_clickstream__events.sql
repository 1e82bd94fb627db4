{#-
    One row per event: the first delivered copy of each event_id (the collector delivers at
    least once, so some events arrive twice). Every timestamp format becomes UTC, and the
    app's rename of user_id to account_id (release of 2026-10-20) is mapped back here: both
    hold the shop customer id (the drift policy is in the README).

    Incremental on the event (delete+insert on event_id): a run takes the event_ids of the
    rows loaded after the latest loaded_at here, and re-picks the first copy of each among
    all its copies, old and new, so a redelivery in a later load (even of an earlier file)
    gives the row a full refresh would. The JSON extraction of a day's events, not of the
    history. A table on Spark (plain parquet tables, no DELETE).
-#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ source('clickstream', 'events') }}
    {% if is_incremental() %}
        where event_id in ({{ keys_loaded_after_mark('clickstream', 'events', 'event_id') }})
    {% endif %}

),

{# A redelivered event is an exact copy, sometimes in a later file: keep the first one. #}
deduplicated as (

    {{ deduplicate('source', partition_by='event_id', order_by='_file_name, _line_number') }}

),

renamed as (

    select
        ----------  ids
        event_id,
        anonymous_id,
        {# Explicit drift mapping: an event carries one of the two, never both. #}
        {{ dbt.safe_cast('coalesce(user_id, account_id)', dbt.type_bigint()) }} as customer_id,
        {{ dbt.safe_cast(json_extract_text('properties', 'order_id'), dbt.type_bigint()) }}
            as order_id,
        {{ dbt.safe_cast(json_extract_text('properties', 'product_id'), dbt.type_bigint()) }}
            as product_id,

        ----------  strings
        lower(trim(event)) as event_type,
        {{ json_extract_text('context', 'page.url') }} as page_url,
        {{ json_extract_text('context', 'page.path') }} as page_path,
        {{ json_extract_text('context', 'page.referrer') }} as referrer_url,
        lower(trim({{ json_extract_text('context', 'device.type') }})) as device_type,
        trim({{ json_extract_text('context', 'device.os') }}) as device_os,
        trim({{ json_extract_text('context', 'device.browser') }}) as device_browser,
        lower(trim({{ json_extract_text('context', 'utm_source') }})) as utm_source,
        lower(trim({{ json_extract_text('context', 'utm_medium') }})) as utm_medium,
        lower(trim({{ json_extract_text('context', 'utm_campaign') }})) as utm_campaign,
        upper(trim({{ json_extract_text('properties', 'currency') }})) as currency,

        ----------  numerics
        {{ dbt.safe_cast(json_extract_text('properties', 'quantity'), dbt.type_int()) }}
            as quantity,
        {{ dbt.safe_cast(json_extract_text('properties', 'revenue'), 'decimal(18, 2)') }}
            as revenue,

        ----------  booleans
        coalesce(user_id, account_id) is not null as is_logged_in,

        ----------  timestamps
        {{ iso_or_epoch_ms_to_utc('timestamp') }} as event_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at,

        ----------  lineage
        _file_name as source_file_name,
        _line_number as source_line_number

    from deduplicated

)

select * from renamed
