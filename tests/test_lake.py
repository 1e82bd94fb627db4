"""The lakehouse end to end: every source landed as Delta tables, merged and deleted in place
transactionally, built into the same marts as the raw schemas, travelled back in time, killed
mid-write, compacted under a reader and vacuumed.

One demo home for the module, in order: the tests build on each other's lake (a day passes
between the first builds and the time travel), as the lake lives through days in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from warehouse.dbt import mart_relations
from warehouse.lake import differing_marts, snapshot, table_uris
from warehouse.lake_maintenance import compact, vacuum
from warehouse.paths import PROJECT_DIR, Paths

from .conftest import TEST_SCALE
from .test_cli import warehouse

pytestmark = pytest.mark.slow

SHOP_TABLES = ("customers", "products", "orders", "order_items", "shipments")


def ok(*args: str) -> str:
    result = warehouse(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """A demo world landed twice from the same sources: into the lake and into the DuckDB raw
    schemas (built with dbt); the embedded PostgreSQL stopped at the end."""
    home = tmp_path_factory.mktemp("lakehouse")
    home.chmod(0o755)
    for parent in home.parents:
        if parent == Path(os.path.realpath("/tmp")):
            break
        parent.chmod(parent.stat().st_mode | 0o055)  # pgserver's own user must reach the data
    ok("--home", str(home), "demo", "generate", "--scale", str(TEST_SCALE))
    ok("--home", str(home), "ingest", "--destination", "lake")
    ok("--home", str(home), "ingest")
    ok("--home", str(home), "build")
    yield home
    warehouse("--home", str(home), "demo", "stop")


def shop_dsn(home: Path) -> str:
    from warehouse.sources import shop_dsn as resolve

    return resolve(Paths(home))


def lake_rows(home: Path, table: str) -> pa.Table:
    return DeltaTable(table_uris(Paths(home))[table]).to_pyarrow_table()


def versions(home: Path) -> dict[str, int]:
    return {name: DeltaTable(uri).version() for name, uri in table_uris(Paths(home)).items()}


def assert_keys_unique(home: Path) -> None:
    """No key twice in the current version of any merged table."""
    keys = {f"raw_shop.{table}": "id" for table in SHOP_TABLES}
    keys |= {"raw_payments.charges": "id", "raw_payments.refunds": "id"}
    for table, key in keys.items():
        column = lake_rows(home, table)[key]
        assert len(column) == len(column.unique()), f"{table}: a key twice"


def test_every_source_lands_as_delta_tables_with_the_source_counts(home: Path) -> None:
    uris = table_uris(Paths(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as raw:
        expected = {
            f"{schema}.{table}": raw.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
            for schema, table in raw.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema like 'raw\\_%' escape '\\'"
                " and table_schema not like '%\\_staging' escape '\\'"
                " and table_name not like '\\_dlt%' escape '\\'"
            ).fetchall()
        }
    assert set(uris) == set(expected), "the lake and the raw schemas hold the same tables"
    for name, uri in uris.items():
        assert (Path(uri) / "_delta_log").is_dir(), f"{name} is no Delta table"
        assert DeltaTable(uri).to_pyarrow_dataset().count_rows() == expected[name], name
    with psycopg.connect(shop_dsn(home)) as conn:
        for table in SHOP_TABLES:
            (count,) = conn.execute(f"select count(*) from shop.{table}").fetchone()
            assert lake_rows(home, f"raw_shop.{table}").num_rows == count, table
    assert_keys_unique(home)


def test_the_marts_built_from_the_lake_equal_those_built_from_the_raw_schemas(
    home: Path,
) -> None:
    out = ok("--home", str(home), "lake", "build")
    assert "sales.fct_orders" in out
    built = home / "lake-builds" / "current" / "warehouse.duckdb"
    relations = mart_relations(Paths(home))
    assert len(relations) >= 14
    assert differing_marts(home / "warehouse.duckdb", built, relations) == {}


def test_a_day_of_changes_is_merged_and_deletes_are_recorded_transactionally(home: Path) -> None:
    before = versions(home)
    (home / "before-the-day").write_text(datetime.now(UTC).isoformat())
    time.sleep(0.05)  # commits of the day come strictly after that moment
    ok("--home", str(home), "demo", "advance")
    with psycopg.connect(shop_dsn(home)) as conn:  # a purge at the source: two hard deletes
        gone = [row[0] for row in conn.execute("select id from shop.orders order by id limit 2")]
        for table in ("order_items", "shipments"):
            conn.execute(f"delete from shop.{table} where order_id = any(%s)", (gone,))
        conn.execute("delete from shop.orders where id = any(%s)", (gone,))
        source = {
            table: dict(conn.execute(f"select id, updated_at from shop.{table}").fetchall())
            for table in ("orders", "customers")
        }
    events_before = lake_rows(home, "raw_clickstream.events").num_rows
    ok("--home", str(home), "ingest", "--destination", "lake")

    after = versions(home)
    assert after["raw_shop.orders"] == before["raw_shop.orders"] + 1  # one MERGE commit
    assert after["raw_clickstream.events"] == before["raw_clickstream.events"] + 1
    assert_keys_unique(home)
    for table, rows in source.items():
        lake = lake_rows(home, f"raw_shop.{table}").select(["id", "updated_at"]).to_pylist()
        current = {row["id"]: row["updated_at"] for row in lake}
        # Every source row in its latest state; deleted rows stay (the raw rule), flagged below.
        assert {key: current[key] for key in rows} == rows, table
    deleted = lake_rows(home, "raw_shop.hard_deletes").to_pylist()
    assert {row["id"] for row in deleted if row["table_name"] == "orders"} >= set(gone)
    assert set(gone) <= set(lake_rows(home, "raw_shop.orders")["id"].to_pylist())
    # Events are appended, never merged: the day's events come on top.
    assert lake_rows(home, "raw_clickstream.events").num_rows > events_before


def test_a_mart_as_of_before_the_day_is_the_mart_as_it_was(home: Path) -> None:
    moment = (home / "before-the-day").read_text()
    ok("--home", str(home), "lake", "build", "--as-of", moment, "--select", "+fct_orders")
    (as_of,) = (home / "lake-builds").glob("as-of-*")
    earlier = home / "lake-builds" / "current" / "warehouse.duckdb"
    fct_orders = [("sales", "fct_orders")]
    assert differing_marts(earlier, as_of / "warehouse.duckdb", fct_orders) == {}
    # And the lake as it is now is another day: the as-of snapshot read older versions.
    now = {(t.schema, t.table): t.version for t in snapshot(Paths(home))}
    then = {
        (t.schema, t.table): t.version
        for t in snapshot(Paths(home), datetime.fromisoformat(moment))
    }
    assert then[("raw_shop", "orders")] == now[("raw_shop", "orders")] - 1


def test_a_kill_9_during_a_lake_write_leaves_the_previous_version_and_a_rerun_completes_it(
    home: Path,
) -> None:
    ok("--home", str(home), "demo", "advance")
    before = versions(home)
    command = [sys.executable, "-m", "warehouse.cli", "--home", str(home), "ingest", "shop"]
    process = subprocess.Popen(
        [*command, "--destination", "lake"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_DIR,
        start_new_session=True,
    )
    jobs = home / "dlt-lake" / "shop" / "load" / "normalized"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(jobs.glob("*/started_jobs/*")):  # a Delta write is under way
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the load ended before the kill"

    killed = versions(home)
    for name, version in killed.items():
        # Each table is at its previous version or one whole commit on: never in between.
        assert version in (before[name], before[name] + 1), name
        DeltaTable(table_uris(Paths(home))[name]).to_pyarrow_table()  # every file readable
    assert any(killed[name] == before[name] for name in killed if name.startswith("raw_shop."))

    ok("--home", str(home), "ingest", "shop", "--destination", "lake")
    assert_keys_unique(home)
    with psycopg.connect(shop_dsn(home)) as conn:
        for table in SHOP_TABLES:
            ids = {row[0] for row in conn.execute(f"select id from shop.{table}")}
            assert ids <= set(lake_rows(home, f"raw_shop.{table}")["id"].to_pylist()), table
    assert versions(home)["raw_shop.orders"] > before["raw_shop.orders"]


def test_compaction_under_a_concurrent_reader_then_vacuum_keeps_retained_versions(
    home: Path,
) -> None:
    paths = Paths(home)
    uri = str(home / "lake" / "raw_sensor" / "readings")
    for batch in range(60):  # a table of many small commits, as daily loads leave
        ids = pa.array(range(batch * 50, batch * 50 + 50), type=pa.int64())
        write_deltalake(uri, pa.table({"id": ids, "batch": pa.array([batch] * 50)}), mode="append")
    expected = 60 * 50

    seen: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            table = DeltaTable(uri)
            rows = table.to_pyarrow_table()
            seen.append((table.version(), rows.num_rows, len(rows["id"].unique())))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        (report,) = compact(paths, ["raw_sensor.readings"])
        deadline = time.monotonic() + 60
        while not any(version == report.version_after for version, _, _ in seen):
            assert time.monotonic() < deadline, "the reader never saw the compacted version"
            time.sleep(0.01)
    finally:
        stop.set()
        reader.join()
    assert report.files_before == 60 and report.files_after == 1
    assert report.version_after == report.version_before + 1
    # The reader read the version before and the version after, each whole: never a mix.
    assert {version for version, _, _ in seen} == {report.version_before, report.version_after}
    assert all(rows == distinct == expected for _, rows, distinct in seen), seen[:5]

    # A retention of an hour keeps every version of this test readable...
    (kept,) = vacuum(paths, 1, ["raw_sensor.readings"])
    assert kept.files_vacuumed == 0
    old = DeltaTable(uri, version=30)
    assert old.to_pyarrow_table().num_rows == 31 * 50
    # ...no retention keeps only the current version's files, which still read whole.
    (removed,) = vacuum(paths, 0, ["raw_sensor.readings"])
    assert removed.files_vacuumed == 60
    assert DeltaTable(uri).to_pyarrow_table().num_rows == expected
    with pytest.raises(Exception, match=r"(?i)not found|no such file"):
        DeltaTable(uri, version=30).to_pyarrow_table()
