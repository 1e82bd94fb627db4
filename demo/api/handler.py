"""The demo API's HTTP plumbing: a threading server and the handler that turns HTTP into
``ApiServer.handle`` calls."""

from __future__ import annotations

import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .answers import _error

if TYPE_CHECKING:
    from .server import ApiServer

log = logging.getLogger(__name__)


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
