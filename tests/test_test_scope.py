"""Scoped tests' state: when the last green build started, on which code, and what dbt gets."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from warehouse.paths import Paths
from warehouse.test_scope import (
    ENVIRONMENT_VARIABLE,
    EXCLUDE_VARIABLE,
    STATE_FILE,
    code_fingerprint,
    last_green_build,
    record_green_build,
    scoped_tests,
)

STARTED = datetime(2026, 12, 3, 9, 30, 15, 250000, tzinfo=UTC)


def test_no_green_build_tests_everything(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    assert last_green_build(paths) is None
    with scoped_tests(paths, full=False, code=code_fingerprint()) as scope:
        assert scope.since is None and not scope.skip_unit_tests
        assert ENVIRONMENT_VARIABLE not in os.environ
        assert EXCLUDE_VARIABLE not in os.environ


def test_after_a_green_build_tests_rows_loaded_since_it_unless_full(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    code = code_fingerprint()
    record_green_build(paths, STARTED, code)
    assert last_green_build(paths) == (STARTED, code)
    with scoped_tests(paths, full=False, code=code) as scope:
        assert scope.since == STARTED
        assert os.environ[ENVIRONMENT_VARIABLE] == "2026-12-03 09:30:15.250000"
        # The same code as the green build: its unit tests passed on it.
        assert scope.skip_unit_tests and os.environ[EXCLUDE_VARIABLE] == "unit_test"
    assert ENVIRONMENT_VARIABLE not in os.environ and EXCLUDE_VARIABLE not in os.environ
    with scoped_tests(paths, full=True, code=code) as scope:
        assert scope.since is None and not scope.skip_unit_tests
        assert ENVIRONMENT_VARIABLE not in os.environ and EXCLUDE_VARIABLE not in os.environ


def test_changed_code_runs_the_unit_tests(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    record_green_build(paths, STARTED, "the code of an older build")
    with scoped_tests(paths, full=False, code=code_fingerprint()) as scope:
        assert scope.since == STARTED and not scope.skip_unit_tests
        assert EXCLUDE_VARIABLE not in os.environ


def test_an_unreadable_record_tests_everything(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    (tmp_path / STATE_FILE).write_text("{not json")
    assert last_green_build(paths) is None
    (tmp_path / STATE_FILE).write_text('{"started_at": "yesterday"}')
    assert last_green_build(paths) is None
