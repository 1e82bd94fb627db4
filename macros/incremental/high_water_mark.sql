{#-
    In an incremental model, the latest value of column in the model's table ({{ this }}), as
    a timestamp literal read when the model is compiled, just before it runs: 1900-01-01 on
    a full build or an empty table, so everything is built. A literal rather than a subquery:
    a model's pre-hook deletes the rows it rebuilds before its select runs, and a subquery would
    then see a lower mark than the one the run started from. relation, when given, is the
    model's table as incremental_mart_relation returns it to an ephemeral step of the model
    (whose own this and is_incremental() are the step's): none there means a full build.
-#}
{% macro high_water_mark(column, relation=none) -%}
    {%- set mark = none -%}
    {%- set table = relation if relation is not none else this -%}
    {%- if execute and (relation is not none or is_incremental()) -%}
        {%- set result = run_query('select max(' ~ column ~ ') from ' ~ table) -%}
        {%- set mark = result.columns[0].values()[0] -%}
    {%- endif -%}
    cast('{{ mark if mark is not none else "1900-01-01 00:00:00" }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
