{#-
    The latest of several timestamp expressions, ignoring NULLs; NULL when all are NULL.
    Each argument of greatest() falls back to the others, so a NULL never wins and the
    result does not depend on how a database's greatest() treats NULLs.
-#}
{% macro latest_of(expressions) -%}
    greatest(
        {%- for expression in expressions %}
            {%- set others = expressions | reject('equalto', expression) | list %}
            coalesce({{ ([expression] + others) | join(', ') }})
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
