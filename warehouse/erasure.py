"""Erasure (the right to be forgotten): ``warehouse forget --customer ID``.

A customer's PII reaches the warehouse through one door, the shop's ``customers`` table, and
lives on in: the raw table and dlt's staging copy of it, the loaded load packages dlt keeps in
its working folder, the SCD2 snapshot (``email_hash``, ``city``), the staging views and marts
built from them (``email_hash``), the serving file, and the CRM flags pushed by reverse ETL.
:func:`forget` erases it from each, in this order:

1. the request goes into the audit table (``<home>/governance.duckdb``, ``erasure_requests``:
   who, when, what), which is also the **suppression list**: every later load of the shop
   source blanks the PII of a listed customer while it extracts (:func:`suppress`), so a
   replay, backfill or full refresh cannot bring it back, and reverse ETL skips the customer;
2. the PII columns of the raw tables are set to NULL ('' where the column is NOT NULL), and
   ``email_hash`` and ``city`` of every snapshot version;
3. dbt rebuilds everything downstream of ``stg_shop__customers`` (the marts lose the hash);
4. the warehouse file is rewritten (``COPY FROM DATABASE`` into a new file, moved over the old
   one): DuckDB reuses freed blocks but never wipes them, so an UPDATE alone leaves the old
   values in the file's bytes;
5. the serving file is published anew (a new file, never holding the old values), the CRM row
   is deleted, and dlt's loaded packages holding raw rows are removed (they are history only).

The audit row records what each step did; a request whose steps did not all finish stays
``requested`` and a rerun completes it. The lake (``warehouse ingest --destination lake``) is
erased too, with Delta's own operations (``warehouse/lake_erasure.py``): an UPDATE commit, then
a zero-retention VACUUM and a checkpoint, so neither an older data file nor the transaction
log's statistics keep the values; time travel of those tables before the erasure ends there.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import WarehouseError
from .paths import Paths, wal_of

log = logging.getLogger(__name__)

# The one home of "where a customer's PII is" in the warehouse: (schema, table) -> (key column,
# PII columns). Raw tables keep everything the shop sent; dlt's <dataset>_staging copy holds the
# last merge's rows. The snapshot keeps the pseudonymous hash and the city of every version.
RAW_PII: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("raw_shop", "customers"): (
        "id",
        ("first_name", "last_name", "email", "phone", "street_address", "city", "postal_code"),
    ),
    ("raw_shop_staging", "customers"): (
        "id",
        ("first_name", "last_name", "email", "phone", "street_address", "city", "postal_code"),
    ),
    ("snapshots", "snp_shop__customers"): ("customer_id", ("email_hash", "city")),
}
# The source resource the suppression list applies to, and its key.
SUPPRESSED_RESOURCE = ("customers", "id")
# dbt rebuilds these (and everything downstream) after the raw rows are erased.
REBUILD_SELECTION = "stg_shop__customers+"
AUDIT_TABLE = "erasure_requests"


class ErasureError(WarehouseError):
    """An erasure could not finish; the request stays recorded and a rerun completes it."""


@dataclass
class ErasureReport:
    """What one ``forget`` did, place by place (also stored, as JSON, in the audit row)."""

    customer_id: int
    requested_by: str
    requested_at: datetime
    erased: dict[str, Any] = field(default_factory=dict)
    not_erased: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{place}: {what}" for place, what in self.erased.items())


# --------------------------------------------------------------------------------------------
# The audit table and the suppression list


def erased_customers(paths: Paths) -> frozenset[int]:
    """Every customer id ever requested to be forgotten (the suppression list)."""
    import duckdb

    if not paths.governance.exists():
        return frozenset()
    with duckdb.connect(str(paths.governance), read_only=True) as conn:
        rows = conn.execute(f"select distinct customer_id from {AUDIT_TABLE}").fetchall()
    return frozenset(customer_id for (customer_id,) in rows)


def _record(paths: Paths, report: ErasureReport, status: str) -> None:
    import duckdb

    with duckdb.connect(str(paths.governance)) as conn:
        conn.execute(
            f"""
            create table if not exists {AUDIT_TABLE} (
                customer_id bigint not null,
                requested_by varchar not null,
                requested_at timestamptz not null,
                status varchar not null,
                completed_at timestamptz,
                erased json
            )
            """
        )
        conn.execute(
            f"delete from {AUDIT_TABLE} where customer_id = ? and requested_at = ?",
            [report.customer_id, report.requested_at],
        )
        conn.execute(
            f"insert into {AUDIT_TABLE} values (?, ?, ?, ?, ?, ?)",
            [
                report.customer_id,
                report.requested_by,
                report.requested_at,
                status,
                datetime.now(UTC) if status != "requested" else None,
                json.dumps({**report.erased, "not_erased": report.not_erased}),
            ],
        )


def suppress(resource: Any, erased: frozenset[int]) -> None:
    """Blank the PII of every erased customer in the rows ``resource`` extracts (Arrow tables
    or dicts), before they reach any file: NULL, or '' for a column the source declares NOT
    NULL."""
    if not erased:
        return
    key = SUPPRESSED_RESOURCE[1]
    columns = RAW_PII[("raw_shop", SUPPRESSED_RESOURCE[0])][1]

    def blank(item: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(item, dict):
            if item.get(key) in erased:
                return {**item, **{c: None for c in columns if c in item}}
            return item
        if not isinstance(item, pa.Table) or key not in item.column_names:
            return item
        mask = pc.is_in(item[key], value_set=pa.array(sorted(erased), item.schema.field(key).type))
        if not pc.any(mask).as_py():
            return item
        for name in columns:
            if name not in item.column_names:
                continue
            index = item.column_names.index(name)
            kind = item.schema.field(index)
            empty = pa.scalar(None if kind.nullable else "", type=kind.type)
            item = item.set_column(index, kind, pc.if_else(mask, empty, item[name]))
        return item

    resource.add_map(blank)


# --------------------------------------------------------------------------------------------
# forget


def forget(paths: Paths, customer_id: int, requested_by: str | None = None) -> ErasureReport:
    """Erase customer ``customer_id``'s PII from every place the home holds it (module doc)."""
    _refuse_pending_loads(paths)
    report = ErasureReport(customer_id, requested_by or getpass.getuser(), datetime.now(UTC))
    _record(paths, report, "requested")  # suppressed from now on, even if a step below fails
    if paths.duckdb.exists():
        report.erased["warehouse rows"] = _erase_warehouse(paths.duckdb, customer_id)
        _rebuild(paths)
        _compact(paths.duckdb)
        report.erased["warehouse file"] = "rewritten"
    if paths.serving.exists():
        from .serving import publish

        # A new file, never an update of a copy: a deleted row's bytes stay in a DuckDB file.
        publish(paths, full=True)
        report.erased["serving file"] = "republished"
    crm = _erase_crm(paths, customer_id)
    if crm is not None:
        report.erased["crm rows"] = crm
    report.erased["dlt load packages"] = _drop_loaded_packages(paths)
    from .lake_erasure import erase_lake

    lake = erase_lake(paths, customer_id, RAW_PII)
    if lake:
        report.erased["lake rows"] = lake
    elif any(_lake_files(paths)):
        report.not_erased["lake"] = (
            f"{paths.lake / 'raw_shop' / SUPPRESSED_RESOURCE[0]} holds files but is not a Delta "
            "table: delete the customer's rows from those files, or land the lake again"
        )
    _record(paths, report, "incomplete" if report.not_erased else "done")
    log.info("erasure of customer %s: %s", customer_id, report.summary())
    if report.not_erased:
        raise ErasureError(
            f"customer {customer_id} erased except: {'; '.join(report.not_erased.values())}"
            f" (done: {report.summary()})"
        )
    return report


