"""The clickstream source: the web and app event logs, loaded into ``raw_clickstream``.

dlt's filesystem source lists the gzip JSON-lines files under ``bucket_url`` (a local folder,
or any fsspec URL such as ``s3://``), incrementally on their modification time; each new
file is streamed, split into lines and parsed by DuckDB in Arrow batches (no Python object
per event). Three tables, all appended to, because each file is loaded exactly once:

- ``events``: one row per event line, as delivered: the known fields as text columns (nested
  objects as JSON text), unknown fields in ``_extra``, and ``_file_name``/``_line_number``.
  Duplicates (the same ``event_id`` delivered twice) stay: staging removes them.
- ``quarantine``: every line that is not a complete event, with its file, line number, raw
  text and the reason, and every event dated more than ``future_event_tolerance_hours`` after
  the run started (a device clock set wrong). Nothing is dropped.
- ``files``: one row per file loaded: lines read, events loaded, lines quarantined (so
  ``lines read = loaded + quarantined`` can be checked after every run, see ``reconcile``),
  the event fields it carried and the SHA-256 of its content. It is also the record that stops
  a file from being loaded twice, even if its modification time changes, and a file whose
  content was already loaded under another name from being loaded again (it is reported).

Schema drift (a field appearing or disappearing, such as the app's ``user_id`` ->
``account_id`` rename) is reported by name as soon as a file shows it; the raw data keeps both
columns and staging maps them (the policy is in docs/sources.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import duckdb
import pyarrow as pa
from dlt.sources import DltResource
from dlt.sources.filesystem import FileItemDict, filesystem

from ..runner import ROW_KEY_HINT
from .drift import drift_report
from .helpers import (
    EVENTS_SCHEMA,
    FILES_SCHEMA,
    QUARANTINE_SCHEMA,
    ClickstreamSourceError,
    UnreadableFile,
    check_bucket,
)
from .parsing import LineBatcher, ParsedLines
from .reading import read_content, read_lines
from .reconciliation import Reconciliation, loaded_contents, loaded_file_names, reconcile
from .settings import (
    EVENTS_TABLE,
    FILE_GLOB,
    FILES_PER_PAGE,
    FILES_TABLE,
    QUARANTINE_TABLE,
    ROW_KEYS,
    SCHEMA_CONTRACT,
)
from .tallies import FileTally, empty, file_rows

__all__ = ["ClickstreamSourceError", "Reconciliation", "clickstream", "reconcile"]

log = logging.getLogger(__name__)


@dlt.source(name="clickstream", max_table_nesting=0, schema_contract=SCHEMA_CONTRACT)
def clickstream(
    bucket_url: str = dlt.config.value,
    file_glob: str = FILE_GLOB,
    chunk_size: int = 50_000,
    future_event_tolerance_hours: float = 24,
) -> DltResource:
    """Load the event log files under ``bucket_url`` that are new since the last run.

    Args:
        bucket_url: the log folder: a local path or ``file://`` URL, or a bucket URL such as
            ``s3://bucket/prefix`` (needs dlt's extra for it, e.g. ``dlt[s3]``).
        file_glob: which files under it are logs; a file still being written must not match
            (ship it under a temporary name and rename it when complete).
        chunk_size: lines per Arrow batch; bounds the memory of the extract.
        future_event_tolerance_hours: an event dated more than this after the run started is
            quarantined (reason "timestamp in the future"), so it never reaches the marts nor
            moves a watermark measured from the latest event.

    A bucket's credentials are read by dlt's filesystem resource from
    ``[sources.clickstream.credentials]`` (secrets.toml or environment); a local folder needs
    none.
    """
    check_bucket(bucket_url)
    files = filesystem(
        bucket_url=bucket_url,
        file_glob=file_glob,
        files_per_page=FILES_PER_PAGE,
        incremental=dlt.sources.incremental("modification_date"),
    )
    if future_event_tolerance_hours < 0:
        raise ClickstreamSourceError(
            f"clickstream source: future_event_tolerance_hours is {future_event_tolerance_hours}"
            "; it must be 0 or more (hours an event may be dated after the load, for clock "
            "skew). Fix [sources.clickstream] in .dlt/config.toml."
        )
    latest_event_at = datetime.now(UTC) + timedelta(hours=future_event_tolerance_hours)
    return files | read_events(chunk_size=chunk_size, latest_event_at=latest_event_at)


@dlt.transformer(name=EVENTS_TABLE, write_disposition="append")
def read_events(
    files: list[FileItemDict], chunk_size: int, latest_event_at: datetime
) -> Iterator[Any]:
    """Parse the new files into events and quarantined lines, and record each file.

    Files are read in name order, which for time-stamped log names is the order they were
    written in: schema drift is reported at the file where it starts. A file's row in `files`
    is written once all its lines are parsed, with the final counts.
    """
    pipeline = dlt.current.pipeline()
    state = dlt.current.resource_state()
    already_loaded = loaded_file_names(pipeline)
    contents = loaded_contents(pipeline)
    copies: list[str] = []
    # Each table declares its rows' key, so a load resumed after a kill keeps one copy of
    # the rows a re-run job loaded twice (ingestion/runner.py).
    yield dlt.mark.with_hints(empty(EVENTS_SCHEMA), _row_key(EVENTS_TABLE))
    yield dlt.mark.with_hints(
        empty(QUARANTINE_SCHEMA), _row_key(QUARANTINE_TABLE), create_table_variant=True
    )
    # The one table whose columns may evolve: a warehouse loaded before content hashes were
    # recorded gets the column (NULL for its earlier files) instead of a frozen-contract error.
    yield dlt.mark.with_hints(
        empty(FILES_SCHEMA),
        _row_key(FILES_TABLE, schema_contract={"columns": "evolve"}),
        create_table_variant=True,
    )

    files = sorted(files, key=lambda file: file["relative_path"])
    skipped = [file["relative_path"] for file in files if file["relative_path"] in already_loaded]
    tallies: dict[str, FileTally] = {}
    # One thread for DuckDB: the batcher's worker thread already runs the parse beside the
    # reading and writing, and a second DuckDB thread only made the parse slower on 2 cores.
    with (
        duckdb.connect(config={"threads": 1}) as db,
        LineBatcher(db, chunk_size, latest_event_at) as batcher,
    ):
        for item in files:
            name = item["relative_path"]
            if name in already_loaded:
                continue
            content = read_content(item)
            digest = content.sha256
            if digest is not None and digest in contents:
                copies.append(f"{name} (same content as {contents[digest]})")
                continue
            if digest is not None:
                contents[digest] = name
            tally = tallies[name] = FileTally(content_sha256=digest)
            try:
                with content.open(item) as stream:
                    for lines in read_lines(stream, chunk_size):
                        tally.lines_read += lines.num_rows
                        for parsed, complete in batcher.add(name, lines):
                            yield from _loaded(parsed, tallies)
                            yield from _recorded(complete, tallies, state)
            except UnreadableFile as broken:
                # A truncated or corrupt file: its good lines are queued above; the unreadable
                # rest counts as one line read and quarantined, so the file still reconciles.
                log.warning("clickstream: %s: %s", name, broken.reason)
                tally.lines_read += 1
                tally.quarantined += 1
                yield dlt.mark.with_table_name(broken.quarantine(name), QUARANTINE_TABLE)
            batcher.done(item)  # recorded in `files` once its last batch is parsed
        for parsed, complete in batcher.flush():
            yield from _loaded(parsed, tallies)
            yield from _recorded(complete, tallies, state)
    # Arrow's allocator (mimalloc) keeps the freed batches' pages, ~0.25 GB after a large
    # extract, which the load step would add to DuckDB's memory_limit in the same process.
    pa.default_memory_pool().release_unused()
    if copies:
        log.warning(
            "clickstream: %d file(s) hold the content of a file already loaded and are not "
            "loaded again: %s%s. Remove the copies from the log folder.",
            len(copies),
            ", ".join(copies[:5]),
            " ..." if len(copies) > 5 else "",
        )
    if skipped:
        log.warning(
            "clickstream: %d file(s) changed after they were loaded and are not loaded again "
            "(each file is loaded once): %s%s. To load new lines, ship them in a new file.",
            len(skipped),
            ", ".join(skipped[:5]),
            " ..." if len(skipped) > 5 else "",
        )


def _row_key(table: str, **hints: Any) -> Any:
    """The hints of one of the source's tables, with the columns that identify its rows."""
    return dlt.mark.make_hints(
        table_name=table, additional_table_hints={ROW_KEY_HINT: list(ROW_KEYS[table])}, **hints
    )


