"""Constants of the marketing source: an ad platform's campaigns and daily delivery."""

ENDPOINTS = {"campaigns": "v1/campaigns", "ad_spend": "v1/ad_spend"}
# A campaign is one object; a delivery report is one campaign on one day.
PRIMARY_KEYS = {"campaigns": "id", "ad_spend": ("campaign_id", "date")}
# Both move when the record changes: a campaign starts or ends, a day's figures are restated.
CURSOR_FIELDS = {"campaigns": "updated_time", "ad_spend": "updated_at"}
UPDATED_SINCE_PARAM = "updated_since"
INITIAL_UPDATED_SINCE = "1970-01-01T00:00:00+00:00"
# Fields that are NULL until something happens, typed so their columns always exist.
NULLABLE_COLUMNS = {"campaigns": {"end_time": "timestamp"}, "ad_spend": {"date": "date"}}
MAX_PAGE_SIZE = 500
# The records' JSON shape (field -> dlt data type, nested objects as dicts): pages that fit it
# reach dlt as typed Arrow tables (ingestion/rest_arrow.py); any other page is normalized by dlt.
RECORD_TYPES = {
    "campaigns": {
        "id": "text",
        "name": "text",
        "channel": "text",
        "status": "text",
        "utm": {"source": "text", "medium": "text", "campaign": "text"},
        "daily_budget_cents": "bigint",
        "currency": "text",
        "start_time": "timestamp",
        "end_time": "timestamp",
        "created_time": "timestamp",
        "updated_time": "timestamp",
    },
    "ad_spend": {
        "campaign_id": "text",
        "date": "date",
        "impressions": "bigint",
        "clicks": "bigint",
        "spend_cents": "bigint",
        "currency": "text",
        "is_final": "bool",
        "updated_at": "timestamp",
    },
}
