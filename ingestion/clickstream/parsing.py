"""Parsing the clickstream's lines: DuckDB parses each batch straight from Arrow into events and
quarantined lines (with the reason), with no Python object per event."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .helpers import EVENTS_SCHEMA, QUARANTINE_SCHEMA
from .settings import (
    EVENT_FIELD_TYPES,
    EVENT_FIELDS,
    NESTED_FIELDS,
    REQUIRED_FIELDS,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class ParsedLines:
    """A batch of lines split into events and quarantined lines, with per-file tallies."""

    events: pa.Table
    quarantine: pa.Table
    events_per_file: dict[str, int]
    quarantined_per_file: dict[str, int]
    fields_per_file: dict[str, set[str]]  # the top-level fields of each file's events


class LineBatcher:
    """Gathers the lines of consecutive files into batches of ``chunk_size`` lines or a little
    more, so hundreds of small hourly files cost a few DuckDB queries, not hundreds.

    Each batch is parsed in a worker thread while the caller reads (gunzips) the next one and
    dlt writes the previous one: DuckDB and zlib release the GIL, so the parse and the Python
    side overlap on two cores. One batch is parsed at a time, so memory stays bounded.

    ``add`` and ``flush`` yield ``(parsed batch, files)``: ``files`` are the files marked
    ``done`` whose every line is now parsed (their counts are final).
    """

    def __init__(
        self, db: duckdb.DuckDBPyConnection, chunk_size: int, latest_event_at: datetime
    ) -> None:
        self.db = db
        self.chunk_size = chunk_size
        self.latest_event_at = latest_event_at
        self.queued: list[pa.Table] = []
        self.count = 0
        self.done_files: list[Any] = []  # read to the end, their last lines still queued
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickstream-parse")
        self.parsing: tuple[Future[ParsedLines], list[Any]] | None = None

    def add(self, file_name: str, lines: pa.Table) -> Iterator[tuple[ParsedLines, list[Any]]]:
        """Queue a file's lines; parse the queue when it is full."""
        self.queued.append(lines.append_column("_file_name", pa.repeat(file_name, len(lines))))
        self.count += lines.num_rows
        if self.count >= self.chunk_size:
            yield from self._parse_queued()

    def done(self, file: Any) -> None:
        """``file`` is read to its end: it is complete once its queued lines are parsed."""
        self.done_files.append(file)

    def flush(self) -> Iterator[tuple[ParsedLines, list[Any]]]:
        """Parse whatever is queued and wait for it: every file marked done is complete."""
        yield from self._parse_queued()
        yield from self._collect(None)

    def _parse_queued(self) -> Iterator[tuple[ParsedLines, list[Any]]]:
        """Hand the queue to the worker, then return the batch it was parsing before."""
        lines = pa.concat_tables(self.queued) if self.queued else _EMPTY_LINES
        done_files, self.queued, self.count, self.done_files = self.done_files, [], 0, []
        if lines.num_rows or done_files:
            parsing = self.worker.submit(parse_lines, self.db, lines, self.latest_event_at)
            yield from self._collect((parsing, done_files))

    def _collect(
        self, next_batch: tuple[Future[ParsedLines], list[Any]] | None
    ) -> Iterator[tuple[ParsedLines, list[Any]]]:
        """The batch in flight, once parsed; ``next_batch`` takes its place."""
        batch, self.parsing = self.parsing, next_batch
        if batch is not None:
            yield batch[0].result(), batch[1]

    def __enter__(self) -> LineBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        # Wait for a parse still running (a run stopped part-way) before the caller closes
        # the DuckDB connection it uses.
        self.worker.shutdown(wait=True)


# The lines of a batch, as read_lines and LineBatcher.add make them.
_EMPTY_LINES = pa.table(
    {
        "line_number": pa.array([], pa.int64()),
        "line": pa.array([], pa.large_binary()),
        "_file_name": pa.array([], pa.string()),
    }
)


