{#-
    A select of one row, purged_before: the latest order in stg_shop__orders minus var
    shop_cancelled_order_retention_days. The shop hard-deletes cancelled orders that long after
    cancellation, so an event older than this may name an order a warehouse first loaded
    later never saw; the tests that web events name shop orders exempt those.
-#}
{% macro shop_purge_horizon() -%}
    select
        {{ dbt.dateadd(
            'day', -1 * var('shop_cancelled_order_retention_days'), 'max(ordered_at)'
        ) }} as purged_before
    from {{ ref('stg_shop__orders') }}
{%- endmacro %}
