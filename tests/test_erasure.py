"""`warehouse forget`: a customer's PII leaves every file of the home and never comes back."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from demo.postgres import embedded_dsn
from warehouse.erasure import RAW_PII
from warehouse.lake import LakeError, snapshot
from warehouse.lake_erasure import erase_lake
from warehouse.paths import PROJECT_DIR, Paths

PII_COLUMNS = ("email", "phone", "street_address", "first_name", "last_name")


def _warehouse(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warehouse.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
    )


def _files_holding(home: Path, values: list[str]) -> dict[str, list[str]]:
    """{value: files of the home whose bytes contain it}."""
    found: dict[str, list[str]] = {value: [] for value in values}
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for value in values:
                if value.encode() in data:
                    found[value].append(str(path.relative_to(home)))
    return {value: files for value, files in found.items() if files}


def _unique_customer(warehouse: Path) -> tuple[int, dict[str, str]]:
    """A customer whose email, phone, street address and full name are each theirs alone, so
    finding one in a file means finding this person."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        row = conn.execute(
            """
            select id, email, phone, street_address, first_name, last_name
            from raw_shop.customers as c
            where email is not null and phone is not null and street_address is not null
                and (select count(*) from raw_shop.customers as o
                     where o.email = c.email or o.phone = c.phone
                        or o.street_address = c.street_address
                        or (o.first_name = c.first_name and o.last_name = c.last_name)) = 1
                and email not like '%example.com'
            order by id
            limit 1
            """
        ).fetchone()
    assert row is not None, "no customer with unique PII in the test world"
    return row[0], dict(zip(PII_COLUMNS, row[1:], strict=True))


def _lake_customers(home: Path) -> pa.Table:
    """The current version of the lake's customers table."""
    return DeltaTable(str(home / "lake" / "raw_shop" / "customers")).to_pyarrow_table()


def _lake_row(home: Path, customer: int) -> tuple:
    table = _lake_customers(home)
    (row,) = table.filter(pc.equal(table["id"], customer)).to_pylist()
    return tuple(row[c] for c in ("email", "phone", "street_address", "first_name", "last_name"))


