"""Scoped tests: what the data tests of ``warehouse run`` check.

A full build tests whole tables. A daily run after a green build tests, on every model with
a load column (``source_loaded_at``, ``events_loaded_at``, ``loaded_at``: dbt var
``test_scope_columns``), only the rows loaded or rebuilt since that green build started, so
test time follows the new data, not the history. The rule that filters the rows lives in dbt
(``macros/overrides/get_where_subquery.sql``); this module only remembers when the last green
build started (``<home>/last-green-build.json``) and hands that time to dbt through the
environment variable it reads. ``warehouse run --full-test`` (and ``warehouse build``, and the
first run of a home) test everything.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from .paths import Paths

log = logging.getLogger(__name__)

# What the dbt macro reads: a UTC timestamp, or unset/empty for whole-table tests.
ENVIRONMENT_VARIABLE = "WAREHOUSE_TEST_ROWS_LOADED_AFTER"
STATE_FILE = "last-green-build.json"


def build_started() -> datetime:
    """The wall-clock time (UTC) a build starts, to record once it is green."""
    return datetime.now(UTC)


def last_green_build(paths: Paths) -> datetime | None:
    """When the last green build of this home started; None if none is recorded (or the
    record is unreadable: then the whole suite runs, which is always safe)."""
    state = paths.home / STATE_FILE
    try:
        return datetime.fromisoformat(json.loads(state.read_text())["started_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s (%s): testing whole tables", state, exc)
        return None


def record_green_build(paths: Paths, started: datetime) -> None:
    """Remember that the build started at ``started`` passed, atomically (a killed write
    leaves the previous record)."""
    state = paths.home / STATE_FILE
    temporary = state.with_name(f".{state.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"started_at": started.isoformat()}) + "\n")
    os.replace(temporary, state)


@contextmanager
def scoped_tests(paths: Paths, full: bool) -> Iterator[datetime | None]:
    """For the length of the block, make dbt's data tests check only the rows loaded after the
    last green build (unless ``full`` or there is none); yields that time, or None for
    whole-table tests."""
    since = None if full else last_green_build(paths)
    previous = os.environ.pop(ENVIRONMENT_VARIABLE, None)
    if since is not None:
        # The format dbt casts to a timestamp on every engine, in UTC like the load columns.
        os.environ[ENVIRONMENT_VARIABLE] = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    try:
        yield since
    finally:
        os.environ.pop(ENVIRONMENT_VARIABLE, None)
        if previous is not None:
            os.environ[ENVIRONMENT_VARIABLE] = previous
