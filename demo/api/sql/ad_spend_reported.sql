    {{ ad_spend_delivery }}
    insert into {{ schema }}.ad_spend (
        campaign_id, spend_date, impressions, clicks, spend_cents, currency, is_final, updated_at
    )
    select
        campaign_id,
        spend_date,
        case when final_at < %(hi)s then impressions
            else round(impressions * preliminary_share)::bigint end,
        case when final_at < %(hi)s then clicks
            else round(clicks * preliminary_share)::bigint end,
        case when final_at < %(hi)s then spend_cents
            else round(spend_cents * preliminary_share)::bigint end,
        'USD',
        final_at < %(hi)s,
        case when final_at < %(hi)s then final_at else reported_at end
    from delivery
    where reported_at >= %(lo)s and reported_at < %(hi)s
