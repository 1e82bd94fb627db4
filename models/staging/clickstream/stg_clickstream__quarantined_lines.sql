{#-
    One row per log line that was not a complete event, with the reason: what the pipeline
    could not load, kept for monitoring and replay. A file is loaded once, so a file name and
    line number identify a line.
-#}
with

source as (

    select * from {{ source('clickstream', 'quarantine') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat([
            'file_name', "':'", dbt.safe_cast('line_number', dbt.type_string())
        ]) }} as quarantined_line_id,

        ----------  strings
        file_name as source_file_name,
        raw_text,
        {# The kind of problem: the message up to its first colon ("wrong type: ..."). #}
        {{ dbt.split_part('error', "':'", 1) }} as quarantine_reason,
        error as quarantine_detail,

        ----------  numerics
        line_number as source_line_number,

        ----------  timestamps
        {{ to_utc(epoch_to_timestamp('_dlt_load_id')) }} as loaded_at

    from source

)

select * from renamed
