{#-
    One row per live line of a live order of a real customer: the inner join keeps only
    lines of orders that are in fct_orders.

    Incremental on the order, like fct_orders: a run deletes all the lines of every order
    shop_orders_to_rebuild finds and inserts its live lines again. A table on Spark.
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

stg_shop__order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

int_orders_enriched as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select
        stg_shop__order_items.order_item_id,
        stg_shop__order_items.order_id,
        int_orders_enriched.customer_id,
        stg_shop__order_items.product_id,
        int_orders_enriched.order_status,
        int_orders_enriched.currency,
        stg_shop__order_items.quantity,
        stg_shop__order_items.unit_price,
        cast(
            stg_shop__order_items.quantity * stg_shop__order_items.unit_price
            as decimal(18, 2)
        ) as line_total,
        int_orders_enriched.ordered_at,
        cast(int_orders_enriched.ordered_at as date) as order_date,
        int_orders_enriched.source_loaded_at

    from stg_shop__order_items
    inner join int_orders_enriched
        on stg_shop__order_items.order_id = int_orders_enriched.order_id
    where not stg_shop__order_items.is_deleted
    {% if is_incremental() %}
        and stg_shop__order_items.order_id in (
            {{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }}
        )
    {% endif %}

)

select * from final