def _refuse_pending_loads(paths: Paths) -> None:
    """A load package not yet loaded may hold the customer's raw rows and would land them
    after the erasure: load it first."""
    for folder in (paths.pipelines, paths.lake_pipelines):
        for pending in _packages(folder, ("normalize/extracted", "load/normalized", "load/new")):
            raise ErasureError(
                f"dlt has a load package in flight ({pending}): run `warehouse ingest` to "
                "finish it, then `warehouse forget` again"
            )


def _packages(folder: Path, stages: tuple[str, ...]) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for pipeline in sorted(folder.iterdir()):
        for stage in stages:
            stage_dir = pipeline / stage
            if stage_dir.is_dir():
                yield from sorted(entry for entry in stage_dir.iterdir() if entry.is_dir())


def _erase_warehouse(warehouse: Path, customer_id: int) -> dict[str, int]:
    """Blank the PII columns of every RAW_PII table for the customer; rows changed per table."""
    import duckdb

    changed: dict[str, int] = {}
    with duckdb.connect(str(warehouse)) as conn:
        present = {
            (schema, table): {name: nullable == "YES" for name, nullable in columns}
            for schema, table, columns in conn.execute(
                "select table_schema, table_name, list((column_name, is_nullable))"
                " from information_schema.columns group by all"
            ).fetchall()
        }
        for (schema, table), (key, pii) in RAW_PII.items():
            columns = present.get((schema, table))
            if columns is None:
                continue
            assignments = ", ".join(
                f'"{name}" = {"null" if columns[name] else chr(39) * 2}'
                for name in pii
                if name in columns
            )
            (rows,) = conn.execute(
                f'update "{schema}"."{table}" set {assignments} where "{key}" = ?', [customer_id]
            ).fetchone()
            changed[f"{schema}.{table}"] = rows
        conn.execute("checkpoint")
    return changed


