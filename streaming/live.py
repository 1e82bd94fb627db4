"""``warehouse live``: the real-time path end to end on the demo, then its latency and counts.

The bus, the pipeline and the refresher run (``run_stream``) while the demo's web traffic is
pushed for ``seconds`` at ``rate`` events per second; then the traffic stops, the path drains,
and the counts are taken from the warehouse itself, by stream sequence: every event sent is
landed or quarantined exactly once after dedupe (``sent = landed + quarantined``).

The traffic comes from :func:`demo_traffic` (the demo's log lines, replayed as new events:
fresh ``event_id``, time moved to now; malformed lines kept malformed) and is posted by
:func:`push_to_collector` to a ``warehouse collect`` process, as the web app does. A line that
is no JSON object is refused by the collector's envelope check, so it is counted apart
(``rejected``) and never sent; objects that are no valid event (a missing field, a clock in the
future) reach the pipeline and its quarantine. :func:`push_to_bus` publishes straight onto the
bus instead (the pipeline's tests use it, to test the pipeline without the collector).
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse.paths import Paths

from .bus import BusSettings, bus_url, ensure_stream
from .collector_process import running_collector
from .collector_settings import collector_token
from .consumer import COLLECTED_AT
from .refresher import TickReport
from .service import StreamTotals, run_stream
from .settings import RefreshSettings, StreamingError

log = logging.getLogger(__name__)

# How long the path may take to land and publish what was sent, once the traffic stops.
DRAIN_SECONDS = 180.0


@dataclass(frozen=True)
class LiveReport:
    """What a live run sent, what arrived, and how long it took to be visible."""

    sent: int
    landed: int
    quarantined: int
    duplicates: int  # rows landed twice (redelivered), removed by staging's dedupe
    latencies: list[float]
    seconds: float
    # How long the traffic ran, and how long the path took after it to publish everything.
    push_seconds: float = 0.0
    drain_seconds: float = 0.0
    # Lines that are no JSON object: the collector's envelope refuses them, so never sent.
    rejected: int = 0

    @property
    def throughput(self) -> float:
        """Events per second the path landed and published, traffic and drain together."""
        busy = self.push_seconds + self.drain_seconds
        return self.sent / busy if busy else 0.0

    def percentile(self, share: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def summary(self) -> str:
        p50, p95 = self.percentile(0.5), self.percentile(0.95)
        latency = (
            f"latency sent -> published p50 {p50:.1f} s, p95 {p95:.1f} s"
            if p50 is not None and p95 is not None
            else "no latency measured"
        )
        return (
            f"sent {self.sent:,} = landed {self.landed:,} + quarantined {self.quarantined:,}"
            f" ({'reconciled' if self.reconciled else 'NOT reconciled'}; {self.duplicates:,} "
            f"redelivered copies removed by dedupe; {self.rejected:,} malformed lines refused by "
            f"the collector, not sent); {latency}"
        )

    @property
    def reconciled(self) -> bool:
        return self.sent == self.landed + self.quarantined


def demo_traffic(log_folder: Path) -> Iterator[tuple[str | None, bytes]]:
    """The demo's web traffic, endlessly: its log lines as new events ``(event_id, body)``."""
    files = sorted(log_folder.glob("**/*.jsonl.gz"))
    if not files:
        raise StreamingError(
            f"no demo logs under {log_folder}: run `warehouse demo` first (live replays its "
            "web traffic)"
        )
    for file in itertools.cycle(files):
        with gzip.open(file, "rb") as stream:
            for line in stream:
                yield renewed(line.rstrip(b"\r\n"))