def _loaded(parsed: ParsedLines, tallies: dict[str, FileTally]) -> Iterator[Any]:
    """A parsed batch's rows for the events and quarantine tables; counts go to the tallies."""
    for name, count in parsed.events_per_file.items():
        tallies[name].events += count
    for name, count in parsed.quarantined_per_file.items():
        tallies[name].quarantined += count
        log.info("clickstream: %s: %d line(s) quarantined", name, count)
    for name, fields in parsed.fields_per_file.items():
        tallies[name].fields |= fields
    if parsed.events.num_rows:
        yield parsed.events
    if parsed.quarantine.num_rows:
        yield dlt.mark.with_table_name(parsed.quarantine, QUARANTINE_TABLE)


def _recorded(
    complete: list[FileItemDict], tallies: dict[str, FileTally], state: dict[str, Any]
) -> Iterator[Any]:
    """The `files` rows of the files whose every line is parsed; reports schema drift."""
    for item in complete:
        _report_drift(state, item["relative_path"], tallies[item["relative_path"]].fields)
    if complete:
        yield dlt.mark.with_table_name(file_rows(complete, tallies), FILES_TABLE)


def _report_drift(state: dict[str, Any], file_name: str, fields: set[str]) -> None:
    """Compare a file's event fields with the previous file's (kept in the resource state, so
    across runs too) and warn on any change."""
    if not fields:  # an empty file says nothing about the shape of events
        return
    previous = state.get("event_fields")
    if previous is not None:
        report = drift_report(file_name, previous, sorted(fields))
        if report:
            log.warning(report)
    state["event_fields"] = sorted(fields)
