"""The published serving file: only marts, no PII, atomic for readers, untouched by a failure."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from warehouse.access import sqlalchemy_url
from warehouse.dbt import mart_relations
from warehouse.paths import PROJECT_DIR, Paths

from .helpers import change_as_a_load
from .test_cli import warehouse

# The warehouse's own email and phone recognisers (macros/pii/pii_value_patterns.sql), read from
# the macro so the serving check and the dbt tests never disagree.
PII_PATTERNS = dict(
    re.findall(
        r"'(\w+)': '([^']+)'",
        (PROJECT_DIR / "macros" / "pii" / "pii_value_patterns.sql").read_text(),
    )
)
PII_COLUMN_NAMES = {"email", "phone", "first_name", "last_name", "address", "street"}
FORBIDDEN_SCHEMAS = ("raw_", "staging", "intermediate", "snapshots", "reference", "main")

# A reader as a BI tool is one: its own process, a new read-only connection per question.
READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    serving, stop, out = sys.argv[1:]
    answers, errors = [], []
    from pathlib import Path
    while not Path(stop).exists():
        try:
            with duckdb.connect(serving, read_only=True) as conn:
                answers.append(list(conn.execute(
                    "select count(*), sum(hash(t)) from sales.fct_orders as t").fetchone()))
        except Exception as exc:
            errors.append(repr(exc))
        time.sleep(0.02)
    Path(out).write_text(json.dumps({"answers": answers, "errors": errors}))
    """
)


def orders_answer(serving: Path) -> list:
    with duckdb.connect(str(serving), read_only=True) as conn:
        return list(
            conn.execute("select count(*), sum(hash(t)) from sales.fct_orders as t").fetchone()
        )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_serving_file_holds_every_mart_and_nothing_raw_or_personal(built_demo_home: Path) -> None:
    serving = built_demo_home / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()
        columns = conn.execute(
            "select table_schema, table_name, column_name, data_type"
            " from information_schema.columns"
        ).fetchall()
        base_tables = {(schema, name) for schema, name, kind in tables if kind == "BASE TABLE"}
        assert base_tables == set(mart_relations(Paths(built_demo_home)))
        views = {(schema, name) for schema, name, kind in tables if kind == "VIEW"}
        # One plain view per MetricFlow saved query, for BI tools that don't speak MetricFlow;
        # each answers from the marts in the same file.
        saved = json.loads((built_demo_home / "target" / "semantic_manifest.json").read_text())
        expected_views = {("metrics", query["name"]) for query in saved["saved_queries"]}
        assert expected_views and views == expected_views
        for schema, name in views:
            (rows,) = conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            assert rows > 0, f"{schema}.{name} is empty"
        for schema, name, _ in tables:
            assert not schema.startswith(FORBIDDEN_SCHEMAS), (schema, name)
        assert not {column for _, _, column, _ in columns} & PII_COLUMN_NAMES
        assert set(PII_PATTERNS) == {"email", "phone"}
        for schema, name, column, data_type in columns:
            if data_type != "VARCHAR":
                continue
            for kind, pattern in PII_PATTERNS.items():
                (hits,) = conn.execute(
                    f'select count(*) from "{schema}"."{name}" where regexp_matches("{column}", ?)',
                    [pattern],
                ).fetchone()
                assert hits == 0, f"{kind} values in {schema}.{name}.{column}"