@pytest.mark.slow
def test_forget_erases_a_customer_from_every_file_and_replays(
    built_demo_home: Path, shop_dsn: str, tmp_path: Path
) -> None:
    # A home of its own holding the demo's warehouse, serving file and dlt state; its shop is
    # the demo's (a source system outside this home), its CRM a database of its own.
    home = tmp_path / "home"
    home.mkdir()
    for name in ("warehouse.duckdb", "serving.duckdb", "dlt", "target"):
        source = built_demo_home / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, home / name)
    env = {
        "SOURCES__SHOP__CREDENTIALS": embedded_dsn(built_demo_home / "postgres"),
        "DESTINATION__CRM__CREDENTIALS": shop_dsn,
    }
    customer, pii = _unique_customer(home / "warehouse.duckdb")
    full_name = f"{pii['first_name']} {pii['last_name']}"
    searched = [pii["email"], pii["phone"], pii["street_address"]]
    reverse = _warehouse(home, "reverse-etl", env=env)
    assert reverse.returncode == 0, reverse.stdout + reverse.stderr
    with psycopg.connect(shop_dsn) as conn:
        crm = "select count(*) from crm.customer_flags where customer_id = %s"
        assert conn.execute(crm, [customer]).fetchone() == (1,)
    # The lake too: the shop landed as Delta tables (<home>/lake, state in <home>/dlt-lake).
    lake = _warehouse(home, "ingest", "shop", "--destination", "lake", env=env)
    assert lake.returncode == 0, lake.stdout + lake.stderr
    lake_customers = _lake_customers(home)
    # The control: before the erasure the bytes are there to be found (the raw table, dlt's
    # loaded packages, the lake's data files), so the search below can fail.
    before = _files_holding(home, searched)
    assert "warehouse.duckdb" in before.get(pii["email"], []), before
    assert any(f.startswith("lake/raw_shop/customers/") for f in before[pii["email"]]), before

    forget = _warehouse(home, "forget", "--customer", str(customer), env=env)
    assert forget.returncode == 0, forget.stdout[-3000:] + forget.stderr[-3000:]

    assert _files_holding(home, [*searched, full_name, pii["email"].lower()]) == {}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        raw = conn.execute(
            "select email, phone, street_address, city, postal_code, first_name, last_name"
            " from raw_shop.customers where id = ?",
            [customer],
        ).fetchone()
        # Blank: NULL, or '' where the column is NOT NULL (raw copies no source constraint,
        # but a replay blanks rows before they land, by the source's own column kinds).
        assert _blank(raw), raw
        snapshot = conn.execute(
            "select count(*), count(email_hash), count(city)"
            " from snapshots.snp_shop__customers where customer_id = ?",
            [customer],
        ).fetchone()
        assert snapshot[0] >= 1 and snapshot[1:] == (0, 0)
        assert conn.execute(
            "select email_hash from sales.dim_customers where customer_id = ?", [customer]
        ).fetchone() == (None,)
        # customer_features is incremental: the blanked city, with no new load, rebuilds it.
        assert conn.execute(
            "select count(city) from ml.customer_features where customer_id = ?", [customer]
        ).fetchone() == (0,)
        # Rewritten: no freed block that could still hold the old values.
        (free_blocks,) = conn.execute("select free_blocks from pragma_database_size()").fetchone()
        assert free_blocks == 0
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as conn:
        assert conn.execute(
            "select email_hash from sales.dim_customers where customer_id = ?", [customer]
        ).fetchone() == (None,)
    with psycopg.connect(shop_dsn) as conn:
        assert conn.execute(crm, [customer]).fetchone() == (0,)
    with duckdb.connect(str(home / "governance.duckdb"), read_only=True) as conn:
        who, when, status, erased = conn.execute(
            "select requested_by, requested_at, status, erased from erasure_requests"
            " where customer_id = ?",
            [customer],
        ).fetchone()
    assert who and when and status == "done"
    assert json.loads(erased)["warehouse rows"]["raw_shop.customers"] == 1
    assert json.loads(erased)["lake rows"] == {"raw_shop.customers": 1}
    # The lake table still reads, every row there, the customer's blanked in a new version.
    assert _lake_customers(home).num_rows == lake_customers.num_rows
    assert _blank(_lake_row(home, customer))

    # A replay from scratch (raw dropped, dlt's folder gone) reloads every customer from the
    # shop, which still has this one: the suppression list keeps the PII out, and reverse ETL
    # does not push the customer back to the CRM.
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.execute("drop schema raw_shop cascade")
        conn.execute("drop schema if exists raw_shop_staging cascade")
    shutil.rmtree(home / "dlt" / "shop")
    replay = _warehouse(home, "ingest", "shop", env=env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        (customers,) = conn.execute("select count(*) from raw_shop.customers").fetchone()
        assert customers > 100
        assert conn.execute(
            "select email, phone, street_address from raw_shop.customers where id = ?",
            [customer],
        ).fetchone() == (None, None, None)
    assert _files_holding(home / "dlt", searched) == {}
    # The same replay into the lake (its cursors and dlt's state in the lake dropped): every
    # customer is merged again, this one still blank.
    shutil.rmtree(home / "dlt-lake")
    for state in (home / "lake" / "raw_shop" / "_dlt_pipeline_state").iterdir():
        state.unlink()  # the folder stays: dlt creates a dataset's folders once
    replay = _warehouse(home, "ingest", "shop", "--destination", "lake", env=env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    merged = re.search(r"customers ([\d,]+)", replay.stdout)
    assert merged and int(merged[1].replace(",", "")) == lake_customers.num_rows, replay.stdout
    assert _lake_customers(home).num_rows == lake_customers.num_rows
    assert _blank(_lake_row(home, customer))
    assert _files_holding(home / "lake", searched) == {}
    reverse = _warehouse(home, "reverse-etl", env=env)
    assert reverse.returncode == 0, reverse.stdout + reverse.stderr
    with psycopg.connect(shop_dsn) as conn:
        assert conn.execute(crm, [customer]).fetchone() == (0,)


def test_lake_erasure_leaves_no_value_in_data_files_or_the_delta_log(paths: Paths) -> None:
    # The victim holds the smallest email and the largest last name, so Delta's column
    # statistics (min/max in the log) carry their values: the case a data-file rewrite misses.
    uri = str(paths.lake / "raw_shop" / "customers")
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("first_name", pa.string(), nullable=False),
            pa.field("last_name", pa.string(), nullable=False),
            pa.field("email", pa.string()),
            pa.field("phone", pa.string()),
        ]
    )
    rows = [
        (1, "Ann", "Berg", "ann.berg@example.org", "+31 20 111"),
        (2, "Vic", "Zzyzx", "aaa.victim@example.org", "+31 20 999"),
        (3, "Bob", "Marsh", "bob.marsh@example.org", None),
    ]
    for batch in (rows[:2], rows[2:]):  # two versions: the values in more than one log entry
        columns = list(zip(*batch, strict=True))
        write_deltalake(uri, pa.table(columns, schema=schema), mode="append")
    victim = ["aaa.victim@example.org", "Zzyzx", "+31 20 999"]
    in_log = _files_holding(paths.lake / "raw_shop" / "customers" / "_delta_log", victim)
    assert {"aaa.victim@example.org", "Zzyzx"} <= set(in_log), "the control: stats hold them"

    before_erasure = datetime.now(UTC)
    assert [item.version for item in snapshot(paths, as_of=before_erasure)] == [1]
    time.sleep(0.01)  # commit times are in milliseconds

    assert erase_lake(paths, 2, RAW_PII) == {"raw_shop.customers": 1}

    assert _files_holding(paths.lake, victim) == {}
    table = DeltaTable(uri)
    read = {row["id"]: row for row in table.to_pyarrow_table().to_pylist()}
    assert len(read) == 3 and read[1]["email"] == "ann.berg@example.org"
    assert (read[2]["first_name"], read[2]["last_name"], read[2]["email"], read[2]["phone"]) == (
        "",
        "",
        None,
        None,
    )
    # The erasure is a version of its own, the first the history still has.
    assert table.history()[-1]["operation"] == "UPDATE"
    # Time travel to before it ends with a clear error, not an empty or wrong table.
    with pytest.raises(LakeError, match="no history before version 2"):
        snapshot(paths, as_of=before_erasure)
    # A rerun (a request completed again) blanks the row again; the table still reads.
    assert erase_lake(paths, 2, RAW_PII) == {"raw_shop.customers": 1}
    assert DeltaTable(uri).to_pyarrow_table().num_rows == 3
    assert _files_holding(paths.lake, victim) == {}


def _blank(row: tuple | None) -> bool:
    """The row exists and every PII value in it is gone (NULL or '')."""
    return row is not None and all(value in (None, "") for value in row)
