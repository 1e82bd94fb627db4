{#-
    The customer's attributes as known just before each as-of instant: the snapshot
    version in force then; none before the snapshot's first run.
-#}
with

customer_spine as (

    select * from {{ ref('int_customer_as_of_dates_spined') }}

),

snp_shop__customers as (

    select * from {{ ref('snp_shop__customers') }}

),

profiles as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        snp_shop__customers.country_code,
        snp_shop__customers.city

    from customer_spine
    inner join snp_shop__customers
        on customer_spine.customer_id = snp_shop__customers.customer_id
    where
        snp_shop__customers.dbt_valid_from < customer_spine.as_of_at
        and customer_spine.as_of_at <= snp_shop__customers.dbt_valid_to
        and snp_shop__customers.dbt_is_deleted = 'False'

),

final as (

    select
        customer_spine.customer_id,
        customer_spine.as_of_date,
        profiles.country_code,
        profiles.city,
        profiles.customer_id is not null as is_profile_known

    from customer_spine
    left join profiles
        on
            customer_spine.customer_id = profiles.customer_id
            and customer_spine.as_of_date = profiles.as_of_date

)

select * from final
