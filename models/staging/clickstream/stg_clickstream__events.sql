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

    Each JSON document is parsed once for all the fields read from it (json_extract_texts),
    after the deduplication, so only the kept copies are parsed.
-#}
{%- set context_paths = [
    'page.url', 'page.path', 'page.referrer', 'device.type', 'device.os', 'device.browser',
    'utm_source', 'utm_medium', 'utm_campaign',
] -%}
{%- set properties_paths = ['order_id', 'product_id', 'currency', 'quantity', 'revenue'] -%}
{#- The field at each path: an element of the array extracted below. -#}
{%- set context = {} -%}
{%- for path in context_paths -%}
    {%- do context.update({path: array_element('context_values', loop.index)}) -%}
{%- endfor -%}
{%- set properties = {} -%}
{%- for path in properties_paths -%}
    {%- do properties.update({path: array_element('properties_values', loop.index)}) -%}
{%- endfor -%}
{{
    config(
        materialized=incremental_unless_spark(),
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

extracted as (

    select
        *,
        {{ json_extract_texts('context', context_paths) }} as context_values,
        {{ json_extract_texts('properties', properties_paths) }} as properties_values
    from deduplicated

),

renamed as (

    select
        ----------  ids
        event_id,
        anonymous_id,
        {# Explicit drift mapping: an event carries one of the two, never both. #}
        {{ dbt.safe_cast('coalesce(user_id, account_id)', dbt.type_bigint()) }} as customer_id,
        {{ dbt.safe_cast(properties['order_id'], dbt.type_bigint()) }}
            as order_id,
        {{ dbt.safe_cast(properties['product_id'], dbt.type_bigint()) }}
            as product_id,

        ----------  strings
        lower(trim(event)) as event_type,
        {{ context['page.url'] }} as page_url,
        {{ context['page.path'] }} as page_path,
        {{ context['page.referrer'] }} as referrer_url,
        lower(trim({{ context['device.type'] }})) as device_type,
        trim({{ context['device.os'] }}) as device_os,
        trim({{ context['device.browser'] }}) as device_browser,
        lower(trim({{ context['utm_source'] }})) as utm_source,
        lower(trim({{ context['utm_medium'] }})) as utm_medium,
        lower(trim({{ context['utm_campaign'] }})) as utm_campaign,
        upper(trim({{ properties['currency'] }})) as currency,

        ----------  numerics
        {{ dbt.safe_cast(properties['quantity'], dbt.type_int()) }}
            as quantity,
        {{ dbt.safe_cast(properties['revenue'], 'decimal(18, 2)') }}
            as revenue,

        ----------  booleans
        coalesce(user_id, account_id) is not null as is_logged_in,

        ----------  timestamps
        {{ iso_or_epoch_ms_to_utc('timestamp') }} as event_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at,

        ----------  lineage
        _file_name as source_file_name,
        _line_number as source_line_number

    from extracted

)

select * from renamed
