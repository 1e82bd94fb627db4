{#-
    Fails on every row where expression is false. NULL results pass (unknown is not a
    violation), as in dbt_utils; add `is not null` to the expression to forbid them.
-#}
{% test expression_is_true(model, expression) %}

    select *
    from {{ model }}
    where not ({{ expression }})

{% endtest %}
