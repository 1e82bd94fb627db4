"""The collector's settings (``[streaming.collector]`` in .dlt/config.toml, env
``STREAMING__COLLECTOR__<KEY>``) and its bearer token.

The token is a secret: ``[streaming.collector] token`` in .dlt/secrets.toml or
``STREAMING__COLLECTOR__TOKEN``. When neither is set (the demo), a random token is generated
once under the home (``<home>/collector.token``, owner-only), so the collector and the demo's
web app on the same home agree on it without anyone choosing one.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt

from warehouse.errors import WarehouseError

from .config import read_section

log = logging.getLogger(__name__)

SECTION = "streaming.collector"
TOKEN_FILE = "collector.token"


class CollectorError(WarehouseError):
    """The collector cannot start as configured, or cannot reach the bus."""


@dataclass(frozen=True)
class CollectorSettings:
    """How the collector listens, what it accepts, and when it pushes back.

    Attributes:
        host, port: where ``warehouse collect`` listens (``--port`` overrides the port).
        max_batch_events: the most events one request may carry; more is a 413.
        max_body_mb: the largest request body read; larger is a 413 before it is read whole.
        max_event_kb: the largest single event (its JSON text); larger is a 400.
        max_consumer_lag: events the ``LANDING`` consumer may have pending before the
            collector answers 429 (the pipeline is behind: slow the senders down).
        lag_retry_after_seconds: the ``Retry-After`` of that 429.
        full_retry_after_seconds: the ``Retry-After`` of the 503 when the stream is full or the
            bus is unreachable (a consumer must drain it first: wait longer).
        check_interval_seconds: how often the stream's size and the consumer's lag are read;
            requests use the last reading, so the check costs nothing per request.
        publish_timeout_seconds: how long to wait for JetStream's acks of one batch.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    max_batch_events: int = 1000
    max_body_mb: float = 4.0
    max_event_kb: float = 32.0
    max_consumer_lag: int = 100_000
    lag_retry_after_seconds: int = 1
    full_retry_after_seconds: int = 5
    check_interval_seconds: float = 0.5
    publish_timeout_seconds: float = 5.0

    @classmethod
    def from_config(cls, **overrides: Any) -> CollectorSettings:
        """The configured settings, unset keys at the defaults above, then ``overrides``."""
        values = read_section(SECTION, cls, CollectorError)
        values.update({name: value for name, value in overrides.items() if value is not None})
        settings = cls(**values)
        numbers = {
            name: getattr(settings, name)
            for name in cls.__dataclass_fields__
            if name not in ("host", "port")
        }
        bad = [f"{name} = {value}" for name, value in numbers.items() if not value > 0]
        if bad:
            raise CollectorError(f"[{SECTION}] must be positive: {', '.join(bad)}")
        return settings

    @property
    def url(self) -> str:
        """The collector's base URL (for the demo's web app on the same machine)."""
        return f"http://{self.host}:{self.port}"


def collector_token(home: Path) -> str:
    """The configured token, else the home's generated demo token (created on first use)."""
    configured = dlt.secrets.get(f"{SECTION}.token")
    if configured:
        return str(configured)
    path = home / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    home.mkdir(parents=True, exist_ok=True)
    # Owner-only from the start: the token is a credential even in the demo.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    log.info("generated the collector's demo token in %s", path)
    return token
