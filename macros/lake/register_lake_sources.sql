{#-
    Makes every source table readable where the target reads sources. Run on every dbt
    invocation (on-run-start in dbt_project.yml), so the models' source() calls resolve
    unchanged on each engine.

    DuckDB: nothing to do, dlt writes the raw_<source> schemas into the warehouse file.
-#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'globalretail')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
{%- endmacro %}

{#-
    Spark: the pipelines ran with the lake destination, so each source table is a folder of
    parquet files, <lake>/<source schema>/<table>/<load id>.<file id>.parquet. Each one is
    (re)registered as an external table over its folder, in a database named like the DuckDB
    schema (raw_shop.orders), with the schema read from every file's footer (mergeSchema): a
    column that appears in later loads (the clickstream's account_id) is a column here too,
    NULL in older files. Recreated on each run because Spark fixes a table's columns when the
    table is created. Dropping an external table leaves its files alone. dlt's load log
    (_dlt_loads, JSON lines) is registered the same way, for the shop's source freshness.
-#}
{% macro spark__register_lake_sources() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set lake_url = env_var('WAREHOUSE_LAKE_URL', 'var/lake').strip().rstrip('/') -%}
    {%- set schemas = [] -%}
    {%- set tables = {} -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
        {%- do schemas.append(source.schema) if source.schema not in schemas -%}
        {%- do tables.update({(source.schema, source.identifier): 'parquet'}) -%}
        {%- do tables.update({(source.schema, '_dlt_loads'): 'json'}) -%}
    {%- endfor -%}
    {%- for schema in schemas -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for (schema, identifier), file_format in tables.items() -%}
        {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ identifier) -%}
        {%- do run_query(
            'create table ' ~ schema ~ '.' ~ identifier ~ ' using ' ~ file_format
            ~ " options (mergeSchema 'true')"
            ~ " location '" ~ lake_url ~ '/' ~ schema ~ '/' ~ identifier ~ "'"
        ) -%}
    {%- endfor -%}
{%- endmacro %}
