{#-
    The SCD2 snapshots are a clean timeline per key: each version ends exactly when the
    next one starts (no gap, no overlap) and only the last one is current (dbt_valid_to
    9999-12-31, the dbt_valid_to_current of dbt_project.yml), so every key has exactly one
    current version. Point-in-time joins rely on this to find exactly one version for any
    time. Returns the offending versions, by snapshot.
    Scope: whole tables on every run. The snapshots have no load column; a snapshot run
    closes versions of keys staging no longer has, without a loaded row.
-#}
with

snp_shop__customers as (

    select * from {{ ref('snp_shop__customers') }}

),

snp_shop__products as (

    select * from {{ ref('snp_shop__products') }}

),

timelines as (

    select
        'snp_shop__customers' as snapshot_name,
        customer_id as entity_id,
        dbt_valid_from,
        dbt_valid_to,
        lead(dbt_valid_from) over (
            partition by customer_id
            order by dbt_valid_from
        ) as next_valid_from

    from snp_shop__customers

    union all

    select
        'snp_shop__products' as snapshot_name,
        product_id as entity_id,
        dbt_valid_from,
        dbt_valid_to,
        lead(dbt_valid_from) over (
            partition by product_id
            order by dbt_valid_from
        ) as next_valid_from

    from snp_shop__products

),

final as (

    select * from timelines
    where
        (
            next_valid_from is null
            and dbt_valid_to != cast('9999-12-31 00:00:00' as timestamp)
        )
        or (next_valid_from is not null and dbt_valid_to != next_valid_from)

)

select * from final