def _rebuild(paths: Paths) -> None:
    """dbt build of everything downstream of the erased raw rows, in a process of its own: dbt
    keeps its DuckDB connection open in the process that ran it, and the rewrite that follows
    must be the only one holding the file."""
    from .writer_lock import inherited_env

    command = [sys.executable, "-m", "warehouse.cli", "--home", str(paths.home), "build"]
    # `forget` holds the writer lock: the build works under that hold, not waiting for it.
    result = subprocess.run(
        [*command, "--select", REBUILD_SELECTION], check=False, env=inherited_env()
    )
    if result.returncode != 0:
        raise ErasureError(
            "dbt could not rebuild the models downstream of the erased rows (its output is "
            "above); the raw rows are erased and the request is recorded: fix the build and "
            "run `warehouse forget` again"
        )


def _compact(database: Path) -> None:
    """Rewrite ``database`` into a new file and move it over the old one, so that no freed
    block keeps an erased value. The old file stays in place until the new one is complete."""
    import duckdb

    temporary = database.with_name(f".{database.name}.{os.getpid()}.compact")
    temporary.unlink(missing_ok=True)
    catalog = database.stem
    try:
        with duckdb.connect(str(database)) as conn:
            conn.execute("checkpoint")
            conn.execute(f"attach '{str(temporary).replace(chr(39), chr(39) * 2)}' as compacted")
            conn.execute(f'copy from database "{catalog}" to compacted')
            conn.execute("detach compacted")
        if wal_of(database).exists():
            raise ErasureError(f"{database} still has a write-ahead log: is a build running?")
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        shutil.copymode(database, temporary)
        os.replace(temporary, database)
    finally:
        temporary.unlink(missing_ok=True)
        wal_of(temporary).unlink(missing_ok=True)


def _erase_crm(paths: Paths, customer_id: int) -> int | None:
    """Delete the customer's row from the CRM table reverse ETL writes; None if never written."""
    if not paths.pipelines.is_dir() or not any(paths.pipelines.glob("reverse_etl_*")):
        return None
    import psycopg
    from psycopg import sql

    from .reverse_etl import _crm_dsn, _setting

    schema, table = str(_setting("schema", "crm")), str(_setting("table", "customer_flags"))
    with psycopg.connect(_crm_dsn(paths)) as conn:
        (exists,) = conn.execute(
            "select to_regclass(%s) is not null", [f"{schema}.{table}"]
        ).fetchone()
        if not exists:
            return None
        deleted = conn.execute(
            sql.SQL("delete from {} where customer_id = %s").format(sql.Identifier(schema, table)),
            [customer_id],
        ).rowcount
    return deleted


def _drop_loaded_packages(paths: Paths) -> int:
    """Remove dlt's loaded load packages (copies of raw rows kept as history, never read again)."""
    removed = 0
    for folder in (paths.pipelines, paths.lake_pipelines):
        for package in _packages(folder, ("load/loaded",)):
            shutil.rmtree(package)
            removed += 1
    return removed


def _lake_files(paths: Paths) -> Iterator[Path]:
    root = paths.lake / "raw_shop" / SUPPRESSED_RESOURCE[0]
    if root.is_dir():
        yield from (entry for entry in root.rglob("*") if entry.is_file())
