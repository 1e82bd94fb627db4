"""Push ingestion: the collector (a real `warehouse collect` process) in front of a real
nats-server, the demo web app's sender against it, backpressure, and kill -9 of both."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import nats
import numpy as np
import pyarrow as pa
import pytest

from demo.live_sessions import LiveCatalogue, LiveSessions
from demo.live_traffic import TrafficCounts, TrafficSettings, live_traffic
from ingestion.clickstream.parsing import parse_lines
from streaming.bus import BusSettings, start_embedded, stop_embedded
from streaming.collector_process import running_collector
from streaming.collector_settings import CollectorError
from warehouse import commands
from warehouse.paths import Paths

TOKEN = "test-collector-token"
# A small explicit shop for the visitors: the transport, not the catalogue, is under test.
CATALOGUE = LiveCatalogue(np.arange(1, 201, dtype=np.int64), np.arange(1, 1001, dtype=np.int64))
CLI = [sys.executable, "-m", "warehouse.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """A `warehouse collect` process on a port of its own, restartable after a kill -9."""

    def __init__(self, home: Path, bus_url: str, **settings: object) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [*CLI, "--home", str(home), "collect", "--port", str(self.port)]
        self.env = {
            **os.environ,
            "STREAMING__BUS__URL": bus_url,
            "STREAMING__COLLECTOR__TOKEN": TOKEN,
            "STREAMING__COLLECTOR__CHECK_INTERVAL_SECONDS": "0.1",
            **{key: str(value) for key, value in settings.items()},
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> Collector:
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stdout.read().decode()
            try:
                status, _, _ = _request("GET", self.url + "/health")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("the collector did not answer /health within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _request(
    method: str, url: str, body: bytes | None = None, token: str | None = TOKEN
) -> tuple[int, dict[str, str], dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _post(collector: Collector, events: list | str, token: str | None = TOKEN) -> tuple:
    body = events if isinstance(events, str) else json.dumps(events)
    return _request("POST", collector.url + "/v1/events", body.encode(), token)


def _read_stream(url: str, settings: BusSettings, quiet: float = 1.0) -> list:
    """Every message on the stream, read (and acked) through the pipeline's LANDING consumer:
    on a work-queue stream the acks remove them, as the pipeline's do."""

    async def read() -> list:
        client = await nats.connect(url)
        js = client.jetstream()
        subscription = await js.pull_subscribe(
            settings.subject, durable="LANDING", stream=settings.stream
        )
        messages = []
        while True:
            try:
                batch = await subscription.fetch(500, timeout=quiet)
            except TimeoutError:  # nats raises both its own and asyncio's
                break
            for message in batch:
                await message.ack_sync()
            messages.extend(batch)
        await client.close()
        return messages

    return asyncio.run(read())


def _stream_state(url: str, settings: BusSettings) -> tuple[int, int]:
    async def state() -> tuple[int, int]:
        client = await nats.connect(url)
        info = await client.jetstream().stream_info(settings.stream)
        await client.close()
        return info.state.messages, info.state.bytes

    return asyncio.run(state())


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real nats-server with JetStream, its data in the test's folder."""
    data_dir = tmp_path / "nats"
    url = start_embedded(data_dir)
    yield url, data_dir
    stop_embedded(data_dir)


@pytest.fixture
def start_collector(tmp_path: Path, bus: tuple[str, Path]) -> Iterator[Callable[..., Collector]]:
    """Start collectors on the test's bus (settings as env variables); all stopped after."""
    started: list[Collector] = []

    def start(**settings: object) -> Collector:
        collector = Collector(tmp_path / "home", bus[0], **settings).start()
        started.append(collector)
        return collector

    yield start
    for collector in started:
        collector.stop()


def test_live_events_are_log_lines_the_file_pipeline_parses() -> None:
    lines = LiveSessions(CATALOGUE, seed=7).lines(2000)
    table = pa.table(
        {
            "line_number": pa.array(range(1, len(lines) + 1), pa.int64()),
            "line": pa.array([line.encode() for line in lines], pa.large_binary()),
            "_file_name": pa.array(["live"] * len(lines), pa.string()),
        }
    )
    parsed = parse_lines(duckdb.connect(), table, datetime.now(UTC) + timedelta(minutes=1))
    assert parsed.quarantine.num_rows == 0
    assert parsed.events.num_rows == 2000
    kinds = set(parsed.events["event"].to_pylist())
    assert {"page_view", "product_view", "add_to_cart", "checkout_started"} <= kinds
    assert len(set(parsed.events["event_id"].to_pylist())) == 2000


