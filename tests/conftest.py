"""Shared fixtures: one real embedded PostgreSQL for the session, a fresh database per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from demo.postgres import embedded_dsn, stop_embedded
from warehouse.paths import Paths

from .helpers import CHROMIUM, CHROMIUM_ARGS, shareable_home

# Small enough for a 2-core machine, large enough that every kind of mess occurs.
TEST_SCALE = 0.02


def _world_readable_tempdir(prefix: str) -> Path:
    # As root, pgserver runs PostgreSQL as its own user, which must be able to enter the folder.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str, Path]]:
    """A real PostgreSQL 16 (pgserver), started once for the test session."""
    data_dir = _world_readable_tempdir("warehouse-pg-") / "data"
    dsn = embedded_dsn(data_dir)
    yield dsn, data_dir
    stop_embedded(data_dir)


@contextmanager
def _new_database(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the server, dropped on exit."""
    name = f"shop_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    yield server_dsn.replace("/postgres?", f"/{name}?")
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        # A database with a replication slot (the shop's CDC mode) cannot be dropped.
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots"
            " where database = %s",
            (name,),
        )
        conn.execute(f"drop database {name} with (force)")


@pytest.fixture
def shop_dsn(postgres_server: tuple[str, Path]) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    with _new_database(postgres_server[0]) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def generated_world_dsn(
    postgres_server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database holding the whole generated demo world at TEST_SCALE (seed 42), shared by
    one module's tests: they may read it, never change it."""
    from demo import world

    with _new_database(postgres_server[0]) as dsn:
        world.generate(dsn, tmp_path_factory.mktemp("world"), scale=TEST_SCALE, seed=42)
        yield dsn


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """A warehouse home of its own for each test."""
    return Paths(tmp_path / "warehouse").ensure()


@pytest.fixture(autouse=True)
def _no_configured_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their shop database explicitly; a developer's env must not leak in."""
    for name in list(os.environ):
        if name.startswith("SOURCES__SHOP__"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def built_demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A warehouse home holding a complete `warehouse demo` build at TEST_SCALE (published
    serving file included), shared by the serving and reverse ETL suites. A test that changes
    it must leave it as complete as it found it."""
    import subprocess
    import sys

    home = shareable_home(tmp_path_factory, "built-demo")
    command = [sys.executable, "-m", "warehouse.cli", "--home", str(home)]
    result = subprocess.run(
        [*command, "demo", "--scale", str(TEST_SCALE)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield home
    subprocess.run([*command, "demo", "stop"], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: `make test` installs it (apt)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``changes_demo_home`` run last (in their order): every other test then sees
    the shared demo home as the fixture built it, whatever order the files are collected in."""
    items.sort(key=lambda item: item.get_closest_marker("changes_demo_home") is not None)
