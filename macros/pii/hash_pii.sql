{#-
    A salted SHA-256 (hex) of a PII value, normalized first (trimmed, lowercased) so that
    ' Ann@Mail.com' and 'ann@mail.com' hash alike and can still be joined on. NULL and blank
    values stay NULL. The salt comes from WAREHOUSE_PII_SALT (a demo default otherwise), so
    hashes cannot be reversed with a precomputed table of known emails.
-#}
{% macro hash_pii(column) -%}
    {%- set salt = env_var('WAREHOUSE_PII_SALT', 'globalretail-demo-salt') -%}
    {%- set salted = dbt.concat([
        dbt.string_literal(salt | replace("'", "''")),
        'lower(trim(' ~ column ~ '))',
    ]) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        else {{ adapter.dispatch('sha256_hex', 'globalretail')(salted) }}
    end
{%- endmacro %}

{#- sha2(value, 256) returns hex on Spark, Databricks, Snowflake, Redshift and MySQL. -#}
{% macro default__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}
