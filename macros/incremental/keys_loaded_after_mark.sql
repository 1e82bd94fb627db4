{#-
    In an incremental staging model, the keys of source_name.table_name with a row loaded (its
    dlt load id's time) after the model's high-water mark of loaded_at: the keys a run
    rebuilds, each re-picked among all its copies, old and new. Call it inside the model's own
    `{% if is_incremental() %}` (unit tests override is_incremental() in the model, not here).
-#}
{% macro keys_loaded_after_mark(source_name, table_name, key) -%}
    select loaded.{{ key }}
    from {{ source(source_name, table_name) }} as loaded
    where
        {{ to_utc(epoch_to_timestamp('loaded._dlt_load_id')) }}
        > {{ high_water_mark('loaded_at') }}
{%- endmacro %}
