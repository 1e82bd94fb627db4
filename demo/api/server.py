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

import json
import logging
import math
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg

from ..errors import DemoError
from ..tls import TlsFiles
from .answers import _Answer, _date, _decode_cursor, _encode_cursor, _error, _integer, _timestamp
from .behaviour import DEMO_TOKEN, BadRequest, Behaviour, LoggedRequest
from .data import SCHEMA
from .endpoints import AD_SPEND, CAMPAIGNS, REVIEWS, STRIPE, _Endpoint
from .handler import _Handler, _HTTPServer

# What the CLI, the tools and the tests import from this module.
__all__ = ["DEMO_TOKEN", "ApiServer", "Behaviour", "LoggedRequest", "demo_behaviour", "running"]

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 10
POOL_SIZE = 4


class ApiServer:
    """The vendors' APIs on ``127.0.0.1`` and an ephemeral port, reading ``demo_api`` in ``dsn``.

    Use ``running(...)`` rather than starting and stopping it by hand.
    """

    def __init__(
        self, dsn: str, behaviour: Behaviour | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.dsn = dsn
        self.tls = tls
        self.behaviour = behaviour or Behaviour()
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._random = random.Random(self.behaviour.seed)
        self._bucket = (0.0, time.monotonic(), None)  # tokens, last refill, the rate they are for
        self._pool: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._connections: list[psycopg.Connection] = []
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.api = self
        if tls is not None:  # HTTPS: the handshake happens in the handler's thread
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(tls.certificate, tls.key)
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
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
        """The base URL, e.g. ``https://127.0.0.1:54321`` (endpoints are under ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

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


@contextmanager
def running(
    dsn: str,
    behaviour: Behaviour | None = None,
    source: str | None = None,
    tls: TlsFiles | None = None,
) -> Iterator[ApiServer]:
    """Serve the vendors' APIs over ``demo_api`` in ``dsn`` for the duration of the block
    (over HTTPS with ``tls``: demo.tls.local_ca).

    ``source`` names the pipeline the server is started for, for the error raised when the
    database holds no demo data.
    """
    with psycopg.connect(dsn) as conn:
        (generated,) = conn.execute(f"select to_regclass('{SCHEMA}.reviews')").fetchone()
    if generated is None:
        raise DemoError(
            f"{source or 'demo API'}: no [sources.{source or '<source>'}] base_url is set, so "
            f"the demo API would serve it, but the demo database has no {SCHEMA} schema. Run "
            "`warehouse demo generate`, or set base_url (and token) to read the real API."
        )
    server = ApiServer(dsn, behaviour, tls).start()
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
