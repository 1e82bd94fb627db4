{#-
    The materialization of a model kept up to date by delete+insert: incremental, except on
    Spark, whose plain parquet tables have no DELETE, where the model is a table rebuilt whole.
-#}
{% macro incremental_unless_spark() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
