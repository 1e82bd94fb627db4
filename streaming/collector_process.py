"""A `warehouse collect` process for the length of a block: what the end-to-end command and the
bench run the collector as, so it is the same program a user runs, in a process of its own
(the web app's sender and the pipeline keep their cores and their event loops)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .collector_settings import CollectorError

log = logging.getLogger(__name__)

# How long the collector may take to start (imports, the embedded bus) and to stop.
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
# The collector's output, under the home.
LOG_FILE = "collector.log"


@contextmanager
def running_collector(
    home: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Run `warehouse --home HOME collect` on ``port`` (default: a free one) with ``env`` added
    to the environment; yield its URL once ``/health`` answers; stop it (SIGTERM: it finishes
    the requests in flight) at the end of the block."""
    port = port or _free_port()
    command = [sys.executable, "-m", "warehouse.cli", "--home", str(home), "collect"]
    home.mkdir(parents=True, exist_ok=True)
    # Its output goes to a file: a pipe nobody reads would stall it once full.
    output = home / LOG_FILE
    with output.open("a") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process, output)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_health(url: str, process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            lines = output.read_text().strip().splitlines()
            raise CollectorError(
                f"the collector exited with {process.returncode}: "
                + (lines[-1] if lines else "no output")
                + f" (its output: {output})"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise CollectorError(
        f"the collector did not answer {url}/health within {START_TIMEOUT_SECONDS:.0f} s"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
