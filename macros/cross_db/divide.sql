{#-
    numerator / denominator as decimal(18, scale), rounded half away from zero from the exact
    quotient, the same on every engine. denominator must be a positive integer expression (a
    count, 3600); numerator a number with at most `scale` decimals (an amount, seconds).
    Why not plain cast(a / b as decimal): DuckDB divides decimals in double precision, so a
    quotient exactly halfway between two cents (563.05 / 2) rounds down on DuckDB and up on
    Spark, which divides decimals exactly. NULL in, or a zero denominator, gives NULL.
-#}
{% macro divide(numerator, denominator, scale=2) -%}
    {{ return(adapter.dispatch('divide', 'globalretail')(numerator, denominator, scale)) }}
{%- endmacro %}

{#- Engines with exact decimal division (Spark, PostgreSQL, Snowflake): cast rounds half up. -#}
{% macro default__divide(numerator, denominator, scale) -%}
    cast(({{ numerator }}) / nullif({{ denominator }}, 0) as decimal(18, {{ scale }}))
{%- endmacro %}

{#-
    DuckDB: in integers (hugeint), in units of 10^-scale: round(|n| / d) = (2 |n| + d) // 2d,
    the sign put back, then scaled with cents_to_units' exact decimal multiplication.
-#}
{% macro duckdb__divide(numerator, denominator, scale) -%}
    {%- set units = 'cast((' ~ numerator ~ ') * ' ~ 10 ** scale ~ ' as hugeint)' -%}
    {%- set divisor = 'cast(nullif(' ~ denominator ~ ', 0) as hugeint)' -%}
    {{ cents_to_units(
        'sign(' ~ units ~ ') * ((2 * abs(' ~ units ~ ') + ' ~ divisor ~ ') // (2 * '
        ~ divisor ~ '))',
        scale,
    ) }}
{%- endmacro %}
