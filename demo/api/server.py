"""A local HTTP server that plays GlobalRetail's three vendors: a payment processor (Stripe-like),
an ad platform and a review service, serving the records of ``demo/api/data.py``.

It behaves the way the real services do, so the pipelines meet real failure modes offline:
bearer-token auth (401), a maximum page size (400 above it), rate limiting (429 with
``Retry-After``), injected server errors (5xx) and slow responses. Every request is logged
(method, path, query, status, rows served), so tests can check what a pipeline asked for.

Endpoints (all GET, JSON):

- ``/v1/charges``, ``/v1/refunds``: Stripe lists, newest first. ``limit``, ``starting_after``
  (an object id), ``created[gte|gt|lte|lt]`` (unix seconds); ``{"object": "list", "data",
  "has_more"}``.
- ``/v1/campaigns``, ``/v1/ad_spend``: an ad platform's Graph-style lists, oldest change first.
  ``limit``, ``after`` (an opaque cursor), ``updated_since`` (ISO 8601); ``/v1/ad_spend`` also
  ``since``/``until`` (dates, inclusive); ``{"data", "paging": {"cursors", "next"}}``.
- ``/v1/reviews``: page numbers. ``page``, ``per_page``, ``updated_since`` (ISO 8601);
  ``{"reviews", "meta": {"page", "per_page", "total", "total_pages"}}``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg

from .data import SCHEMA

log = logging.getLogger(__name__)

# The token the demo server accepts unless told otherwise; the CLI passes it to the pipelines
# when it runs the demo server itself. Real tokens live in .dlt/secrets.toml.
DEMO_TOKEN = "sk_test_globalretail_demo"
DEFAULT_PAGE_SIZE = 10
POOL_SIZE = 4


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


@dataclass
class _Answer:
    status: int
    body: str
    rows: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class ApiServer:
    """The vendors' APIs on ``127.0.0.1`` and an ephemeral port, reading ``demo_api`` in ``dsn``.

    Use ``running(...)`` rather than starting and stopping it by hand.
    """

    def __init__(self, dsn: str, behaviour: Behaviour | None = None) -> None:
        self.dsn = dsn
        self.behaviour = behaviour or Behaviour()
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._random = random.Random(self.behaviour.seed)
        self._bucket = (0.0, time.monotonic(), None)  # tokens, last refill, the rate they are for
        self._pool: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._connections: list[psycopg.Connection] = []
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.api = self
        self._thread: threading.Thread | None = None
        self._routes: dict[str, Callable[[psycopg.Connection, dict[str, str]], _Answer]] = {
            "/v1/charges": lambda conn, query: self._stripe_list(conn, query, STRIPE["charges"]),
            "/v1/refunds": lambda conn, query: self._stripe_list(conn, query, STRIPE["refunds"]),
            "/v1/campaigns": lambda conn, query: self._graph_list(conn, query, CAMPAIGNS),
            "/v1/ad_spend": lambda conn, query: self._graph_list(conn, query, AD_SPEND),
            "/v1/reviews": self._reviews,
        }

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (endpoints are under ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="demo-api", daemon=True
        )
        self._thread.start()
        log.info("demo API serving %s at %s", SCHEMA, self.url)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def clear_log(self) -> None:
        """Forget the requests seen so far (to look at one pipeline run's requests)."""
        with self._lock:
            self.requests.clear()

    def requests_to(self, path: str) -> list[LoggedRequest]:
        """The logged requests for one endpoint path, e.g. ``/v1/charges``, in arrival order."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    # ----------------------------------------------------------------------------------------
    # Request handling (called from the handler threads)

    def handle(self, method: str, target: str, authorization: str | None) -> _Answer:
        """Answer one request: auth, rate limit, injected faults, then the endpoint itself."""
        arrived = time.monotonic()
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        behaviour = self.behaviour
        answer = self._answer(method, parts.path, query, authorization, behaviour)
        with self._lock:
            self.requests.append(
                LoggedRequest(method, parts.path, query, int(answer.status), answer.rows, arrived)
            )
        return answer

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        authorization: str | None,
        behaviour: Behaviour,
    ) -> _Answer:
        if authorization != f"Bearer {behaviour.token}":
            return _error(HTTPStatus.UNAUTHORIZED, "Invalid API key provided.", "authentication")
        wait = self._take_token(behaviour.rate_limit)
        if wait is not None:
            answer = _error(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests.", "rate_limit")
            answer.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return answer
        with self._lock:
            # Drawn only when set, so other behaviours keep their seeded sequence of draws.
            throttled = bool(behaviour.throttle_rate) and (
                self._random.random() < behaviour.throttle_rate
            )
            fault = self._random.random() < behaviour.fault_rate
            status = self._random.choice((500, 502, 503))
            slow = self._random.random() < behaviour.slow_rate
        if throttled:
            answer = _error(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests.", "rate_limit")
            answer.headers["Retry-After"] = "1"
            return answer
        if slow:
            time.sleep(behaviour.slow_seconds)
        if fault:
            return _error(HTTPStatus(status), "An unexpected error occurred.", "api_error")
        route = self._routes.get(path)
        if route is None:
            return _error(HTTPStatus.NOT_FOUND, f"Unrecognized request URL: {path}", "invalid")
        if method != "GET":
            return _error(HTTPStatus.METHOD_NOT_ALLOWED, "Only GET is supported.", "invalid")
        try:
            with self._connection() as conn:
                return route(conn, query)
        except BadRequest as exc:
            return _error(HTTPStatus.BAD_REQUEST, str(exc), "invalid_request_error")

    def _take_token(self, rate: float | None) -> float | None:
        """Spend one token of the bucket; None if allowed, else seconds until one is free."""
        if rate is None:
            return None
        with self._lock:
            tokens, last, bucket_rate = self._bucket
            now = time.monotonic()
            if bucket_rate != rate:  # the limit changed: start with a full bucket
                tokens, last = rate, now
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens >= 1:
                self._bucket = (tokens - 1, now, rate)
                return None
            self._bucket = (tokens, now, rate)
            return (1 - tokens) / rate

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(self.dsn, autocommit=True)
            # Timestamps leave the database already in UTC, whatever the server's zone.
            conn.execute("set timezone = 'UTC'")
            with self._lock:
                self._connections.append(conn)
        try:
            yield conn
        finally:
            if self._pool.qsize() < POOL_SIZE:
                self._pool.put(conn)
            else:
                with self._lock:
                    self._connections.remove(conn)
                conn.close()

    # ----------------------------------------------------------------------------------------
    # The three API styles

    def _stripe_list(
        self, conn: psycopg.Connection, query: dict[str, str], endpoint: _Endpoint
    ) -> _Answer:
        """Newest first; ``starting_after`` continues after an object id (keyset on
        ``(created, id)``), as Stripe's cursor pagination does."""
        limit = self._limit(query, "limit")
        conditions, params = [], {"limit": limit + 1}
        for operator, sql in (("gte", ">="), ("gt", ">"), ("lte", "<="), ("lt", "<")):
            value = query.get(f"created[{operator}]")
            if value is not None:
                conditions.append(f"created_at {sql} to_timestamp(%(created_{operator})s)")
                params[f"created_{operator}"] = _integer(value, f"created[{operator}]")
        after = query.get("starting_after")
        if after is not None:
            found = conn.execute(
                f"select created_at from {SCHEMA}.{endpoint.table} where {endpoint.key} = %s",
                (after,),
            ).fetchone()
            if found is None:
                raise BadRequest(f"No such {endpoint.noun}: '{after}'")
            conditions.append(f"(created_at, {endpoint.key}) < (%(after_at)s, %(after)s)")
            params.update(after_at=found[0], after=after)
        rows = conn.execute(
            f"""
            select {endpoint.json} from {SCHEMA}.{endpoint.table}
            where {" and ".join(conditions) or "true"}
            order by created_at desc, {endpoint.key} desc
            limit %(limit)s
            """,
            params,
        ).fetchall()
        page = [row[0] for row in rows[:limit]]
        body = (
            f'{{"object": "list", "url": "/v1/{endpoint.table}", '
            f'"has_more": {json.dumps(len(rows) > limit)}, "data": [{", ".join(page)}]}}'
        )
        return _Answer(HTTPStatus.OK, body, len(page))

    def _graph_list(
        self, conn: psycopg.Connection, query: dict[str, str], endpoint: _Endpoint
    ) -> _Answer:
        """Oldest change first; ``after`` is an opaque keyset cursor on ``(updated_at, key)``,
        and ``paging.next`` is the full URL of the next page, as ad platforms return it."""
        limit = self._limit(query, "limit")
        conditions, params = [], {"limit": limit + 1}
        if "updated_since" in query:
            conditions.append("updated_at >= %(updated_since)s")
            params["updated_since"] = _timestamp(query["updated_since"], "updated_since")
        for name, sql in (("since", ">="), ("until", "<=")):
            if name in query:
                if endpoint is not AD_SPEND:
                    raise BadRequest(f"Unknown parameter: {name}")
                conditions.append(f"spend_date {sql} %({name})s")
                params[name] = _date(query[name], name)
        if "after" in query:
            conditions.append(f"(updated_at, {endpoint.key}) > (%(after_at)s, %(after_key)s)")
            params["after_at"], params["after_key"] = _decode_cursor(query["after"])
        rows = conn.execute(
            f"""
            select {endpoint.json}, updated_at, {endpoint.key} from {SCHEMA}.{endpoint.table}
            where {" and ".join(conditions) or "true"}
            order by updated_at, {endpoint.key}
            limit %(limit)s
            """,
            params,
        ).fetchall()
        page = rows[:limit]
        paging: dict[str, Any] = {}
        if page:
            cursor = _encode_cursor(page[-1][1], page[-1][2])
            paging["cursors"] = {"after": cursor}
            if len(rows) > limit:
                paging["next"] = f"{self.url}{endpoint.path}?" + urlencode(
                    {**query, "after": cursor}
                )
        body = f'{{"data": [{", ".join(row[0] for row in page)}], "paging": {json.dumps(paging)}}}'
        return _Answer(HTTPStatus.OK, body, len(page))

    def _reviews(self, conn: psycopg.Connection, query: dict[str, str]) -> _Answer:
        """Page numbers over the reviews changed since ``updated_since``, oldest change first."""
        per_page = self._limit(query, "per_page")
        page = _integer(query.get("page", "1"), "page")
        if page < 1:
            raise BadRequest("page must be 1 or more")
        where, params = "true", {"limit": per_page, "offset": (page - 1) * per_page}
        if "updated_since" in query:
            where = "updated_at >= %(updated_since)s"
            params["updated_since"] = _timestamp(query["updated_since"], "updated_since")
        (total,) = conn.execute(
            f"select count(*) from {SCHEMA}.reviews where {where}", params
        ).fetchone()
        # The offset walks the (updated_at, review_id) index for the page's keys only; JSON is
        # built for those rows alone. With the projection below the Limit, PostgreSQL built it
        # for every skipped row too: a late page of 78k reviews cost 0.5 s instead of 0.02 s.
        rows = conn.execute(
            f"""
            select {REVIEWS.json} from {SCHEMA}.reviews
            join (
                select review_id from {SCHEMA}.reviews where {where}
                order by updated_at, review_id limit %(limit)s offset %(offset)s
            ) as page using (review_id)
            order by updated_at, review_id
            """,
            params,
        ).fetchall()
        meta = {
            "page": page,
            "per_page": per_page,
            "total": total,
            "total_pages": math.ceil(total / per_page),
        }
        body = f'{{"reviews": [{", ".join(row[0] for row in rows)}], "meta": {json.dumps(meta)}}}'
        return _Answer(HTTPStatus.OK, body, len(rows))

    def _limit(self, query: dict[str, str], name: str) -> int:
        limit = _integer(query.get(name, str(DEFAULT_PAGE_SIZE)), name)
        maximum = self.behaviour.max_page_size
        if not 1 <= limit <= maximum:
            raise BadRequest(f"{name} must be between 1 and {maximum}, got {limit}")
        return limit


@dataclass(frozen=True)
class _Endpoint:
    """A list endpoint: its table, key column, the SQL building one JSON object per row."""

    path: str
    table: str
    key: str
    noun: str
    json: str


# The JSON each endpoint serves, built by PostgreSQL (fast, and exactly the wire format).
STRIPE = {
    "charges": _Endpoint(
        "/v1/charges",
        "charges",
        "charge_id",
        "charge",
        """json_build_object(
            'id', charge_id, 'object', 'charge', 'amount', amount_cents, 'currency', currency,
            'created', extract(epoch from created_at)::bigint, 'status', status,
            'paid', status = 'succeeded', 'failure_code', failure_code, 'livemode', false,
            'billing_details', json_build_object('email', billing_email, 'name', billing_name),
            'metadata', json_build_object('order_id', order_id::text)
        )::text""",
    ),
    "refunds": _Endpoint(
        "/v1/refunds",
        "refunds",
        "refund_id",
        "refund",
        """json_build_object(
            'id', refund_id, 'object', 'refund', 'amount', amount_cents, 'currency', currency,
            'charge', charge_id, 'created', extract(epoch from created_at)::bigint,
            'reason', reason, 'status', status,
            'metadata', json_build_object('order_id', order_id::text)
        )::text""",
    ),
}
CAMPAIGNS = _Endpoint(
    "/v1/campaigns",
    "campaigns",
    "campaign_id",
    "campaign",
    """json_build_object(
        'id', campaign_id, 'name', campaign_name, 'channel', channel, 'status', status,
        'utm', json_build_object(
            'source', utm_source, 'medium', utm_medium, 'campaign', utm_campaign
        ),
        'daily_budget_cents', daily_budget_cents, 'currency', currency,
        'start_time', started_at, 'end_time', ended_at,
        'created_time', created_at, 'updated_time', updated_at
    )::text""",
)
AD_SPEND = _Endpoint(
    "/v1/ad_spend",
    "ad_spend",
    # The keyset needs one unique text key; campaign and day together are unique.
    "(campaign_id || '/' || spend_date)",
    "report",
    """json_build_object(
        'campaign_id', campaign_id, 'date', spend_date, 'impressions', impressions,
        'clicks', clicks, 'spend_cents', spend_cents, 'currency', currency,
        'is_final', is_final, 'updated_at', updated_at
    )::text""",
)
REVIEWS = _Endpoint(
    "/v1/reviews",
    "reviews",
    "review_id",
    "review",
    """json_build_object(
        'id', review_id, 'order_id', order_id, 'product_id', product_id, 'rating', rating,
        'title', title, 'body', body,
        'created_at', to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    )::text""",
)


class _HTTPServer(ThreadingHTTPServer):
    """One thread per connection; a client hanging up mid-request is not an error here."""

    daemon_threads = True
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("demo API: connection from %s dropped", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into ``ApiServer.handle`` calls; keep-alive, as API clients expect."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, which costs ~40 ms per request on a keep-alive connection.
    disable_nagle_algorithm = True
    server_version = "GlobalRetailDemoAPI/1.0"

    def do_GET(self) -> None:
        self._respond()

    def do_POST(self) -> None:
        self._respond()

    def _respond(self) -> None:
        api = self.server.api  # type: ignore[attr-defined]
        try:
            answer = api.handle(self.command, self.path, self.headers.get("Authorization"))
        except Exception:
            log.exception("demo API failed on %s", self.path)
            answer = _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error.", "api_error")
        payload = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo API: " + format, *args)


@contextmanager
def running(
    dsn: str, behaviour: Behaviour | None = None, source: str | None = None
) -> Iterator[ApiServer]:
    """Serve the vendors' APIs over ``demo_api`` in ``dsn`` for the duration of the block.

    ``source`` names the pipeline the server is started for, for the error raised when the
    database holds no demo data.
    """
    with psycopg.connect(dsn) as conn:
        (generated,) = conn.execute(f"select to_regclass('{SCHEMA}.reviews')").fetchone()
    if generated is None:
        raise RuntimeError(
            f"{source or 'demo API'}: no [sources.{source or '<source>'}] base_url is set, so "
            f"the demo API would serve it, but the demo database has no {SCHEMA} schema. Run "
            "`warehouse demo generate`, or set base_url (and token) to read the real API."
        )
    server = ApiServer(dsn, behaviour).start()
    try:
        yield server
    finally:
        server.stop()


def demo_behaviour() -> Behaviour:
    """The demo's misbehaviour, from ``[demo.api]`` in ``.dlt/config.toml`` (defaults: none)."""
    import dlt

    defaults = Behaviour()
    return Behaviour(
        max_page_size=dlt.config.get("demo.api.max_page_size", int) or defaults.max_page_size,
        rate_limit=dlt.config.get("demo.api.rate_limit", float),
        throttle_rate=dlt.config.get("demo.api.throttle_rate", float) or 0.0,
        fault_rate=dlt.config.get("demo.api.fault_rate", float) or 0.0,
        slow_rate=dlt.config.get("demo.api.slow_rate", float) or 0.0,
        slow_seconds=dlt.config.get("demo.api.slow_seconds", float) or defaults.slow_seconds,
    )


# --------------------------------------------------------------------------------------------
# Small helpers


def _error(status: HTTPStatus, message: str, kind: str) -> _Answer:
    return _Answer(status, json.dumps({"error": {"type": kind, "message": message}}))


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None


def _timestamp(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 timestamp, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


def _encode_cursor(updated_at: datetime, key: str) -> str:
    raw = json.dumps([updated_at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, key = json.loads(raw)
        return datetime.fromisoformat(updated_at), str(key)
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid cursor: {cursor!r}") from None
