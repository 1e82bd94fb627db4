{#-
    A boolean expression, never NULL: true for the accounts staff and load tests create in
    the shop (var test_account_names, e.g. Micky Mouse; var test_account_email_domains,
    e.g. anything@example.com), compared trimmed and case-insensitively.
-#}
{% macro is_test_account(first_name_column, last_name_column, email_column) -%}
    {%- set conditions = [] -%}
    {%- for name in var('test_account_names', []) -%}
        {%- do conditions.append(
            "(lower(trim(" ~ first_name_column ~ ")) = '" ~ name.first_name | lower ~ "'"
            ~ " and lower(trim(" ~ last_name_column ~ ")) = '" ~ name.last_name | lower ~ "')"
        ) -%}
    {%- endfor -%}
    {%- for domain in var('test_account_email_domains', []) -%}
        {%- do conditions.append(
            "lower(trim(" ~ email_column ~ ")) like '%@" ~ domain | lower ~ "'"
        ) -%}
    {%- endfor -%}
    coalesce({{ conditions | join(' or ') if conditions else 'false' }}, false)
{%- endmacro %}