def parse_lines(
    db: duckdb.DuckDBPyConnection, lines: pa.Table, latest_event_at: datetime
) -> ParsedLines:
    """Parse lines ``(line_number, line, _file_name)`` with DuckDB: complete events to their
    columns, everything else to the quarantine with the reason. An event dated after
    ``latest_event_at`` (aware, UTC) is quarantined too: a device with a wrong clock."""
    db.register("lines", lines)
    try:
        parsed = db.execute(
            PARSE_SQL,
            {"latest_event_at": latest_event_at, "future_reason": future_reason(latest_event_at)},
        ).to_arrow_table()
    finally:
        db.unregister("lines")
    bad = pc.is_valid(parsed["error"])
    good = _without(parsed, bad)
    quarantine = (
        parsed.filter(bad)
        .rename_columns({"_file_name": "file_name", "_line_number": "line_number"})
        .select(QUARANTINE_SCHEMA.names)
        .cast(QUARANTINE_SCHEMA)
    )
    return ParsedLines(
        events=good.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA),
        quarantine=quarantine,
        events_per_file=_value_counts(good["_file_name"]),
        quarantined_per_file=_value_counts(quarantine["file_name"]),
        fields_per_file=_fields_per_file(good),
    )


def _fields_per_file(events: pa.Table) -> dict[str, set[str]]:
    """The top-level fields each file's events carry. Events of one file share a few field
    lists: each list is joined into one key (on a byte no UTF-8 text holds, so two different
    lists never give the same key), and only the first event of each distinct (file, key) is
    read back, instead of grouping every (file, field) pair (~8 per event: 4x the CPU)."""
    fields = events["fields"]
    keys = pc.binary_join(fields.cast(pa.list_(pa.binary())), b"\xff")
    rows = pa.table({"file": events["_file_name"], "key": keys, "row": np.arange(events.num_rows)})
    firsts = rows.group_by(["file", "key"], use_threads=False).aggregate([("row", "min")])
    fields_per_file: dict[str, set[str]] = {}
    for file, row in zip(firsts["file"].to_pylist(), firsts["row_min"].to_pylist(), strict=True):
        fields_per_file.setdefault(file, set()).update(fields[row].as_py() or ())
    return fields_per_file


def _without(table: pa.Table, rows: pa.ChunkedArray) -> pa.Table:
    """``table`` without the ``rows`` marked true, as zero-copy slices between them: bad lines
    are about one in a thousand, and a filter copied every text column of the batch (7% of the
    parse's CPU) to drop them."""
    marked = np.flatnonzero(rows.to_numpy(zero_copy_only=False))
    starts = np.concatenate([[0], marked + 1])
    ends = np.concatenate([marked, [table.num_rows]])
    parts = [table.slice(start, end - start) for start, end in zip(starts, ends, strict=True)]
    return pa.concat_tables([part for part in parts if part.num_rows] or [table.slice(0, 0)])


def future_reason(latest_event_at: datetime) -> str:
    """The quarantine reason of an event dated after ``latest_event_at``."""
    return (
        f"timestamp in the future: after {latest_event_at:%Y-%m-%dT%H:%M:%SZ}, the load time "
        "plus future_event_tolerance_hours (a device clock set wrong?)"
    )


