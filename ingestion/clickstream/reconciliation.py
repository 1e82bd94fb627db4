"""Reconciliation of the clickstream: per file, lines read = events loaded + lines quarantined."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import dlt

from ..lake import query_loaded
from .helpers import ClickstreamSourceError
from .parsing import _quoted
from .settings import (
    EVENTS_TABLE,
    FILES_TABLE,
    QUARANTINE_TABLE,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Reconciliation


@dataclass(frozen=True)
class Reconciliation:
    """What a run did with the lines it read: loaded as events or quarantined."""

    files: int
    lines_read: int
    loaded: int
    quarantined: int

    def counts(self) -> dict[str, int]:
        return {
            "lines read": self.lines_read,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
        }


def reconcile(pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> Reconciliation:
    """Check, in the warehouse, that every line the given loads read is there: as an event or
    as a quarantined line, file by file. Raise ClickstreamSourceError naming the files that
    do not add up.
    """
    if not load_ids or pipeline.default_schema_name is None:
        return Reconciliation(0, 0, 0, 0)
    loaded = set(pipeline.default_schema.data_table_names(seen_data_only=True))
    loads = ", ".join(_quoted(load_id) for load_id in load_ids)

    def per_file(table: str, name: str, value: str) -> dict[str, int]:
        if table not in loaded:
            return {}
        rows = query_loaded(
            pipeline,
            f"select {name} as file_name, {value} as n from {table}"
            f" where _dlt_load_id in ({loads}) group by {name}",
            table,
        )
        names, counts = rows["file_name"].to_pylist(), rows["n"].to_pylist()
        return {file_name: int(n) for file_name, n in zip(names, counts, strict=True)}

    read = per_file(FILES_TABLE, "file_name", "sum(lines_read)")
    events = per_file(EVENTS_TABLE, "_file_name", "count(*)")
    quarantined = per_file(QUARANTINE_TABLE, "file_name", "count(*)")
    wrong = [
        f"{name} (read {read.get(name, 0):,}, loaded {events.get(name, 0):,}, quarantined "
        f"{quarantined.get(name, 0):,})"
        for name in sorted(read.keys() | events.keys() | quarantined.keys())
        if read.get(name, 0) != events.get(name, 0) + quarantined.get(name, 0)
    ]
    if wrong:
        raise ClickstreamSourceError(
            f"clickstream: the lines read do not reconcile with the rows loaded in load(s) "
            f"{', '.join(load_ids)}, for {len(wrong)} file(s): {'; '.join(wrong[:5])}"
            f"{' ...' if len(wrong) > 5 else ''}. Some rows were lost or added between the "
            "parser and the warehouse: do not build on these loads until this is explained "
            "(their rows in raw_clickstream carry these _dlt_load_id values)."
        )
    return Reconciliation(
        files=len(read),
        lines_read=sum(read.values()),
        loaded=sum(events.values()),
        quarantined=sum(quarantined.values()),
    )


def loaded_file_names(pipeline: dlt.Pipeline) -> set[str]:
    """The files already loaded into the warehouse (the `files` table), whatever the cursor
    says: a file is never loaded twice."""
    if pipeline.default_schema_name is None:
        return set()
    if FILES_TABLE not in pipeline.default_schema.data_table_names(seen_data_only=True):
        return set()
    names = query_loaded(pipeline, f"select file_name from {FILES_TABLE}", FILES_TABLE)["file_name"]
    return set(names.to_pylist())


def loaded_contents(pipeline: dlt.Pipeline) -> dict[str, str]:
    """The content hash of every file already loaded with lines, and the file's name: a file
    of the same content under another name is not loaded again."""
    if pipeline.default_schema_name is None:
        return {}
    schema = pipeline.default_schema
    if FILES_TABLE not in schema.data_table_names(seen_data_only=True):
        return {}
    if "content_sha256" not in schema.get_table_columns(FILES_TABLE):
        return {}  # files loaded before hashes were recorded
    rows = query_loaded(
        pipeline,
        f"select content_sha256, min(file_name) as file_name from {FILES_TABLE}"
        " where content_sha256 is not null group by content_sha256",
        FILES_TABLE,
    )
    hashes, names = rows["content_sha256"].to_pylist(), rows["file_name"].to_pylist()
    return dict(zip(hashes, names, strict=True))
