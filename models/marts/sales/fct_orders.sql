{#-
    One row per live order of a real customer, in its current state.

    Incremental on the order: a run rebuilds every order with a row (order, line, shipment,
    customer) loaded after the latest source_loaded_at already here (shop_orders_to_rebuild).
    The pre-hook deletes those orders, and the select inserts the ones still live, so a
    deleted order leaves and a late status change replaces the row. On Spark (plain parquet
    tables, no DELETE) the model is a table, rebuilt whole.
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where order_id in ("
            ~ "{{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }}){% endif %}"
        ),
    )
}}
{#- What shop_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}

with

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select
        order_id,
        customer_id,
        shipment_id,
        order_status,
        currency,
        carrier,
        item_count,
        unit_count,
        items_subtotal,
        order_subtotal,
        shipping_fee,
        order_total,
        ordered_at,
        cast(ordered_at as date) as order_date,
        shipped_at,
        delivered_at,
        {{ dbt.datediff('ordered_at', 'delivered_at', 'day') }}
            as days_to_delivery,
        order_updated_at,
        source_loaded_at

    from int_orders_enriched
    {% if is_incremental() %}
        where order_id in ({{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }})
    {% endif %}

)

select * from final
