"""Chaos family: hostile log input (quarantined, never a crash)."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

from .harness import (
    Trial,
    clickstream_lines,
    copy_home,
    output,
    remove_home,
    warehouse,
)
from .lab import Lab, _succeeded, _timed

# --------------------------------------------------------------------------------------------
# Hostile log input


def _event(event_id: str, **fields: object) -> dict:
    return {
        "event_id": event_id,
        "event": "page_view",
        "timestamp": "2026-11-01T23:00:00Z",
        "anonymous_id": f"chaos-{event_id}",
        "properties": {},
        "context": {"page": {"path": "/"}, "device": {"type": "desktop"}},
        **fields,
    }


def _line(event: dict) -> bytes:
    return json.dumps(event).encode()


def hostile_files() -> dict[str, tuple[bytes, list[str], int]]:
    """``{file name: (file bytes, quarantine reasons expected, events expected)}``."""
    rng = random.Random(7)
    good = [_line(_event(f"chaos-ok-{n}")) for n in range(2000)]
    truncated = gzip.compress(b"\n".join(good) + b"\n")
    deep = 100_000
    files = {
        "random-bytes": (rng.randbytes(100_000), ["BadGzipFile"], 0),
        "truncated": (truncated[: len(truncated) // 2], ["EOFError"], -1),
        "ten-megabyte-lines": (
            gzip.compress(
                b"\n".join(
                    [
                        _line(_event("chaos-big-before")),
                        b"x" * 10_000_000,
                        _line(_event("chaos-big", properties={"blob": "y" * 10_000_000})),
                    ]
                )
                + b"\n"
            ),
            ["not valid JSON"],
            2,
        ),
        "deeply-nested": (
            gzip.compress(
                b'{"event_id":"chaos-deep-1","event":"page_view",'
                b'"timestamp":"2026-11-01T23:00:00Z","properties":'
                + b"[" * deep
                + b"]" * deep
                + b"}\n"
                + _line(_event("chaos-deep-2", properties={}))[:-1]
                + b',"context_extra":'
                + b'{"a":' * 5000
                + b"1"
                + b"}" * 5000
                + b"}\n"
            ),
            ["wrong type: properties is array"],
            1,
        ),
        "wrong-types": (
            gzip.compress(
                b"\n".join(
                    _line(event)
                    for event in [
                        _event(5),
                        _event({"x": 1}),
                        _event("chaos-t3", event=["page_view"]),
                        _event("chaos-t4", timestamp=True),
                        _event("chaos-t5", properties="text"),
                        _event("chaos-t6", context=[1, 2]),
                        _event(None),
                    ]
                )
                + b'\n[1, 2]\n"just a string"\n\n   \n'
            ),
            [
                "wrong type: event_id is ubigint",
                "wrong type: event_id is object",
                "wrong type: event is array",
                "wrong type: timestamp is boolean",
                "wrong type: properties is varchar",
                "wrong type: context is array",
                "no event_id",
                "JSON but not an object",
                "empty line",
            ],
            0,
        ),
        "invalid-utf8": (
            gzip.compress(
                _line(_event("chaos-u1"))[:-2]
                + b',"x":"\xff\xfe"}\n\xc3\x28\n'
                + _line(_event("chaos-u3"))
                + b"\n"
            ),
            ["not UTF-8 text"],
            1,
        ),
    }
    return {f"2026/11/01/chaos-{name}.jsonl.gz": spec for name, spec in files.items()}


def hostile_logs(lab: Lab, full: bool) -> Iterator[Trial]:
    """Hostile files in the home's log folder: never a crash, every line loaded or quarantined
    with its reason, lines read = loaded + quarantined for each file."""
    files = hostile_files()
    trial = Trial(
        "hostile logs",
        "random bytes, truncated gzip, 10 MB lines, 100k-deep JSON, wrong types, bad UTF-8",
    )

    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, "hostile")
        try:
            for name, (data, _, _) in files.items():
                path = home / "clickstream" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            command = ("run",) if full else ("ingest", "clickstream")
            result = warehouse(home, *command)
            _succeeded(trial, result, " ".join(command))
            trial.check("Traceback" not in output(result), "a traceback")
            per_file = _per_file(home, list(files))
            quarantined = 0
            for name, (_, reasons, events) in files.items():
                read, loaded, bad, errors = per_file.get(name, (0, 0, 0, ""))
                quarantined += bad
                short = name.split("chaos-")[1]
                trial.check(read > 0 and read == loaded + bad, f"{short}: {read} != {loaded}+{bad}")
                for reason in reasons:
                    trial.check(reason in errors, f"{short}: no {reason!r} in {errors[:200]}")
                if events >= 0:
                    trial.check(loaded == events, f"{short}: {loaded} events, expected {events}")
                else:
                    trial.check(loaded > 0, f"{short}: the lines before the cut were not loaded")
            trial.faults = quarantined
            read, loaded, bad = clickstream_lines(home)
            trial.check(read == loaded + bad, f"all files: {read} != {loaded} + {bad}")
            trial.outcome = (
                f"`{' '.join(command)}` ok; {len(files)} files: {quarantined} lines quarantined "
                "with reasons, the rest loaded; read = loaded + quarantined per file"
            )
        finally:
            remove_home(home)

    yield _timed(trial, trial_body)


def _per_file(home: Path, names: list[str]) -> dict[str, tuple[int, int, int, str]]:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            """
            select
                files.file_name,
                files.lines_read,
                (select count(*) from raw_clickstream.events as e
                 where e._file_name = files.file_name),
                (select count(*) from raw_clickstream.quarantine as q
                 where q.file_name = files.file_name),
                (select string_agg(q.error, ' | ') from raw_clickstream.quarantine as q
                 where q.file_name = files.file_name)
            from raw_clickstream.files as files
            where files.file_name in (select unnest(?))
            """,
            [names],
        ).fetchall()
    return {name: (read, loaded, bad, errors or "") for name, read, loaded, bad, errors in rows}
