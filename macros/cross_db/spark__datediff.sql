{#-
    dbt.datediff on Spark as a bigint, as on DuckDB: dbt-spark's gives an int for calendar
    parts (Spark's datediff), which breaks a contract declaring bigint. The counting is
    dbt-spark's (dbt-spark's macro, which the `dbt` namespace holds), which, like DuckDB, counts the datepart
    boundaries crossed. Replaces dbt-spark's spark__datediff for every dbt.datediff call of
    the project (dispatch looks in the root project first).
-#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    cast({{ dbt.spark__datediff(first_date, second_date, datepart) }} as bigint)
{%- endmacro %}