@pytest.mark.slow
def test_sqlalchemy_url_reads_the_serving_file_read_only(built_demo_home: Path) -> None:
    """The URL docs/serving.md gives SQLAlchemy-based BI tools (duckdb_engine): marts and metric
    views answer, and the connection cannot write."""
    import sqlalchemy

    url = sqlalchemy_url(built_demo_home / "serving.duckdb")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(sqlalchemy.text("select count(*) from sales.fct_orders"))
            assert orders.scalar_one() > 0
            days = conn.execute(
                sqlalchemy.text("select count(*) from metrics.daily_sales_and_engagement")
            )
            assert days.scalar_one() > 0
            assert "fct_orders" in sqlalchemy.inspect(conn).get_table_names(schema="sales")
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
                conn.execute(sqlalchemy.text("create table sales.scratch (x int)"))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_readers_see_a_complete_build_while_the_next_one_runs(
    built_demo_home: Path, tmp_path: Path
) -> None:
    """A BI tool's reader never errors and sees the old or the new file while an incremental
    run publishes row by row; the result equals a full publish."""
    from warehouse.serving import publish

    serving = built_demo_home / "serving.duckdb"
    before = orders_answer(serving)
    assert warehouse("--home", str(built_demo_home), "demo", "advance").returncode == 0
    stop, out = tmp_path / "stop", tmp_path / "answers.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving), str(stop), str(out)])
    try:
        time.sleep(1)
        run = warehouse("--home", str(built_demo_home), "run")
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "==> publish" in run.stdout
        time.sleep(1)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    after = orders_answer(serving)
    assert after != before  # the advanced day brought new orders
    seen = json.loads(out.read_text())
    assert seen["errors"] == []
    assert len(seen["answers"]) > 20
    assert {tuple(answer) for answer in seen["answers"]} <= {tuple(before), tuple(after)}
    assert seen["answers"][-1] == after

    # The run's publish wrote the changed rows (updates: deleted and inserted) into a copy of
    # the previous file, and that file equals a full publish of the same warehouse, mart by mart.
    written = re.search(r"([\d,]+) rows deleted, ([\d,]+) inserted", run.stdout)
    assert written, run.stdout[-3000:]
    assert all(int(count.replace(",", "")) > 0 for count in written.groups())
    full = copied_home(built_demo_home, tmp_path / "full", serving=False)
    publish(full, full=True)
    assert serving_fingerprints(full.serving) == serving_fingerprints(serving)


@pytest.mark.slow
def test_failed_build_leaves_the_previous_serving_file(built_demo_home: Path) -> None:
    serving = built_demo_home / "serving.duckdb"
    published = digest(serving)
    database = str(built_demo_home / "warehouse.duckdb")
    # A status the shop never writes, as a load brings it: staging's accepted_values test
    # fails, so the build does.
    with duckdb.connect(database) as conn:
        order_id, status = conn.execute(
            "select id, status from raw_shop.orders order by id limit 1"
        ).fetchone()
        change_as_a_load(conn, "raw_shop.orders", order_id, status="teleported")
    try:
        run = warehouse("--home", str(built_demo_home), "run", "--full-test")
        assert run.returncode == 1
        assert "dbt build failed" in run.stderr
        assert "==> publish" not in run.stdout
        assert digest(serving) == published
        assert not list(built_demo_home.glob(".serving.duckdb.*"))
    finally:
        with duckdb.connect(database) as conn:
            change_as_a_load(conn, "raw_shop.orders", order_id, status=status)


def serving_fingerprints(serving: Path) -> dict[str, tuple]:
    """Row count, order-independent checksum and columns (names and types, in order) of every
    table in a serving file."""
    with duckdb.connect(str(serving), read_only=True) as conn:
        names = conn.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        return {
            f"{schema}.{table}": (
                *conn.execute(
                    f'select count(*), sum(hash(t)) from "{schema}"."{table}" as t'
                ).fetchone(),
                conn.execute(f'describe "{schema}"."{table}"').fetchall(),
            )
            for schema, table in names
        }


def copied_home(built: Path, home: Path, serving: bool = True) -> Paths:
    """A home of its own with the built demo's warehouse, its dbt manifests and (``serving``)
    its serving file."""
    (home / "target").mkdir(parents=True)
    for name in ("warehouse.duckdb", "serving.duckdb") if serving else ("warehouse.duckdb",):
        shutil.copy(built / name, home / name)
    for name in ("manifest.json", "semantic_manifest.json"):
        shutil.copy(built / "target" / name, home / "target" / name)
    return Paths(home)


