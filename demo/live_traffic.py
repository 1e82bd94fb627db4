"""The web app's live traffic: events generated at a steady rate, buffered in memory, sent in
batches to the collector, retried until accepted.

The sender is the web app's side of backpressure. Every generated event waits in a bounded
buffer until the collector has accepted it (its 200 means JetStream stored it). A 429 or 503
keeps the batch in the buffer and waits the answer's ``Retry-After``; a refused connection or a
timeout (the collector restarting, the network) waits a growing pause. Retried batches are the
same events with the same ``event_id``, so the bus stores each once. When the buffer is full
the visitors stall (the clicks they did not make are counted as deferred): nothing generated is
lost; what could not be sent before the end is reported as still buffered.

Settings: ``[demo.live_traffic]`` in .dlt/config.toml (batch_events, max_buffer_events,
linger_seconds, senders, drain_seconds).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import asdict, dataclass

import aiohttp

from .errors import DemoError
from .live_sessions import LiveCatalogue, LiveSessions

log = logging.getLogger(__name__)

# The longest pause after a refused connection (it doubles from 0.1 s up to this).
MAX_BACKOFF_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class TrafficSettings:
    """How the web app sends (``[demo.live_traffic]``)."""

    batch_events: int = 500
    max_buffer_events: int = 200_000
    linger_seconds: float = 0.1
    senders: int = 2
    drain_seconds: float = 120.0

    @classmethod
    def from_config(cls) -> TrafficSettings:
        import dlt

        defaults = cls()
        values = {}
        for name in cls.__dataclass_fields__:
            default = getattr(defaults, name)
            value = dlt.config.get(f"demo.live_traffic.{name}")
            values[name] = default if value is None else type(default)(value)
        return cls(**values)


@dataclass
class TrafficCounts:
    """What happened to the events: ``generated == accepted + buffered`` always holds.

    Attributes:
        generated: events the visitors produced (and the buffer took).
        accepted: events the collector accepted (stored on the bus).
        duplicates: accepted events the bus already had (a retry of a batch it had stored).
        retried: events sent again after a 429, a 503 or a failed connection.
        throttled, full, unreachable: answers 429, answers 503, failed requests.
        deferred: clicks the visitors did not make because the buffer was full (the web app
            stalls rather than drop events).
        buffered: events still waiting in the buffer at the end.
    """

    generated: int = 0
    accepted: int = 0
    duplicates: int = 0
    retried: int = 0
    throttled: int = 0
    full: int = 0
    unreachable: int = 0
    deferred: int = 0
    buffered: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"sent {self.generated:,} events in {self.seconds:.1f} s: {self.accepted:,} accepted "
            f"({self.duplicates:,} duplicates), {self.retried:,} retried "
            f"({self.throttled} x 429, {self.full} x 503, {self.unreachable} unreachable), "
            f"{self.buffered:,} still buffered"
            + (f"; {self.deferred:,} clicks not made (buffer full)" if self.deferred else "")
        )

    def as_dict(self) -> dict:
        return asdict(self)


class _Sender:
    """The buffer, the generator filling it, and the senders emptying it."""

    def __init__(
        self, url: str, token: str, sessions: LiveSessions, settings: TrafficSettings
    ) -> None:
        self.endpoint = url.rstrip("/") + "/v1/events"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        self.sessions = sessions
        self.settings = settings
        self.buffer: collections.deque[str] = collections.deque()
        self.in_flight = 0
        self.counts = TrafficCounts()
        self.arrived = asyncio.Event()
        self.generating = True

    async def generate(self, rate: float, seconds: float) -> None:
        """Add ``rate`` events a second to the buffer for ``seconds``, as room allows."""
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            self._click(int(rate * elapsed))
            await asyncio.sleep(0.02)
        self._click(int(rate * seconds))  # the last tick's clicks
        self.counts.deferred = int(rate * seconds) - self.counts.generated
        self.generating = False
        self.arrived.set()

    def _click(self, due_total: int) -> None:
        """Generate the clicks due by now that the buffer has room for."""
        room = self.settings.max_buffer_events - len(self.buffer) - self.in_flight
        count = max(0, min(due_total - self.counts.generated, room))
        if count:
            self.buffer.extend(self.sessions.lines(count))
            self.counts.generated += count
            self.arrived.set()

    async def send(self, client: aiohttp.ClientSession, deadline: list[float]) -> None:
        """Send batches until the buffer is empty after generation, or the drain deadline."""
        backoff = 0.1
        while time.monotonic() < deadline[0]:
            if not self.buffer:
                if not self.generating:
                    return
                self.arrived.clear()
                await self.arrived.wait()
                continue
            if len(self.buffer) < self.settings.batch_events and self.generating:
                await asyncio.sleep(self.settings.linger_seconds)  # let a batch fill up
            take = min(self.settings.batch_events, len(self.buffer))
            batch = [self.buffer.popleft() for _ in range(take)]
            if not batch:
                continue
            self.in_flight += len(batch)
            try:
                wait = await self._post(client, batch)
            finally:
                self.in_flight -= len(batch)
            if wait is None:
                backoff = 0.1
                continue
            self.buffer.extendleft(reversed(batch))  # back at the front, in order
            self.arrived.set()
            self.counts.retried += len(batch)
            if wait < 0:  # no Retry-After: a connection failure
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
            await asyncio.sleep(max(0.0, min(wait, deadline[0] - time.monotonic())))

    async def _post(self, client: aiohttp.ClientSession, batch: list[str]) -> float | None:
        """Send one batch: None once accepted, else seconds to wait (-1: back off)."""
        try:
            async with client.post(
                self.endpoint, data="\n".join(batch).encode(), headers=self.headers
            ) as response:
                body = await response.json(content_type=None)
                if response.status == 200:
                    self.counts.accepted += body["accepted"]
                    self.counts.duplicates += body["duplicates"]
                    return None
                if response.status in (429, 503):
                    if response.status == 429:
                        self.counts.throttled += 1
                    else:
                        self.counts.full += 1
                    return float(response.headers.get("Retry-After", "1"))
                raise DemoError(
                    f"the collector at {self.endpoint} refused a batch with {response.status}: "
                    f"{body.get('error', body)}"
                )
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            self.counts.unreachable += 1
            log.info("collector unreachable (%s); retrying", error or type(error).__name__)
            return -1.0


async def send_live_traffic(
    url: str,
    token: str,
    catalogue: LiveCatalogue,
    rate: float,
    seconds: float,
    settings: TrafficSettings | None = None,
    seed: int | None = None,
) -> TrafficCounts:
    """Generate ``rate`` events a second for ``seconds`` and send them to the collector at
    ``url``; then keep sending until the buffer is empty or ``drain_seconds`` have passed."""
    if not rate > 0 or not seconds > 0:
        raise DemoError(f"--rate and --seconds must be positive (got {rate} and {seconds})")
    settings = settings or TrafficSettings.from_config()
    sender = _Sender(url, token, LiveSessions(catalogue, seed), settings)
    started = time.monotonic()
    deadline = [float("inf")]  # set once generation ends: the drain's deadline
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        senders = [
            asyncio.create_task(sender.send(client, deadline)) for _ in range(settings.senders)
        ]
        try:
            await sender.generate(rate, seconds)
            deadline[0] = time.monotonic() + settings.drain_seconds
            await asyncio.gather(*senders)
        finally:
            for task in senders:
                task.cancel()
    counts = sender.counts
    counts.buffered = len(sender.buffer) + sender.in_flight
    counts.seconds = time.monotonic() - started
    return counts


def live_traffic(
    url: str,
    token: str,
    catalogue: LiveCatalogue,
    rate: float,
    seconds: float,
    settings: TrafficSettings | None = None,
    seed: int | None = None,
) -> TrafficCounts:
    """:func:`send_live_traffic` from synchronous code (the CLI, the tests, the bench)."""
    return asyncio.run(send_live_traffic(url, token, catalogue, rate, seconds, settings, seed))
