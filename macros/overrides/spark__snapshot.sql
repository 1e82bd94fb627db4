{#-
    dbt-spark's snapshot materialization, for plain parquet tables as well as Delta, Iceberg
    and Hudi ones. dbt-spark refuses parquet because it applies a snapshot with MERGE INTO,
    which needs a table format; Delta's jars are not on PyPI, so the local Spark has none.

    On parquet the snapshot is rewritten instead of merged: the new contents (every version
    with the closing dbt_valid_to the merge would set, then the new versions) are written to
    a work table, which then overwrites the snapshot (Spark cannot overwrite a table it reads
    in the same statement). The result is the merge's, row for row. Table formats keep
    dbt-spark's MERGE INTO. Otherwise the same steps as dbt-spark 1.11's materialization.
-#}
{% materialization snapshot, adapter='spark' %}

    {%- set target_table = model.get('alias', model.get('name')) -%}
    {%- set strategy_name = config.get('strategy') -%}
    {%- set file_format = config.get('file_format') or 'parquet' -%}
    {%- set grant_config = config.get('grants') -%}

    {%- if file_format not in ['parquet', 'delta', 'iceberg', 'hudi'] -%}
        {% do exceptions.raise_compiler_error(
            'Snapshot ' ~ target_table ~ ': file_format ' ~ file_format ~ ' is not supported;'
            ~ ' use parquet, delta, iceberg or hudi'
        ) %}
    {%- endif -%}

    {% set target_relation_exists, target_relation = get_or_create_relation(
        database=none, schema=model.schema, identifier=target_table, type='table'
    ) -%}

    {% if not adapter.check_schema_exists(model.database, model.schema) %}
        {% do create_schema(model.schema) %}
    {% endif %}

    {%- if not target_relation.is_table -%}
        {% do exceptions.relation_wrong_type(target_relation, 'table') %}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% set strategy_macro = strategy_dispatch(strategy_name) %}
    {% set strategy = strategy_macro(
        model, "snapshotted_data", "source_data", model['config'], target_relation_exists
    ) %}

    {% if not target_relation_exists %}

        {% set build_sql = build_snapshot_table(strategy, model['compiled_code']) %}
        {% set final_sql = create_table_as(False, target_relation, build_sql) %}

    {% else %}

        {% set columns = config.get("snapshot_table_column_names")
            or get_snapshot_table_column_names() %}
        {{ adapter.valid_snapshot_target(target_relation, columns) }}

        {% set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) %}
        {% do adapter.expand_target_column_types(
            from_relation=staging_table, to_relation=target_relation
        ) %}

        {% set not_stored = ['dbt_change_type', 'DBT_CHANGE_TYPE', 'dbt_unique_key', 'DBT_UNIQUE_KEY'] %}
        {% set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
            | rejectattr('name', 'in', not_stored) | list %}
        {% do create_columns(target_relation, missing_columns) %}

        {% if target_relation.is_delta or target_relation.is_iceberg or target_relation.is_hudi %}
            {% set source_columns = adapter.get_columns_in_relation(staging_table)
                | rejectattr('name', 'in', not_stored) | list %}
            {% set final_sql = snapshot_merge_sql(
                target=target_relation,
                source=staging_table,
                insert_cols=source_columns | map(attribute='quoted') | list
            ) %}
        {% else %}
            {% set rebuilt = spark_snapshot_rebuilt_relation(target_relation) %}
            {% do adapter.drop_relation(rebuilt) %}
            {% call statement('build_snapshot_rebuilt') %}
                {{ spark_snapshot_rewrite_sql(target_relation, staging_table, rebuilt, columns) }}
            {% endcall %}
            {% set final_sql %}
                insert overwrite table {{ target_relation }} select * from {{ rebuilt }}
            {% endset %}
        {% endif %}

    {% endif %}

    {% call statement('main') %}
        {{ final_sql }}
    {% endcall %}

    {% set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) %}
    {% do apply_grants(target_relation, grant_config, should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}

    {% if staging_table is defined %}
        {% do post_snapshot(staging_table) %}
    {% endif %}
    {% if rebuilt is defined %}
        {% do adapter.drop_relation(rebuilt) %}
    {% endif %}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{% macro spark_snapshot_rebuilt_relation(target_relation) -%}
    {{ return(api.Relation.create(
        identifier=target_relation.identifier ~ '__dbt_rebuilt',
        schema=target_relation.schema,
        type='table',
    )) }}
{%- endmacro %}


{#-
    The snapshot after applying the staging rows, as dbt-spark's MERGE INTO would leave it:
    a current version (dbt_valid_to current or NULL) that staging updates or deletes gets the
    staging row's dbt_valid_to; staging's inserts are added.
-#}
{% macro spark_snapshot_rewrite_sql(target, staging, rebuilt, columns) -%}
    {%- set target_columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    {%- set valid_to = columns.dbt_valid_to -%}
    {%- set current_to = config.get('dbt_valid_to_current') -%}
    create table {{ rebuilt }} using parquet as
    select
        {%- for column in target_columns %}
            {% if column | lower == valid_to | lower -%}
                case
                    when
                        changes.{{ columns.dbt_scd_id }} is not null
                        and (
                            {%- if current_to %}
                                snapshotted.{{ valid_to }} = {{ current_to }} or
                            {%- endif %}
                            snapshotted.{{ valid_to }} is null
                        )
                        then changes.{{ valid_to }}
                    else snapshotted.{{ valid_to }}
                end as {{ column }}
            {%- else -%}
                snapshotted.{{ column }}
            {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ target }} as snapshotted
    left join (
        select {{ columns.dbt_scd_id }}, {{ valid_to }}
        from {{ staging }}
        where dbt_change_type in ('update', 'delete')
    ) as changes
        on snapshotted.{{ columns.dbt_scd_id }} = changes.{{ columns.dbt_scd_id }}
    union all
    select {{ target_columns | join(', ') }}
    from {{ staging }}
    where dbt_change_type = 'insert'
{%- endmacro %}
