    {{ ad_spend_delivery }}
    update {{ schema }}.ad_spend as s
    set impressions = d.impressions, clicks = d.clicks, spend_cents = d.spend_cents,
        is_final = true, updated_at = d.final_at
    from delivery as d
    where s.campaign_id = d.campaign_id and s.spend_date = d.spend_date
        and d.final_at >= %(lo)s and d.final_at < %(hi)s and d.reported_at < %(lo)s
