"""The incremental clickstream models end to end: after `demo advance`, a run rebuilds only the
devices active since the latest session (minus the lookback) and ends where a full refresh does.

dbt-duckdb reports no row counts for incremental statements, so the test marks every row already
built before the incremental run (a column made negative): rows still marked afterwards were left
alone, unmarked ones were written by the run.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from warehouse.paths import PROJECT_DIR

from .conftest import TEST_SCALE
from .helpers import shareable_home
from .test_cli import warehouse

# Every incremental model: the table it builds, and the column the test marks: never negative,
# and computed by the model itself, not read from the other table (a mark must not travel from
# one table to the next). A new incremental model must be added here (the test checks the
# manifest), so that it is compared with a full refresh too. Not event_count: fct_sessions
# compares it with its own to find the devices int_events_sessionized rebuilt.
INCREMENTAL_MODELS = {
    "int_events_sessionized": ("intermediate.int_events_sessionized", "page_view_count"),
    "fct_sessions": ("web_analytics.fct_sessions", "duration_seconds"),
}


def dbt(database: Path, work: Path, *args: str) -> dict:
    """Run dbt on the project against ``database`` with target and logs in ``work``; return the
    manifest it wrote. A folder of its own, so dbt runs elsewhere never clash with it."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(PROJECT_DIR),
            "WAREHOUSE_DUCKDB_PATH": str(database),
        },
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return json.loads((work / "target" / "manifest.json").read_text())


def checksums(database: Path) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every incremental model's table."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table: conn.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchone()
            for table, _ in INCREMENTAL_MODELS.values()
        }


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    home = shareable_home(tmp_path_factory, "incremental")
    yield home
    warehouse("--home", str(home), "demo", "stop")


@pytest.mark.slow
def test_incremental_run_rebuilds_only_active_devices_and_equals_a_full_refresh(
    demo_home: Path, tmp_path: Path
) -> None:
    result = warehouse("--home", str(demo_home), "demo", "--scale", str(TEST_SCALE))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    database = demo_home / "warehouse.duckdb"

    # A day passes and its logs are loaded; dbt has not run yet.
    for step in (("demo", "advance"), ("ingest",)):
        result = warehouse("--home", str(demo_home), *step)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # The run is `dbt run`: the marks would fail the data tests, which run once they are gone.
    before = mark_built_sessions(database)
    manifest = dbt(database, tmp_path / "incremental", "run")
    # Every incremental model is compared with a full refresh by test_incremental_marts.py;
    # this test is the sessions' own (which devices a run rewrites, late and future events).
    incremental = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
    assert set(INCREMENTAL_MODELS) <= incremental
    assert_run_wrote_only_the_active_devices(database, before)
    dbt(
        database,
        tmp_path / "tests",
        "test",
        "--select",
        *(f"{name}+" for name in INCREMENTAL_MODELS),
    )
    assert_equal_to_a_full_refresh(database, tmp_path / "first")

    # Events days late (an old session of a device gets one more event; a new device's only
    # event is days old) and one from a device whose clock is years ahead: the daily build stays
    # green, equals a full refresh, and no session reaches into the future.
    device = write_late_and_future_events(database, demo_home / "clickstream")
    events_before = device_event_counts(database, device)
    result = warehouse("--home", str(demo_home), "ingest", "clickstream")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "quarantined 1" in result.stdout
    dbt(database, tmp_path / "late", "build", "--select", "stg_clickstream__events+")
    # Both late events are in sessions, the future one in none.
    assert device_event_counts(database, device) == {
        table: count + 1 for table, count in events_before.items()
    }
    assert device_event_counts(database, "late-device-test") == dict.fromkeys(events_before, 1)
    assert device_event_counts(database, "future-device-test") == dict.fromkeys(events_before, 0)
    with duckdb.connect(str(database), read_only=True) as conn:
        for table, _ in INCREMENTAL_MODELS.values():
            latest = conn.execute(f"select max(session_ended_at) from {table}").fetchone()[0]
            assert latest.year < 2030, table
    assert_equal_to_a_full_refresh(database, tmp_path / "second")


