"""The clickstream logs: the demo's log writer (the mess is there, deterministic, consistent
with the orders) and the pipeline on real files (each file loaded once, malformed lines
quarantined with their line numbers, counts reconcile, the drifted files load, staging
removes duplicates), against the real embedded PostgreSQL and DuckDB.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from demo import clickstream as demo_clickstream
from demo import shop, world
from ingestion.clickstream import ClickstreamSourceError, clickstream, reconcile
from ingestion.runner import IngestReport, pipeline_for, run
from warehouse.cli import main
from warehouse.paths import PROJECT_DIR, Paths

from .conftest import TEST_SCALE

RELEASE = demo_clickstream.ACCOUNT_ID_RELEASE


def load(paths: Paths, bucket: Path | None = None, **options: object) -> IngestReport:
    """Run the clickstream pipeline once, with the source's reconciliation check."""
    source = clickstream(bucket_url=str(bucket or paths.clickstream), **options)
    return run(pipeline_for("clickstream", paths.duckdb, paths.pipelines), source, _reconcile)


def _reconcile(pipeline, load_ids) -> dict[str, int]:
    return reconcile(pipeline, load_ids).counts()


def query(paths: Paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def log_lines(root: Path) -> Iterator[tuple[str, int, str]]:
    """Every line of every log file under ``root``: (file, line number, text)."""
    for path in sorted(root.rglob("*.jsonl.gz")):
        name = path.relative_to(root).as_posix()
        text = gzip.decompress(path.read_bytes()).decode()
        for number, line in enumerate(text.split("\n")[:-1], start=1):
            yield name, number, line


def as_event(line: str) -> dict | None:
    """The event a line holds, or None when the pipeline must quarantine it."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if any(event.get(field) in (None, "") for field in ("event_id", "event", "timestamp")):
        return None
    return event


def event_time(event: dict) -> datetime:
    stamp = event["timestamp"]
    if isinstance(stamp, int):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return datetime.fromisoformat(stamp)


@pytest.fixture(scope="module")
def world_home(
    postgres_server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """The generated demo world at TEST_SCALE (shop, third parties, 30 days of logs), shared
    by this module's tests: they read it and never change it."""
    server_dsn, _ = postgres_server
    name = f"clickstream_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    dsn = server_dsn.replace("/postgres?", f"/{name}?")
    home = tmp_path_factory.mktemp("clickstream-world")
    world.generate(dsn, home, scale=TEST_SCALE, seed=42)
    yield dsn, home
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"drop database {name} with (force)")


@pytest.fixture(scope="module")
def loaded(
    world_home: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Paths, IngestReport]:
    """A warehouse with the world's logs loaded once, and the report of that run."""
    _, home = world_home
    paths = Paths(tmp_path_factory.mktemp("clickstream-warehouse")).ensure()
    return paths, load(paths, Paths(home).clickstream)


# --------------------------------------------------------------------------------------------
# The demo's log writer


