{#-
    Nothing lost: every shop customer account is in dim_customers exactly when it is not a
    test account (deleted accounts stay, flagged), and dim_customers holds nothing else.
    Returns the accounts where the mart and that expectation disagree.
    Scope: whole tables on every run. A reconciliation: an account missing from the mart has
    no loaded row to be found by.
-#}
with

shop_customers as (

    select * from {{ source('shop', 'customers') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

expectations as (

    select distinct
        shop_customers.id as customer_id,
        not {{
            is_test_account(
                'shop_customers.first_name',
                'shop_customers.last_name',
                'shop_customers.email',
            )
        }} as is_expected_in_mart,
        dim_customers.customer_id is not null as is_in_mart

    from shop_customers
    left join dim_customers
        on shop_customers.id = dim_customers.customer_id

),

unknown_customers as (

    select
        dim_customers.customer_id,
        false as is_expected_in_mart,
        true as is_in_mart

    from dim_customers
    where dim_customers.customer_id not in (select shop_customers.id from shop_customers)

),

final as (

    select * from expectations
    where is_expected_in_mart != is_in_mart

    union all

    select * from unknown_customers

)

select * from final
