"""The embedded event bus: nats-server under a home, a bounded JetStream stream, restarts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from streaming.bus import (
    BusError,
    BusSettings,
    ensure_stream,
    jetstream,
    start_embedded,
    stop_embedded,
)


def test_embedded_bus_stores_events_bounded_and_deduplicated(tmp_path: Path) -> None:
    data_dir = tmp_path / "nats"
    settings = BusSettings(max_mb=1, duplicate_window_seconds=60)
    url = start_embedded(data_dir)
    try:
        assert start_embedded(data_dir) == url  # a second start reuses the running server

        async def scenario() -> tuple[int, int, str, str]:
            client = await nats.connect(url)
            js = jetstream(client, timeout=5)
            await ensure_stream(js, settings)
            event = {"event_id": "e-1", "event_type": "page_view"}
            body = json.dumps(event).encode()
            first = await js.publish(settings.subject, body, headers={"Nats-Msg-Id": "e-1"})
            again = await js.publish(settings.subject, body, headers={"Nats-Msg-Id": "e-1"})
            assert again.duplicate and again.seq == first.seq
            # Fill the 1 MiB stream: discard-new makes the publish that does not fit fail.
            refused = ""
            for n in range(2000):
                try:
                    await js.publish(
                        settings.subject, b"x" * 1024, headers={"Nats-Msg-Id": f"f-{n}"}
                    )
                except nats.js.errors.APIError as error:
                    refused = str(error)
                    break
            # The collector's way: an async publish to the full stream fails at once, not
            # after the timeout (nats-py's own reply handler loses the error).
            future = await js.publish_async(
                settings.subject, b"x" * 1024, headers={"Nats-Msg-Id": "async-1"}
            )
            (async_refused,) = await asyncio.wait_for(
                asyncio.gather(future, return_exceptions=True), timeout=2
            )
            info = await js.stream_info(settings.stream)
            await client.close()
            return first.seq, info.state.messages, refused, str(async_refused)

        seq, stored, refused, async_refused = asyncio.run(scenario())
        assert seq == 1
        assert 900 < stored < 1100
        assert "maximum bytes" in refused and "maximum bytes" in async_refused
    finally:
        assert stop_embedded(data_dir)
    assert not stop_embedded(data_dir)


def test_bad_limits_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMING__BUS__MAX_MB", "0")
    with pytest.raises(BusError, match="max_mb and max_age_hours must be positive"):
        BusSettings.from_config()