@pytest.mark.slow
def test_incremental_publish_writes_only_the_rows_that_changed(
    built_demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the built home: publish again writes nothing, a changed mart is the only one
    written (its new content published, the others byte-for-byte the same rows), the metric
    views are there; in a mart only the rows that differ are written and the file equals a full
    publish; a file grown too much is written afresh; a publish that fails leaves the previous
    file and no leftover."""
    from warehouse import serving
    from warehouse.serving import PublishError, publish
    from warehouse.serving_previous import SPARE_NAME

    paths = copied_home(built_demo_home, tmp_path / "home")
    home = paths.home
    marts = {f"{schema}.{table}" for schema, table in mart_relations(paths)}
    # The shared home's warehouse may be ahead of its serving file (a failed build elsewhere in
    # this suite rebuilt some marts and published nothing): publish once to bring them level.
    publish(paths)
    before = serving_fingerprints(paths.serving)
    # Each publish checked below starts from a copy of the file before it (the spare, the file
    # two publishes back, is removed first: its own test is further down), so what it writes
    # is the difference from the file before it.
    spare = home / SPARE_NAME

    spare.unlink(missing_ok=True)
    unchanged = publish(paths)
    assert unchanged.replaced == []
    assert set(unchanged.tables) == marts
    assert serving_fingerprints(paths.serving) == before

    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.execute(
            "update sales.fct_daily_sales set order_count = order_count + 1"
            " where order_date = (select max(order_date) from sales.fct_daily_sales)"
        )
        expected = conn.execute(
            "select count(*), sum(hash(t)) from sales.fct_daily_sales as t"
        ).fetchone()
    spare.unlink(missing_ok=True)
    changed = publish(paths)
    assert changed.replaced == ["sales.fct_daily_sales"]
    after = serving_fingerprints(paths.serving)
    assert after["sales.fct_daily_sales"][:2] == expected != before["sales.fct_daily_sales"][:2]
    assert {name: value for name, value in after.items() if name != "sales.fct_daily_sales"} == {
        name: value for name, value in before.items() if name != "sales.fct_daily_sales"
    }
    with duckdb.connect(str(paths.serving), read_only=True) as conn:
        views = conn.execute("select count(*) from duckdb_views() where schema_name = 'metrics'")
        assert views.fetchone()[0] == len(changed.views) > 0
        (days,) = conn.execute("select count(*) from metrics.daily_sales_and_engagement").fetchone()
        assert days > 0

    # Row by row: rows updated and deleted in the warehouse, a row the published copy holds
    # twice, a mart with a new column. Only those rows are written (the new column's mart whole)
    # and the file equals a full publish, mart by mart.
    with duckdb.connect(str(paths.serving)) as conn:
        conn.execute(
            "insert into sales.fct_order_items"
            " select * from sales.fct_order_items order by order_item_id limit 1"
        )
    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.execute(
            "update sales.fct_orders set order_status = 'returned' where order_id in"
            " (select order_id from sales.fct_orders where order_status <> 'returned'"
            " order by order_id limit 3)"
        )
        conn.execute(
            "delete from sales.fct_order_items where order_item_id in"
            " (select order_item_id from sales.fct_order_items order by order_item_id desc"
            " limit 5)"
        )
        conn.execute("alter table sales.dim_products add column shelf integer default 7")
    spare.unlink(missing_ok=True)
    rows = publish(paths)
    writes = {write.name: write for write in rows.writes}
    assert sorted(rows.replaced) == [
        "sales.dim_products",
        "sales.fct_order_items",
        "sales.fct_orders",
    ]
    assert (writes["sales.fct_orders"].deleted, writes["sales.fct_orders"].inserted) == (3, 3)
    assert writes["sales.fct_order_items"].deleted == 6
    assert writes["sales.fct_order_items"].inserted == 0
    assert writes["sales.dim_products"].rewritten
    row_level = serving_fingerprints(paths.serving)
    assert row_level != after
    publish(paths, full=True)
    assert serving_fingerprints(paths.serving) == row_level

    # A previous file grown past the limit is written afresh, every mart whole.
    monkeypatch.setattr(serving, "GROWTH_LIMIT", 1.0)
    afresh = publish(paths)
    assert all(write.rewritten for write in afresh.writes)
    assert sorted(afresh.replaced) == sorted(marts)
    monkeypatch.undo()

    # A changed mart and a missing one: nothing is published, the previous file stays.
    published = digest(paths.serving)
    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.execute("update sales.fct_daily_sales set order_count = order_count - 1")
        conn.execute("alter table sales.fct_orders rename to fct_orders_gone")
    with pytest.raises(PublishError, match=r"sales\.fct_orders is missing"):
        publish(paths)
    assert digest(paths.serving) == published
    assert not list(home.glob(".serving.duckdb.*"))

    with duckdb.connect(str(paths.duckdb)) as conn:
        conn.execute("alter table sales.fct_orders_gone rename to fct_orders")
    full = publish(paths, full=True)
    assert sorted(full.replaced) == sorted(marts)
    assert serving_fingerprints(paths.serving)["sales.fct_orders"] == row_level["sales.fct_orders"]


# A reader in its own process that opened a serving file and keeps it open: it answers once,
# waits for the stop file, then answers again from the same connection.
HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    from pathlib import Path
    serving, stop = sys.argv[1:]
    query = "select count(*), sum(hash(t)) from sales.fct_daily_sales as t"
    with duckdb.connect(serving, read_only=True) as conn:
        print(conn.execute(query).fetchone(), flush=True)
        while not Path(stop).exists():
            time.sleep(0.05)
        print(conn.execute(query).fetchone(), flush=True)
    """
)


