    insert into {{ schema }}.refunds (
        refund_id, charge_id, order_id, amount_cents, currency, reason, status, created_at
    )
    select
        {{ object_id("re", "r.order_id", "r.kind") }},
        {{ object_id("ch", "r.order_id", "r.attempt") }},
        order_id,
        amount_cents,
        'usd',
        reason,
        'succeeded',
        date_trunc('second', refunded_at)
    from (
        -- Cancelled after payment: everything back.
        select
            p.order_id,
            'paid' as attempt,
            'cancelled' as kind,
            p.subtotal_cents + p.shipping_cents as amount_cents,
            'requested_by_customer' as reason,
            p.cancelled_at as refunded_at
        from demo_meta.order_plans as p
        where p.paid_at is not null and p.cancelled_at >= %(lo)s and p.cancelled_at < %(hi)s

        union all

        -- Returned: the items back, shipping kept; some customers send back only part.
        select
            p.order_id,
            'paid',
            'returned',
            case when {{ chance("p.order_id", 20) }} < {{ partial_return_rate }}
                then greatest(
                    1, round(p.subtotal_cents * (0.3 + 0.6 * {{ chance("p.order_id", 21) }}))
                )
                else p.subtotal_cents
            end,
            'requested_by_customer',
            p.returned_at
        from demo_meta.order_plans as p
        where p.returned_at >= %(lo)s and p.returned_at < %(hi)s

        union all

        -- Some double charges are noticed (by the customer, or by support) and refunded.
        select
            p.order_id,
            'double',
            'double',
            p.subtotal_cents + p.shipping_cents,
            'duplicate',
            p.paid_at + (1 + 4 * {{ chance("p.order_id", 22) }}) * interval '1 day'
        from demo_meta.order_plans as p
        where p.paid_at is not null and {{ chance("p.order_id", 10) }} < {{ double_charge_rate }}
            and {{ chance("p.order_id", 23) }} < {{ double_charge_refund_rate }}
    ) as r
    where refunded_at >= %(lo)s and refunded_at < %(hi)s
