"""Access tiers: analysts' connections are locked, and files carry their tier's mode."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import sqlalchemy

from warehouse.access import (
    ANALYST_CONFIG,
    analyst_connection,
    jdbc_properties,
    secure_home,
    sqlalchemy_url,
)
from warehouse.errors import WarehouseError
from warehouse.paths import Paths

# What a curious analyst tries on a locked connection; each must be refused.
ESCAPES = {
    "attach the warehouse": "attach '{warehouse}' as raw (read_only)",
    "attach a new file": "attach '{home}/mine.duckdb' as mine",
    "read a host file as CSV": "select * from read_csv('{host_file}')",
    "read a host file as text": "select content from read_text('/etc/passwd')",
    "list host files": "select * from glob('/etc/*')",
    "write a host file": "copy (select 1) to '{home}/out.csv'",
    "install an extension": "install httpfs",
    "load an extension": "load httpfs",
    "unlock the configuration": "set lock_configuration = false",
    "allow external access again": "set enable_external_access = true",
    "change any setting": "set memory_limit = '10GB'",
    "write the file": "create table sales.mine as select 1 as x",
}
# Answers an analyst must still get: a mart and a metric view.
READS = (
    "select count(*) from sales.dim_customers",
    "select count(*) from metrics.daily_sales_and_engagement",
)


def _escapes(home: Path, host_file: Path) -> dict[str, str]:
    values = {"warehouse": home / "warehouse.duckdb", "home": home, "host_file": host_file}
    return {what: sql.format(**values) for what, sql in ESCAPES.items()}


def _check_locked(execute: Callable[[str], list], home: Path, host_file: Path) -> None:
    for sql in READS:
        ((count,),) = execute(sql)
        assert count > 0, sql
    allowed = []
    for what, sql in _escapes(home, host_file).items():
        try:
            execute(sql)
        except Exception:
            continue
        allowed.append(what)
    assert allowed == [], f"a locked connection allowed: {allowed}"
    assert not (home / "mine.duckdb").exists() and not (home / "out.csv").exists()


@pytest.mark.slow
def test_analyst_duckdb_connection_is_locked(built_demo_home: Path, tmp_path: Path) -> None:
    host_file = tmp_path / "secret.csv"
    host_file.write_text("key,value\napi_token,s3cr3t\n")
    # The control: the same escapes work on a plain read-only connection (the old README URL).
    with duckdb.connect(str(built_demo_home / "serving.duckdb"), read_only=True) as plain:
        assert plain.execute(f"select * from read_csv('{host_file}')").fetchall()
    with analyst_connection(built_demo_home / "serving.duckdb") as conn:

        def execute(sql: str) -> list:
            return conn.execute(sql).fetchall()

        _check_locked(execute, built_demo_home, host_file)
        settings = dict(
            conn.execute(
                "select name, value from duckdb_settings() where name in ("
                "'enable_external_access', 'lock_configuration', 'access_mode')"
            ).fetchall()
        )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "access_mode": "read_only",
    }


@pytest.mark.slow
def test_documented_sqlalchemy_url_is_locked(built_demo_home: Path, tmp_path: Path) -> None:
    host_file = tmp_path / "secret.csv"
    host_file.write_text("key,value\napi_token,s3cr3t\n")
    url = sqlalchemy_url(built_demo_home / "serving.duckdb")
    assert "enable_external_access=false" in url and url.endswith("lock_configuration=true")
    engine = sqlalchemy.create_engine(url)
    try:

        def execute(sql: str) -> list:
            # A connection of its own per statement: a refused statement aborts a transaction.
            with engine.connect() as conn:
                return conn.execute(sqlalchemy.text(sql)).all()

        _check_locked(execute, built_demo_home, host_file)
    finally:
        engine.dispose()


def test_jdbc_properties_carry_the_same_lock() -> None:
    properties = jdbc_properties()
    assert properties["duckdb.read_only"] == "true"
    assert properties["enable_external_access"] == "false"
    assert list(properties)[-1] == "lock_configuration"
    assert len(properties) == len(ANALYST_CONFIG)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_demo_home_files_are_owner_only(built_demo_home: Path) -> None:
    home = Paths(built_demo_home)
    assert _mode(home.duckdb) == 0o600
    assert _mode(home.serving) == 0o600
    assert _mode(home.pipelines) == 0o700
    for folder, dirs, files in os.walk(home.pipelines):
        for name in dirs:
            assert _mode(Path(folder) / name) == 0o700, Path(folder) / name
        for name in files:
            assert _mode(Path(folder) / name) == 0o600, Path(folder) / name


def test_configured_groups_read_their_tier(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    engineers, analysts = (group.gr_name for group in grp.getgrall()[:2])
    duckdb.connect(str(paths.duckdb)).close()
    duckdb.connect(str(paths.serving)).close()
    (paths.lake / "raw_shop" / "customers").mkdir(parents=True)
    (paths.lake / "raw_shop" / "customers" / "1.parquet").write_bytes(b"PAR1")
    (paths.pipelines / "shop").mkdir(parents=True)
    (paths.pipelines / "shop" / "state.json").write_text("{}")
    for path in (paths.duckdb, paths.serving, paths.lake / "raw_shop" / "customers" / "1.parquet"):
        path.chmod(0o644)

    secure_home(paths)  # no group configured: owner only
    assert {_mode(p) for p in (paths.duckdb, paths.serving)} == {0o600}
    assert _mode(paths.lake / "raw_shop") == 0o700
    assert _mode(paths.lake / "raw_shop" / "customers" / "1.parquet") == 0o600

    monkeypatch.setenv("WAREHOUSE__ACCESS__ENGINEERS_GROUP", engineers)
    monkeypatch.setenv("WAREHOUSE__ACCESS__ANALYSTS_GROUP", analysts)
    secure_home(paths)
    for path in (
        paths.duckdb,
        paths.lake / "raw_shop" / "customers" / "1.parquet",
        paths.pipelines / "shop" / "state.json",
    ):
        assert (_mode(path), grp.getgrgid(path.stat().st_gid).gr_name) == (0o640, engineers)
    assert (_mode(paths.lake / "raw_shop"), _mode(paths.pipelines)) == (0o750, 0o750)
    assert _mode(paths.serving) == 0o640
    assert grp.getgrgid(paths.serving.stat().st_gid).gr_name == analysts

    monkeypatch.setenv("WAREHOUSE__ACCESS__ANALYSTS_GROUP", "no-such-group-here")
    with pytest.raises(WarehouseError, match="'no-such-group-here' is not a group on this machine"):
        secure_home(paths)
