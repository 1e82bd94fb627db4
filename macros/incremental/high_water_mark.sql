{#-
    In an incremental model, the latest value of column in the model's table ({{ this }}), as
    a timestamp literal read when the model is compiled, just before it runs: 1900-01-01 on
    a full build or an empty table, so everything is built. A literal rather than a subquery:
    a model's pre-hook deletes the rows it rebuilds before its select runs, and a subquery would
    then see a lower mark than the one the run started from.
-#}
{% macro high_water_mark(column) -%}
    {%- set mark = none -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query('select max(' ~ column ~ ') from ' ~ this) -%}
        {%- set mark = result.columns[0].values()[0] -%}
    {%- endif -%}
    cast('{{ mark if mark is not none else "1900-01-01 00:00:00" }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