@pytest.mark.slow
def test_publish_writes_into_the_file_it_replaced_only_when_nobody_reads_it(
    built_demo_home: Path, tmp_path: Path
) -> None:
    """The file a publish replaces keeps a second name (the spare, no copy) and the next publish
    writes into it instead of copying the serving file; the result equals a full publish. A
    spare that a reader holds (another process, or this one) is left as it is and the publish
    copies; a spare that is the serving file itself (a publish killed between the two names) is
    not written; a full publish keeps no spare."""
    from warehouse.serving import publish
    from warehouse.serving_previous import SPARE_NAME

    paths = copied_home(built_demo_home, tmp_path / "home")
    home = paths.home
    spare = home / SPARE_NAME

    def inode(path: Path) -> int:
        return path.stat().st_ino

    def change_a_day() -> None:
        with duckdb.connect(str(paths.duckdb)) as conn:
            conn.execute(
                "update sales.fct_daily_sales set order_count = order_count + 1"
                " where order_date = (select max(order_date) from sales.fct_daily_sales)"
            )

    publish(paths, full=True)
    assert not spare.exists()
    first = inode(paths.serving)
    change_a_day()
    publish(paths)  # no spare yet: a copy; the replaced file becomes the spare
    second = inode(paths.serving)
    assert inode(spare) == first != second
    change_a_day()
    written = publish(paths)  # into the spare, two publishes behind
    assert written.replaced == ["sales.fct_daily_sales"]
    assert (inode(paths.serving), inode(spare)) == (first, second)
    assert not list(home.glob(".serving.duckdb.*"))

    # Another process holds the spare (it opened the serving file before the last publish):
    # its file is not written, the publish copies, and the reader's answer does not change.
    stop = tmp_path / "stop"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(spare), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        held = holder.stdout.readline()
        change_a_day()
        publish(paths)
        assert inode(paths.serving) not in (first, second)
        assert inode(spare) == first
    finally:
        stop.touch()
        out, _ = holder.communicate(timeout=60)
    assert out.strip() == held.strip() != ""

    # This process holds the spare: DuckDB's lock does not see it; the publish copies.
    # (Only files that still exist are compared: the second one is gone since the holder
    # closed it, and the file system may give its inode number to the copy.)
    third = inode(paths.serving)
    with duckdb.connect(str(spare), read_only=True) as conn:
        query = "select count(*), sum(hash(t)) from sales.fct_daily_sales as t"
        before = conn.execute(query).fetchone()
        change_a_day()
        publish(paths)
        assert inode(paths.serving) not in (first, third)
        assert inode(spare) == third
        assert conn.execute(query).fetchone() == before

    # A spare that is the serving file itself is dropped, not written.
    spare.unlink()
    os.link(paths.serving, spare)
    published = digest(paths.serving)
    change_a_day()
    publish(paths)
    assert digest(spare) == published

    # Row by row into the spare equals a full publish; a full publish keeps no spare.
    change_a_day()
    publish(paths)
    row_level = serving_fingerprints(paths.serving)
    publish(paths, full=True)
    assert serving_fingerprints(paths.serving) == row_level
    assert not spare.exists()
