{#-
    One row per product in the catalogue with its current price; delisted products stay
    (is_deleted) so that past order lines keep their product.
-#}
with

stg_shop__products as (

    select * from {{ ref('stg_shop__products') }}

),

final as (

    select
        product_id,
        sku,
        product_name,
        category,
        currency,
        price as current_price,
        is_deleted,
        product_created_at,
        product_updated_at,
        deleted_at

    from stg_shop__products

)

select * from final
