"""Constants of the payments source: a Stripe-style API of charges and refunds."""

# Endpoint paths, relative to base_url (https://api.stripe.com for Stripe itself).
ENDPOINTS = {"charges": "v1/charges", "refunds": "v1/refunds"}
# Every object has a unique `id`; `created` (unix seconds) is set once and filters the lists.
PRIMARY_KEY = "id"
CURSOR_FIELD = "created"
CREATED_SINCE_PARAM = "created[gte]"
CREATED_BEFORE_PARAM = "created[lt]"
# Stripe pages with `starting_after=<id of the last object>` while `has_more` is true.
CURSOR_PARAM = "starting_after"
# The largest page Stripe serves.
MAX_PAGE_SIZE = 100
# The lists read in time slices paged at once (ingestion/rest_slices.py): charges are ~95% of
# the records, refunds too few to gain from it. Slices per read ([sources.payments] slices):
# 4 kept the demo API and the pipeline both busy on 2 cores; each slice is one request at a
# time, so the API sees at most this many (plus refunds') concurrent requests.
SLICED_ENDPOINTS = ("charges",)
DEFAULT_SLICES = 4
# The records' JSON shape (field -> dlt data type, nested objects as dicts): pages that fit it
# reach dlt as typed Arrow tables (ingestion/rest_arrow.py); any other page is normalized by dlt.
RECORD_TYPES = {
    "charges": {
        "id": "text",
        "object": "text",
        "amount": "bigint",
        "currency": "text",
        "created": "bigint",
        "status": "text",
        "paid": "bool",
        "failure_code": "text",
        "livemode": "bool",
        "billing_details": {"email": "text", "name": "text"},
        "metadata": {"order_id": "text"},
    },
    "refunds": {
        "id": "text",
        "object": "text",
        "amount": "bigint",
        "currency": "text",
        "charge": "text",
        "created": "bigint",
        "reason": "text",
        "status": "text",
        "metadata": {"order_id": "text"},
    },
}
