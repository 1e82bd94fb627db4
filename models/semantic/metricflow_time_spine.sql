{#-
    The semantic layer's calendar: one row per UTC day, 2020-01-01 to 2035-12-31. MetricFlow
    joins to it for cumulative metrics, metric_time at day grain and up, and days without
    data. A fixed range, not one read from the marts: the spine must not change with the
    data, and it covers the demo's history and every real one this warehouse will hold.
-#}
with

day_spine as (

    {{ date_spine(
        'day',
        "cast('2020-01-01' as date)",
        "cast('2036-01-01' as date)",
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from day_spine

)

select * from final
