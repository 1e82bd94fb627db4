{#-
    The delete+insert incremental strategy on Spark, which dbt-spark lacks: its strategies
    are append, insert_overwrite (by partition) and merge (Delta, Iceberg or Hudi only). The
    incremental models (int_events_sessionized, fct_sessions) replace every row of each
    device they rebuild, a key that is not unique per row, which only delete+insert does.

    dbt-spark's incremental materialization calls these two macros by name, so the project's
    versions replace them: delete+insert is added, every other strategy goes to dbt-spark's
    own (which the `dbt` namespace holds).
-#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(
    strategy, source, target, existing, unique_key, incremental_predicates
) -%}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt.dbt_spark_get_incremental_sql(
            strategy, source, target, existing, unique_key, incremental_predicates
        )) }}
    {%- endif -%}
    {{ return(spark_delete_insert_sql(source, target, unique_key, incremental_predicates)) }}
{%- endmacro %}

{#-
    Rows of the table whose key is not in the new batch, then the batch, written to a work
    table, which then overwrites the table (Spark cannot overwrite a table it reads in the same
    statement, and parquet tables have no DELETE). Same rows as DuckDB's delete+insert: a
    NULL key matches nothing, so such rows stay. The work table is written and dropped while
    this statement is rendered; the statement returned only refreshes Spark's file listing.
-#}
{% macro spark_delete_insert_sql(source, target, unique_key, incremental_predicates) -%}
    {%- if incremental_predicates -%}
        {% do exceptions.raise_compiler_error(
            'delete+insert on Spark does not support incremental_predicates (' ~ target ~ ')'
        ) %}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | list -%}
    {%- set rebuilt = api.Relation.create(
        identifier=target.identifier ~ '__dbt_rebuilt', schema=target.schema, type='table'
    ) -%}
    {%- do adapter.drop_relation(rebuilt) -%}
    {%- set build_rebuilt -%}
        create table {{ rebuilt }} using parquet as
        select {{ columns | join(', ') }}
        from {{ target }} as kept
        left anti join {{ source }} as batch
            on
            {%- for key in keys %}
                kept.{{ key }} = batch.{{ key }}{{ ' and' if not loop.last }}
            {%- endfor %}
        union all
        select {{ columns | join(', ') }}
        from {{ source }}
    {%- endset -%}
    {%- do run_query(build_rebuilt) -%}
    {%- do run_query(
        'insert overwrite table ' ~ target ~ ' select ' ~ columns | join(', ') ~ ' from ' ~ rebuilt
    ) -%}
    {%- do adapter.drop_relation(rebuilt) -%}
    refresh table {{ target }}
{%- endmacro %}
