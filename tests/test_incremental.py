"""The incremental clickstream models end to end: after `demo advance`, a run rebuilds only the
sessions of the active devices a new event can reach (a device's stable sessions stay as built)
and ends where a full refresh does, with late events at a stable session's edge too.

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
from datetime import datetime, timedelta
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
# compares it with its own to find the sessions int_events_sessionized rebuilt; and a column
# no table after fct_sessions reads: fct_sessions takes int_events_sessionized's mark along
# when it rebuilds a session that one kept (a re-stitch), and _unmark clears it there.
INCREMENTAL_MODELS = {
    "int_events_sessionized": ("intermediate.int_events_sessionized", "checkout_count"),
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

    # Late events at a stable session's edge: stored sessions of made-up devices, days old,
    # then one late event each that bridges two of them, lands before the first, or comes
    # exactly the timeout (joins) or the timeout and 1 ms (a session of its own) after one.
    base = write_edge_events(database, demo_home / "clickstream", late=False)
    result = warehouse("--home", str(demo_home), "ingest", "clickstream")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    clickstream = ("stg_clickstream__events", *INCREMENTAL_MODELS)
    dbt(database, tmp_path / "edge-base", "run", "--select", *clickstream)
    write_edge_events(database, demo_home / "clickstream", late=True)
    result = warehouse("--home", str(demo_home), "ingest", "clickstream")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mark_edge_sessions(database)
    dbt(database, tmp_path / "edge-late", "run", "--select", *clickstream)
    assert_edge_sessions(database, base)
    assert_equal_to_a_full_refresh(database, tmp_path / "third")


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


# Made-up devices for the stable-session edge: their events before the late ones (minutes
# after a base time days back), then the one late event each gets.
EDGE_EVENTS = {
    "edge-bridge-test": ([-1440, 0, 5, 55, 60, 1440], 30),
    "edge-before-test": ([0, 1440], -1440),
    "edge-timeout-test": ([0, 120], 30),
    "edge-timeout-1ms-test": ([0, 120], 30 + 1 / 60_000),
}


def write_edge_events(database: Path, logs: Path, *, late: bool) -> datetime:
    """A new log file with the made-up devices' stored events (late=False) or their one late
    event each (late=True). The base time is three days before the latest session end, to
    the second, far from the lookback. Returns it."""
    with duckdb.connect(str(database), read_only=True) as conn:
        latest, context = conn.execute(
            "select s.session_ended_at, e.context from web_analytics.fct_sessions as s"
            " inner join raw_clickstream.events as e on e.anonymous_id = s.anonymous_id"
            " order by s.session_ended_at desc limit 1"
        ).fetchone()
    base = (latest - timedelta(days=3)).replace(microsecond=0)
    lines = []
    for device, (stored, late_minutes) in EDGE_EVENTS.items():
        for n, minutes in enumerate([late_minutes] if late else stored):
            at = base + timedelta(minutes=minutes)
            lines.append(
                {
                    "event_id": f"{device}-{'late' if late else 'stored'}-{n}",
                    "event": "page_view",
                    "timestamp": f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z",
                    "anonymous_id": device,
                    "properties": {},
                    "context": json.loads(context),
                }
            )
    path = logs / "edge" / f"events-{'late' if late else 'stored'}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    return base


def mark_edge_sessions(database: Path) -> None:
    """Mark the made-up devices' sessions, so the next run shows which it wrote."""
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            conn.execute(
                f"update {table} set {column} = {_marked(column)}"
                " where anonymous_id like 'edge-%-test'"
            )


def assert_edge_sessions(database: Path, base: datetime) -> None:
    """The made-up devices' sessions after their late events: (number, minutes from base to
    the start, events, kept as built); then unmark. Only a session that ended more than the
    timeout before the late event is kept by int_events_sessionized; fct_sessions also keeps
    a later one it holds as it is now ("same": same id, events, load and number). The bridged
    pair is one session, a session before the first renumbers the device, and the ones after
    a late event number on."""
    expected = {
        "edge-bridge-test": [(1, -1440, 1, True), (2, 0, 5, False), (3, 1440, 1, False)],
        "edge-before-test": [(1, -1440, 1, False), (2, 0, 1, False), (3, 1440, 1, False)],
        "edge-timeout-test": [(1, 0, 2, False), (2, 120, 1, "same")],
        "edge-timeout-1ms-test": [(1, 0, 1, True), (2, 30, 1, False), (3, 120, 1, False)],
    }
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            for device, sessions in expected.items():
                rows = conn.execute(
                    "select device_session_number, session_started_at, event_count,"
                    f" {column} < 0 from {table} where anonymous_id = ?"
                    " order by device_session_number",
                    [device],
                ).fetchall()
                in_mart = table == "web_analytics.fct_sessions"
                assert [
                    (number, round((started - base).total_seconds() / 60), events, kept)
                    for number, started, events, kept in rows
                ] == [
                    (*session, in_mart if kept == "same" else kept) for *session, kept in sessions
                ], (table, device)
        _unmark(conn)


