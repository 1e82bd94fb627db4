{#-
    One row per log file loaded, with what became of its lines: the reconciliation record
    (lines read = events loaded + lines quarantined) and where schema drift starts.
-#}
with

source as (

    select * from {{ source('clickstream', 'files') }}

),

renamed as (

    select
        ----------  ids
        file_name as log_file_name,

        ----------  strings
        file_url,
        event_fields,

        ----------  numerics
        size_in_bytes as file_size_bytes,
        lines_read,
        events_loaded,
        lines_quarantined,

        ----------  timestamps
        {{ to_utc('modification_date') }} as file_modified_at,
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from source

)

select * from renamed
