"""Singular tests scoped like generic ones: on a scoped run (WAREHOUSE_TEST_ROWS_LOADED_AFTER
set, as `warehouse run` sets it after a green build), a scoped singular test catches a bad row
loaded after the last green build and ignores one loaded before it; unset (`--full-test`, a
first build), it reads the whole table and catches both.

On a copy of the demo warehouse, a device with two overlapping sessions whose landing page
holds an email address is written into fct_sessions: bad for
assert_sessions_never_overlap_per_device (the device's sessions, scoped by device) and for
assert_no_pii_in_marts (scoped by row). The rows first keep the load time of the session they
copy (old), then get one after the scope's start (loaded in the run's scope).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse.paths import PROJECT_DIR

TESTS = ("assert_sessions_never_overlap_per_device", "assert_no_pii_in_marts")
DEVICE = "scoped-test-device"


def singular_test_statuses(database: Path, work: Path, since: datetime | None) -> dict[str, str]:
    """Run TESTS with dbt on ``database``, scoped to rows loaded after ``since`` (None: whole
    tables); return each test's status (pass / fail)."""
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "WAREHOUSE_DUCKDB_PATH": str(database),
        "WAREHOUSE_TEST_ROWS_LOADED_AFTER": since.strftime("%Y-%m-%d %H:%M:%S") if since else "",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            "test",
            "--select",
            *TESTS,
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    statuses = {
        row["unique_id"].split(".")[-1]: row["status"]
        for row in results
        if row["unique_id"].startswith("test.")
    }
    assert set(statuses) == set(TESTS), result.stdout[-3000:] + result.stderr[-3000:]
    return statuses


@pytest.mark.slow
def test_a_scoped_singular_test_sees_the_runs_rows_only(
    built_demo_home: Path, tmp_path: Path
) -> None:
    # The file name is the catalog the warehouse's views name.
    database = tmp_path / "copy" / "warehouse.duckdb"
    database.parent.mkdir()
    shutil.copy(built_demo_home / "warehouse.duckdb", database)
    with duckdb.connect(str(database)) as conn:
        (latest,) = conn.execute(
            "select max(events_loaded_at) from web_analytics.fct_sessions"
        ).fetchone()
        # Two sessions of one device, the second starting before the first ends, each
        # landing on a page with an email address in it: copies of the latest session.
        for number in (1, 2):
            conn.execute(
                "insert into web_analytics.fct_sessions select * replace ("
                f" '{DEVICE}-' || {number} as session_id, '{DEVICE}' as anonymous_id,"
                " null as customer_id, null as order_id,"
                " '/account?email=jane.doe@mail.test' as landing_page_path,"
                f" session_started_at + interval {number} minute as session_started_at)"
                " from web_analytics.fct_sessions where events_loaded_at = ? limit 1",
                [latest],
            )
    since = latest.replace(tzinfo=None) + timedelta(seconds=1)

    # Loaded before the scope: a scoped run ignores the rows, the whole-table suite fails.
    assert singular_test_statuses(database, tmp_path / "old", since) == dict.fromkeys(TESTS, "pass")
    assert singular_test_statuses(database, tmp_path / "whole", None) == dict.fromkeys(
        TESTS, "fail"
    )

    # Loaded in the run's scope: the scoped run catches them.
    loaded = datetime.now(UTC).replace(tzinfo=None)
    assert loaded > since
    with duckdb.connect(str(database)) as conn:
        conn.execute(
            "update web_analytics.fct_sessions set events_loaded_at = ? where anonymous_id = ?",
            [loaded, DEVICE],
        )
    assert singular_test_statuses(database, tmp_path / "new", since) == dict.fromkeys(TESTS, "fail")
