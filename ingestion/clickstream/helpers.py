"""Line splitting, parsing, drift reports and reconciliation for the clickstream source.

A file is read as bytes, split into lines with numpy, and each batch of lines is parsed by
DuckDB straight from Arrow (no Python object per event). A line that is not a complete JSON
event goes to the quarantine with its file, line number, raw text and the reason, so every
line read is accounted for: ``lines read = events + quarantined``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import dlt
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.storages.configuration import FilesystemConfiguration

from .settings import (
    EVENT_FIELD_TYPES,
    EVENT_FIELDS,
    EVENTS_TABLE,
    FILES_TABLE,
    NESTED_FIELDS,
    QUARANTINE_TABLE,
    READ_BLOCK_BYTES,
    RENAMED_FIELDS,
    REQUIRED_FIELDS,
)

log = logging.getLogger(__name__)


class ClickstreamSourceError(RuntimeError):
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


# --------------------------------------------------------------------------------------------
# Reading


def read_lines(stream: IO[bytes], chunk_size: int) -> Iterator[pa.Table]:
    """Yield the lines of a byte stream as Arrow tables ``(line_number, line)`` of at most
    ``chunk_size`` lines, reading ``READ_BLOCK_BYTES`` at a time: memory stays flat whatever
    the file size.

    A line ends at ``\\n``, which is not part of it (a ``\\r`` before it is); a last line
    without one counts too. Lines stay bytes: one that is not UTF-8 must reach the quarantine,
    not stop the file.

    Raises UnreadableFile, after yielding every complete line before it, if the stream breaks
    (a truncated or corrupt gzip); it carries the line cut short and that line's number.
    """
    first_line = 1
    try:
        for lines in _rebatch(_complete_lines(stream), chunk_size):
            numbers = np.arange(first_line, first_line + len(lines), dtype=np.int64)
            first_line += len(lines)
            yield pa.table({"line_number": numbers, "line": lines})
    except UnreadableFile as exc:
        exc.line_number = first_line
        raise


def _complete_lines(stream: IO[bytes]) -> Iterator[pa.Array]:
    """The lines of each block read, with a line cut by the block's end carried over."""
    carried = b""
    try:
        for block in _blocks(stream):
            data = carried + block if carried else block
            end = data.rfind(b"\n") + 1
            carried = data[end:]
            if end:
                yield split_lines(data[:end])
    except READ_ERRORS as exc:
        raise UnreadableFile(f"{type(exc).__name__}: {exc}", carried) from exc
    if carried:
        yield split_lines(carried + b"\n")


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in blocks of ``READ_BLOCK_BYTES``, gathered from ``read1`` calls where the
    stream has them: a gzip cut short raises in the middle of a ``read``, which would throw
    away the good lines decompressed before the cut; ``read1`` returns them first."""
    read = getattr(stream, "read1", None) or stream.read
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := read(READ_BLOCK_BYTES - size):
            pieces.append(piece)
            size += len(piece)
            if size >= READ_BLOCK_BYTES:
                yield b"".join(pieces)
                pieces, size = [], 0
    except READ_ERRORS:
        if pieces:
            yield b"".join(pieces)
        raise
    if pieces:
        yield b"".join(pieces)


def split_lines(data: bytes) -> pa.Array:
    """Newline-terminated bytes as an Arrow binary array of the lines, without the newlines."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
    with_newlines = pa.Array.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return pc.binary_slice(with_newlines, 0, -1)


def _rebatch(arrays: Iterable[pa.Array], size: int) -> Iterator[pa.Array]:
    """Arrays regrouped into arrays of exactly ``size`` elements (the last one fewer)."""
    pending: list[pa.Array] = []
    count = 0
    try:
        for array in arrays:
            pending.append(array)
            count += len(array)
            if count >= size:
                merged, offset = pa.concat_arrays(pending), 0
                while count - offset >= size:
                    yield merged.slice(offset, size)
                    offset += size
                pending, count = [merged.slice(offset)], count - offset
    except UnreadableFile:
        if count:  # the lines read before the source broke still count
            yield pa.concat_arrays(pending)
        raise
    if count:
        yield pa.concat_arrays(pending)


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
    good = parsed.filter(pc.invert(bad))
    quarantine = (
        parsed.filter(bad)
        .rename_columns({"_file_name": "file_name", "_line_number": "line_number"})
        .select(QUARANTINE_SCHEMA.names)
        .cast(QUARANTINE_SCHEMA)
    )
    # Which fields each file's events carry: distinct (file, field) pairs of the batch.
    fields = good["fields"]
    pairs = pa.table(
        {
            "file": pc.take(good["_file_name"], pc.list_parent_indices(fields)),
            "field": pc.list_flatten(fields),
        }
    )
    fields_per_file: dict[str, set[str]] = {}
    for pair in pairs.group_by(["file", "field"]).aggregate([]).to_pylist():
        fields_per_file.setdefault(pair["file"], set()).add(pair["field"])
    return ParsedLines(
        events=good.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA),
        quarantine=quarantine,
        events_per_file=_value_counts(good["_file_name"]),
        quarantined_per_file=_value_counts(quarantine["file_name"]),
        fields_per_file=fields_per_file,
    )


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


