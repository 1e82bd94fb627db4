"""The clickstream source's errors, table schemas and bucket check. The work is cut by
concern: reading.py (line splitting), parsing.py, tallies.py, drift.py, reconciliation.py.

A file is read as bytes, split into lines with numpy, and each batch of lines is parsed by
DuckDB straight from Arrow (no Python object per event). A line that is not a complete JSON
event goes to the quarantine with its file, line number, raw text and the reason, so every
line read is accounted for: ``lines read = events + quarantined``.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import pyarrow as pa
from dlt.common.storages.configuration import FilesystemConfiguration

from ..errors import SourceError
from .settings import (
    EVENT_FIELDS,
)

log = logging.getLogger(__name__)


class ClickstreamSourceError(SourceError):
    """The logs cannot be read as configured, or a run does not reconcile; the message says
    what to do."""


class UnreadableFile(Exception):
    """A file stopped being readable part-way (a truncated gzip, bytes that are no gzip at
    all, a file gone): the lines before are good; the rest becomes one quarantined line."""

    def __init__(self, reason: str, partial: bytes = b"", line_number: int = 1) -> None:
        super().__init__(reason)
        self.reason, self.partial, self.line_number = reason, partial, line_number

    def quarantine(self, file_name: str) -> pa.Table:
        """The quarantine row for the unreadable rest of ``file_name``."""
        return pa.table(
            {
                "file_name": [file_name],
                "line_number": [self.line_number],
                "raw_text": [self.partial.decode("utf-8", "backslashreplace")],
                "error": [f"file unreadable from this line on: {self.reason}"],
            },
            schema=QUARANTINE_SCHEMA,
        )


# What reading a broken file raises: gzip.BadGzipFile and file errors are OSErrors, a gzip cut
# short raises EOFError, a corrupt deflate stream zlib.error.
READ_ERRORS = (OSError, EOFError, zlib.error)


WHERE_TO_CONFIGURE = (
    "Set [sources.clickstream] bucket_url in .dlt/config.toml (or the environment variable "
    "SOURCES__CLICKSTREAM__BUCKET_URL) to your log folder, or leave it unset and run "
    "`warehouse demo generate` to write the demo's logs."
)

# The tables' columns, so every batch (and the empty one that creates a table) has one shape.
EVENTS_SCHEMA = pa.schema(
    [
        *(pa.field(name, pa.string()) for name in EVENT_FIELDS),
        pa.field("_extra", pa.string()),
        pa.field("_file_name", pa.string(), nullable=False),
        pa.field("_line_number", pa.int64(), nullable=False),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("line_number", pa.int64(), nullable=False),
        pa.field("raw_text", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
    ]
)
FILES_SCHEMA = pa.schema(
    [
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("file_url", pa.string(), nullable=False),
        pa.field("size_in_bytes", pa.int64()),
        pa.field("modification_date", pa.timestamp("us", tz="UTC")),
        pa.field("lines_read", pa.int64(), nullable=False),
        pa.field("events_loaded", pa.int64(), nullable=False),
        pa.field("lines_quarantined", pa.int64(), nullable=False),
        pa.field("event_fields", pa.string()),
        pa.field("content_sha256", pa.string()),
    ]
)


def check_bucket(bucket_url: str) -> None:
    """Fail fast with a clear message when a local log folder does not exist (dlt would just
    find no files, and the run would load nothing without saying why)."""
    if bucket_url.startswith("file://"):
        folder = Path(FilesystemConfiguration.make_local_path(bucket_url))
    elif FilesystemConfiguration.is_local_path(bucket_url):
        folder = Path(bucket_url)
    else:
        return  # a bucket: fsspec reports what is wrong with it
    if not folder.is_dir():
        raise ClickstreamSourceError(
            f"clickstream source: the log folder {folder} does not exist. {WHERE_TO_CONFIGURE}"
        )
