"""What one REST API session's threads share (the resources of a source and the time slices of
a list page at once on one session): a backoff after a 429, and the environment's proxy
settings, read once.

dlt's retry loop waits what ``Retry-After`` says in the thread that got the 429; the other
threads would go on sending into the same exhausted limit and collect 429s of their own. The
session's adapters hold every request of every thread until the ``Retry-After`` of the latest
429 has passed, so a throttled API sees the whole source pause, not only one slice of it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from dlt.sources.helpers.requests import Session
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

TOO_MANY_REQUESTS = 429
# Connections kept per host: the slices and resources of a source each hold one.
POOL_SIZE = 16


class _Backoff:
    """The time before which no request of the session is sent (monotonic clock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resume_at = 0.0

    def wait(self) -> None:
        while True:
            with self.lock:
                pause = self.resume_at - time.monotonic()
            if pause <= 0:
                return
            time.sleep(pause)

    def throttled(self, response: Response) -> None:
        seconds = _retry_after(response.headers.get("Retry-After"))
        if seconds:
            with self.lock:
                self.resume_at = max(self.resume_at, time.monotonic() + seconds)


class _BackoffAdapter(HTTPAdapter):
    """requests' HTTP adapter, holding each request until the session's backoff has passed."""

    def __init__(self, backoff: _Backoff) -> None:
        super().__init__(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
        self.backoff = backoff

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        self.backoff.wait()
        response = super().send(request, *args, **kwargs)
        if response.status_code == TOO_MANY_REQUESTS:
            self.backoff.throttled(response)
        return response


def share_backoff(session: Session) -> None:
    """Make every thread of ``session`` wait out a 429's ``Retry-After`` together."""
    adapter = _BackoffAdapter(_Backoff())
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def _retry_after(value: str | None) -> float:
    """Seconds of a ``Retry-After`` header in its delta form (an HTTP date: dlt's retry alone)."""
    if value and re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*", value):
        return float(value)
    return 0.0


def read_environment_once(session: Session) -> None:
    """Make ``session`` read the proxy settings of the environment (``HTTP(S)_PROXY``,
    ``NO_PROXY``, ``ALL_PROXY``) once per scheme and host, not on every request.

    requests scans the whole environment for them per request (6% of an API run); a session
    lives for one run, so the environment it honours is the one at its first request to a host.
    Otherwise this is requests' own ``merge_environment_settings``.
    """
    found: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def merge_environment_settings(
        url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if session.trust_env:
            no_proxy = proxies.get("no_proxy") if proxies is not None else None
            parts = urlsplit(url)
            origin = (parts.scheme, parts.netloc, no_proxy)
            if origin not in found:
                found[origin] = get_environ_proxies(url, no_proxy=no_proxy)
            if proxies is not None:
                for key, value in found[origin].items():
                    proxies.setdefault(key, value)
            if verify is True or verify is None:
                verify = (
                    os.environ.get("REQUESTS_CA_BUNDLE")
                    or os.environ.get("CURL_CA_BUNDLE")
                    or verify
                )
        return {
            "proxies": merge_setting(proxies, session.proxies),
            "stream": merge_setting(stream, session.stream),
            "verify": merge_setting(verify, session.verify),
            "cert": merge_setting(cert, session.cert),
        }

    session.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
