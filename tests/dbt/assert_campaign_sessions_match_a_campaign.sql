{#-
    Every session that arrives with utm codes belongs to an ad campaign: its utm source,
    medium and campaign are one campaign's in stg_marketing__campaigns. A session that
    matches none (a typo in a link, a campaign missing from the ad platform) counts for no
    campaign and can be no order's touch. A warning: the sessions are still right, the
    marketing team needs to fix the link. Returns the unmatched utm codes and their
    sessions.
    Scope: the session, a row at a time. A scoped run checks the sessions loaded since the
    last green build (test_scoped) against every campaign. Whole-table otherwise.
-#}
{{ config(severity='warn') }}

with

fct_sessions as (

    select * from {{ test_scoped(ref('fct_sessions')) }}

),

stg_marketing__campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

final as (

    select
        fct_sessions.utm_source,
        fct_sessions.utm_medium,
        fct_sessions.utm_campaign,
        count(*) as session_count,
        min(fct_sessions.session_started_at) as first_session_started_at

    from fct_sessions
    left join stg_marketing__campaigns
        on
            fct_sessions.utm_source = stg_marketing__campaigns.utm_source
            and fct_sessions.utm_medium = stg_marketing__campaigns.utm_medium
            and fct_sessions.utm_campaign = stg_marketing__campaigns.utm_campaign
    where
        coalesce(fct_sessions.utm_source, fct_sessions.utm_medium, fct_sessions.utm_campaign)
        is not null
        and stg_marketing__campaigns.campaign_id is null
    group by fct_sessions.utm_source, fct_sessions.utm_medium, fct_sessions.utm_campaign

)

select * from final
