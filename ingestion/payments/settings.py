"""Constants of the payments source: a Stripe-style API of charges and refunds."""

# Endpoint paths, relative to base_url (https://api.stripe.com for Stripe itself).
ENDPOINTS = {"charges": "v1/charges", "refunds": "v1/refunds"}
# Every object has a unique `id`; `created` (unix seconds) is set once and filters the lists.
PRIMARY_KEY = "id"
CURSOR_FIELD = "created"
CREATED_SINCE_PARAM = "created[gte]"
# Stripe pages with `starting_after=<id of the last object>` while `has_more` is true.
CURSOR_PARAM = "starting_after"
# The largest page Stripe serves.
MAX_PAGE_SIZE = 100
