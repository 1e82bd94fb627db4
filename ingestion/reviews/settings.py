"""Constants of the reviews source: product reviews from a review service."""

ENDPOINT = "v1/reviews"
TABLE = "reviews"
PRIMARY_KEY = "id"
# Moves when the review is written and whenever the customer edits it.
CURSOR_FIELD = "updated_at"
UPDATED_SINCE_PARAM = "updated_since"
INITIAL_UPDATED_SINCE = "1970-01-01T00:00:00Z"
# Pages are numbered from 1; `meta.total_pages` says how many there are.
PAGE_PARAM = "page"
PAGE_SIZE_PARAM = "per_page"
TOTAL_PAGES_PATH = "meta.total_pages"
MAX_PAGE_SIZE = 100
# The records' JSON shape (field -> dlt data type): pages that fit it reach dlt as typed Arrow
# tables (ingestion/rest_arrow.py); any other page is normalized by dlt. `title` and `body` are
# text whatever they hold: a title that reads like a date stays text.
RECORD_TYPES = {
    "reviews": {
        "id": "text",
        "order_id": "bigint",
        "product_id": "bigint",
        "rating": "bigint",
        "title": "text",
        "body": "text",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
}
