"""``make bench``: the collector's throughput (the demo web app -> ``warehouse collect`` ->
JetStream acked), and what happens above it.

Both tasks run a bus (the embedded nats-server, data in the task's folder) and a collector
process of their own, with the shop's real products and customers for the visitors.

- ``collector``: the web app sends far more than the machine can take, with nothing reading
  the stream: the events accepted per second until the last one is acked is the sustained rate
  (sender, collector and broker share the two cores, as they would on one small host).
- ``collector-overload``: the web app sends 1.5x that rate while the pipeline's consumer reads
  at half of it; the stream and the lag limit are small, so the collector pushes back (429 when
  the consumer lags, 503 when the stream is full), the web app buffers and retries. Afterwards
  the stream is read to the end: every event generated must be on it once (``lost`` = 0).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from warehouse.paths import Paths

TOKEN = "bench-collector-token"
# The saturating rate of the first task (events/s asked for) and how long both tasks send.
SATURATING_RATE = 50_000
SEND_SECONDS = 10.0
# The overload task: sent at this multiple of the sustained rate, read at this one.
OVERLOAD_SEND, OVERLOAD_READ = 1.5, 0.5
# The sustained rate the overload task assumes when the first task did not run.
DEFAULT_SUSTAINED = 3_000


def work_collector(folder: Path, paths: Paths) -> dict[str, Any]:
    from demo.live_traffic import TrafficSettings, send_live_traffic

    settings = TrafficSettings(max_buffer_events=100_000, drain_seconds=120)
    with _bus_and_collector(folder, {}) as (_, endpoint):
        counts = asyncio.run(
            send_live_traffic(
                endpoint, TOKEN, _catalogue(paths), SATURATING_RATE, SEND_SECONDS, settings
            )
        )
    (folder.parent / "collector-sustained.json").write_text(
        json.dumps(counts.accepted / counts.seconds)
    )
    return {"seconds": counts.seconds, "rows": counts.accepted, **counts.as_dict()}


def work_collector_overload(folder: Path, paths: Paths) -> dict[str, Any]:
    from demo.live_traffic import TrafficSettings, send_live_traffic
    from streaming.bus import BusSettings

    measured = folder.parent / "collector-sustained.json"
    sustained = json.loads(measured.read_text()) if measured.exists() else DEFAULT_SUSTAINED
    limits = {
        "STREAMING__BUS__MAX_MB": "2",
        # Half a second of sustained traffic: the lag limit engages before the 2 MB stream
        # (about 3,000 events) is full, and the stream fills when the collector lets more in.
        "STREAMING__COLLECTOR__MAX_CONSUMER_LAG": str(int(sustained / 2)),
        "STREAMING__COLLECTOR__FULL_RETRY_AFTER_SECONDS": "1",
    }
    settings = TrafficSettings(max_buffer_events=100_000, drain_seconds=300)
    with _bus_and_collector(folder, limits) as (bus, endpoint):

        async def run() -> tuple[Any, set[str], int]:
            sending = asyncio.create_task(
                send_live_traffic(
                    endpoint,
                    TOKEN,
                    _catalogue(paths),
                    sustained * OVERLOAD_SEND,
                    SEND_SECONDS,
                    settings,
                )
            )
            ids, stored = await _consume(bus, BusSettings(), sustained * OVERLOAD_READ, sending)
            return await sending, ids, stored

        counts, ids, stored = asyncio.run(run())
    return {
        "seconds": counts.seconds,
        "rows": counts.accepted,
        **counts.as_dict(),
        "stored": stored,
        "stored_distinct": len(ids),
        "lost": counts.generated - len(ids),
    }


async def _consume(url: str, settings: Any, rate: float, sending: asyncio.Task) -> tuple:
    """Read the stream through ``LANDING`` at ``rate`` events/s until the sender is done and
    the stream is empty; the distinct event ids read, and the messages read."""
    import nats

    client = await nats.connect(url)
    js = client.jetstream()
    subscription = await js.pull_subscribe(
        settings.subject, durable="LANDING", stream=settings.stream
    )
    ids: set[str] = set()
    stored = 0
    batch = max(1, int(rate / 10))
    while True:
        started = time.monotonic()
        try:
            messages = await subscription.fetch(batch, timeout=0.5)
        except TimeoutError:
            if sending.done():
                break
            continue
        for message in messages:
            ids.add(message.headers["Nats-Msg-Id"])
            await message.ack()
        stored += len(messages)
        await asyncio.sleep(max(0.0, len(messages) / rate - (time.monotonic() - started)))
    await client.close()
    return ids, stored


def _catalogue(paths: Paths) -> Any:
    from demo.live_sessions import LiveCatalogue
    from warehouse.sources import shop_dsn

    return LiveCatalogue.read(shop_dsn(paths))


@contextmanager
def _bus_and_collector(folder: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A fresh bus in ``folder`` and a collector on it; yields their URLs."""
    from streaming.bus import start_embedded, stop_embedded
    from streaming.collector_process import running_collector

    bus = start_embedded(folder / "nats")
    settings = {**env, "STREAMING__BUS__URL": bus, "STREAMING__COLLECTOR__TOKEN": TOKEN}
    try:
        with running_collector(folder, settings) as endpoint:
            yield bus, endpoint
    finally:
        stop_embedded(folder / "nats")
