"""The collector: the HTTP endpoint the web app pushes its events to, publishing each to the bus.

``POST /v1/events`` with ``Authorization: Bearer <token>`` takes a batch (a JSON array of
events, or JSON lines), checks its envelope (``envelope``), and publishes one message per event
on the stream's subject with the contract's headers (``Nats-Msg-Id`` = the event's id,
``Collected-At`` = when the collector received it). It answers 200 with the counts only once
JetStream has acknowledged every event of the batch: an event the sender saw accepted is stored.

Backpressure, decided before anything of the batch is published:

- the ``LANDING`` consumer has more than ``max_consumer_lag`` events pending: 429 with
  ``Retry-After`` (the pipeline is behind; the senders slow down and buffer);
- the stream has no room for the batch (its ``max_mb``), or the bus cannot be reached: 503
  with ``Retry-After``.

The stream's size and the consumer's lag are read every ``check_interval_seconds`` in the
background, so requests never wait for them. Should a publish still fail part-way (the broker
dies mid-batch, another request took the last bytes), the answer is 503 with how many events
were stored and refused; the sender retries the whole batch and JetStream's dedupe on
``Nats-Msg-Id`` stores the already stored ones only once (within ``duplicate_window_seconds``;
past it the pipeline removes replays by ``event_id``).

``GET /health`` answers 200 with the bus's state while the bus is reachable, else 503.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from aiohttp import web
from nats.js.errors import NotFoundError

from .bus import BusSettings, ensure_stream, jetstream
from .collector_settings import CollectorError, CollectorSettings
from .envelope import EnvelopeError, parse_batch

log = logging.getLogger(__name__)

# The pipeline's durable consumer, whose pending count is the lag (streaming-common contract).
CONSUMER = "LANDING"
# Bytes JetStream stores per message beyond subject, headers and body (an estimate, generous).
MESSAGE_OVERHEAD_BYTES = 64
# How long the first connection to the bus may take before the collector gives up.
CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass
class BusState:
    """The last reading of the bus: the stream's size and limit, the consumer's lag."""

    stream_bytes: int = 0
    max_bytes: int = 0
    consumer_lag: int = 0
    error: str | None = "not checked yet"
    checked_at: float = 0.0


class Collector:
    """One collector process: a NATS connection, the bus's last reading, the HTTP handlers."""

    def __init__(self, settings: CollectorSettings, bus: BusSettings, url: str, token: str):
        self.settings = settings
        self.bus = bus
        self.url = url
        self.token = token
        self.state = BusState()
        self.client: Any = None
        self.js: Any = None
        self._checker: asyncio.Task | None = None

    # ----------------------------------------------------------------------------------------
    # Lifecycle

    async def connect(self) -> None:
        """Connect to the bus and create or update the stream; a clear error if it is down."""
        connecting = nats.connect(
            self.url,
            connect_timeout=3,
            max_reconnect_attempts=-1,  # once up, ride out a broker restart
            reconnect_time_wait=0.5,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        try:
            # The reconnect setting makes nats-py retry a first connection forever too.
            self.client = await asyncio.wait_for(connecting, CONNECT_TIMEOUT_SECONDS)
        except Exception as error:
            why = "no connection" if isinstance(error, TimeoutError) else str(error)
            # Not chained: the CLI prints the innermost message, and this one says what to do.
            raise CollectorError(
                f"cannot reach the NATS server at {self.url} ({why or type(error).__name__} "
                f"within {CONNECT_TIMEOUT_SECONDS:.0f} s): start it, or check [streaming.bus] "
                "url (unset it to run the embedded bus)"
            ) from None
        self.js = jetstream(self.client, self.settings.publish_timeout_seconds)
        try:
            info = await ensure_stream(self.js, self.bus)
        except Exception as error:
            await self.client.close()
            raise CollectorError(
                f"the NATS server at {self.url} refused the stream {self.bus.stream} ({error}): "
                "JetStream must be enabled on it (nats-server --jetstream), and an existing "
                "stream's retention cannot change in place (docs/streaming.md)"
            ) from None  # the CLI prints the innermost message: this one, which says what to do
        self.state.max_bytes = info.config.max_bytes or 0
        await self.check()
        self._checker = asyncio.create_task(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
        if self.client is not None and not self.client.is_closed:
            await self.client.drain()

    async def check(self) -> None:
        """Read the stream's size and the consumer's lag (no consumer yet: no lag)."""
        try:
            info = await self.js.stream_info(self.bus.stream)
            try:
                lag = (await self.js.consumer_info(self.bus.stream, CONSUMER)).num_pending or 0
            except NotFoundError:
                lag = 0
        except (nats.errors.Error, OSError, TimeoutError) as error:
            self.state.error = f"the bus is unreachable: {error or type(error).__name__}"
            return
        self.state = BusState(
            info.state.bytes, info.config.max_bytes or 0, lag, None, time.monotonic()
        )

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_interval_seconds)
            try:
                await self.check()
            except Exception as error:  # a reading gone wrong must not end the readings
                log.exception("reading the bus failed")
                self.state.error = f"reading the bus failed: {error}"

    async def _on_error(self, error: Exception) -> None:
        log.warning("bus connection: %s", error or type(error).__name__)

    async def _on_disconnected(self) -> None:
        self.state.error = "disconnected from the bus"
        log.warning("disconnected from the bus at %s; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        log.warning("reconnected to the bus at %s", self.url)
        await self.check()

    # ----------------------------------------------------------------------------------------
    # HTTP

    def app(self) -> web.Application:
        """The aiohttp application; bodies over ``max_body_mb`` are refused with 413."""
        app = web.Application(client_max_size=int(self.settings.max_body_mb * 1024 * 1024))
        app.router.add_post("/v1/events", self.post_events)
        app.router.add_get("/health", self.health)
        return app

    async def health(self, request: web.Request) -> web.Response:
        state = self.state
        body = {
            "status": "ok" if state.error is None else "unavailable",
            "bus": self.url if state.error is None else state.error,
            "stream": self.bus.stream,
            "stream_bytes": state.stream_bytes,
            "max_bytes": state.max_bytes,
            "consumer_lag": state.consumer_lag,
        }
        return web.json_response(body, status=200 if state.error is None else 503)

    async def post_events(self, request: web.Request) -> web.Response:
        collected_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {self.token}".encode()):
            return _error(401, "missing or wrong bearer token", WWW_Authenticate="Bearer")
        try:
            body = await request.read()
            events = parse_batch(
                body, self.settings.max_batch_events, int(self.settings.max_event_kb * 1024)
            )
        except web.HTTPRequestEntityTooLarge:
            return _error(
                413, f"the body is over {self.settings.max_body_mb} MB ([{_S}] max_body_mb)"
            )
        except EnvelopeError as error:
            return _error(error.status, str(error))
        refusal = self._refusal(events)
        if refusal is not None:
            return refusal
        return await self._publish(events, collected_at)

    def _refusal(self, events: list) -> web.Response | None:
        """429 or 503 if the bus cannot take the batch now, before publishing any of it."""
        state, settings = self.state, self.settings
        if state.error is not None:
            return _busy(503, settings.full_retry_after_seconds, state.error)
        if state.consumer_lag > settings.max_consumer_lag:
            return _busy(
                429,
                settings.lag_retry_after_seconds,
                f"the pipeline is {state.consumer_lag:,} events behind (limit "
                f"{settings.max_consumer_lag:,}, [{_S}] max_consumer_lag): retry later",
            )
        needed = sum(self._stored_bytes(event) for event in events)
        if state.max_bytes and state.stream_bytes + needed > state.max_bytes:
            return _busy(
                503,
                settings.full_retry_after_seconds,
                f"the stream {self.bus.stream} is full ({state.stream_bytes:,} of "
                f"{state.max_bytes:,} bytes): retry once the pipeline has read it",
            )
        return None

    def _stored_bytes(self, event: Any) -> int:
        return len(event.body) + len(self.bus.subject) + MESSAGE_OVERHEAD_BYTES + 2 * 36

    async def _publish(self, events: list, collected_at: str) -> web.Response:
        """Publish every event, wait for all the acks; 200 with counts, or 503 with what failed."""
        futures: list[asyncio.Future] = []
        done: set[asyncio.Future] = set()
        try:
            async with asyncio.timeout(self.settings.publish_timeout_seconds):
                # No wait_stall: its wait_for would yield to the loop after every message and
                # cost a socket write each; queued together, the batch goes out in a few.
                for event in events:
                    headers = {"Collected-At": collected_at}
                    if event.event_id is not None:
                        headers["Nats-Msg-Id"] = event.event_id
                    futures.append(
                        await self.js.publish_async(self.bus.subject, event.body, headers=headers)
                    )
                done, _ = await asyncio.wait(futures)
        except TimeoutError:
            done = {future for future in futures if future.done()}
        for future in futures:
            if not future.done():
                future.cancel()  # frees its slot among nats-py's pending publishes
        acks = [f.result() for f in done if not f.cancelled() and f.exception() is None]
        duplicates = sum(1 for ack in acks if ack.duplicate)
        self.state.stream_bytes += sum(self._stored_bytes(event) for event in events)
        if len(acks) == len(events):
            # The stream sequence of each event, in the batch's order (a duplicate's is the
            # stored original's): a sender can reconcile what it sent with what landed.
            sequences = [future.result().seq for future in futures]
            return web.json_response(
                {"accepted": len(acks), "duplicates": duplicates, "sequences": sequences}
            )
        errors = [f.exception() for f in done if not f.cancelled() and f.exception() is not None]
        why = str(errors[0]) if errors else "no acknowledgement from the bus in time"
        full = "maximum bytes" in why
        log.warning(
            "batch of %d: %d stored, %d refused (%s)",
            len(events),
            len(acks),
            len(events) - len(acks),
            why,
        )
        return _busy(
            503,
            self.settings.full_retry_after_seconds,
            f"the stream {'is full' if full else 'did not store every event'} ({why}): "
            "retry the whole batch (stored events are deduplicated by event_id)",
            accepted=len(acks),
            refused=len(events) - len(acks),
        )


_S = "streaming.collector"


def _error(status: int, message: str, **headers: str) -> web.Response:
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    return web.json_response({"error": message}, status=status, headers=headers)


def _busy(status: int, retry_after: int, message: str, **counts: int) -> web.Response:
    body = {"error": message, "retry_after": retry_after, **counts}
    return web.json_response(body, status=status, headers={"Retry-After": str(retry_after)})


# --------------------------------------------------------------------------------------------
# Running it


async def serve(collector: Collector, ready: Callable[[], None] | None = None) -> None:
    """Connect, listen on the configured host and port until SIGINT or SIGTERM, then finish
    the requests in flight (their acks included) and close."""
    await collector.connect()
    runner = web.AppRunner(collector.app(), access_log=None, shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, collector.settings.host, collector.settings.port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        await collector.close()
        raise CollectorError(
            f"cannot listen on {collector.settings.url}: {error.strerror}; "
            "choose another with --port or [streaming.collector] port"
        ) from error
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("collector listening on %s, publishing to %s", collector.settings.url, collector.url)
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await collector.close()
