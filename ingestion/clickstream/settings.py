"""Constants of the clickstream source: what it reads and the tables it writes."""

# Gzip JSON-lines files anywhere under the bucket, e.g. YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz.
FILE_GLOB = "**/*.jsonl.gz"
# One page holds every new file of a run, so the run reads them in name (time) order.
FILES_PER_PAGE = 1_000_000
# Decompressed bytes read from a file at a time.
READ_BLOCK_BYTES = 8 * 1024 * 1024

# Tables in raw_clickstream: events as delivered, lines that are no event, one row per file.
EVENTS_TABLE = "events"
QUARANTINE_TABLE = "quarantine"
FILES_TABLE = "files"

# The top-level fields of an event, loaded as text columns of the same name (objects as JSON
# text). Fields outside this list are kept too, as one JSON object in `_extra`.
EVENT_FIELDS = (
    "event_id",
    "event",
    "timestamp",
    "anonymous_id",
    "user_id",
    "account_id",
    "properties",
    "context",
)
NESTED_FIELDS = ("properties", "context")
# A line without these is not an event (staging could neither key nor place it): quarantined.
REQUIRED_FIELDS = ("event_id", "event", "timestamp")
# Fields the app renamed, old -> new: both are loaded as delivered, staging coalesces them.
RENAMED_FIELDS = {"user_id": "account_id"}
