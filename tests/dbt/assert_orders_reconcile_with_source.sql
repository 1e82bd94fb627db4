{#-
    Nothing lost, nothing double counted: every shop order is in fct_orders exactly when it
    is neither deleted nor a test account's, and fct_orders holds nothing else.
    Returns the orders where the mart and that expectation disagree.
    Scope: whole tables on every run. A reconciliation: an order missing from the mart has
    no loaded row to be found by.
-#}
with

stg_shop__orders as (

    select * from {{ ref('stg_shop__orders') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

test_accounts as (

    {{ test_account_ids() }}

),

expectations as (

    select
        stg_shop__orders.order_id,
        (
            not stg_shop__orders.is_deleted and test_accounts.customer_id is null
        ) as is_expected_in_mart,
        fct_orders.order_id is not null as is_in_mart

    from stg_shop__orders
    left join test_accounts
        on stg_shop__orders.customer_id = test_accounts.customer_id
    left join fct_orders
        on stg_shop__orders.order_id = fct_orders.order_id

),

unknown_orders as (

    select
        fct_orders.order_id,
        false as is_expected_in_mart,
        true as is_in_mart

    from fct_orders
    where fct_orders.order_id not in (select stg_shop__orders.order_id from stg_shop__orders)

),

final as (

    select * from expectations
    where is_expected_in_mart != is_in_mart

    union all

    select * from unknown_orders

)

select * from final
