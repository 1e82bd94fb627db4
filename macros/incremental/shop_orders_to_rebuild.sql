{#-
    Renders a select of the order_id of every order an incremental sales mart must rebuild:
    each order whose row, lines or shipment the pipeline loaded after since (a timestamp
    expression, the mart's high_water_mark), or whose customer's row it did or whose hard
    delete it recorded: a customer leaving staging (a test account) takes their orders out of
    the marts, and the customer's load time is part of each order's source_loaded_at. Status changes days
    later, refunds recorded as a status, and hard deletes (their loaded_at is when the delete
    was recorded) all reload a row, so all are found. Deleted rows stay in staging, flagged,
    so a deleted order is found too, and the mart removes it.
-#}
{% macro shop_orders_to_rebuild(since) -%}
    select stg_shop__orders.order_id
    from {{ ref('stg_shop__orders') }} as stg_shop__orders
    where stg_shop__orders.loaded_at > {{ since }}

    union

    select stg_shop__order_items.order_id
    from {{ ref('stg_shop__order_items') }} as stg_shop__order_items
    where stg_shop__order_items.loaded_at > {{ since }}

    union

    select stg_shop__shipments.order_id
    from {{ ref('stg_shop__shipments') }} as stg_shop__shipments
    where stg_shop__shipments.loaded_at > {{ since }}

    union

    select customer_orders.order_id
    from {{ ref('stg_shop__orders') }} as customer_orders
    where
        customer_orders.customer_id in ({{ shop_customers_loaded_after(since) }})
{%- endmacro %}

{#-
    Renders a select of the id of every shop customer whose row the pipeline loaded after
    since (a timestamp expression), or whose hard delete it recorded then: among them every
    customer who became a staff test account (staging drops them) or stopped being one.
    Read from the raw tables: staging no longer has a customer turned test account.
-#}
{% macro shop_customers_loaded_after(since) -%}
    select cast(raw_customers.id as {{ dbt.type_bigint() }}) as customer_id
    from {{ source('shop', 'customers') }} as raw_customers
    where {{ to_utc(epoch_to_timestamp('raw_customers._dlt_load_id')) }} > {{ since }}

    union

    select cast(customer_deletes.id as {{ dbt.type_bigint() }}) as customer_id
    from {{ source('shop', 'hard_deletes') }} as customer_deletes
    where
        customer_deletes.table_name = 'customers'
        and {{ to_utc(epoch_to_timestamp('customer_deletes._dlt_load_id')) }} > {{ since }}
{%- endmacro %}
