{#-
    One row per live shipment of an order in fct_orders, with lead times and its status
    against the carrier's promise (seed carrier_service_levels). Shipments still on the way
    are judged on the warehouse clock, the time of the latest order in the warehouse, not
    on the wall clock: a rebuild on the same data gives the same answer.

    Incremental on the shipment (delete+insert on shipment_id), recomputing the shipments
    of: every order shop_orders_to_rebuild finds since the latest source_loaded_at here
    (the order, its lines, its shipment or its customer loaded after the mark, deleted
    ones included: staging keeps them, flagged); every order whose shipment is still
    undelivered in staging; every row whose promised_transit_days is no longer the seed's.
    Why that equals a full refresh with the same clock: the clock (recomputed on every run
    from all of fct_orders) only decides is_lost, is_late and shipment_status, and only
    while delivered_at is NULL; a delivered shipment's row depends on its shipment, its
    order and the seed alone, and a change to the first two reloads a row (load time
    above the mark), a change to the third shows against the stored row. A shipment that
    leaves (deleted, its order deleted or now a test account's) is removed by the pre-hook,
    with the same rule as the select's. A table on Spark (no DELETE).
-#}
{{
    config(
        materialized=incremental_unless_spark(),
        incremental_strategy='delete+insert',
        unique_key='shipment_id',
        on_schema_change='fail',
        pre_hook=(
            "{% if is_incremental() %}delete from {{ this }} where shipment_id not in ("
            ~ "select live.shipment_id from {{ ref('stg_shop__shipments') }} as live"
            ~ " inner join {{ ref('fct_orders') }} as live_orders"
            ~ " on live.order_id = live_orders.order_id"
            ~ " where not live.is_deleted){% endif %}"
        ),
    )
}}
{#- What shop_orders_to_rebuild reads, declared for dbt's parse (it runs incremental only). -#}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__shipments') }}, {{ source('shop', 'customers') }}
-- depends_on: {{ source('shop', 'hard_deletes') }}

with

stg_shop__shipments as (

    select * from {{ ref('stg_shop__shipments') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

carrier_service_levels as (

    select * from {{ ref('carrier_service_levels') }}

),

{% if is_incremental() %}
{# Rows to recompute: see the header. Read before the delete+insert, from the stored rows. #}
orders_to_rebuild as (

    {{ shop_orders_to_rebuild(high_water_mark('source_loaded_at')) }}

    union

    select open_shipments.order_id
    from stg_shop__shipments as open_shipments
    where open_shipments.delivered_at is null

    union

    select built.order_id
    from {{ this }} as built
    left join carrier_service_levels
        on built.carrier = carrier_service_levels.carrier
    where built.promised_transit_days is distinct from carrier_service_levels.promised_transit_days

),
{% endif %}

warehouse_clock as (

    select max(ordered_at) as as_of_at
    from fct_orders

),

shipments as (

    select
        stg_shop__shipments.shipment_id,
        stg_shop__shipments.order_id,
        fct_orders.customer_id,
        stg_shop__shipments.carrier,
        carrier_service_levels.promised_transit_days,
        fct_orders.ordered_at,
        stg_shop__shipments.shipped_at,
        {{ dbt.dateadd(
            'day',
            'carrier_service_levels.promised_transit_days',
            'stg_shop__shipments.shipped_at',
        ) }} as promised_delivery_at,
        stg_shop__shipments.delivered_at,
        stg_shop__shipments.shipment_updated_at,
        greatest(fct_orders.source_loaded_at, stg_shop__shipments.loaded_at)
            as source_loaded_at,
        warehouse_clock.as_of_at

    from stg_shop__shipments
    inner join fct_orders
        on stg_shop__shipments.order_id = fct_orders.order_id
    left join carrier_service_levels
        on stg_shop__shipments.carrier = carrier_service_levels.carrier
    cross join warehouse_clock
    where not stg_shop__shipments.is_deleted
    {% if is_incremental() %}
        and stg_shop__shipments.order_id in (
            select orders_to_rebuild.order_id from orders_to_rebuild
        )
    {% endif %}

),

shipment_checks as (

    select
        *,
        delivered_at is not null as is_delivered,
        (
            delivered_at is null
            and as_of_at > {{ dbt.dateadd('day', var('shipment_lost_after_days'), 'shipped_at') }}
        ) as is_lost,
        {# Unknown when the carrier has no promise; else late once past the promise. #}
        case
            when promised_delivery_at is null then null
            when delivered_at is not null then delivered_at > promised_delivery_at
            else as_of_at > promised_delivery_at
        end as is_late,
        {{ dbt.datediff('ordered_at', 'shipped_at', 'second') }}
            as seconds_to_ship,
        {{ dbt.datediff('shipped_at', 'delivered_at', 'second') }}
            as seconds_in_transit

    from shipments

),

final as (

    select
        shipment_id,
        order_id,
        customer_id,
        carrier,
        case
            when is_delivered then 'delivered'
            when is_lost then 'lost'
            else 'in_transit'
        end as shipment_status,
        cast(promised_transit_days as {{ dbt.type_int() }}) as promised_transit_days,
        {{ divide('seconds_to_ship', 3600) }} as hours_to_ship,
        {{ divide('seconds_to_ship', 86400) }} as days_to_ship,
        {{ divide('seconds_in_transit', 3600) }} as hours_in_transit,
        {{ divide('seconds_in_transit', 86400) }} as days_in_transit,
        is_delivered,
        is_late,
        is_lost,
        ordered_at,
        shipped_at,
        cast(shipped_at as date) as shipped_date,
        cast(promised_delivery_at as {{ dbt.type_timestamp() }}) as promised_delivery_at,
        delivered_at,
        shipment_updated_at,
        source_loaded_at

    from shipment_checks

)

select * from final
