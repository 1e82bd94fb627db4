    -- A charge's time is whole seconds (the API speaks unix time).
    insert into {{ schema }}.charges (
        charge_id, order_id, amount_cents, currency, status, failure_code, billing_email,
        billing_name, created_at
    )
    select
        {{ object_id("ch", "attempts.order_id", "attempts.attempt") }},
        attempts.order_id,
        amount_cents,
        'usd',
        status,
        failure_code,
        c.email,
        c.first_name || ' ' || c.last_name,
        date_trunc('second', charged_at)
    from (
        select
            p.order_id,
            'paid' as attempt,
            p.subtotal_cents + p.shipping_cents as amount_cents,
            'succeeded' as status,
            null::text as failure_code,
            p.paid_at as charged_at
        from demo_meta.order_plans as p
        where p.paid_at >= %(lo)s and p.paid_at < %(hi)s

        union all

        -- A double submit: the same amount charged again seconds later.
        select
            p.order_id,
            'double',
            p.subtotal_cents + p.shipping_cents,
            'succeeded',
            null,
            p.paid_at + (2 + 38 * {{ chance("p.order_id", 11) }}) * interval '1 second'
        from demo_meta.order_plans as p
        where p.paid_at is not null and {{ chance("p.order_id", 10) }} < {{ double_charge_rate }}

        union all

        -- A declined card, between placing the order and paying (or giving up).
        select
            p.order_id,
            'declined',
            p.subtotal_cents + p.shipping_cents,
            'failed',
            {{ pick("p.order_id", 14, failure_codes) }},
            p.created_at + (coalesce(p.paid_at, p.created_at + interval '1 hour') - p.created_at)
                * {{ chance("p.order_id", 13) }}
        from demo_meta.order_plans as p
        where {{ chance("p.order_id", 12) }} < case when p.paid_at is null
            then {{ declined_never_paid_rate }} else {{ declined_before_paying_rate }} end
    ) as attempts
    -- The card holder is the order's customer (a hard-deleted one has no details left).
    left join demo_meta.order_plans as o on attempts.order_id = o.order_id
    left join shop.customers as c on o.customer_id = c.id
    where charged_at >= %(lo)s and charged_at < %(hi)s
