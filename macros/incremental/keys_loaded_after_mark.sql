{#-
    In an incremental staging model, the keys of source_name.table_name with a row loaded (its
    dlt load id's time) after the model's high-water mark of loaded_at: the keys a run
    rebuilds, each re-picked among all its copies, old and new. Call it inside the model's own
    `{% if is_incremental() %}` (unit tests override is_incremental() in the model, not here).

    The load ids after the mark come from dlt's load log beside the table (`_dlt_loads`, one
    row per completed load: a few hundred rows), then the table's rows are matched on their
    `_dlt_load_id` as it is: converting every raw row's load id to a timestamp took seconds on
    millions of rows, the match on the text is a filter the scan applies. A load is in the log
    once it completed, and raw tables change only by loads, so no loaded row is missed; rows of
    a load still running wait for the next run (their load id stays after the mark).
-#}
{% macro keys_loaded_after_mark(source_name, table_name, key) -%}
    {%- set loaded_table = source(source_name, table_name) -%}
    {%- set load_log = loaded_table.incorporate(path={'identifier': '_dlt_loads'}) -%}
    select loaded.{{ key }}
    from {{ loaded_table }} as loaded
    where
        loaded._dlt_load_id in (
            select load_log.load_id
            from {{ load_log }} as load_log
            where
                {{ to_utc(epoch_to_timestamp('load_log.load_id')) }}
                > {{ high_water_mark('loaded_at') }}
        )
{%- endmacro %}
