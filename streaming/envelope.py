"""The collector's envelope check: is the request body a batch of events it may publish?

Only what is cheap and what the bus needs is checked here: the body is JSON (an array of
objects, or JSON lines, one object a line), the batch and each event are within their size
limits. Whether an event has the fields and types of an event is the streaming pipeline's
check, the same one the file pipeline runs (one implementation): an object with a wrong field is
published, then quarantined downstream with its reason, as a bad line in a log file is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


class EnvelopeError(ValueError):
    """A request body the collector refuses whole (400 or 413); the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Event:
    """One event to publish: its JSON text as one log line, and its id for JetStream's dedupe."""

    body: bytes
    event_id: str | None


def parse_batch(body: bytes, max_events: int, max_event_bytes: int) -> list[Event]:
    """The events of a request body: a JSON array of objects, or JSON lines of objects.

    An array's items are written back as compact JSON (one line each); a JSON line is kept
    byte for byte. Raises :class:`EnvelopeError` naming the first item that is wrong, so the
    whole batch is refused and nothing of it published.
    """
    text = _decode(body)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise EnvelopeError(f"the body is not valid JSON: {error}") from error
        if not isinstance(items, list):
            raise EnvelopeError("the body must be a JSON array of event objects, or JSON lines")
        _check_count(len(items), max_events)
        lines = [
            (json.dumps(item, ensure_ascii=False, separators=(",", ":")), item, n)
            for n, item in enumerate(items, 1)
        ]
    else:
        raw = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        _check_count(len(raw), max_events)
        lines = [(line, _json_line(line, n), n) for n, line in raw]
    events = []
    for line, item, n in lines:
        if not isinstance(item, dict):
            raise EnvelopeError(f"event {n} is a JSON {type(item).__name__}, not an object")
        encoded = line.encode()
        if len(encoded) > max_event_bytes:
            raise EnvelopeError(
                f"event {n} is {len(encoded):,} bytes, over the limit of {max_event_bytes:,} "
                "([streaming.collector] max_event_kb)",
                status=413,
            )
        # A non-text id is the pipeline's to quarantine; it just gets no dedupe header here.
        event_id = item.get("event_id")
        events.append(Event(encoded, event_id if isinstance(event_id, str) and event_id else None))
    return events


def _decode(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError as error:
        raise EnvelopeError(f"the body is not UTF-8 text: {error}") from error


def _check_count(count: int, max_events: int) -> None:
    if count > max_events:
        raise EnvelopeError(
            f"the batch has {count:,} events, over the limit of {max_events:,} "
            "([streaming.collector] max_batch_events): send smaller batches",
            status=413,
        )


def _json_line(line: str, n: int) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise EnvelopeError(f"line {n} is not valid JSON: {error}") from error
