{#-
    Use a model's custom schema name as it is (`sales`, `staging`) instead of dbt's default
    `<target_schema>_<custom_schema>` (`main_sales`).

    Why: the warehouse is a DuckDB file per environment, not a shared database where
    developers need prefixed schemas to stay apart; a developer isolates a build by pointing
    WAREHOUSE_DUCKDB_PATH at another file. Analysts, BI tools and the published serving file
    then see the same schema names everywhere: `sales.fct_orders`, one schema per domain.
    Models without a custom schema land in the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