def device_event_counts(database: Path, device: str) -> dict[str, int]:
    """Events in the sessions of one device, per incremental model's table."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table: conn.execute(
                f"select coalesce(sum(event_count), 0) from {table} where anonymous_id = ?",
                [device],
            ).fetchone()[0]
            for table, _ in INCREMENTAL_MODELS.values()
        }


def write_late_and_future_events(database: Path, logs: Path) -> str:
    """A new log file: an event 10 minutes into the oldest session (days behind the latest one),
    the only event of a new device, days old, and an event dated in 2031. Returns the device
    of the oldest session."""
    with duckdb.connect(str(database), read_only=True) as conn:
        device, started, context = conn.execute(
            "select s.anonymous_id, s.session_started_at, e.context"
            " from web_analytics.fct_sessions as s"
            " inner join raw_clickstream.events as e on e.anonymous_id = s.anonymous_id"
            " order by s.session_started_at, s.anonymous_id limit 1"
        ).fetchone()
    when = started + timedelta(minutes=10)
    lines = [
        {
            "event_id": f"late-{n}",
            "event": "page_view",
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "anonymous_id": anonymous_id,
            "properties": {},
            "context": json.loads(context),
        }
        for n, (anonymous_id, at) in enumerate(
            [
                (device, when),
                ("late-device-test", when),
                ("future-device-test", when.replace(year=2031)),
            ]
        )
    ]
    path = logs / "late" / "events-late.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    return device


def mark_built_sessions(database: Path) -> dict[str, tuple]:
    """Mark every session already built. Returns, per table, its row count and latest session
    end already built."""
    before = {}
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            before[table] = conn.execute(
                f"select count(*), max(session_ended_at) from {table}"
            ).fetchone()
            conn.execute(f"update {table} set {column} = {_marked(column)}")
    return before


def assert_run_wrote_only_the_active_devices(database: Path, before: dict[str, tuple]) -> None:
    """The run rewrote every session of the active devices and nothing else; then unmark.
    Active: a device with an event at most the lookback before the latest session end built
    before the run (events as staged by this run: staging is a table built with it). Devices
    with an event loaded since the last build are rebuilt too, whatever its time: the demo's
    new day has none later than the lookback."""
    lookback = timedelta(hours=_project_var("clickstream_lookback_hours"))
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            rows_before, latest_end = before[table]
            active = _column_values(
                conn,
                "select distinct anonymous_id from staging.stg_clickstream__events"
                " where event_at >= ?",
                latest_end - lookback,
            )
            written = conn.execute(
                f"select anonymous_id, session_ended_at from {table} where {column} >= 0"
            ).fetchall()
            kept = _column_values(conn, f"select anonymous_id from {table} where {column} < 0")
            present = _column_values(conn, f"select anonymous_id from {table}")
            total = conn.execute(f"select count(*) from {table}").fetchone()[0]
            written_devices = {device for device, _ in written}
            # All the sessions of the active devices (the mart has no test accounts' devices),
            # and no session of any other device.
            assert written_devices == active & present, table
            assert not written_devices & kept, table
            # The new day is there, and it is a small part of the table.
            assert max(ended for _, ended in written) > latest_end + timedelta(hours=20), table
            assert total > rows_before, table
            assert len(written) < 0.25 * total, (table, len(written), total)
            conn.execute(f"update {table} set {column} = {_marked(column)} where {column} < 0")


def assert_equal_to_a_full_refresh(database: Path, work: Path) -> None:
    """A copy of the warehouse with the incremental models rebuilt from scratch is the same."""
    full = work / "full-refresh"
    full.mkdir(parents=True)
    shutil.copy(database, full / "warehouse.duckdb")
    dbt(
        full / "warehouse.duckdb",
        work / "full",
        "run",
        "--full-refresh",
        "--select",
        *INCREMENTAL_MODELS,
    )
    assert checksums(database) == checksums(full / "warehouse.duckdb")


def _marked(column: str) -> str:
    """The mark: -1 - x is negative for every x >= 0, and -1 - (-1 - x) = x."""
    return f"-1 - {column}"


def _column_values(conn: duckdb.DuckDBPyConnection, sql: str, *parameters) -> set:
    return {value for (value,) in conn.execute(sql, list(parameters)).fetchall()}


def _project_var(name: str):
    """A var's default from dbt_project.yml."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"][name]
