"""Read the Delta lake: which files make up each table at a version, for DuckDB and Spark.

The lake (``warehouse ingest --destination lake``) holds one Delta table per source table,
``<lake>/raw_<source>/<table>/``. A table's state is its transaction log (``_delta_log/``):
each commit is a version listing the parquet files that make it up. Neither engine here can
read that log itself (DuckDB's delta extension is downloaded on first use, Delta's Spark jars
are not on PyPI), so ``deltalake`` reads it and hands them a *snapshot*: for each table, the
exact data files of one version. DuckDB reads them with ``read_parquet([...])``, Spark as a
parquet table over those files (``macros/lake/register_lake_sources.sql``); the files of other
versions in the same folder are never read.

A snapshot is the current version of every table, or the lake as of a past moment: each table
at the last version committed at or before it (time travel), a table pinned at a version.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from .errors import WarehouseError
from .paths import Paths
from .sources import lake_url

log = logging.getLogger(__name__)

# dlt's load log, one JSON line per load, beside each dataset's tables (source freshness).
LOADS_TABLE = "_dlt_loads"


class LakeError(WarehouseError):
    """The lake cannot give what was asked (no lake yet, an unknown table or version)."""


@dataclass(frozen=True)
class TableSnapshot:
    """One Delta table at one version: the files to read, and its columns (for an empty
    version, which has no file to take them from)."""

    schema: str
    table: str
    uri: str
    version: int | None  # None: the table did not exist yet at that moment
    files: list[str]
    columns: list[dict[str, str]] = field(default_factory=list)


def table_uris(paths: Paths) -> dict[str, str]:
    """``{"raw_<source>.<table>": uri}`` of every Delta table in the lake, sorted."""
    from fsspec.core import url_to_fs

    root = lake_url(paths).rstrip("/")
    fs, base = url_to_fs(root)
    found = {}
    for log_dir in fs.glob(f"{base.rstrip('/')}/raw_*/*/_delta_log"):
        table_dir = log_dir.rsplit("/", 1)[0]
        schema, table = table_dir.rsplit("/", 2)[-2:]
        found[f"{schema}.{table}"] = f"{root}/{schema}/{table}"
    if not found:
        raise LakeError(
            f"no Delta tables under {root}: land the sources first "
            "(`warehouse ingest --destination lake`)"
        )
    return dict(sorted(found.items()))


def snapshot(
    paths: Paths, as_of: datetime | None = None, versions: dict[str, int] | None = None
) -> list[TableSnapshot]:
    """Every lake table at its current version, or at the last version committed at or
    before ``as_of``; ``versions`` pins tables (``raw_shop.orders``) at a version."""
    from deltalake import DeltaTable

    uris = table_uris(paths)
    unknown = sorted(set(versions or {}) - set(uris))
    if unknown:
        raise LakeError(
            f"no lake table {', '.join(unknown)}: name tables as raw_<source>.<table>, "
            f"one of {', '.join(uris)}"
        )
    snapshots = []
    for name, uri in uris.items():
        schema, table = name.split(".")
        delta = DeltaTable(uri)
        columns = _columns(delta.to_pyarrow_dataset().schema)
        pinned = (versions or {}).get(name)
        if pinned is not None:
            if not 0 <= pinned <= delta.version():
                raise LakeError(
                    f"{name} has versions 0 to {delta.version()}, not {pinned} "
                    "(`warehouse lake history` lists them)"
                )
            delta.load_as_version(pinned)
        elif as_of is not None:
            version = _version_at(delta, as_of)
            if version is None:  # created after that moment: it was empty then
                snapshots.append(TableSnapshot(schema, table, uri, None, [], columns))
                continue
            delta.load_as_version(version)
        snapshots.append(
            TableSnapshot(schema, table, uri, delta.version(), delta.file_uris(), columns)
        )
    return snapshots


def _version_at(delta, as_of: datetime) -> int | None:
    """The last version of ``delta`` committed at or before ``as_of``, None if none was."""
    moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    millis = int(moment.timestamp() * 1000)
    history = delta.history()
    committed = [entry["version"] for entry in history if int(entry["timestamp"]) <= millis]
    if committed:
        return max(committed)
    first = min(history, key=lambda entry: entry["version"], default=None)
    if first is not None and first["version"] > 0:
        # The log before `first` was deleted (an erasure, or Delta's log retention): the table
        # existed then, but which files made it up is no longer known.
        since = datetime.fromtimestamp(int(first["timestamp"]) / 1000, UTC).isoformat()
        raise LakeError(
            f"{delta.table_uri} has no history before version {first['version']} ({since}): "
            "its log before that was deleted (a customer erasure, or Delta's log retention); "
            "choose a moment after it"
        )
    return None


def write_snapshot(paths: Paths, snapshots: list[TableSnapshot], label: str) -> Path:
    """Write ``snapshots`` as JSON lines for ``register_lake_sources`` (both engines read
    JSON): one line per table, then one per dataset's load log. Returns the file."""
    folder = paths.lake_snapshots
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{label}.jsonl"
    root = lake_url(paths).rstrip("/")
    lines = [asdict(item) | {"kind": "delta"} for item in snapshots]
    for schema in sorted({item.schema for item in snapshots}):
        lines.append(
            {
                "kind": "loads",
                "schema": schema,
                "table": LOADS_TABLE,
                "uri": f"{root}/{schema}/{LOADS_TABLE}",
                "version": None,
                "files": [],
                "columns": [],
            }
        )
    temporary = target.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(line) + "\n" for line in lines))
    temporary.replace(target)
    return target