def test_auth_envelope_and_headers(start_collector: Callable[..., Collector], bus) -> None:
    collector = start_collector(
        STREAMING__COLLECTOR__MAX_BATCH_EVENTS=10,
        STREAMING__COLLECTOR__MAX_BODY_MB=0.01,
        STREAMING__COLLECTOR__MAX_EVENT_KB=2,
    )
    events = [{"event_id": "e-1", "event": "page_view"}, {"event": "no id", "n": 1.5}]
    assert _post(collector, events, token=None)[0] == 401
    assert _post(collector, events, token="wrong")[0] == 401
    status, _, body = _post(collector, "[1, 2]")
    assert status == 400 and "not an object" in body["error"]
    status, _, body = _post(collector, '{"event_id": "x"}\n{"broken')
    assert status == 400 and "line 2" in body["error"]
    assert _post(collector, [{"event_id": str(n)} for n in range(11)])[0] == 413
    status, _, body = _post(collector, [{"event_id": "big", "text": "x" * 3000}])
    assert status == 413 and "max_event_kb" in body["error"]
    status, _, body = _post(collector, [{"event_id": str(n), "text": "x" * 1500} for n in range(8)])
    assert status == 413 and "max_body_mb" in body["error"]

    sent_at = datetime.now(UTC)
    assert _post(collector, events)[:3:2] == (
        200,
        {"accepted": 2, "duplicates": 0, "sequences": [1, 2]},
    )
    lines = '{"event_id": "e-2",  "event": "product_view"}\n\n{"event_id": "e-3"}\n'
    assert _post(collector, lines)[2] == {"accepted": 2, "duplicates": 0, "sequences": [3, 4]}

    messages = _read_stream(bus[0], BusSettings())
    bodies = [message.data.decode() for message in messages]
    assert bodies == [
        '{"event_id":"e-1","event":"page_view"}',
        '{"event":"no id","n":1.5}',
        '{"event_id": "e-2",  "event": "product_view"}',  # a JSON line is kept byte for byte
        '{"event_id": "e-3"}',
    ]
    ids = [(message.headers or {}).get("Nats-Msg-Id") for message in messages]
    assert ids == ["e-1", None, "e-2", "e-3"]
    for message in messages:
        collected = datetime.strptime(message.headers["Collected-At"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert abs(collected.replace(tzinfo=UTC) - sent_at) < timedelta(seconds=30)
    assert _request("GET", collector.url + "/health", token=None)[2]["status"] == "ok"


def test_a_retried_batch_is_stored_once(start_collector: Callable[..., Collector], bus) -> None:
    collector = start_collector()
    batch = "\n".join(LiveSessions(CATALOGUE, seed=1).lines(50))
    first = _post(collector, batch)[2]
    assert first == {"accepted": 50, "duplicates": 0, "sequences": list(range(1, 51))}
    # The retry's events are the stored originals: the same sequences, nothing stored twice.
    assert _post(collector, batch)[2] == {**first, "duplicates": 50}
    assert _stream_state(bus[0], BusSettings())[0] == 50


def test_consumer_lag_past_the_limit_is_429(start_collector, bus) -> None:
    collector = start_collector(STREAMING__COLLECTOR__MAX_CONSUMER_LAG=20)
    settings = BusSettings()

    async def create_landing() -> None:  # the pipeline's consumer, reading nothing yet
        client = await nats.connect(bus[0])
        await client.jetstream().pull_subscribe(
            settings.subject, durable="LANDING", stream=settings.stream
        )
        await client.close()

    asyncio.run(create_landing())
    lines = LiveSessions(CATALOGUE, seed=2).lines(60)
    assert _post(collector, "\n".join(lines[:30]))[0] == 200  # lag 0 when it was checked
    time.sleep(0.5)  # the next reading of the lag
    status, headers, body = _post(collector, "\n".join(lines[30:]))
    assert status == 429 and headers["Retry-After"] == "1"
    assert "30 events behind" in body["error"]
    assert _stream_state(bus[0], settings)[0] == 30  # nothing of the refused batch published
    assert len(_read_stream(bus[0], settings)) == 30
    time.sleep(0.5)
    assert _post(collector, "\n".join(lines[30:]))[0] == 200  # caught up: accepted again


def _send_in_background(collector: Collector, rate: float, seconds: float, seed: int):
    settings = TrafficSettings(batch_events=200, linger_seconds=0.05, drain_seconds=60)
    pool = ThreadPoolExecutor(1)
    future: Future[TrafficCounts] = pool.submit(
        live_traffic, collector.url, TOKEN, CATALOGUE, rate, seconds, settings, seed
    )
    pool.shutdown(wait=False)
    return future


def _expected_ids(seed: int, count: int) -> set[str]:
    """The ids of the first ``count`` events a sender with ``seed`` generated."""
    return {json.loads(line)["event_id"] for line in LiveSessions(CATALOGUE, seed).lines(count)}


def test_a_full_stream_is_503_and_the_sender_buffers_until_it_drains(
    start_collector: Callable[..., Collector], bus
) -> None:
    collector = start_collector(
        STREAMING__BUS__MAX_MB=1, STREAMING__COLLECTOR__FULL_RETRY_AFTER_SECONDS=1
    )
    settings = BusSettings(max_mb=1)
    filler = LiveSessions(CATALOGUE, 99).lines(20_000)  # ~4 MB: more than the stream holds
    for start in range(0, len(filler), 400):  # fill the stream until the collector refuses
        status, headers, body = _post(collector, "\n".join(filler[start : start + 400]))
        if status != 200:
            break
    assert status == 503 and headers["Retry-After"] == "1" and "is full" in body["error"]
    assert _stream_state(bus[0], settings)[1] > 800_000  # within a batch of its 1 MiB

    sending = _send_in_background(collector, rate=500, seconds=2, seed=3)
    time.sleep(1.5)  # every batch meets the full stream: the sender buffers and retries
    stored: list = []
    while not sending.done():  # the pipeline's consumer catches up: the stream drains
        stored += _read_stream(bus[0], settings, quiet=0.3)
    stored += _read_stream(bus[0], settings, quiet=0.5)
    counts = sending.result()
    assert counts.full > 0 and counts.retried > 0
    assert counts.buffered == 0 and counts.accepted == counts.generated
    ids = [message.headers["Nats-Msg-Id"] for message in stored]
    assert len(ids) == len(set(ids))  # each stored once
    sent = _expected_ids(3, counts.generated)
    assert sent <= set(ids)  # sent = stored
    assert set(ids) - sent <= {json.loads(line)["event_id"] for line in filler}


@pytest.mark.slow
def test_kill_9_of_the_collector_and_the_broker_mid_burst_loses_nothing(
    start_collector: Callable[..., Collector], bus
) -> None:
    url, data_dir = bus
    collector = start_collector(STREAMING__COLLECTOR__PUBLISH_TIMEOUT_SECONDS=2)
    sending = _send_in_background(collector, rate=400, seconds=8, seed=5)
    time.sleep(1.5)
    collector.kill()
    time.sleep(1.0)
    collector.start()  # on the same port: the sender's retries reach it
    time.sleep(1.5)
    os.kill(int((data_dir / "nats.pid").read_text()), signal.SIGKILL)
    time.sleep(1.0)
    assert start_embedded(data_dir) == url  # same port: the collector reconnects by itself
    counts = sending.result(timeout=120)
    assert counts.unreachable > 0 and counts.retried > 0
    assert counts.buffered == 0 and counts.accepted == counts.generated

    messages = _read_stream(url, BusSettings())
    ids = [message.headers["Nats-Msg-Id"] for message in messages]
    assert set(ids) == _expected_ids(5, counts.generated)  # nothing lost, nothing foreign
    assert len(ids) - len(set(ids)) <= counts.duplicates + counts.retried


def test_the_collector_names_a_configured_nats_that_is_down(tmp_path: Path) -> None:
    down = f"nats://127.0.0.1:{_free_port()}"
    env = {"STREAMING__BUS__URL": down, "STREAMING__COLLECTOR__TOKEN": TOKEN}
    with pytest.raises(CollectorError) as raised, running_collector(tmp_path, env):
        pass
    assert f"exited with 1: error: cannot reach the NATS server at {down}" in str(raised.value)
    assert "[streaming.bus] url" in str(raised.value)


def test_demo_stop_stops_the_embedded_bus(tmp_path: Path, capsys) -> None:
    paths = Paths(tmp_path)
    start_embedded(paths.bus)
    commands.cmd_stop(argparse.Namespace(), paths)
    assert "embedded NATS stopped" in capsys.readouterr().out
    assert not (paths.bus / "nats.url").exists()
    assert stop_embedded(paths.bus) is False


def test_the_sender_waits_out_a_collector_that_is_not_up_yet(
    tmp_path: Path, bus: tuple[str, Path]
) -> None:
    collector = Collector(tmp_path / "home", bus[0])
    sending = _send_in_background(collector, rate=200, seconds=1, seed=6)
    threading.Event().wait(2.0)
    collector.start()
    try:
        counts = sending.result(timeout=60)
    finally:
        collector.stop()
    assert counts.unreachable > 0 and counts.buffered == 0
    assert counts.accepted == counts.generated == len(_read_stream(bus[0], BusSettings()))
