{#-
    A select statement with one row per datepart (day, week, month...) from start_date
    (included) to end_date (excluded), in a column named date_<datepart>; the semantics of
    dbt_utils.date_spine, which we cannot install. start_date and end_date are SQL
    expressions (a literal, a cast, a scalar subquery), evaluated by the database, so the
    range can come from the data without a query at compile time.
-#}
{% macro date_spine(datepart, start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'globalretail')(datepart, start_date, end_date)) }}
{%- endmacro %}

{#-
    Portable: period numbers 0 .. 10^5 - 1 from cross joins of the ten digits (no
    generate_series, no recursive CTE, no nested WITH), added to start_date with dbt.dateadd,
    and cut at end_date. 100,000 periods is 270 years of days, enough for any spine.
-#}
{% macro default__date_spine(datepart, start_date, end_date) -%}
    {%- set digit_places = 5 -%}
    {%- set period_start = dbt.dateadd(datepart, 'spine_periods.period_number', start_date) -%}
    select {{ period_start }} as date_{{ datepart }}
    from (
        select
            {% for place in range(digit_places) -%}
                digits_{{ place }}.digit * {{ 10 ** place }}
                {%- if not loop.last %} + {% endif %}
            {%- endfor %} as period_number
        from
            {% for place in range(digit_places) -%}
                (
                    {% for digit in range(10) -%}
                        select {{ digit }} as digit
                        {%- if not loop.last %} union all {% endif %}
                    {% endfor -%}
                ) as digits_{{ place }}
                {%- if not loop.last %} cross join{% endif %}
            {% endfor %}
    ) as spine_periods
    where {{ period_start }} < {{ end_date }}
{%- endmacro %}
