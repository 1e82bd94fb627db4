"""Scoped tests' state: when the last green build started, and the variable dbt reads."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from warehouse.paths import Paths
from warehouse.test_scope import (
    ENVIRONMENT_VARIABLE,
    STATE_FILE,
    last_green_build,
    record_green_build,
    scoped_tests,
)


def test_no_green_build_tests_whole_tables(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    assert last_green_build(paths) is None
    with scoped_tests(paths, full=False) as since:
        assert since is None
        assert ENVIRONMENT_VARIABLE not in os.environ


def test_after_a_green_build_tests_rows_loaded_since_it_unless_full(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    started = datetime(2026, 12, 3, 9, 30, 15, 250000, tzinfo=UTC)
    record_green_build(paths, started)
    assert last_green_build(paths) == started
    with scoped_tests(paths, full=False) as since:
        assert since == started
        assert os.environ[ENVIRONMENT_VARIABLE] == "2026-12-03 09:30:15.250000"
    assert ENVIRONMENT_VARIABLE not in os.environ
    with scoped_tests(paths, full=True) as since:
        assert since is None
        assert ENVIRONMENT_VARIABLE not in os.environ


def test_an_unreadable_record_tests_whole_tables(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    (tmp_path / STATE_FILE).write_text("{not json")
    assert last_green_build(paths) is None
    (tmp_path / STATE_FILE).write_text('{"started_at": "yesterday"}')
    assert last_green_build(paths) is None
