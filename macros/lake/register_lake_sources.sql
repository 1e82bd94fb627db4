{#-
    Makes every source table readable where the target reads sources. Run on every dbt
    invocation (on-run-start in dbt_project.yml), so the models' source() calls resolve
    unchanged on each engine.

    The lake is Delta Lake: <lake>/<source schema>/<table>/ holds the parquet files of every
    version, and _delta_log/ says which of them make up each version. Before dbt runs, the
    warehouse CLI (warehouse/lake.py) reads that log with `deltalake` and writes a snapshot,
    one JSON line per table: the data files of the version to read, and its columns. Its path
    is WAREHOUSE_LAKE_SNAPSHOT. Each source table becomes a relation over exactly those
    files, in a schema named like the DuckDB one (raw_shop.orders); a version with no file
    yet is an empty relation with the table's columns. dlt's load log (_dlt_loads, JSON
    lines, not a Delta table) is read as it is, for the shop's source freshness.

    DuckDB without a snapshot: nothing to do, dlt wrote the raw_<source> schemas into the
    warehouse file.
-#}
{% macro register_lake_sources() -%}
    {%- set snapshot_path = env_var('WAREHOUSE_LAKE_SNAPSHOT', '') -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- if not snapshot_path -%}
        {%- if target.type != 'duckdb' -%}
            {{ exceptions.raise_compiler_error(
                "the " ~ target.name ~ " target reads the sources from the Delta lake, through a "
                ~ "snapshot of its current files: run dbt through `warehouse build`, which writes "
                ~ "it, or set WAREHOUSE_LAKE_SNAPSHOT to one (docs/lakehouse.md)"
            ) }}
        {%- endif -%}
        {{ return('') }}
    {%- endif -%}
    {%- set lines = adapter.dispatch('lake_snapshot_lines', 'globalretail')(snapshot_path) -%}
    {%- set entries = [] -%}
    {%- for line in lines if line.strip() -%}
        {%- do entries.append(fromjson(line)) -%}
    {%- endfor -%}
    {%- for schema in entries | map(attribute='schema') | unique -%}
        {%- do adapter.dispatch('lake_create_schema', 'globalretail')(schema) -%}
    {%- endfor -%}
    {%- for entry in entries -%}
        {%- do adapter.dispatch('lake_register_table', 'globalretail')(entry) -%}
    {%- endfor -%}
{%- endmacro %}

{#- The snapshot file's lines. -#}
{% macro duckdb__lake_snapshot_lines(snapshot_path) -%}
    {%- set result = run_query("select content from read_text('" ~ snapshot_path ~ "')") -%}
    {{ return(result.columns[0].values()[0].split('\n')) }}
{%- endmacro %}

{% macro spark__lake_snapshot_lines(snapshot_path) -%}
    {%- set result = run_query("select value from text.`" ~ snapshot_path ~ "`") -%}
    {{ return(result.columns[0].values()) }}
{%- endmacro %}

{% macro default__lake_create_schema(schema) -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
{%- endmacro %}

{% macro spark__lake_create_schema(schema) -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
{%- endmacro %}

{#-
    DuckDB: a view over the version's files; union_by_name lines up the columns of files
    written before and after a column was added (NULL in the older ones).
-#}
{% macro duckdb__lake_register_table(entry) -%}
    {%- set relation = entry.schema ~ '.' ~ entry.table -%}
    {%- if entry.kind == 'loads' -%}
        {%- set body = "select * from read_json('" ~ entry.uri ~ "/*.jsonl', union_by_name = true)" -%}
    {%- elif entry.files -%}
        {%- set body = "select * from read_parquet(['" ~ entry.files | join("', '")
            ~ "'], union_by_name = true)" -%}
    {%- else -%}
        {%- set casts = [] -%}
        {%- for column in entry.columns -%}
            {%- do casts.append('cast(null as ' ~ column.duckdb ~ ') as "' ~ column.name ~ '"') -%}
        {%- endfor -%}
        {%- set body = 'select ' ~ casts | join(', ') ~ ' where false' -%}
    {%- endif -%}
    {%- do run_query('create or replace view ' ~ relation ~ ' as ' ~ body) -%}
{%- endmacro %}

{#-
    Spark: an external parquet table whose location is a glob naming the version's files,
    <table>/{part-1.parquet,part-2.parquet}, with the schema read from every file's footer
    (mergeSchema: a column added in later versions is NULL in older files). Recreated on each
    run: Spark fixes a table's columns and files when the table is created. Dropping an
    external table leaves its files alone.
-#}
{% macro spark__lake_register_table(entry) -%}
    {%- set relation = entry.schema ~ '.' ~ entry.table -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- if entry.kind == 'loads' -%}
        {%- set ddl = "create table " ~ relation ~ " using json location '" ~ entry.uri ~ "'" -%}
    {%- elif entry.files -%}
        {%- set names = [] -%}
        {%- for file in entry.files -%}
            {%- do names.append(file.split('/')[-1]) -%}
        {%- endfor -%}
        {%- set ddl = "create table " ~ relation ~ " using parquet options (mergeSchema 'true')"
            ~ " location '" ~ entry.uri ~ "/{" ~ names | join(',') ~ "}'" -%}
    {%- else -%}
        {%- set columns = [] -%}
        {%- for column in entry.columns -%}
            {%- do columns.append('`' ~ column.name ~ '` ' ~ column.spark) -%}
        {%- endfor -%}
        {%- set ddl = 'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet' -%}
    {%- endif -%}
    {%- do run_query(ddl) -%}
{%- endmacro %}
