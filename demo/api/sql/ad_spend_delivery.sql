    -- Each UTC day a campaign ran is reported at 03:00 the next day (preliminary, a little
    -- under the final figures) and restated at 03:00 two days later (final).
    with days as (
        select
            c.campaign_id,
            c.channel,
            c.daily_budget_cents,
            c.started_at,
            c.ended_at,
            day::date as spend_date,
            day at time zone 'UTC' as day_start
        from {{ schema }}.campaigns as c
        cross join lateral generate_series(
            date_trunc('day', c.started_at at time zone 'UTC'),
            least(coalesce(c.ended_at, %(hi)s), %(hi)s) at time zone 'UTC',
            interval '1 day'
        ) as day
    ),

    running as (
        select
            *,
            day_start + interval '1 day 3 hours' as reported_at,
            day_start + interval '3 days 3 hours' as final_at,
            -- The share of the day the campaign ran: its first and last days are partial.
            extract(epoch from
                least(day_start + interval '1 day', coalesce(ended_at, 'infinity'))
                - greatest(day_start, started_at)
            ) / 86400.0 as share_of_day,
            campaign_id || ':' || spend_date as key
        from days
    ),

    final as (
        select
            campaign_id,
            spend_date,
            reported_at,
            final_at,
            key,
            round(
                daily_budget_cents * share_of_day * (0.7 + 0.3 * {{ chance("key", 1) }})
            )::bigint as spend_cents,
            -- Cost per click and click-through rate differ by channel (demo.channels).
            case channel
                {%- for name, channel in channels.items() %}
                when '{{ name }}' then {{ channel.cost_per_click_cents }}
                {%- endfor %}
            end * (0.8 + 0.4 * {{ chance("key", 2) }}) as cost_per_click,
            case channel
                {%- for name, channel in channels.items() %}
                when '{{ name }}' then {{ channel.click_rate }}
                {%- endfor %}
            end * (0.8 + 0.4 * {{ chance("key", 3) }}) as click_rate,
            0.9 + 0.08 * {{ chance("key", 4) }} as preliminary_share
        from running
        where share_of_day > 0
    ),

    delivery as (
        select
            campaign_id,
            spend_date,
            reported_at,
            final_at,
            spend_cents,
            round(spend_cents / cost_per_click)::bigint as clicks,
            round(spend_cents / cost_per_click / click_rate)::bigint as impressions,
            preliminary_share
        from final
    )
