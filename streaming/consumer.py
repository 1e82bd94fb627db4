"""The pipeline's reader of the bus: the JetStream durable pull consumer ``LANDING``.

Fetch up to ``max_batch`` messages, land them with the Beam pipeline (one unit, durable once
renamed into the landing folder), then acknowledge them and flush the acks to the server. A
process killed before the acks leaves its messages unacknowledged: JetStream redelivers them
after ``ack_wait_seconds`` to the next consumer, nothing is lost; a kill between the rename and
the acks lands them twice, and staging keeps the first copy of each ``event_id``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warehouse.paths import Paths

from .bus import BusSettings, bus_url, ensure_stream
from .landing import remove_abandoned
from .pipeline import land_messages
from .settings import CONSUMER, PipelineSettings, landing_dir

log = logging.getLogger(__name__)

# The header the collector stamps on each event: when it received it (ISO 8601, UTC).
COLLECTED_AT = "Collected-At"


@dataclass
class ConsumerTally:
    """What the consumer has landed since it started."""

    batches: int = 0
    messages: int = 0
    redelivered: int = 0


def consumer_config(settings: PipelineSettings) -> Any:
    """The durable pull consumer: explicit acks, redelivery after ``ack_wait_seconds``."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    return ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=settings.ack_wait_seconds,
        max_ack_pending=-1,
    )


async def consume(
    paths: Paths,
    stop: Any,
    settings: PipelineSettings | None = None,
    bus: BusSettings | None = None,
    parent: int | None = None,
) -> ConsumerTally:
    """Land the bus's messages until ``stop`` (an Event) is set, or the process ``parent``
    is gone (killed: an orphan pipeline must not keep landing); what was landed."""
    import nats
    from nats.errors import TimeoutError as FetchTimeout

    settings = settings or PipelineSettings.from_config()
    bus = bus or BusSettings.from_config()
    landing = landing_dir(paths)
    if removed := remove_abandoned(landing):
        log.warning("pipeline: removed %d unit(s) a killed pipeline left unfinished", removed)
    client = await nats.connect(bus_url(paths.bus, bus), max_reconnect_attempts=-1)
    tally = ConsumerTally()
    try:
        js = client.jetstream()
        await ensure_stream(js, bus)
        subscription = await js.pull_subscribe(
            bus.subject, durable=CONSUMER, stream=bus.stream, config=consumer_config(settings)
        )
        loop = asyncio.get_running_loop()
        while not stop.is_set() and (parent is None or os.getppid() == parent):
            messages = await _gather(subscription, settings, FetchTimeout)
            if not messages:
                continue
            batch = [
                (message.metadata.sequence.stream, message.data, _collected_at(message))
                for message in messages
            ]
            # The Beam run blocks: off the event loop, so the connection's pings keep going.
            name = await loop.run_in_executor(
                None, land_messages, batch, bus.stream, landing, settings
            )
            for message in messages:
                await message.ack()
            await client.flush()
            tally.batches += 1
            tally.messages += len(messages)
            tally.redelivered += sum(message.metadata.num_delivered > 1 for message in messages)
            log.info("pipeline: landed %d message(s) as %s", len(messages), name)
    finally:
        await client.close()
    return tally


async def _gather(subscription: Any, settings: PipelineSettings, timeout: type) -> list[Any]:
    """Up to ``max_batch`` messages: whatever arrives within ``batch_seconds`` of the first
    (fewer, larger units: a Beam run and a load cost the same for 10 messages or 5,000)."""
    messages: list[Any] = []
    deadline = None
    while len(messages) < settings.max_batch:
        wait = settings.fetch_seconds if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            break
        try:
            messages += await subscription.fetch(settings.max_batch - len(messages), timeout=wait)
        except (TimeoutError, timeout):  # nothing more within the wait
            if deadline is None:
                break
            continue
        if deadline is None:
            deadline = time.monotonic() + settings.batch_seconds
    return messages


def _collected_at(message: Any) -> datetime | None:
    """When the collector received the message (its header), if it says."""
    value = (message.headers or {}).get(COLLECTED_AT)
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
