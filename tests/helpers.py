"""Helpers several test modules share (fixtures stay in conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# `make test` installs Debian's chromium; a missing browser is a failure, not a skip.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container: no sandbox, no GPU; no background calls to Google's hosts, which
# this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shareable_home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A new warehouse home under pytest's temporary folder that PostgreSQL's own user can
    enter: pgserver, run as root, starts the server as another user, which must reach the
    data folder through every parent up to /tmp."""
    home = tmp_path_factory.mktemp(name)
    home.chmod(0o755)
    for parent in home.parents:
        if parent == Path(os.path.realpath("/tmp")):
            break
        parent.chmod(parent.stat().st_mode | 0o055)
    return home


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def cli_server(args: list[str], probe_url: str, timeout: float) -> Iterator[None]:
    """``warehouse ARGS`` (a command that serves until stopped) in a process group of its own,
    for the length of the block, once ``probe_url`` answers 200; then the whole group is
    stopped (a server that starts children, such as Dagster's, would leave them behind)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, (
                f"`warehouse {args[2]}` did not serve in {timeout} s"
            )
            try:
                with urllib.request.urlopen(probe_url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def change_as_a_load(conn: Any, table: str, key: int, **values: Any) -> None:
    """Change one raw row as a new load of it would: ``values`` and a ``_dlt_load_id`` later
    than every load so far. Incremental staging rebuilds the keys loaded after its mark, so a
    row changed in place under its old load id would stay invisible to it (in production raw
    changes only by loads)."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(
        f"update {table} set {assignments}, _dlt_load_id = ? where id = ?",
        [*values.values(), f"{time.time():.6f}", key],
    )
