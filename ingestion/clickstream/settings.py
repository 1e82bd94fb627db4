"""Constants of the clickstream source: what it reads and the tables it writes."""

# Gzip JSON-lines files anywhere under the bucket, e.g. YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz.
FILE_GLOB = "**/*.jsonl.gz"
# One page holds every new file of a run, so the run reads them in name (time) order.
FILES_PER_PAGE = 1_000_000
# Decompressed bytes read from a file at a time.
READ_BLOCK_BYTES = 8 * 1024 * 1024
# A file whose decompressed content is at most this long is decompressed once: the pass that
# hashes it keeps the bytes for the parse (an hourly log is a few MB). A bigger one is read
# twice, streaming, so memory stays bounded whatever the file size.
KEEP_CONTENT_BYTES = 64 * 1024 * 1024

# dlt's schema contract for raw_clickstream: the parser is the contract. Every column is
# declared by its Arrow schemas (helpers.py): unknown event fields go to `_extra`, lines of
# another shape to the quarantine, so a new column or a changed type can only come from a code
# change that forgot a migration, and stops the load naming the table and column.
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}
# Tables in raw_clickstream: events as delivered, lines that are no event, one row per file.
EVENTS_TABLE = "events"
QUARANTINE_TABLE = "quarantine"
FILES_TABLE = "files"
# What identifies a row of each table: a line of a file is loaded once, a file is recorded once.
ROW_KEYS = {
    EVENTS_TABLE: ("_file_name", "_line_number"),
    QUARANTINE_TABLE: ("file_name", "line_number"),
    FILES_TABLE: ("file_name",),
}

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
# The JSON types each field may have (or null); a line with another is quarantined as
# "wrong type". Timestamps come as text or as epoch milliseconds.
EVENT_FIELD_TYPES = {
    "event_id": ("string",),
    "event": ("string",),
    "timestamp": ("string", "number"),
    "anonymous_id": ("string",),
    "user_id": ("string", "number"),
    "account_id": ("string", "number"),
    "properties": ("object",),
    "context": ("object",),
}
# A line without these is not an event (staging could neither key nor place it): quarantined.
REQUIRED_FIELDS = ("event_id", "event", "timestamp")
# Fields the app renamed, old -> new: both are loaded as delivered, staging coalesces them.
RENAMED_FIELDS = {"user_id": "account_id"}
