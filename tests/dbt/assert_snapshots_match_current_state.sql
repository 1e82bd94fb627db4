{#-
    The current version of every snapshot row is the entity as the dimensions show it
    today: each customer of dim_customers and product of dim_products has exactly one
    current, not-deleted version, with the same attributes. A change the shop made without
    moving updated_at would be missing from the history; this is where it shows. Returns
    the keys whose current version disagrees, by snapshot.
    Scope: whole tables on every run. The snapshots have no load column, and the dimensions
    re-age rows without a load.
-#}
with

snp_shop__customers as (

    select * from {{ ref('snp_shop__customers') }}

),

snp_shop__products as (

    select * from {{ ref('snp_shop__products') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

current_customers as (

    select * from snp_shop__customers
    where
        dbt_valid_to = cast('9999-12-31 00:00:00' as timestamp)
        and dbt_is_deleted = 'False'

),

current_products as (

    select * from snp_shop__products
    where
        dbt_valid_to = cast('9999-12-31 00:00:00' as timestamp)
        and dbt_is_deleted = 'False'

),

customer_differences as (

    select
        'snp_shop__customers' as snapshot_name,
        coalesce(dim_customers.customer_id, current_customers.customer_id) as entity_id

    from dim_customers
    full outer join current_customers
        on dim_customers.customer_id = current_customers.customer_id
    where
        dim_customers.customer_id is null
        or current_customers.customer_id is null
        or coalesce(dim_customers.email_hash, '') != coalesce(current_customers.email_hash, '')
        or coalesce(dim_customers.city, '') != coalesce(current_customers.city, '')
        or dim_customers.country_code != current_customers.country_code

),

product_differences as (

    select
        'snp_shop__products' as snapshot_name,
        coalesce(dim_products.product_id, current_products.product_id) as entity_id

    from dim_products
    full outer join current_products
        on dim_products.product_id = current_products.product_id
    where
        dim_products.product_id is null
        or current_products.product_id is null
        or dim_products.current_price != current_products.price
        or dim_products.sku != current_products.sku
        or dim_products.category != current_products.category

),

final as (

    select * from customer_differences
    union all
    select * from product_differences

)

select * from final
