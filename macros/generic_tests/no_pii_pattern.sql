{#-
    Fails on every row whose column holds an email- or phone-like value (the patterns of
    pii_value_patterns()): a PII leak into a model that must hold none. Meant for free-text
    and identifier columns of marts and snapshots; NULLs pass.
-#}
{% test no_pii_pattern(model, column_name) %}

    {%- set patterns = pii_value_patterns() -%}

    select {{ column_name }} as pii_like_value
    from {{ model }}
    where
        {{ matches_pattern(column_name, patterns.email) }}
        or {{ matches_pattern(column_name, patterns.phone) }}

{% endtest %}
