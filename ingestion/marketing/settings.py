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
