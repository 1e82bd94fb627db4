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
