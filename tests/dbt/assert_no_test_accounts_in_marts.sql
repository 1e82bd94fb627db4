{#-
    No mart or snapshot holds a row of a staff test account. Test accounts are found again
    from the raw source with is_test_account(), independently of the staging filter that
    removes them. Returns the offending rows, by model.
    Scope: whole tables on every run. A row turns bad without being reloaded when its
    customer becomes a test account (the mart row is old, the customer's row new); the test
    reads only customer_id columns joined to the few test accounts.
-#}
with

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_sessions as (

    select * from {{ ref('fct_sessions') }}

),

fct_payment_reconciliation as (

    select * from {{ ref('fct_payment_reconciliation') }}

),

customer_features as (

    select * from {{ ref('customer_features') }}

),

snp_shop__customers as (

    select * from {{ ref('snp_shop__customers') }}

),

test_accounts as (

    {{ test_account_ids() }}

),

final as (

    select
        'dim_customers' as model_name,
        dim_customers.customer_id
    from dim_customers
    inner join test_accounts
        on dim_customers.customer_id = test_accounts.customer_id

    union all

    select
        'fct_orders' as model_name,
        fct_orders.customer_id
    from fct_orders
    inner join test_accounts
        on fct_orders.customer_id = test_accounts.customer_id

    union all

    select
        'fct_order_items' as model_name,
        fct_order_items.customer_id
    from fct_order_items
    inner join test_accounts
        on fct_order_items.customer_id = test_accounts.customer_id

    union all

    select
        'fct_shipments' as model_name,
        fct_shipments.customer_id
    from fct_shipments
    inner join test_accounts
        on fct_shipments.customer_id = test_accounts.customer_id

    union all

    select
        'fct_sessions' as model_name,
        fct_sessions.customer_id
    from fct_sessions
    inner join test_accounts
        on fct_sessions.customer_id = test_accounts.customer_id

    union all

    select
        'fct_payment_reconciliation' as model_name,
        fct_payment_reconciliation.customer_id
    from fct_payment_reconciliation
    inner join test_accounts
        on fct_payment_reconciliation.customer_id = test_accounts.customer_id

    union all

    select
        'customer_features' as model_name,
        customer_features.customer_id
    from customer_features
    inner join test_accounts
        on customer_features.customer_id = test_accounts.customer_id

    union all

    select
        'snp_shop__customers' as model_name,
        snp_shop__customers.customer_id
    from snp_shop__customers
    inner join test_accounts
        on snp_shop__customers.customer_id = test_accounts.customer_id

)

select * from final