def test_logs_are_hourly_files_with_the_mess_built_in(world_home: tuple[str, Path]) -> None:
    dsn, home = world_home
    root = Paths(home).clickstream
    end = shop.HISTORY_END
    start = end - timedelta(days=demo_clickstream.LOG_RETENTION_DAYS)
    hours = [start + timedelta(hours=h) for h in range((end - start) // timedelta(hours=1))]
    # One file per UTC hour of the log window, and nothing else (no partial files).
    assert sorted(path for path in root.rglob("*") if path.is_file()) == [
        demo_clickstream.file_path(root, hour) for hour in hours
    ]

    lines = list(log_lines(root))
    events = [(name, event) for name, _, line in lines if (event := as_event(line))]
    malformed = len(lines) - len(events)
    assert 0 < malformed < len(lines) * 0.02

    # Duplicates: the same event id delivered twice, some of them in a later file.
    deliveries = Counter(event["event_id"] for _, event in events)
    duplicated = {event_id for event_id, count in deliveries.items() if count > 1}
    assert 0 < len(duplicated) < len(deliveries) * 0.05
    files_of = {}
    for name, event in events:
        files_of.setdefault(event["event_id"], set()).add(name)
    assert any(len(files_of[event_id]) > 1 for event_id in duplicated)

    # Three timestamp formats: epoch milliseconds, ISO with Z, ISO with an offset.
    stamps = [event["timestamp"] for _, event in events]
    assert any(isinstance(stamp, int) for stamp in stamps)
    assert any(isinstance(stamp, str) and stamp.endswith("Z") for stamp in stamps)
    offsets = {stamp[-6:] for stamp in stamps if isinstance(stamp, str) and stamp[-6] in "+-"}
    assert {"+02:00", "+01:00", "-04:00"} <= offsets  # Berlin before and after its DST change

    # The release renamed user_id to account_id: each event has exactly the field of its time.
    for _, event in events:
        renamed = event_time(event) >= RELEASE
        assert ("account_id" in event, "user_id" in event) == (renamed, not renamed), event

    # Every order placed in the window has one order_completed event, sent logged in as its
    # customer; part of its session on that device was anonymous for many orders.
    with psycopg.connect(dsn) as conn:
        orders = dict(
            conn.execute(
                "select order_id, customer_id from demo_meta.order_plans"
                " where created_at >= %s and created_at < %s",
                (start, end),
            ).fetchall()
        )
        campaigns = {row[0] for row in conn.execute("select utm_campaign from demo_api.campaigns")}
    completed = {
        event["event_id"]: event for _, event in events if event["event"] == "order_completed"
    }
    by_order = Counter(event["properties"]["order_id"] for event in completed.values())
    assert set(by_order) <= set(orders) and set(by_order.values()) == {1}
    # (A line cut short by the writer's crash may have been an order's event.)
    assert len(by_order) >= len(orders) - malformed
    for event in completed.values():
        customer = event.get("user_id", event.get("account_id"))
        assert int(customer) == orders[event["properties"]["order_id"]]
    buyer_devices = {event["anonymous_id"] for event in completed.values()}
    anonymous_before_login = {
        event["anonymous_id"]
        for _, event in events
        if event["anonymous_id"] in buyer_devices
        and event.get("user_id", event.get("account_id")) is None
    }
    assert len(anonymous_before_login) > len(buyer_devices) / 3

    # Some sessions come from the ad platform's campaigns, with its utm codes.
    utm = {event["context"].get("utm_campaign") for _, event in events} - {None}
    assert utm and utm <= campaigns


def test_the_logs_are_the_same_every_time(world_home: tuple[str, Path], tmp_path: Path) -> None:
    dsn, home = world_home
    with psycopg.connect(dsn) as conn:
        clock = shop.read_clock(conn)
        demo_clickstream.apply_window(conn, clock, None, clock.now, tmp_path)
    original, again = Paths(home).clickstream, Paths(tmp_path).clickstream
    files = sorted(path.relative_to(original) for path in original.rglob("*.jsonl.gz"))
    assert files == sorted(path.relative_to(again) for path in again.rglob("*.jsonl.gz"))
    for file in files:
        assert (original / file).read_bytes() == (again / file).read_bytes(), file


# --------------------------------------------------------------------------------------------
# The pipeline on the demo's logs


def test_every_line_is_loaded_or_quarantined_and_counts_reconcile(
    world_home: tuple[str, Path], loaded: tuple[Paths, IngestReport]
) -> None:
    _, home = world_home
    paths, report = loaded
    lines = list(log_lines(Paths(home).clickstream))
    good = [(name, number) for name, number, line in lines if as_event(line)]
    assert report.reconciled == {
        "lines read": len(lines),
        "loaded": len(good),
        "quarantined": len(lines) - len(good),
    }
    assert report.rows == {
        "events": len(good),
        "files": 30 * 24,
        "quarantine": len(lines) - len(good),
    }
    # The events are exactly the good lines, each once, with its file and line number.
    assert sorted(query(paths, "select _file_name, _line_number from raw_clickstream.events")) == (
        sorted(good)
    )
    (files,) = query(
        paths,
        "select count(distinct file_name) from raw_clickstream.files"
        " where lines_read = events_loaded + lines_quarantined",
    )
    assert files == (30 * 24,)


def test_malformed_demo_lines_are_quarantined_with_their_line_and_text(
    world_home: tuple[str, Path], loaded: tuple[Paths, IngestReport]
) -> None:
    _, home = world_home
    paths, _ = loaded
    bad = {(name, number): line for name, number, line in log_lines(Paths(home).clickstream)}
    bad = {key: line for key, line in bad.items() if not as_event(line)}
    quarantined = query(
        paths, "select file_name, line_number, raw_text, error from raw_clickstream.quarantine"
    )
    assert {(name, number): text for name, number, text, _ in quarantined} == bad
    assert {error for *_, error in quarantined} <= {
        "not valid JSON (truncated or garbled)",
        "no event_id",
    }


def test_a_rerun_loads_no_file_twice(
    world_home: tuple[str, Path], loaded: tuple[Paths, IngestReport]
) -> None:
    _, home = world_home
    paths, _ = loaded
    before = query(
        paths,
        "select (select count(*) from raw_clickstream.events),"
        " (select count(*) from raw_clickstream.quarantine),"
        " (select count(*) from raw_clickstream.files)",
    )
    again = load(paths, Paths(home).clickstream)
    assert again.rows == {}
    assert again.reconciled == {"lines read": 0, "loaded": 0, "quarantined": 0}
    assert (
        query(
            paths,
            "select (select count(*) from raw_clickstream.events),"
            " (select count(*) from raw_clickstream.quarantine),"
            " (select count(*) from raw_clickstream.files)",
        )
        == before
    )


def test_the_drifted_files_load_with_account_id(loaded: tuple[Paths, IngestReport]) -> None:
    paths, _ = loaded
    release_file = demo_clickstream.file_path(Path(), RELEASE).as_posix()
    # Redeliveries arrive up to two hours late, still in the old shape.
    settled_file = demo_clickstream.file_path(Path(), RELEASE + timedelta(hours=3)).as_posix()
    fields = {
        name: set(names.split(","))
        for name, names in query(
            paths,
            "select file_name, event_fields from raw_clickstream.files"
            " where event_fields is not null",
        )
    }
    before = [names for name, names in fields.items() if name < release_file]
    after = [names for name, names in fields.items() if name >= settled_file]
    assert before and all("user_id" in names and "account_id" not in names for names in before)
    assert after and all("account_id" in names and "user_id" not in names for names in after)
    assert {"user_id", "account_id"} <= fields[release_file], "the rolling deploy's hour"
    ((both, user_ids, account_ids, late_user_ids),) = query(
        paths,
        "select count(*) filter (where user_id is not null and account_id is not null),"
        " count(user_id), count(account_id),"
        f" count(user_id) filter (where _file_name >= '{settled_file}')"
        " from raw_clickstream.events",
    )
    assert both == 0 and user_ids > 0 and account_ids > 0 and late_user_ids == 0


def test_staging_removes_duplicates_and_maps_the_drift(
    loaded: tuple[Paths, IngestReport], tmp_path: Path
) -> None:
    paths, _ = loaded
    # In a process of its own (dbt keeps its DuckDB connection open), with its own target and
    # log folders: other dbt runs may use the project's at the same time.
    build = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--select",
            "staging.clickstream",
            # Only the tests whose every parent is selected: the warehouse here has no shop
            # models for the cross-source tests (e.g. order_completed events match orders).
            "--indirect-selection",
            "cautious",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            "WAREHOUSE_DUCKDB_PATH": str(paths.duckdb),
            "DBT_PROFILES_DIR": str(PROJECT_DIR),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:]
    ((raw, distinct_ids),) = query(
        paths, "select count(*), count(distinct event_id) from raw_clickstream.events"
    )
    ((staged, staged_ids, no_time),) = query(
        paths,
        "select count(*), count(distinct event_id), count(*) filter (where event_at is null)"
        " from staging.stg_clickstream__events",
    )
    assert raw > distinct_ids, "the raw events hold redeliveries"
    assert staged == staged_ids == distinct_ids
    assert no_time == 0
    # Each raw copy's id and time survive once; the logged-in ones keep their customer
    # whichever field carried it.
    ((mismatched,),) = query(
        paths,
        """
        select count(*)
        from raw_clickstream.events as raw
        left join staging.stg_clickstream__events as staged using (event_id)
        where staged.event_id is null
            or staged.customer_id is distinct from
                cast(coalesce(raw.user_id, raw.account_id) as bigint)
        """,
    )
    assert mismatched == 0
    ((after_release,),) = query(
        paths,
        "select count(customer_id) from staging.stg_clickstream__events"
        f" where event_at >= '{RELEASE:%Y-%m-%d %H:%M:%S}'",
    )
    assert after_release > 0
    # Every event's time is the instant its raw text says, whatever the format.
    raw_times = query(paths, "select event_id, timestamp from raw_clickstream.events")
    staged_times = dict(
        query(paths, "select event_id, event_at from staging.stg_clickstream__events")
    )
    for event_id, stamp in raw_times:
        expected = event_time({"timestamp": int(stamp) if stamp.isdigit() else stamp})
        assert staged_times[event_id] == expected.astimezone(UTC).replace(tzinfo=None), stamp


def test_after_advance_only_the_new_files_load(
    shop_dsn: str, paths: Paths, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world.generate(shop_dsn, tmp_path, scale=TEST_SCALE, seed=7)
    bucket = Paths(tmp_path).clickstream
    first = load(paths, bucket)
    assert first.rows["files"] == 30 * 24
    old_files = {path.relative_to(bucket).as_posix() for path in bucket.rglob("*.jsonl.gz")}

    summary = world.advance(shop_dsn, tmp_path, days=1)
    day = summary.clock.now - timedelta(days=1)
    new_files = {
        path.relative_to(bucket).as_posix() for path in bucket.rglob("*.jsonl.gz")
    } - old_files
    assert new_files == {
        demo_clickstream.file_path(Path(), day + timedelta(hours=h)).as_posix() for h in range(24)
    }
    new_lines = [line for name, _, line in log_lines(bucket) if name in new_files]
    caplog.clear()
    second = load(paths, bucket)

    assert second.rows["files"] == 24
    assert second.reconciled["lines read"] == len(new_lines)
    assert second.reconciled["loaded"] == sum(1 for line in new_lines if as_event(line))
    loaded_now = query(
        paths,
        "select file_name from raw_clickstream.files"
        " where _dlt_load_id = (select max(_dlt_load_id) from raw_clickstream.files)",
    )
    assert {name for (name,) in loaded_now} == new_files
    ((files, distinct),) = query(
        paths, "select count(*), count(distinct file_name) from raw_clickstream.files"
    )
    assert files == distinct == 31 * 24
    # The drift was reported when it appeared, and is not reported again for the new day.
    assert "schema drift" not in caplog.text


def write_log(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content))
    return path


def event_line(event_id: str, hour: int = 9, **fields: object) -> bytes:
    event = {
        "event_id": event_id,
        "event": "page_view",
        "timestamp": f"2026-10-20T{hour:02d}:00:00Z",
        "anonymous_id": "device-1",
        "user_id": 7,
        "properties": {},
        "context": {"page": {"path": "/"}},
        **fields,
    }
    return json.dumps(event).encode() + b"\n"


def test_malformed_lines_are_quarantined_with_line_number_text_and_reason(
    paths: Paths, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = tmp_path / "logs"
    cut_short = event_line("e3")[:40]
    lines = [
        event_line("e1"),
        cut_short + b"\n",
        b"\xff\xfe not text\n",
        b"\n",
        b"[1, 2, 3]\n",
        b'{"event": "page_view", "timestamp": "2026-10-20T09:00:00Z"}\n',
        b'{"event_id": "e7", "event": "page_view"}\n',
        event_line("e8").replace(b"\n", b"\r\n"),
        event_line("e9", experiment="checkout-b"),
        event_line("e10")[:-1],  # the last line has no newline
    ]
    write_log(bucket / "2026/10/20/events-2026102009.jsonl.gz", b"".join(lines))
    write_log(bucket / "2026/10/20/events-2026102010.jsonl.gz", b"")

    caplog.set_level(logging.WARNING)
    # Batches of three lines: the parse runs across batch and file boundaries.
    report = load(paths, bucket, chunk_size=3)

    assert report.reconciled == {"lines read": 10, "loaded": 4, "quarantined": 6}
    assert query(
        paths,
        "select line_number, raw_text, error from raw_clickstream.quarantine order by 1",
    ) == [
        (2, cut_short.decode(), "not valid JSON (truncated or garbled)"),
        (3, "\\xFF\\xFE not text", "not UTF-8 text"),
        (4, "", "empty line"),
        (5, "[1, 2, 3]", "JSON but not an object"),
        (6, '{"event": "page_view", "timestamp": "2026-10-20T09:00:00Z"}', "no event_id"),
        (7, '{"event_id": "e7", "event": "page_view"}', "no timestamp"),
    ]
    assert query(
        paths,
        "select _line_number, event_id, user_id, _extra from raw_clickstream.events order by 1",
    ) == [
        (1, "e1", "7", None),
        (8, "e8", "7", None),
        (9, "e9", "7", '{"experiment":"checkout-b"}'),
        (10, "e10", "7", None),
    ]
    assert query(paths, "select file_name, lines_read from raw_clickstream.files order by 1") == [
        ("2026/10/20/events-2026102009.jsonl.gz", 10),
        ("2026/10/20/events-2026102010.jsonl.gz", 0),
    ]

    # The next hour's file carries account_id instead of user_id: reported by name.
    write_log(
        bucket / "2026/10/20/events-2026102011.jsonl.gz",
        event_line("e11", hour=11, user_id=None).replace(b'"user_id": null', b'"account_id": "7"'),
    )
    load(paths, bucket)
    assert "schema drift from 2026/10/20/events-2026102011.jsonl.gz" in caplog.text
    assert "`user_id` is now `account_id`" in caplog.text
    assert query(
        paths, "select user_id, account_id from raw_clickstream.events where event_id = 'e11'"
    ) == [(None, "7")]


def test_a_file_changed_after_loading_is_not_loaded_again(
    paths: Paths, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = tmp_path / "logs"
    first = write_log(bucket / "events-2026102009.jsonl.gz", event_line("e1"))
    load(paths, bucket)
    # The shipper rewrites the file with one more line, and a new hour arrives.
    write_log(first, event_line("e1") + event_line("e2"))
    later = datetime.now().timestamp() + 60
    os.utime(first, (later, later))
    write_log(bucket / "events-2026102010.jsonl.gz", event_line("e3", hour=10))
    caplog.set_level(logging.WARNING)

    report = load(paths, bucket)

    assert report.reconciled == {"lines read": 1, "loaded": 1, "quarantined": 0}
    assert "events-2026102009.jsonl.gz" in caplog.text and "not loaded again" in caplog.text
    assert query(paths, "select event_id from raw_clickstream.events order by 1") == [
        ("e1",),
        ("e3",),
    ]


def test_counts_that_do_not_reconcile_are_an_error_naming_the_file(
    paths: Paths, tmp_path: Path
) -> None:
    bucket = tmp_path / "logs"
    write_log(bucket / "events-2026102009.jsonl.gz", event_line("e1") + event_line("e2"))
    pipeline = pipeline_for("clickstream", paths.duckdb, paths.pipelines)
    info = pipeline.run(clickstream(bucket_url=str(bucket)))
    assert reconcile(pipeline, info.loads_ids).counts() == {
        "lines read": 2,
        "loaded": 2,
        "quarantined": 0,
    }
    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.execute("delete from raw_clickstream.events where event_id = 'e2'")
    with pytest.raises(ClickstreamSourceError) as error:
        reconcile(pipeline, info.loads_ids)
    assert "events-2026102009.jsonl.gz (read 2, loaded 1, quarantined 0)" in str(error.value)


def test_the_load_runs_under_the_clickstream_memory_limit(tmp_path: Path) -> None:
    """DuckDB fills its memory_limit with the pages an insert writes, whatever the file size:
    the clickstream's pipeline-scoped limit (.dlt/config.toml) is what bounds the load's memory
    (a scale-10 run peaked at 1.5 GB with the global 1 GB limit)."""
    units = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}

    def limit(pipeline_name: str) -> float:
        pipeline = pipeline_for(pipeline_name, tmp_path / "w.duckdb", tmp_path / "dlt")
        with pipeline.sql_client() as client:
            ((setting, keeps_order),) = client.execute_sql(
                "select current_setting('memory_limit'),"
                " current_setting('preserve_insertion_order')"
            )
        assert keeps_order is False  # the override keeps the global setting's other half
        number, unit = setting.split()
        return float(number) * units[unit]

    assert limit("clickstream") <= 512 * 2**20 < limit("shop")


def test_a_missing_log_folder_says_what_to_configure(paths: Paths, tmp_path: Path) -> None:
    with pytest.raises(ClickstreamSourceError) as error:
        load(paths, tmp_path / "no-such-folder")
    assert "no-such-folder does not exist" in str(error.value)
    assert "SOURCES__CLICKSTREAM__BUCKET_URL" in str(error.value)


def test_the_cli_prints_lines_read_loaded_and_quarantined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCES__CLICKSTREAM__BUCKET_URL", raising=False)
    home = Paths(tmp_path / "home").ensure()
    write_log(home.clickstream / "events-2026102009.jsonl.gz", event_line("e1") + b"oops\n")
    assert main(["--home", str(home.home), "ingest", "clickstream"]) == 0
    assert "lines read 2, loaded 1, quarantined 1" in capsys.readouterr().out


def test_events_dated_beyond_the_tolerance_are_quarantined_and_reconciled(
    paths: Paths, tmp_path: Path
) -> None:
    bucket = tmp_path / "logs"
    soon = datetime.now(UTC) + timedelta(hours=1)
    write_log(
        bucket / "events-2026102009.jsonl.gz",
        event_line("e1")
        # A device whose clock is years ahead, as ISO text and as epoch milliseconds.
        + event_line("e2", timestamp="2031-06-01T09:00:00Z")
        + event_line("e3", timestamp=int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1000))
        # Within the tolerance (clock skew): an event.
        + event_line("e4", timestamp=soon.strftime("%Y-%m-%dT%H:%M:%SZ")),
    )

    report = load(paths, bucket, future_event_tolerance_hours=2)

    assert report.reconciled == {"lines read": 4, "loaded": 2, "quarantined": 2}
    assert query(paths, "select event_id from raw_clickstream.events order by 1") == [
        ("e1",),
        ("e4",),
    ]
    quarantined = query(
        paths, "select line_number, error from raw_clickstream.quarantine order by 1"
    )
    assert [number for number, _ in quarantined] == [2, 3]
    assert all(error.startswith("timestamp in the future: after ") for _, error in quarantined)
    assert query(
        paths,
        "select lines_read, events_loaded, lines_quarantined from raw_clickstream.files",
    ) == [(4, 2, 2)]
    with pytest.raises(ClickstreamSourceError, match="future_event_tolerance_hours is -1"):
        clickstream(bucket_url=str(bucket), future_event_tolerance_hours=-1)


def test_a_file_whose_content_was_already_loaded_is_skipped_and_reported(
    paths: Paths, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = tmp_path / "logs"
    content = event_line("e1") + event_line("e2", hour=10)
    write_log(bucket / "events-2026102009.jsonl.gz", content)
    load(paths, bucket)
    # The shipper delivers the file again under another name (compressed again, so its bytes
    # differ), and a new hour twice in the same run; two quiet hours holding the same garbage
    # and no event are no copies.
    write_log(bucket / "resent/events-2026102009-retry.jsonl.gz", content)
    write_log(bucket / "events-2026102011.jsonl.gz", event_line("e3", hour=11))
    write_log(bucket / "events-2026102011-copy.jsonl.gz", event_line("e3", hour=11))
    write_log(bucket / "events-2026102012.jsonl.gz", b"undefined\n")
    write_log(bucket / "events-2026102013.jsonl.gz", b"undefined\n")
    caplog.set_level(logging.WARNING)

    report = load(paths, bucket)

    assert report.reconciled == {"lines read": 3, "loaded": 1, "quarantined": 2}
    assert "2 file(s) hold the content of a file already loaded" in caplog.text
    assert (
        "resent/events-2026102009-retry.jsonl.gz (same content as events-2026102009.jsonl.gz)"
        in caplog.text
    )
    assert query(paths, "select event_id from raw_clickstream.events order by 1") == [
        ("e1",),
        ("e2",),
        ("e3",),
    ]
    files = query(paths, "select file_name, content_sha256 from raw_clickstream.files order by 1")
    assert [name for name, _ in files] == [
        "events-2026102009.jsonl.gz",
        "events-2026102011-copy.jsonl.gz",
        "events-2026102012.jsonl.gz",
        "events-2026102013.jsonl.gz",
    ] or [name for name, _ in files] == [
        "events-2026102009.jsonl.gz",
        "events-2026102011.jsonl.gz",
        "events-2026102012.jsonl.gz",
        "events-2026102013.jsonl.gz",
    ]
    hashes = dict(files)
    assert hashes["events-2026102009.jsonl.gz"] == hashlib.sha256(content).hexdigest()
    assert hashes["events-2026102012.jsonl.gz"] is None