def mark_built_sessions(database: Path) -> dict[str, tuple]:
    """Mark every session already built. Returns, per table, its row count, latest session
    end and latest load already built, and the sessions with their customers (a first login
    re-stitches a device's older anonymous sessions)."""
    before = {}
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            customer = "customer_id" if table == "web_analytics.fct_sessions" else "null"
            before[table] = (
                *conn.execute(
                    f"select count(*), max(session_ended_at), max(events_loaded_at) from {table}"
                ).fetchone(),
                set(conn.execute(f"select session_id, {customer} from {table}").fetchall()),
            )
            conn.execute(f"update {table} set {column} = {_marked(column)}")
    return before


def assert_run_wrote_only_the_active_devices(database: Path, before: dict[str, tuple]) -> None:
    """The run rewrote the sessions of the active devices from the first one a new event can
    reach, and nothing else; then unmark. Active: a device with an event loaded since the last
    build, or at most the lookback before the latest session end built before it (events as
    staged by this run); its rebuild starts at the earliest such event, and its sessions that
    ended more than the session timeout before it are stable: kept as built (still marked)."""
    lookback = timedelta(hours=_project_var("clickstream_lookback_hours"))
    timeout = timedelta(minutes=_project_var("session_timeout_minutes"))
    with duckdb.connect(str(database)) as conn:
        for table, column in INCREMENTAL_MODELS.values():
            rows_before, latest_end, latest_load, owners = before[table]
            rebuild_from = dict(
                conn.execute(
                    "select anonymous_id, min(event_at) from staging.stg_clickstream__events"
                    " where event_at is not null and (loaded_at > ? or event_at >= ?)"
                    " group by anonymous_id",
                    [latest_load, latest_end - lookback],
                ).fetchall()
            )
            customer = "customer_id" if table == "web_analytics.fct_sessions" else "null"
            rows = conn.execute(
                f"select anonymous_id, session_ended_at, events_loaded_at > ?, {column} >= 0,"
                f" session_id, {customer} from {table}",
                [latest_load],
            ).fetchall()
            written = {(device, ended) for device, ended, _, is_written, _, _ in rows if is_written}
            # Only sessions a new event can reach are written (the mart has no test accounts'
            # devices), or whose customer a first login changed, and every session holding a
            # new event is: stable sessions of active devices are kept as built.
            # int_events_sessionized writes every reachable one; fct_sessions only those not
            # stored as they are now.
            reachable = {
                (device, ended)
                for device, ended, _, _, session, owner in rows
                if (device in rebuild_from and ended >= rebuild_from[device] - timeout)
                or (session, owner) not in owners
            }
            loaded = {(device, ended) for device, ended, is_new, _, _, _ in rows if is_new}
            assert loaded <= written <= reachable, table
            if table == "intermediate.int_events_sessionized":
                assert written == reachable, table
            # Some active device has stable sessions, which this run left alone.
            assert any(
                device in rebuild_from and not is_written for device, _, _, is_written, _, _ in rows
            ), table
            # The new day is there, and it is a small part of the table.
            assert max(ended for _, ended in written) > latest_end + timedelta(hours=20), table
            assert len(rows) > rows_before, table
            assert len(written) < 0.25 * len(rows), (table, len(written), len(rows))
        _unmark(conn)


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


def _unmark(conn: duckdb.DuckDBPyConnection) -> None:
    """Unmark every marked row. int_events_sessionized's mark is also unmarked in fct_sessions:
    it travels there when fct_sessions rebuilds a session int_events_sessionized kept as
    built (a first login re-stitched it)."""
    columns = {column for _, column in INCREMENTAL_MODELS.values()}
    for table, _ in INCREMENTAL_MODELS.values():
        present = _column_values(
            conn,
            "select column_name from information_schema.columns"
            " where table_schema || '.' || table_name = ?",
            table,
        )
        for column in sorted(columns & present):
            conn.execute(f"update {table} set {column} = {_marked(column)} where {column} < 0")


def _column_values(conn: duckdb.DuckDBPyConnection, sql: str, *parameters) -> set:
    return {value for (value,) in conn.execute(sql, list(parameters)).fetchall()}


def _project_var(name: str):
    """A var's default from dbt_project.yml."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"][name]
