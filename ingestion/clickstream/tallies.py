"""The rows of the clickstream's tables: empty tables of each schema, and the per-file record
(lines read, events loaded, lines quarantined)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .helpers import FILES_SCHEMA

# --------------------------------------------------------------------------------------------
# The tables' rows


def empty(schema: pa.Schema) -> pa.Table:
    """An empty batch: yielded first, it creates the table even when a run has no rows for
    it, so staging can always select from it."""
    return schema.empty_table()


@dataclass
class FileTally:
    """What became of one file's lines so far."""

    lines_read: int = 0
    events: int = 0
    quarantined: int = 0
    fields: set[str] = field(default_factory=set)
    content_sha256: str | None = None


def file_rows(items: Sequence[dict[str, Any]], tallies: dict[str, FileTally]) -> pa.Table:
    """The `files` rows of loaded files: where each was, and what became of its lines."""
    counts = [tallies[item["relative_path"]] for item in items]
    return pa.table(
        {
            "file_name": [item["relative_path"] for item in items],
            "file_url": [item["file_url"] for item in items],
            "size_in_bytes": [item.get("size_in_bytes") for item in items],
            "modification_date": [item.get("modification_date") for item in items],
            "lines_read": [tally.lines_read for tally in counts],
            "events_loaded": [tally.events for tally in counts],
            "lines_quarantined": [tally.quarantined for tally in counts],
            "event_fields": [",".join(sorted(tally.fields)) or None for tally in counts],
            "content_sha256": [tally.content_sha256 for tally in counts],
        },
        schema=FILES_SCHEMA,
    )
