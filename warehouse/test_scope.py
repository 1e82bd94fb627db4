"""Scoped tests: what the data tests of ``warehouse run`` check.

A full build tests whole tables. A daily run after a green build tests, on every model with
a load column (dbt var ``test_scope_columns``: ``source_loaded_at``, ``loaded_at`` and the
other load marks), only the rows loaded or rebuilt since that green build started, so
test time follows the new data, not the history. The rule that filters the rows lives in dbt
(``macros/overrides/get_where_subquery.sql``); this module only remembers when the last green
build started (``<home>/last-green-build.json``) and hands that time to dbt through the
environment variable it reads. ``warehouse run --full-test`` (and ``warehouse build``, and the
first run of a home) test everything.

dbt's unit tests check the models' logic on fixed rows, not the data: a scoped run skips them
when the dbt project's files are byte for byte those of the last green build (a fingerprint
of them is in the same record), and runs them whenever the code changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from .paths import PROJECT_DIR, Paths

log = logging.getLogger(__name__)

# What the dbt macro reads: a UTC timestamp, or unset/empty for whole-table tests.
ENVIRONMENT_VARIABLE = "WAREHOUSE_TEST_ROWS_LOADED_AFTER"
# dbt's own (--exclude-resource-type): set to skip the unit tests without changing the command.
EXCLUDE_VARIABLE = "DBT_EXCLUDE_RESOURCE_TYPES"
STATE_FILE = "last-green-build.json"
# What dbt builds from: a change to any of these runs the unit tests again.
PROJECT_FILES = (
    "dbt_project.yml",
    "models",
    "macros",
    "tests/dbt",
    "snapshots",
    "seeds",
    "analyses",
)


@dataclass(frozen=True)
class Scope:
    """What a run's tests cover: data tests on the rows loaded after ``since`` (None: whole
    tables), and the unit tests unless ``skip_unit_tests``."""

    since: datetime | None
    skip_unit_tests: bool


def code_fingerprint() -> str:
    """SHA-256 over the dbt project's files (paths and contents), in a stable order."""
    digest = hashlib.sha256()
    for top in PROJECT_FILES:
        root = PROJECT_DIR / top
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_started() -> datetime:
    """The wall-clock time (UTC) a build starts, to record once it is green."""
    return datetime.now(UTC)


def last_green_build(paths: Paths) -> tuple[datetime, str] | None:
    """When the last green build of this home started and its code fingerprint; None if none
    is recorded (or the record is unreadable: then everything is tested, which is safe)."""
    state = paths.home / STATE_FILE
    try:
        record = json.loads(state.read_text())
        return datetime.fromisoformat(record["started_at"]), str(record.get("code", ""))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s (%s): testing whole tables", state, exc)
        return None


def record_green_build(paths: Paths, started: datetime, code: str) -> None:
    """Remember that the build started at ``started`` on code ``code`` passed, atomically (a
    killed write leaves the previous record)."""
    state = paths.home / STATE_FILE
    temporary = state.with_name(f".{state.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"started_at": started.isoformat(), "code": code}) + "\n")
    os.replace(temporary, state)


@contextmanager
def scoped_tests(paths: Paths, full: bool, code: str) -> Iterator[Scope]:
    """For the length of the block, make dbt's data tests check only the rows loaded after the
    last green build (unless ``full`` or there is none); yields the scope, which also skips
    the unit tests when ``code`` (the project's fingerprint) is that build's."""
    last = None if full else last_green_build(paths)
    scope = Scope(since=last[0] if last else None, skip_unit_tests=bool(last and last[1] == code))
    settings = {
        # The format dbt casts to a timestamp on every engine, in UTC like the load columns.
        ENVIRONMENT_VARIABLE: scope.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if scope.since
        else None,
        EXCLUDE_VARIABLE: "unit_test" if scope.skip_unit_tests else None,
    }
    previous = {name: os.environ.pop(name, None) for name in settings}
    os.environ.update({name: value for name, value in settings.items() if value is not None})
    try:
        yield scope
    finally:
        for name, value in previous.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
