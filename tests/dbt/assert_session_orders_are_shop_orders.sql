{#-
    Every session's order is an order of the shop (in stg_shop__orders, deleted ones
    included), unless the session is older than the shop's retention of cancelled orders
    (var shop_cancelled_order_retention_days, before the latest order): such an order may
    have been purged before this warehouse first loaded it. Returns the sessions whose
    order is unknown.
    Scope: the session, a row at a time. A scoped run checks the sessions loaded since the
    last green build (test_scoped); stg_shop__orders, the parent side, is read whole, as
    relationships tests read theirs. Whole-table otherwise.
-#}
with

fct_sessions as (

    select * from {{ test_scoped(ref('fct_sessions')) }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

purge_horizon as (

    {{ shop_purge_horizon() }}

),

final as (

    select
        fct_sessions.session_id,
        fct_sessions.order_id,
        fct_sessions.session_started_at

    from fct_sessions
    cross join purge_horizon
    left join stg_shop__orders
        on fct_sessions.order_id = stg_shop__orders.order_id
    where
        fct_sessions.order_id is not null
        and stg_shop__orders.order_id is null
        and fct_sessions.session_started_at >= purge_horizon.purged_before

)

select * from final
