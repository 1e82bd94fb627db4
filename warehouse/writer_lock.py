"""The warehouse's one-writer rule: a file lock under the home.

DuckDB lets one process write a database file at a time; a second writer gets an error, not a
wait. Every command that writes the warehouse or the serving file (``ingest``, ``build``,
``publish``, ``run``, and the streaming refresher's ticks) holds this lock while it writes:
batch commands wait for it, the refresher skips a tick when a batch run holds it. The lock is
``flock`` on ``<home>/.writer.lock``: the kernel releases it when its holder dies, so a killed
run never leaves it held. Within one process it is re-entrant (``run`` = ingest + build +
publish under one hold).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import Paths

log = logging.getLogger(__name__)

# A child process a lock holder starts to write for it (``warehouse forget`` runs its dbt build
# in a process of its own) names its parent here: the child works under the parent's hold
# instead of waiting for it forever. It counts only when it names this process's parent.
INHERITED_ENV = "WAREHOUSE_WRITER_LOCK_HOLDER"

_held: dict[Path, tuple[int, int]] = {}  # lock file -> (descriptor, depth) in this process
_guard = threading.RLock()


def lock_file(paths: Paths) -> Path:
    return paths.home / ".writer.lock"


@contextmanager
def writer_lock(paths: Paths, wait: bool = True) -> Iterator[bool]:
    """Hold the home's writer lock for the block; yields True if held. With ``wait=False``
    it yields False at once when another process holds it (the caller skips its work)."""
    path = lock_file(paths)
    if os.environ.get(INHERITED_ENV) == str(os.getppid()):
        yield True  # the parent holds the lock and waits for this process
        return
    with _guard:
        if path in _held:
            descriptor, depth = _held[path]
            _held[path] = (descriptor, depth + 1)
            acquired = True
        else:
            acquired = _acquire(path, wait)
    try:
        yield acquired
    finally:
        if acquired:
            with _guard:
                descriptor, depth = _held[path]
                if depth > 1:
                    _held[path] = (descriptor, depth - 1)
                else:
                    del _held[path]
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
                    os.close(descriptor)


def inherited_env() -> dict[str, str]:
    """The environment for a child process that writes under this process's hold."""
    return {**os.environ, INHERITED_ENV: str(os.getpid())}


def _acquire(path: Path, wait: bool) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            os.close(descriptor)
            return False
        log.warning("another run is writing the warehouse in %s; waiting for it", path.parent)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    _held[path] = (descriptor, 1)
    return True
