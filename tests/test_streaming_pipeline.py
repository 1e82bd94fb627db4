"""The real-time path's pipeline and refresher, on a real nats-server, real files, real DuckDB:
publish -> land -> session in the published serving file; kill -9 mid-burst and a stopped
consumer, then every event in raw exactly once after dedupe; replay parity with the file
pipeline; the writer lock."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import nats
import pytest

from streaming.bus import BusSettings, bus_url, stop_embedded
from streaming.landing import landed_units
from streaming.live import count_arrivals, push_to_bus, renewed
from streaming.pipeline import replay
from streaming.refresher import load_units, tick
from streaming.settings import CONSUMER, PipelineSettings, RefreshSettings, landing_dir
from warehouse.paths import PROJECT_DIR, Paths

# Quick ticks and redelivery, so the scenario takes seconds, not minutes.
STREAM_ENV = {
    "STREAMING__REFRESH_SECONDS": "2",
    "STREAMING__PIPELINE__ACK_WAIT_SECONDS": "4",
    "STREAMING__PIPELINE__MAX_BATCH": "200",
}


@pytest.fixture(scope="module")
def stream_home(built_demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    """A copy of the built demo (without its shop database), for the stream to write into."""
    home = tmp_path_factory.mktemp("stream") / "home"
    shutil.copytree(built_demo_home, home, ignore=shutil.ignore_patterns("postgres"))
    paths = Paths(home)
    yield paths
    stop_embedded(paths.bus)


def _stream(paths: Paths) -> subprocess.Popen[str]:
    """`warehouse stream` on the home, in a process group of its own: `_kill` kills it and its
    pipeline process at once, as a machine's crash would (the pipeline alone would otherwise
    land its batch in flight before it notices its parent is gone)."""
    return subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "--home", str(paths.home), "stream"],
        cwd=PROJECT_DIR,
        start_new_session=True,
        env={**os.environ, **STREAM_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill(stream: subprocess.Popen[str]) -> None:
    """kill -9 the stream's whole process group (the stream and its pipeline process)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(stream.pid, signal.SIGKILL)
    stream.wait()


def _events(paths: Paths, count: int, device: str) -> list[tuple[str | None, bytes]]:
    """``count`` events of the demo's logs, made new (time now, fresh ids), on one device;
    malformed lines of the logs stay malformed (the quarantine's share of the counts)."""
    lines: list[bytes] = []
    for file in sorted(paths.clickstream.glob("**/*.jsonl.gz")):
        with gzip.open(file) as stream:
            lines += [line.rstrip(b"\n") for line in stream]
    events = []
    for line in lines[:count]:
        event_id, body = renewed(
            line.replace(b'"anonymous_id":"', f'"anonymous_id":"{device}-'.encode())
        )
        events.append((event_id, body))
    return events


def _push(paths: Paths, events: list[tuple[str | None, bytes]], rate: float = 1000) -> list[int]:
    bus = BusSettings()
    return asyncio.run(push_to_bus(bus_url(paths.bus, bus), bus, iter(events), rate, 3600))


def _pending(paths: Paths) -> int:
    async def info() -> int:
        client = await nats.connect(bus_url(paths.bus))
        try:
            state = await client.jetstream().consumer_info("CLICKSTREAM", CONSUMER)
            return state.num_pending + state.num_ack_pending
        finally:
            await client.close()

    return asyncio.run(info())


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _published_sessions(paths: Paths, device: str) -> int:
    with duckdb.connect(str(paths.serving), read_only=True) as conn:
        (count,) = conn.execute(
            "select count(*) from web_analytics.fct_sessions where anonymous_id like ?",
            [f"{device}-%"],
        ).fetchone()
    return count


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output[-3000:]
    return output