# How a value of each kind in settings.EVENT_FIELD_TYPES starts in (minified) JSON text.
_FIRST_CHARS = {"string": '"', "number": "-0123456789", "object": "{"}
# json_transform gives every known field as JSON text, whatever its type, so the type is read
# off the text's first character instead of another parse of the line (json_type).
_SHAPE = json.dumps(dict.fromkeys(EVENT_FIELDS, "JSON"))
# A JSON merge patch that deletes every known field: what is left are the unknown ones.
_WITHOUT_KNOWN = json.dumps(dict.fromkeys(EVENT_FIELDS))
_KNOWN_LIST = "[" + ", ".join(_quoted(name) for name in EVENT_FIELDS) + "]"
# Text columns: a JSON string unquoted (and unescaped), any other value as its JSON text (cast
# to text: a JSON-typed branch would make DuckDB cast the unquoted string back to JSON).
_VALUES = ",\n".join(
    f"        case when starts_with(doc.{name}, '\"') then doc.{name} ->> '$'"
    f" else doc.{name}::varchar end as {name}"
    if name not in NESTED_FIELDS
    else f"        doc.{name} as {name}"
    for name in EVENT_FIELDS
)
_MISSING = "\n".join(
    f"            when nullif(trim({name}), '') is null then 'no {name}'"
    for name in REQUIRED_FIELDS
)
# A field of another JSON type than the app writes (an object for event_id, text for
# properties) is no event either; json_type names the type for the message (bad lines only).
_WRONG_TYPE = "\n".join(
    f"            when not contains({_quoted(''.join(_FIRST_CHARS[kind] for kind in kinds))}, "
    f"left(doc.{name}, 1))\n                then 'wrong type: {name} is ' || "
    f"lower(json_type(doc.{name})) || ' (expected {' or '.join(kinds)})'"
    for name, kinds in EVENT_FIELD_TYPES.items()
)

# The event time is read here (ISO 8601 or epoch milliseconds, as staging reads it) only to
# quarantine events dated beyond the tolerance after the load: a device with its clock years
# ahead would otherwise reach the marts and move every watermark measured from the latest
# session into the future. Other unreadable times stay events (staging gives them NULL).
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
            when regexp_matches(timestamp, '^[0-9]{{13}}$')
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
    case when not list_has_all({_KNOWN_LIST}, fields)
        then json_merge_patch(text, {_quoted(_WITHOUT_KNOWN)})::varchar
    end as _extra,
    _file_name,
    line_number as _line_number,
    error,
    case when error is not null then coalesce(text, cast(line as varchar)) end as raw_text,
    fields
from checked
"""


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


# --------------------------------------------------------------------------------------------
# Schema drift


def drift_report(file_name: str, before: Sequence[str], after: Sequence[str]) -> str | None:
    """What changed in the events' top-level fields from one file to the next, by name, and
    what the warehouse does about it; None when nothing changed."""
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    if not added and not removed:
        return None
    notes = []
    for old, new in RENAMED_FIELDS.items():
        if new in added or (old in removed and new in after):
            notes.append(
                f"`{old}` is now `{new}` (the app's rename): both columns are loaded as "
                f"delivered and staging reads coalesce({old}, {new})"
            )
    known = [name for name in added if name in EVENT_FIELDS and name not in RENAMED_FIELDS.values()]
    if known:
        notes.append(
            f"field(s) {', '.join(f'`{name}`' for name in known)} arrive (again): loaded into "
            "their columns"
        )
    unknown = [name for name in added if name not in EVENT_FIELDS]
    if unknown:
        notes.append(
            f"new field(s) {', '.join(f'`{name}`' for name in unknown)} are kept in column "
            "`_extra` (JSON): add them to the staging model if they matter"
        )
    gone = [name for name in removed if name not in RENAMED_FIELDS]
    if gone:
        notes.append(
            f"field(s) {', '.join(f'`{name}`' for name in gone)} stopped arriving: their "
            "columns stay NULL for these events; check with the app team"
        )
    change = "; ".join(
        part
        for part in (
            f"added {', '.join(f'`{name}`' for name in added)}" if added else "",
            f"removed {', '.join(f'`{name}`' for name in removed)}" if removed else "",
        )
        if part
    )
    return f"clickstream: schema drift from {file_name} on ({change}): {'; '.join(notes)}."


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
    dataset = pipeline.dataset()
    loads = ", ".join(_quoted(load_id) for load_id in load_ids)

    def per_file(table: str, name: str, value: str) -> dict[str, int]:
        if table not in loaded:
            return {}
        rows = dataset(
            f"select {name} as file_name, {value} as n from {table}"
            f" where _dlt_load_id in ({loads}) group by {name}"
        ).fetchall()
        return {file_name: int(n) for file_name, n in rows}

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
    names = pipeline.dataset()(f"select file_name from {FILES_TABLE}").arrow()["file_name"]
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
    rows = pipeline.dataset()(
        f"select content_sha256, min(file_name) from {FILES_TABLE}"
        " where content_sha256 is not null group by content_sha256"
    ).fetchall()
    return dict(rows)


def content_hash(item: Any) -> str | None:
    """SHA-256 of a file's decompressed content, read in blocks. None when the content names
    no `event_id` (an empty file, or one of malformed lines only: two quiet hours may hold the
    same garbage without one being a copy of the other; events are unique, so a file holding
    one is a copy only if delivered twice) or the file cannot be read to its end (the parse
    quarantines what it cannot read). The content, not the stored bytes: gzip writes a time
    stamp into its header, so the same lines compressed again differ."""
    digest = hashlib.sha256()
    marker = b'"event_id"'
    has_event = False
    tail = b""
    try:
        with item.open() as stream:
            while block := stream.read(READ_BLOCK_BYTES):
                digest.update(block)
                # The marker may straddle two blocks: look across the boundary too.
                has_event = has_event or marker in tail + block[: len(marker)] or marker in block
                tail = block[-len(marker) :]
    except READ_ERRORS:
        return None
    return digest.hexdigest() if has_event else None
