"""What the chaos cases share: warehouse homes, the CLI, killing a run, and the checks.

Every trial runs the real ``warehouse`` command in its own process against a real home (its
embedded PostgreSQL, DuckDB files, dlt working folder, clickstream logs). Homes are built once
and copied per trial with ``cp -a`` (PostgreSQL stopped first), which is much cheaper than
generating and building the demo again.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from demo.postgres import stop_embedded
from warehouse.dbt import comparable_rows, mart_relations
from warehouse.paths import PROJECT_DIR, Paths

# The test suite's scale (tests/conftest.py): every kind of mess occurs, and a run is short.
SCALE = 0.02
SOURCES = ("shop", "payments", "marketing", "reviews", "clickstream")
# Raw tables and their keys: a key twice is a double-loaded row (merge tables are keyed by the
# source's primary key; the clickstream's appends by file and line).
RAW_KEYS = {
    "raw_shop.customers": "id",
    "raw_shop.products": "id",
    "raw_shop.orders": "id",
    "raw_shop.order_items": "id",
    "raw_shop.shipments": "id",
    "raw_shop.hard_deletes": "table_name, id",
    "raw_payments.charges": "id",
    "raw_payments.refunds": "id",
    "raw_marketing.campaigns": "id",
    "raw_marketing.ad_spend": "campaign_id, date",
    "raw_reviews.reviews": "id",
    "raw_clickstream.events": "_file_name, _line_number",
    "raw_clickstream.quarantine": "file_name, line_number",
    "raw_clickstream.files": "file_name",
}

Checksums = dict[str, tuple[int, int]]


@dataclass
class Trial:
    """One row of the table: a fault injected and what became of the warehouse."""

    case: str
    fault: str
    outcome: str = ""
    problems: list[str] = field(default_factory=list)
    faults: int = 1  # faults injected (kills, failed requests, hostile lines, ...)
    seconds: float = 0.0
    number: int = 0  # its row in the table

    @property
    def ok(self) -> bool:
        return not self.problems

    def check(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition


# --------------------------------------------------------------------------------------------
# Homes


def new_home(name: str) -> Path:
    """An empty home under /tmp that PostgreSQL's own user can enter (pgserver, as root)."""
    home = Path(tempfile.mkdtemp(prefix=f"rel-{name}-", dir="/tmp"))
    home.chmod(0o755)
    return home


def copy_home(source: Path, name: str) -> Path:
    """A copy of a home whose PostgreSQL is stopped; ``cp -a`` keeps the data's owner."""
    home = new_home(name)
    subprocess.run(["cp", "-a", f"{source}/.", str(home)], check=True)
    return home


def start_postgres(home: Path) -> str:
    """Start the home's PostgreSQL from the harness, so killing a run never kills it.

    In a short-lived process of its own: pgserver remembers the servers a process started and
    would hand back a stopped one as running.
    """
    data = home / "postgres"
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pathlib, demo.postgres as pg; pg.embedded_dsn(pathlib.Path(sys.argv[1]))",
            str(data),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL in {data} did not start: {started.stderr[-2000:]}")
    return demo_dsn(home)


def stop_postgres(home: Path) -> None:
    stop_embedded(home / "postgres")


def remove_home(home: Path) -> None:
    stop_postgres(home)
    shutil.rmtree(home, ignore_errors=True)


def demo_dsn(home: Path, password: str = "") -> str:
    """The DSN of a home's embedded PostgreSQL, with a password if given (it trusts local
    connections, so any password is accepted: what matters is where it ends up)."""
    return f"postgresql://postgres:{password}@/postgres?host={home / 'postgres'}"


# --------------------------------------------------------------------------------------------
# The command