@pytest.mark.slow
def test_stream_lands_publishes_and_survives_kill_and_backlog(stream_home: Paths) -> None:
    paths = stream_home
    sent: list[int] = []

    # publish -> land -> session visible in the published serving file
    stream = _stream(paths)
    try:
        sent += _push(paths, _events(paths, 60, "fresh"), rate=200)
        _wait_until(lambda: _published_sessions(paths, "fresh") > 0, 300, "a published session")
        # kill -9 mid-burst: what was not acknowledged is redelivered to the next run
        burst = _events(paths, 600, "burst")
        sent += _push(paths, burst[:300])
        _wait_until(lambda: _pending(paths) < 300, 60, "the burst's first batch")
        _kill(stream)
    finally:
        if stream.poll() is None:
            _kill(stream)

    # the consumer is down: the stream holds the rest of the burst and a backlog
    sent += _push(paths, burst[300:])
    sent += _push(paths, _events(paths, 400, "backlog"))
    assert _pending(paths) >= 700

    # restarted, it catches up: everything landed, loaded, published
    stream = _stream(paths)
    _wait_until(
        lambda: _pending(paths) == 0 and not landed_units(landing_dir(paths)), 300, "catch-up"
    )
    output = _stop(stream)
    assert "tick:" in output

    # sent = landed + quarantined, each event once after staging's dedupe
    landed, quarantined, _ = count_arrivals(paths, "CLICKSTREAM", sent)
    assert landed + quarantined == len(sent) == 60 + 600 + 400
    assert quarantined > 0  # the demo's malformed lines went to the quarantine
    with duckdb.connect(str(paths.duckdb)) as conn:
        (rows, distinct) = conn.execute(
            "select count(*), count(distinct event_id) from staging.stg_clickstream__events "
            "where event_id like 'live-%'"
        ).fetchone()
    assert rows == distinct == landed
    assert _published_sessions(paths, "backlog") > 0


@pytest.mark.slow
def test_replay_lands_what_the_file_pipeline_loaded(built_demo_home: Path, tmp_path: Path) -> None:
    """Kappa: the same pipeline over the stored logs gives the file pipeline's raw rows."""
    paths = Paths(tmp_path / "replay").ensure()
    replay(str(built_demo_home / "clickstream"), landing_dir(paths), PipelineSettings())
    counts = load_units(paths, landed_units(landing_dir(paths)))
    assert counts["lines read"] == counts["loaded"] + counts["quarantined"] > 0
    columns = {
        "events": "event_id, event, timestamp, anonymous_id, user_id, account_id, properties, "
        "context, _extra, _file_name, _line_number",
        "quarantine": "file_name, line_number, raw_text, error",
        "files": "file_name, lines_read, events_loaded, lines_quarantined, event_fields, "
        "content_sha256",
    }
    with duckdb.connect() as conn:
        conn.execute(f"attach '{built_demo_home / 'warehouse.duckdb'}' as files (read_only)")
        conn.execute(f"attach '{paths.duckdb}' as replayed (read_only)")
        for table, selected in columns.items():
            batch = f"select {selected} from files.raw_clickstream.{table}"
            kappa = f"select {selected} from replayed.raw_clickstream.{table}"
            (rows,) = conn.execute(f"select count(*) from ({batch})").fetchone()
            assert rows > 0
            for one, other in ((batch, kappa), (kappa, batch)):
                (extra,) = conn.execute(
                    f"select count(*) from ({one} except all {other})"
                ).fetchone()
                assert extra == 0, f"{table}: {extra} row(s) differ"


def test_refresher_skips_a_tick_while_a_batch_run_writes(tmp_path: Path) -> None:
    """A batch run holds the writer lock: the tick skips (no error), the units stay landed."""
    paths = Paths(tmp_path / "home").ensure()
    landing = landing_dir(paths)
    from streaming.pipeline import land_messages

    land_messages(
        [(1, b'{"event_id":"e-1","event":"page_view","timestamp":"2026-01-01T00:00:00Z"}', None)],
        "CLICKSTREAM",
        landing,
        PipelineSettings(),
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from warehouse.paths import Paths; "
            "from warehouse.writer_lock import writer_lock\n"
            "with writer_lock(Paths(Path(sys.argv[1]))):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(paths.home),
        ],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        report = tick(paths, RefreshSettings())
        assert report.skipped and "batch run" in report.skipped
        assert len(landed_units(landing)) == 1
    finally:
        holder.kill()
        holder.wait()
