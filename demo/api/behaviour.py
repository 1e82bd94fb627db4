"""How the demo API behaves and what it records: its misbehaviour settings (rate limit, faults,
slow answers, page size) and the log of the requests it served."""

from __future__ import annotations

import logging
from dataclasses import dataclass

# The token the demo server accepts unless told otherwise; the CLI passes it to the pipelines
# when it runs the demo server itself. Real tokens live in .dlt/secrets.toml.
DEMO_TOKEN = "sk_test_globalretail_demo"

log = logging.getLogger(__name__)


class BadRequest(ValueError):
    """A request the API refuses with 400; the message goes back to the client."""


@dataclass(frozen=True)
class Behaviour:
    """How the server (mis)behaves. Replace ``ApiServer.behaviour`` to change it while running.

    Attributes:
        token: the bearer token accepted; any other gets 401.
        max_page_size: the largest ``limit``/``per_page`` accepted; larger gets 400.
        rate_limit: requests per second allowed (a token bucket, bursts of the same size);
            beyond it 429 with ``Retry-After``. None: unlimited.
        throttle_rate: share of authorised requests answered 429 with ``Retry-After: 1``
            whatever the rate (an API throttling for its own reasons).
        fault_rate: share of authorised requests answered with a 500, 502 or 503.
        slow_rate: share of requests delayed by ``slow_seconds`` before answering.
        seed: seed of the fault and delay draws, so a test run is repeatable.
    """

    token: str = DEMO_TOKEN
    max_page_size: int = 500
    rate_limit: float | None = None
    throttle_rate: float = 0.0
    fault_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it: ``rows`` is how many records the answer held, ``at``
    when it arrived (``time.monotonic()``), so tests can see how long a client waited."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    rows: int
    at: float