def warehouse(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """Run ``warehouse --home HOME ARGS`` as a user does, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "warehouse.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env=clean_env(env),
        timeout=timeout,
    )


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without a developer's source settings, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SOURCES__", "DEMO__", "RUNTIME__", "WAREHOUSE_"))
    }
    return {**env, **(extra or {})}


def output(result: subprocess.CompletedProcess) -> str:
    return (result.stdout or "") + (result.stderr or "")


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines the command wrote to stderr, warnings of the libraries aside."""
    return [
        line
        for line in (result.stderr or "").splitlines()
        if line.strip()
        and "XDG_RUNTIME_DIR" not in line
        and "user_runtime_dir" not in line
        and " WARNING " not in line
    ]


# Where in `warehouse run` a kill lands: a step of the CLI, or a dlt stage of one source
# (seen in its working folder: extracted packages wait in normalize/extracted, normalized ones
# in load/normalized until loaded).
PHASES = ("extract", "normalize", "load", "dbt build", "publish")


@dataclass
class Kill:
    killed: bool
    at: str  # the phase the run was in when killed
    after: float  # seconds into the run


def run_and_kill(home: Path, phase: str, source: str, delay: float, env=None) -> Kill:
    """Start ``warehouse run`` and SIGKILL its whole process group ``delay`` seconds after
    ``phase`` starts (for extract, normalize and load: of ``source``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "--home", str(home), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=PROJECT_DIR,
        env=clean_env(env),
        start_new_session=True,
    )
    steps: list[str] = []

    def read() -> None:
        for line in process.stdout:
            if line.startswith("==> "):
                steps.append(line[4:].strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    pipeline = home / "dlt" / source
    started, run_started = time.monotonic(), time.time()
    kill_at = None
    while process.poll() is None:
        now = time.monotonic()
        if kill_at is None and _phase_started(phase, source, steps, pipeline):
            kill_at = now + delay
        if kill_at is not None and now >= kill_at:
            at = _phase_now(home, steps, run_started)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            reader.join(timeout=10)
            return Kill(True, at, now - started)
        time.sleep(0.005)
    reader.join(timeout=10)
    return Kill(False, "finished", time.monotonic() - started)


def _phase_started(phase: str, source: str, steps: list[str], pipeline: Path) -> bool:
    if phase == "extract":
        return f"ingest {source}" in steps
    if phase == "normalize":
        return _has_package(pipeline / "normalize" / "extracted")
    if phase == "load":
        return _has_package(pipeline / "load" / "normalized")
    return phase in steps


def _phase_now(home: Path, steps: list[str], started: float) -> str:
    step = steps[-1] if steps else "start"
    if step.startswith("ingest "):
        pipeline = home / "dlt" / step.split()[1]
        if _has_package(pipeline / "load" / "normalized"):
            return f"{step}: load"
        if _has_package(pipeline / "normalize" / "extracted"):
            return f"{step}: normalize"
        if _has_package(pipeline / "load" / "loaded", since=started):
            return f"{step}: after load"
        return f"{step}: extract"
    return step


def _has_package(folder: Path, since: float = 0.0) -> bool:
    """A load package in ``folder`` (named by its load id, a unix time), created after
    ``since``."""
    try:
        return any(
            entry.is_dir() and float(entry.name) >= since
            for entry in folder.iterdir()
            if entry.name.replace(".", "", 1).isdigit()
        )
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------------------------
# What a warehouse holds


def mart_checksums(home: Path) -> Checksums:
    """Row count and an order-independent checksum (sum of row hashes) of every mart."""
    relations = [f'"{schema}"."{table}"' for schema, table in mart_relations(Paths(home))]
    return table_checksums(home / "warehouse.duckdb", relations)


def serving_checksums(home: Path) -> Checksums:
    """The same for every table of the published serving file (it must open: complete)."""
    serving = home / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE'"
        ).fetchall()
    return table_checksums(serving, [f'"{schema}"."{table}"' for schema, table in tables])


def table_checksums(database: Path, tables: Iterable[str]) -> Checksums:
    """Row count and sum of row hashes per table, without the load-time columns (they say
    when a row was loaded, which differs between a rerun and the clean run by design)."""
    with duckdb.connect(str(database), read_only=True) as conn:
        return {
            table.replace('"', ""): tuple(
                conn.execute(
                    f"select count(*), sum(hash(t)) from ({comparable_rows(conn, table)}) as t"
                ).fetchone()
            )
            for table in tables
        }


def raw_counts(home: Path) -> dict[str, tuple[int, int]]:
    """Rows and distinct keys of every raw table (equal unless a row was loaded twice)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {
            table: tuple(
                conn.execute(f"select count(*), count(distinct ({key})) from {table}").fetchone()
            )
            for table, key in RAW_KEYS.items()
        }


def clickstream_lines(home: Path) -> tuple[int, int, int]:
    """Lines read (per the files table), events loaded, lines quarantined: the whole table."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(
            """
            select
                (select coalesce(sum(lines_read), 0) from raw_clickstream.files),
                (select count(*) from raw_clickstream.events),
                (select count(*) from raw_clickstream.quarantine)
            """
        ).fetchone()


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def leftovers(home: Path) -> list[str]:
    """Temporary files a publish left behind."""
    return sorted(path.name for path in home.glob(".serving.duckdb.*"))


def differences(expected: Checksums, actual: Checksums, limit: int = 3) -> str:
    wrong = sorted(
        table
        for table in expected.keys() | actual.keys()
        if expected.get(table) != actual.get(table)
    )
    described = [
        f"{table} {expected.get(table, ('-',))[0]} -> {actual.get(table, ('-',))[0]} rows"
        for table in wrong[:limit]
    ]
    return ", ".join(described) + (" ..." if len(wrong) > limit else "")


# --------------------------------------------------------------------------------------------
# Secrets


def secret_hits(home: Path, secrets: Sequence[str], texts: Iterable[str] = ()) -> list[str]:
    """Where any of ``secrets`` appears: in the given texts (command output), in any file of
    the home the warehouse wrote (dlt's state, traces, schemas and load packages, dbt's logs
    and artifacts, the DuckDB files), and in any text value of the warehouse and serving
    databases (DuckDB compresses strings on disk, so the files' bytes are not enough), dlt's
    compressed pipeline state included. The home's PostgreSQL and log folders are the sources
    themselves and are not searched."""
    needles = [secret.encode() for secret in secrets]
    hits = [
        f"command output #{number}"
        for number, text in enumerate(texts, start=1)
        if any(secret in text for secret in secrets)
    ]
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home)
        if not path.is_file() or relative.parts[0] in ("postgres", "clickstream"):
            continue
        if any(needle in _file_bytes(path) for needle in needles):
            hits.append(str(relative))
    for database in ("warehouse.duckdb", "serving.duckdb"):
        if (home / database).exists():
            hits += [f"{database}: {where}" for where in _database_hits(home / database, secrets)]
    return hits


def _file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # dlt gzips its load package files
        try:
            return data + gzip.decompress(data)
        except (OSError, EOFError):
            return data
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return data + str(pq.read_table(path).to_pylist()).encode()
    return data


def _database_hits(database: Path, secrets: Sequence[str]) -> list[str]:
    from dlt.pipeline.state_sync import decompress_state

    hits = []
    with duckdb.connect(str(database), read_only=True) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            for secret in secrets:
                (found,) = conn.execute(
                    f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)',
                    [secret],
                ).fetchone()
                if found:
                    hits.append(f"{schema}.{table}.{column}")
        states = conn.execute(
            "select table_schema from information_schema.tables"
            " where table_name = '_dlt_pipeline_state'"
        ).fetchall()
        for (schema,) in states:
            rows = conn.execute(f'select state from "{schema}"._dlt_pipeline_state').fetchall()
            for (state,) in rows:
                text = str(decompress_state(state))
                if any(secret in text for secret in secrets):
                    hits.append(f"{schema}._dlt_pipeline_state (decompressed)")
    return hits
