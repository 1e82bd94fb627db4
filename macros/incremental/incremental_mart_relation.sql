{#-
    The table of the incremental model named model_name when this dbt invocation builds it
    incrementally (materialized incremental, not a full refresh, its table already there; never
    on Spark, where such a model is a table), else none. For the ephemeral steps inlined into
    that model: is_incremental() and {{ this }} there are the step's own, not the model's, so a
    step asks this to read only what the model rebuilds. None in a unit test, which gives the
    step fixed rows, and while dbt parses. An ephemeral step is compiled once per invocation, for
    every node that selects from it: a step that asks this must be read by that model alone.
-#}
{% macro incremental_mart_relation(model_name) -%}
    {%- if not execute or target.type == 'spark' or model.resource_type == 'unit_test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.name == model_name -%}
        {%- set full_refresh = node.config.full_refresh -%}
        {%- if full_refresh is none -%}
            {%- set full_refresh = flags.FULL_REFRESH -%}
        {%- endif -%}
        {%- if node.config.materialized != 'incremental' or full_refresh -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {{ return(relation if relation is not none and relation.type == 'table' else none) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
