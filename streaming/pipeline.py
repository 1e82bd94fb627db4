"""The streaming pipeline, written with Apache Beam: lines in, landed units out.

One graph serves both inputs of the Kappa architecture:

    lines (unit, kind, Arrow lines) ── ParseLines ── GroupByKey(unit) ── LandUnit ──▶ landing/

- from the bus (:func:`land_messages`): a batch of JetStream messages becomes one unit,
  ``stream/<STREAM>/<first seq>-<last seq>-<ns>``, each message one line numbered by its
  stream sequence;
- from the stored history (:func:`replay`): each hourly log file becomes one unit named by its
  path, read by :class:`ReadLogFile` exactly as the file pipeline reads it, so the landed
  rows are the file pipeline's rows.

``ParseLines`` is the file pipeline's parser itself (``ingestion.clickstream.parsing
.parse_lines``): the same events, the same quarantine, the same reasons. ``LandUnit`` writes the
unit's three tables atomically (streaming/landing.py). The pipeline never opens the warehouse:
the refresher loads what it lands (streaming/refresher.py).

Each call runs one bounded Beam pipeline on the configured runner (the DirectRunner here;
``[streaming.pipeline] runner``, docs/streaming.md for Spark, Flink and Dataflow).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apache_beam as beam
import dlt
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from ingestion.clickstream.helpers import (
    EVENTS_SCHEMA,
    QUARANTINE_SCHEMA,
    UnreadableFile,
)
from ingestion.clickstream.parsing import parse_lines
from ingestion.clickstream.reading import read_content, read_lines
from ingestion.clickstream.settings import FILE_GLOB
from ingestion.clickstream.tallies import FileTally, file_rows

from .landing import MESSAGES, MESSAGES_SCHEMA, unit_folder_name, write_unit
from .settings import PipelineSettings

log = logging.getLogger(__name__)

# What flows between the steps: (unit name, kind, table). Kind "lines": Arrow lines
# (line_number, line, _file_name) to parse; "unreadable": a quarantine row for the unreadable
# rest of a file (it counts as one line read).
LINES, UNREADABLE = "lines", "unreadable"
Chunk = tuple[str, str, pa.Table]
# A unit's share of a parse: lines read, events, quarantined lines, the events' fields.
Parsed = tuple[int, pa.Table, pa.Table, set[str]]


def latest_event_at() -> datetime:
    """Events dated after this are quarantined: now plus the file pipeline's tolerance
    (``[sources.clickstream] future_event_tolerance_hours``), the one rule for both inputs."""
    hours = dlt.config.get("sources.clickstream.future_event_tolerance_hours")
    return datetime.now(UTC) + timedelta(hours=float(24 if hours is None else hours))


class ReadLogFile(beam.DoFn):
    """A log file (dlt's file item) as chunks of lines, read as the file pipeline reads it."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size

    def process(self, item: Any) -> Iterator[Chunk]:
        name = item["relative_path"]
        yield name, LINES, _with_file_name(_EMPTY_LINES, name)  # even an empty file lands
        try:
            with item.open() as stream:
                for lines in read_lines(stream, self.chunk_size):
                    yield name, LINES, _with_file_name(lines, name)
        except UnreadableFile as broken:
            log.warning("replay: %s: %s", name, broken.reason)
            yield name, UNREADABLE, broken.quarantine(name)


class ParseLines(beam.DoFn):
    """Parse chunks of lines into events and quarantined lines, with DuckDB.

    Chunks are gathered across a bundle up to ``chunk_size`` lines and parsed with one query
    (hundreds of small hourly files cost a few queries, as in the file pipeline), then split
    back by unit.
    """

    def __init__(self, latest: datetime, chunk_size: int = 100_000) -> None:
        self.latest = latest
        self.chunk_size = chunk_size

    def setup(self) -> None:
        import duckdb

        self.db = duckdb.connect(config={"threads": 1})

    def start_bundle(self) -> None:
        self.pending: list[tuple[str, pa.Table]] = []
        self.count = 0

    def process(self, chunk: Chunk) -> Iterator[tuple[str, Parsed]]:
        name, kind, table = chunk
        if kind == UNREADABLE:
            yield name, (1, EVENTS_SCHEMA.empty_table(), table, set())
            return
        self.pending.append((name, table))
        self.count += table.num_rows
        if self.count >= self.chunk_size:
            yield from self._parse_pending()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for element in self._parse_pending():
            yield WindowedValue(element, MIN_TIMESTAMP, [GlobalWindow()])

    def _parse_pending(self) -> Iterator[tuple[str, Parsed]]:
        pending, self.pending, self.count = self.pending, [], 0
        lines_read: dict[str, int] = {}
        for name, table in pending:
            lines_read[name] = lines_read.get(name, 0) + table.num_rows
        lines = [table for _, table in pending if table.num_rows]
        if not lines:
            for name in lines_read:
                yield name, (0, EVENTS_SCHEMA.empty_table(), QUARANTINE_SCHEMA.empty_table(), set())
            return
        parsed = parse_lines(self.db, pa.concat_tables(lines), self.latest)
        single = len(lines_read) == 1
        for name, count in lines_read.items():
            events = parsed.events
            quarantine = parsed.quarantine
            if not single:
                events = events.filter(pc.equal(events["_file_name"], name))
                quarantine = quarantine.filter(pc.equal(quarantine["file_name"], name))
            yield name, (count, events, quarantine, parsed.fields_per_file.get(name, set()))

    def teardown(self) -> None:
        self.db.close()


class LandUnit(beam.DoFn):
    """Write one unit's parsed chunks as a landed unit; its ``files`` row reconciles them."""

    def __init__(self, landing: str, items: dict[str, dict[str, Any]]) -> None:
        self.landing = landing
        self.items = items  # per unit: its file item fields, and a bus batch's messages

    def process(self, grouped: tuple[str, Iterable[Parsed]]) -> Any:
        name, chunks = grouped
        item = dict(self.items[name])
        messages = item.pop(MESSAGES, None)
        tally = FileTally(content_sha256=item.pop("content_sha256", None))
        events, quarantine = [EVENTS_SCHEMA.empty_table()], [QUARANTINE_SCHEMA.empty_table()]
        for lines_read, parsed_events, parsed_quarantine, fields in chunks:
            tally.lines_read += lines_read
            tally.events += parsed_events.num_rows
            tally.quarantined += parsed_quarantine.num_rows
            tally.fields |= fields
            events.append(parsed_events)
            quarantine.append(parsed_quarantine)
        tables = {
            "events": pa.concat_tables(events),
            "quarantine": pa.concat_tables(quarantine),
            "files": file_rows([item], {name: tally}),
        }
        if messages is not None:
            tables[MESSAGES] = messages
        unit = write_unit(Path(self.landing), unit_folder_name(name), tables)
        yield str(unit.path)


def land(
    chunks: beam.PCollection, landing: Path, items: dict[str, Any], chunk_size: int = 100_000
) -> beam.PCollection:
    """The pipeline's steps after the read: parse, gather by unit, land."""
    return (
        chunks
        | "ParseLines" >> beam.ParDo(ParseLines(latest_event_at(), chunk_size))
        | "ByUnit" >> beam.GroupByKey()
        | "LandUnit" >> beam.ParDo(LandUnit(str(landing), items))
    )


def land_messages(
    messages: Sequence[tuple[int, bytes, datetime | None]],
    stream: str,
    landing: Path,
    settings: PipelineSettings,
) -> str:
    """Land a batch of bus messages ``(stream sequence, body, collected at)`` as one unit with
    one Beam run; return the unit's name once it is durable."""
    seqs = [seq for seq, _, _ in messages]
    name = f"stream/{stream}/{min(seqs):012d}-{max(seqs):012d}-{time.time_ns()}"
    lines = pa.table(
        {
            "line_number": pa.array(seqs, pa.int64()),
            "line": pa.array([body for _, body, _ in messages], pa.large_binary()),
            "_file_name": pa.array([name] * len(seqs), pa.string()),
        }
    )
    item = {
        "relative_path": name,
        "file_url": f"nats:{stream}",
        "size_in_bytes": sum(len(body) for _, body, _ in messages),
        "modification_date": datetime.now(UTC),
        MESSAGES: pa.table(
            {"seq": seqs, "collected_at": [at for _, _, at in messages]}, schema=MESSAGES_SCHEMA
        ),
    }
    with beam.Pipeline(options=PipelineOptions(settings.beam_args())) as pipeline:
        chunks = pipeline | "ReadBatch" >> beam.Create([(name, LINES, lines)])
        land(chunks, landing, {name: item})
    return name


def replay(
    bucket_url: str,
    landing: Path,
    settings: PipelineSettings,
    file_glob: str = FILE_GLOB,
    chunk_size: int = 100_000,
) -> list[str]:
    """Land the stored history, the log files under ``bucket_url``, with the same pipeline:
    one unit per file, the file pipeline's rows. A file holding the content of an earlier one
    is skipped, as the file pipeline skips it. Returns the files landed."""
    from dlt.sources.filesystem import filesystem

    listed = list(filesystem(bucket_url=bucket_url, file_glob=file_glob))
    items: dict[str, Any] = {}
    digests: dict[str, str | None] = {}
    first_with: dict[str, str] = {}  # content hash -> the first file holding it
    for item in sorted(listed, key=lambda file: file["relative_path"]):
        # Only the hash: the content is read again, file by file, when the pipeline runs.
        name, digest = item["relative_path"], read_content(item, keep_bytes=0).sha256
        if digest is not None and digest in first_with:
            log.warning(
                "replay: %s holds the content of %s; not landed again", name, first_with[digest]
            )
            continue
        if digest is not None:
            first_with[digest] = name
        items[name], digests[name] = item, digest
    if not items:
        return []
    fields = {name: {**dict(item), "content_sha256": digests[name]} for name, item in items.items()}
    with beam.Pipeline(options=PipelineOptions(settings.beam_args())) as pipeline:
        files = pipeline | "ListLogFiles" >> beam.Create(list(items.values()))
        chunks = files | "ReadLogFile" >> beam.ParDo(ReadLogFile(chunk_size))
        land(chunks, landing, fields, chunk_size)
    return list(items)


_EMPTY_LINES = pa.table(
    {"line_number": pa.array([], pa.int64()), "line": pa.array([], pa.large_binary())}
)


def _with_file_name(lines: pa.Table, name: str) -> pa.Table:
    return lines.append_column("_file_name", pa.array([name] * lines.num_rows, pa.string()))
