    with reviewed as (
        select
            p.order_id,
            p.returned_at is not null as was_returned,
            p.delivered_at + (2 + 8 * {{ chance("p.order_id", 31) }}) * interval '1 day'
                as reviewed_at
        from demo_meta.order_plans as p
        where p.delivered_at is not null and p.deleted_at is null
            and {{ chance("p.order_id", 30) }} < {{ review_rate }}
    ),

    rated as (
        select
            r.order_id,
            item.product_id,
            r.reviewed_at,
            case when r.was_returned or {{ chance("item.product_id", 32) }} < 0.1
                then ({{ low_ratings }})[1 + floor({{ chance("r.order_id", 33) }} * 10)::int]
                else ({{ ratings }})[1 + floor({{ chance("r.order_id", 33) }} * 20)::int]
            end as rating
        from reviewed as r
        cross join lateral (
            select i.product_id from shop.order_items as i
            where i.order_id = r.order_id order by i.id limit 1
        ) as item
        where r.reviewed_at >= %(lo)s and r.reviewed_at < %(hi)s
    ),

    written as (
        select
            *,
            case
                when rating >= 4 then {{ pick("order_id", 34, positive_titles) }}
                when rating = 3 then {{ pick("order_id", 34, neutral_titles) }}
                else {{ pick("order_id", 34, negative_titles) }}
            end as title,
            case
                when rating >= 4 then {{ pick("order_id", 35, positive_bodies) }}
                when rating = 3 then {{ pick("order_id", 35, neutral_bodies) }}
                else {{ pick("order_id", 35, negative_bodies) }}
            end as body,
            {{ chance("order_id", 36) }} as mess
        from rated
    )

    insert into {{ schema }}.reviews (
        review_id, order_id, product_id, rating, title, body, created_at, updated_at
    )
    select
        {{ object_id("rv", "order_id", "'review'") }},
        order_id,
        product_id,
        rating,
        -- Free text as forms collect it: no title, padding, trailing newlines, a blank body.
        case when mess < 0.15 then null when mess < 0.25 then title || '  ' else title end,
        case
            when mess < 0.05 then null
            when mess < 0.08 then '   '
            when mess < 0.18 then '  ' || body
            when mess < 0.28 then body || E'\n\n'
            when mess < 0.32 then E'\t' || replace(body, ' ', '  ') || ' '
            else body
        end,
        date_trunc('second', reviewed_at),
        date_trunc('second', reviewed_at)
    from written
