    update {{ schema }}.reviews
    set rating = case when {{ chance("review_id", 41) }} < 0.5
            then least(5, rating + 1) else greatest(1, rating - 2) end,
        body = coalesce(body, '') || case when {{ chance("review_id", 41) }} < 0.5
            then ' UPDATE: support sorted it out quickly, raising my rating.'
            else ' UPDATE: it broke after a couple of weeks.' end,
        updated_at = date_trunc('second', created_at
            + (1 + 5 * {{ chance("review_id", 42) }}) * interval '1 day')
    where {{ chance("review_id", 40) }} < {{ review_edit_rate }}
        and created_at + (1 + 5 * {{ chance("review_id", 42) }}) * interval '1 day' >= %(lo)s
        and created_at + (1 + 5 * {{ chance("review_id", 42) }}) * interval '1 day' < %(hi)s
