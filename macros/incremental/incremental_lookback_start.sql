{#-
    In an incremental model (inside `{% if is_incremental() %}`), the SQL expression for the
    earliest time a run reprocesses: the latest value of column already in the model's table
    ({{ this }}) minus lookback_hours hours. On an empty table it is 1900-01-01, so the run
    processes everything.
-#}
{% macro incremental_lookback_start(column, lookback_hours) -%}
    coalesce(
        (
            select {{ dbt.dateadd('hour', -1 * lookback_hours, 'max(' ~ column ~ ')') }}
            from {{ this }}
        ),
        cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}