def _value_counts(values: pa.ChunkedArray) -> dict[str, int]:
    counted = pc.value_counts(values)
    return dict(
        zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _starts_with_any(name: str, chars: str) -> str:
    """SQL: the JSON text of field ``name`` starts with one of ``chars`` (NULL if absent)."""
    if len(chars) == 1:
        return f"starts_with(doc.{name}, {_quoted(chars)})"
    return f"contains({_quoted(chars)}, left(doc.{name}, 1))"


# How a value of each kind in settings.EVENT_FIELD_TYPES starts in (minified) JSON text.
_FIRST_CHARS = {"string": '"', "number": "-0123456789", "object": "{"}
# json_transform gives every known field as JSON text, whatever its type, so the type is read
# off the text's first character instead of another parse of the line (json_type).
_SHAPE = json.dumps(dict.fromkeys(EVENT_FIELDS, "JSON"))
# A JSON merge patch that deletes every known field: what is left are the unknown ones.
_WITHOUT_KNOWN = json.dumps(dict.fromkeys(EVENT_FIELDS))
_KNOWN_LIST = "[" + ", ".join(_quoted(name) for name in EVENT_FIELDS) + "]"
# How many known fields a line has with a value. When a line has exactly that many keys, they
# are those fields, each once (json_transform matches keys case-sensitively; a JSON null or a
# repeated key makes the counts differ), so it has no unknown field: the list_has_all test
# (5-15% of the query's CPU when it ran on every line) runs only where the counts differ.
_KNOWN_COUNT = " + ".join(f"(doc.{name} is not null)::int" for name in EVENT_FIELDS)
# Text columns: a JSON string unquoted (and unescaped), any other value as its JSON text (cast
# to text: a JSON-typed branch would make DuckDB cast the unquoted string back to JSON).
_VALUES = ",\n".join(
    f"        case when starts_with(doc.{name}, '\"') then doc.{name} ->> '$'"
    f" else doc.{name}::varchar end as {name}"
    if name not in NESTED_FIELDS
    else f"        doc.{name} as {name}"
    for name in EVENT_FIELDS
)
# A required field that is absent, null, or a string of spaces only (as `trim` sees it: plain
# or escaped as \u0020), read off its JSON text: the unquoted value is a CTE column, which
# DuckDB would compute a second time here (a fifth of the query's CPU). Such a text has a
# space, a backslash or the closing quote second: the regexp runs only on those lines.
_MISSING = "\n".join(
    f"            when doc.{name} is null or (contains(' \\\"', substr(doc.{name}, 2, 1))"
    f" and regexp_full_match(doc.{name}, '\"( |\\\\u0020)*\"')) then 'no {name}'"
    for name in REQUIRED_FIELDS
)
# A field of another JSON type than the app writes (an object for event_id, text for
# properties) is no event either; json_type names the type for the message (bad lines only).
# The text's first character tells the type (starts_with where one character is allowed).
_WRONG_TYPE = "\n".join(
    f"            when not {_starts_with_any(name, ''.join(_FIRST_CHARS[kind] for kind in kinds))}"
    f"\n                then 'wrong type: {name} is ' || "
    f"lower(json_type(doc.{name})) || ' (expected {' or '.join(kinds)})'"
    for name, kinds in EVENT_FIELD_TYPES.items()
)

# The event time is read here (ISO 8601 or epoch milliseconds, as staging reads it) only to
# quarantine events dated beyond the tolerance after the load: a device with its clock years
# ahead would otherwise reach the marts and move every watermark measured from the latest
# session into the future. Other unreadable times stay events (staging gives them NULL).
# Epoch milliseconds are 13 digits: the regexp runs only on 13-character texts.
#
# Three passes over a line, not more: json_valid (json_transform raises on bad JSON, and try()
# would redo the whole vector row by row), json_transform and json_keys (for `_extra` and the
# drift report). Unknown fields are rare: only their lines are read again, to build `_extra`.
PARSE_SQL = f"""
with

decoded as (
    select _file_name, line_number, line, try(decode(line)) as text
    from lines
),

parsed as (
    select
        *,
        case when json_valid(text) then json_transform(text, {_quoted(_SHAPE)}) end as doc,
        case when doc is not null and starts_with(ltrim(text), '{{') then json_keys(text) end
            as fields
    from decoded
),

valued as (
    select
        *,
{_VALUES}
    from parsed
),

timed as (
    select
        *,
        case
            when length(timestamp) = 13 and regexp_full_match(timestamp, '[0-9]{{13}}')
                then to_timestamp(timestamp::bigint / 1000)
            else try_cast(timestamp as timestamptz)
        end as event_at
    from valued
),

checked as (
    select
        *,
        case
            when text is null then 'not UTF-8 text'
            when doc is null then case
                when trim(text, {_quoted(" " + chr(9) + chr(13))}) = '' then 'empty line'
                else 'not valid JSON (truncated or garbled)'
            end
            when fields is null then 'JSON but not an object'
{_MISSING}
{_WRONG_TYPE}
            when event_at > $latest_event_at then $future_reason
        end as error
    from timed
)

select
    {", ".join(EVENT_FIELDS)},
    case when len(fields) <> {_KNOWN_COUNT} and not list_has_all({_KNOWN_LIST}, fields)
        then json_merge_patch(text, {_quoted(_WITHOUT_KNOWN)})::varchar
    end as _extra,
    _file_name,
    line_number as _line_number,
    error,
    case when error is not null then coalesce(text, cast(line as varchar)) end as raw_text,
    fields
from checked
"""
