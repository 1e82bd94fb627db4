{#-
    Nothing lost, nothing double counted between the payment processor and finance: every
    order of a real customer (deleted ones included) and every order id only the processor
    knows has exactly the row in fct_payment_reconciliation whose charges and refunds are
    those of staging (succeeded ones summed, declined attempts counted), and the mart's
    totals of charged, refunded and net received money equal staging's, less the test
    accounts' orders and charges. Test accounts are found again in the raw sources with
    is_test_account(), independently of the staging filter: the shop's customers, and the
    card holder's billing details of each charge (a test order the shop purged). Returns the disagreeing orders,
    and a row named `total` when the sums differ.
    Scope: whole tables on every run. Per order and in total: a total cannot be checked on
    part of the rows.
-#}
with

payments_charges as (

    select * from {{ source('payments', 'charges') }}

),

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

stg_payments__charges as (

    select * from {{ ref('stg_payments__charges') }}

),

stg_payments__refunds as (

    select * from {{ ref('stg_payments__refunds') }}

),

fct_payment_reconciliation as (

    select * from {{ ref('fct_payment_reconciliation') }}

),

test_accounts as (

    {{ test_account_ids() }}

),

test_account_orders as (

    select stg_shop__orders.order_id
    from stg_shop__orders
    inner join test_accounts
        on stg_shop__orders.customer_id = test_accounts.customer_id

),

test_account_charges as (

    select id as charge_id
    from payments_charges
    where {{ is_test_account(
        dbt.split_part('trim(billing_details__name)', "' '", 1),
        dbt.split_part('trim(billing_details__name)', "' '", 2),
        'billing_details__email',
    ) }}

),

charges as (

    select * from stg_payments__charges
    where
        order_id not in (select test_account_orders.order_id from test_account_orders)
        and charge_id not in (select test_account_charges.charge_id from test_account_charges)

),

refunds as (

    select * from stg_payments__refunds
    where
        order_id not in (select test_account_orders.order_id from test_account_orders)
        and not exists (
            select 1 from test_account_charges
            where test_account_charges.charge_id = stg_payments__refunds.charge_id
        )

),

succeeded_refunds as (

    select * from refunds
    where refund_status = 'succeeded'

),

charges_by_order as (

    select
        order_id,
        sum(case when is_succeeded then charge_amount else 0 end) as charged_amount,
        sum(case when is_succeeded then 1 else 0 end) as succeeded_charge_count,
        sum(case when is_succeeded then 0 else 1 end) as failed_charge_count

    from charges
    group by order_id

),

refunds_by_order as (

    select
        order_id,
        sum(refund_amount) as refunded_amount,
        count(*) as refund_count

    from succeeded_refunds
    group by order_id

),

{# The orders the mart must hold: the shop's, and those only the processor knows. #}
expected_orders as (

    select order_id from stg_shop__orders
    where order_id not in (select test_account_orders.order_id from test_account_orders)

    union

    select order_id from charges

    union

    select order_id from refunds

),

expected as (

    select
        expected_orders.order_id,
        coalesce(charges_by_order.charged_amount, 0) as charged_amount,
        coalesce(refunds_by_order.refunded_amount, 0) as refunded_amount,
        coalesce(charges_by_order.succeeded_charge_count, 0) as succeeded_charge_count,
        coalesce(charges_by_order.failed_charge_count, 0) as failed_charge_count,
        coalesce(refunds_by_order.refund_count, 0) as refund_count

    from expected_orders
    left join charges_by_order
        on expected_orders.order_id = charges_by_order.order_id
    left join refunds_by_order
        on expected_orders.order_id = refunds_by_order.order_id

),

order_differences as (

    select
        cast(coalesce(expected.order_id, fct_payment_reconciliation.order_id) as {{
            dbt.type_string()
        }}) as order_id,
        fct_payment_reconciliation.net_received_amount as mart_net_received_amount,
        expected.charged_amount - expected.refunded_amount as expected_net_received_amount

    from expected
    full outer join fct_payment_reconciliation
        on expected.order_id = fct_payment_reconciliation.order_id
    where
        expected.order_id is null
        or fct_payment_reconciliation.order_id is null
        or fct_payment_reconciliation.charged_amount != expected.charged_amount
        or fct_payment_reconciliation.refunded_amount != expected.refunded_amount
        or fct_payment_reconciliation.succeeded_charge_count != expected.succeeded_charge_count
        or fct_payment_reconciliation.failed_charge_count != expected.failed_charge_count
        or fct_payment_reconciliation.refund_count != expected.refund_count

),

mart_totals as (

    select
        coalesce(sum(charged_amount), 0) as charged_amount,
        coalesce(sum(refunded_amount), 0) as refunded_amount,
        coalesce(sum(net_received_amount), 0) as net_received_amount

    from fct_payment_reconciliation

),

staging_totals as (

    select
        (
            select coalesce(sum(charges.charge_amount), 0) from charges
            where charges.is_succeeded
        ) as charged_amount,
        (
            select coalesce(sum(succeeded_refunds.refund_amount), 0) from succeeded_refunds
        ) as refunded_amount

),

total_differences as (

    select
        'total' as order_id,
        mart_totals.net_received_amount as mart_net_received_amount,
        staging_totals.charged_amount - staging_totals.refunded_amount
            as expected_net_received_amount

    from mart_totals
    cross join staging_totals
    where
        mart_totals.charged_amount != staging_totals.charged_amount
        or mart_totals.refunded_amount != staging_totals.refunded_amount
        or mart_totals.net_received_amount
        != staging_totals.charged_amount - staging_totals.refunded_amount

),

final as (

    select * from order_differences
    union all
    select * from total_differences

)

select * from final
