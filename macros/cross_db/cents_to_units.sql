{#-
    Integer minor units (cents) to an exact decimal amount in major units (dollars).
    Multiplying by an exact decimal literal (0.01) keeps the arithmetic in decimals on every
    engine, so no per-engine implementation is needed; dividing by 100 would give a double
    on DuckDB.
-#}
{% macro cents_to_units(column, scale=2) -%}
    cast({{ column }} * 0.{{ '0' * (scale - 1) }}1 as decimal(18, {{ scale }}))
{%- endmacro %}