def renewed(line: bytes) -> tuple[str | None, bytes]:
    """A log line as a new event happening now: a fresh ``event_id`` and ``timestamp``. A line
    that is no JSON object, or lacks either field, is sent as it is (it will be quarantined)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None, line
    if not isinstance(event, dict) or not isinstance(event.get("event_id"), str):
        return None, line
    event["event_id"] = f"live-{uuid.uuid4()}"
    if "timestamp" in event:
        event["timestamp"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return event["event_id"], json.dumps(event, separators=(",", ":")).encode()


async def push_to_bus(
    url: str,
    bus: BusSettings,
    events: Iterable[tuple[str | None, bytes]],
    rate: float,
    seconds: float,
) -> list[int]:
    """Publish ``events`` at ``rate`` per second for ``seconds`` with the collector's headers;
    retry a publish the full stream refuses. The stream sequences stored."""
    import nats

    client = await nats.connect(url)
    sequences: list[int] = []
    try:
        js = client.jetstream()
        await ensure_stream(js, bus)
        started = time.monotonic()
        for count, (event_id, body) in enumerate(events):
            due = started + count / rate
            if due - started >= seconds:
                break
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            headers = {COLLECTED_AT: datetime.now(UTC).isoformat(timespec="microseconds")}
            if event_id:
                headers["Nats-Msg-Id"] = event_id
            while True:
                try:
                    ack = await js.publish(bus.subject, body, headers=headers)
                    break
                except nats.js.errors.APIError as refused:  # full: wait for room
                    log.warning("live: the bus refused an event (%s); retrying", refused)
                    await asyncio.sleep(1.0)
            if not ack.duplicate:
                sequences.append(ack.seq)
    finally:
        await client.close()
    return sequences


def push_to_collector(
    url: str,
    token: str,
    events: Iterable[tuple[str | None, bytes]],
    rate: float,
    seconds: float,
    batch_seconds: float = 0.5,
) -> tuple[list[int], int]:
    """Post ``events`` to the collector at ``url``, ``rate`` a second for ``seconds``, in a batch
    every ``batch_seconds``; retry a batch the collector refuses (429, 503, no answer) after its
    ``Retry-After``. Returns the stream sequences stored and the lines never sent because they
    are no JSON object (the collector's envelope would refuse their whole batch)."""
    import requests

    sequences: list[int] = []
    rejected = 0
    per_batch = max(1, round(rate * batch_seconds))
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    )
    started = time.monotonic()
    source = iter(events)
    for number in itertools.count():
        due = started + number * batch_seconds
        if due - started >= seconds:
            break
        if (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        batch = []
        for _, body in itertools.islice(source, per_batch):
            if body.lstrip().startswith(b"{") and _is_object(body):
                batch.append(body)
            else:
                rejected += 1
        if batch:
            sequences.extend(_post(session, f"{url}/v1/events", b"\n".join(batch)))
    return sequences, rejected


def _is_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def _post(session: Any, url: str, body: bytes) -> list[int]:
    """Post one batch until the collector stores it whole; its events' stream sequences."""
    import requests

    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        try:
            answer = session.post(url, data=body, timeout=30)
        except requests.RequestException as error:
            wait, why = 1.0, str(error)
        else:
            if answer.status_code == 200:
                return answer.json()["sequences"]
            if answer.status_code not in (429, 503):
                raise StreamingError(
                    f"live: the collector refused a batch: {answer.status_code} {answer.text}"
                )
            wait, why = float(answer.headers.get("Retry-After", 1)), answer.text
        if time.monotonic() > deadline:
            raise StreamingError(f"live: the collector kept refusing a batch: {why}")
        log.warning("live: the collector pushed back (%s); retrying in %.0f s", why, wait)
        time.sleep(wait)


def count_arrivals(paths: Paths, stream: str, sequences: list[int]) -> tuple[int, int, int]:
    """``(landed, quarantined, duplicate rows)`` of the given stream sequences, in raw."""
    import duckdb
    import pyarrow as pa

    prefix = f"stream/{stream}/%"
    sent = pa.table({"seq": pa.array(sequences, pa.int64())})
    # Not read-only: the refresher's dbt connection to the file may still be open in this
    # process, and DuckDB allows a second one only with the same settings.
    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.register("sent", sent)
        landed, rows = conn.execute(
            "select count(distinct _line_number), count(*) from raw_clickstream.events "
            "where _file_name like ? and _line_number in (select seq from sent)",
            [prefix],
        ).fetchone()
        quarantined, quarantine_rows = conn.execute(
            "select count(distinct line_number), count(*) from raw_clickstream.quarantine "
            "where file_name like ? and line_number in (select seq from sent)",
            [prefix],
        ).fetchone()
    return landed, quarantined, (rows - landed) + (quarantine_rows - quarantined)


def run_live(
    paths: Paths,
    seconds: float,
    rate: float,
    on_tick: Callable[[TickReport], None] | None = None,
) -> LiveReport:
    """Push the demo's traffic through the whole path for ``seconds``; the report."""
    if rate <= 0 or seconds <= 0:
        raise StreamingError("live: --rate and --seconds must be positive")
    from .settings import landing_dir

    bus = BusSettings.from_config()
    bus_url(paths.bus, bus)  # the embedded bus up (started if needed) before anything uses it
    traffic = demo_traffic(paths.clickstream)
    started = time.perf_counter()
    stop, ready = threading.Event(), threading.Event()
    outcome: dict[str, StreamTotals | BaseException] = {}

    def stream() -> None:
        try:
            outcome["totals"] = run_stream(
                paths, stop, on_tick, RefreshSettings.from_config(), ready=ready
            )
        except BaseException as error:
            outcome["error"] = error
            stop.set()

    runner = threading.Thread(target=stream, name="streaming", daemon=True)
    runner.start()
    try:
        while not ready.wait(0.5) and not stop.is_set():
            pass
        pushing = time.perf_counter()
        sequences, rejected = [], 0
        if not stop.is_set():
            with running_collector(paths.home) as collector:
                token = collector_token(paths.home)
                sequences, rejected = push_to_collector(collector, token, traffic, rate, seconds)
        pushed = time.perf_counter()
        deadline = time.monotonic() + DRAIN_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if _drained(paths, bus, landing_dir(paths)):
                break
            time.sleep(1.0)
        drained = time.perf_counter()
    finally:
        stop.set()
        runner.join()
    if "error" in outcome:
        raise StreamingError(f"live: the path failed: {outcome['error']}") from outcome["error"]
    totals = outcome["totals"]
    sequences = sorted(set(sequences))  # a retried batch returns its stored events' sequences
    landed, quarantined, duplicates = count_arrivals(paths, bus.stream, sequences)
    return LiveReport(
        sent=len(sequences),
        rejected=rejected,
        landed=landed,
        quarantined=quarantined,
        duplicates=duplicates,
        latencies=totals.latencies,
        seconds=time.perf_counter() - started,
        push_seconds=pushed - pushing,
        drain_seconds=drained - pushed,
    )


def _drained(paths: Paths, bus: BusSettings, landing: Path) -> bool:
    """Whether the consumer has nothing pending or unacknowledged and nothing waits to load."""
    from .landing import landed_units
    from .settings import CONSUMER

    async def lag() -> int:
        import nats

        client = await nats.connect(bus_url(paths.bus, bus))
        try:
            info = await client.jetstream().consumer_info(bus.stream, CONSUMER)
            return info.num_pending + info.num_ack_pending
        finally:
            await client.close()

    return asyncio.run(lag()) == 0 and not landed_units(landing)