def history(paths: Paths) -> list[dict[str, object]]:
    """Every commit of every lake table: table, version, UTC time, operation, rows written."""
    from deltalake import DeltaTable

    rows = []
    for name, uri in table_uris(paths).items():
        for entry in DeltaTable(uri).history():
            metrics = entry.get("operationMetrics") or {}
            rows.append(
                {
                    "table": name,
                    "version": int(entry["version"]),
                    "committed_at": datetime.fromtimestamp(int(entry["timestamp"]) / 1000, UTC),
                    "operation": entry.get("operation", ""),
                    "rows": metrics.get("num_target_rows_inserted")
                    or metrics.get("num_added_rows")
                    or metrics.get("num_output_rows")
                    or 0,
                }
            )
    return sorted(rows, key=lambda row: (row["table"], row["version"]))


# Arrow types as each engine spells them, for the columns of an empty table version.
def _sql_types(arrow_type: pa.DataType) -> tuple[str, str]:
    if pa.types.is_boolean(arrow_type):
        return "boolean", "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint", "bigint"
    if pa.types.is_floating(arrow_type):
        return "double", "double"
    if pa.types.is_decimal(arrow_type):
        spelled = f"decimal({arrow_type.precision}, {arrow_type.scale})"
        return spelled, spelled
    if pa.types.is_timestamp(arrow_type):
        return ("timestamptz", "timestamp") if arrow_type.tz else ("timestamp", "timestamp_ntz")
    if pa.types.is_date(arrow_type):
        return "date", "date"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "blob", "binary"
    return "varchar", "string"


def _columns(arrow_schema: pa.Schema) -> list[dict[str, str]]:
    columns = []
    for item in arrow_schema:
        duckdb_type, spark_type = _sql_types(item.type)
        columns.append({"name": item.name, "duckdb": duckdb_type, "spark": spark_type})
    return columns


def current_snapshot(paths: Paths) -> Path:
    """Write the snapshot of every lake table's current version; its file."""
    return write_snapshot(paths, snapshot(paths), "current")


@dataclass(frozen=True)
class LakeBuild:
    """A DuckDB warehouse built by dbt from one lake snapshot."""

    home: Path  # the build's own warehouse home (its warehouse.duckdb, target/, logs/)
    snapshot: Path
    tables: list[TableSnapshot]

    @property
    def duckdb(self) -> Path:
        return Paths(self.home).duckdb


def build(
    paths: Paths,
    as_of: datetime | None = None,
    versions: dict[str, int] | None = None,
    name: str | None = None,
    select: str | None = None,
) -> LakeBuild:
    """Build the dbt project on DuckDB from the lake, as it is now or as of a past moment.

    The build has a home of its own, ``<home>/lake-builds/<name>/``: its warehouse file is
    rebuilt from nothing each time (so incremental models and snapshots start from the
    snapshot's data, not from a different day's tables), and the home's own warehouse, built
    from the raw schemas, is never touched. ``name`` defaults to ``current`` or
    ``as-of-<UTC time>``; ``select`` is a dbt selection (e.g. ``+fct_orders``), default all.
    """
    from .dbt import dbt

    tables = snapshot(paths, as_of, versions)
    name = name or _build_name(as_of, versions)
    build_paths = Paths(paths.lake_builds / name).ensure()
    build_paths.duckdb.unlink(missing_ok=True)
    snapshot_file = write_snapshot(paths, tables, name)
    previous = {key: os.environ.get(key) for key in ("WAREHOUSE_LAKE_SNAPSHOT", "DBT_TARGET")}
    os.environ["WAREHOUSE_LAKE_SNAPSHOT"] = str(snapshot_file)
    os.environ["DBT_TARGET"] = "dev"  # the DuckDB target, whatever the caller's is
    try:
        # Only the tests whose every parent is selected: the others would read marts the
        # selection does not build.
        selection = ["--select", select, "--indirect-selection", "cautious"] if select else []
        dbt(build_paths, "build", *selection)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    log.info("lake build %s: %d tables from %s", name, len(tables), snapshot_file)
    return LakeBuild(build_paths.home, snapshot_file, tables)


def _build_name(as_of: datetime | None, versions: dict[str, int] | None) -> str:
    parts = []
    if as_of is not None:
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        parts.append("as-of-" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ"))
    for table, version in sorted((versions or {}).items()):
        parts.append(f"{table}@{version}")
    return "_".join(parts) or "current"


def differing_marts(
    left: Path, right: Path, relations: list[tuple[str, str]]
) -> dict[str, tuple[int, int]]:
    """The marts whose rows differ between two DuckDB warehouse files (e.g. one built from the
    raw schemas, one from the lake): ``{"schema.table": (rows only in left, only in right)}``,
    compared as multisets of whole rows; empty when every mart is the same. The load-time
    columns (``load_time_columns``) are left out: they say when each side loaded its data."""
    import duckdb

    from .dbt import comparable_rows

    differing = {}
    with duckdb.connect() as conn:
        conn.execute(f"attach '{left}' as lhs (read_only)")
        conn.execute(f"attach '{right}' as rhs (read_only)")
        for schema, table in relations:
            name = f'"{schema}"."{table}"'
            lhs, rhs = comparable_rows(conn, f"lhs.{name}"), comparable_rows(conn, f"rhs.{name}")
            (only_left,) = conn.execute(f"select count(*) from ({lhs} except all {rhs})").fetchone()
            (only_right,) = conn.execute(
                f"select count(*) from ({rhs} except all {lhs})"
            ).fetchone()
            if only_left or only_right:
                differing[f"{schema}.{table}"] = (only_left, only_right)
    return differing
