{#-
    A select statement returning the `customer_id` of every test account, found again in the
    raw shop customers (not in staging, which drops them), so the singular tests that check
    test accounts are left out do not rely on the code they check.
-#}
{% macro test_account_ids() -%}
    select distinct id as customer_id
    from {{ source('shop', 'customers') }}
    where {{ is_test_account('first_name', 'last_name', 'email') }}
{%- endmacro %}
