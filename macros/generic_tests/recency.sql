{#-
    Fails when the model's latest field value is older than interval datepart(s) before
    the wall clock (or the model is empty): the data has stopped arriving. The clock is read
    in UTC, like every *_at column. Compares at full precision; pass datepart day for a
    coarser check.
-#}
{% test recency(model, field, datepart, interval) %}

    {%- set now_utc = to_utc(dbt.current_timestamp()) -%}

    select
        most_recent,
        oldest_accepted
    from (
        select
            max({{ field }}) as most_recent,
            {{ dbt.dateadd(datepart, '-1 * (' ~ interval ~ ')', now_utc) }} as oldest_accepted
        from {{ model }}
    ) as recency
    where most_recent is null or most_recent < oldest_accepted

{% endtest %}
