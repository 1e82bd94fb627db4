"""Run dbt in-process against the warehouse, and read what it built."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import WarehouseError
from .paths import PROJECT_DIR, Paths

if TYPE_CHECKING:
    import duckdb


# The code fingerprint of the project dbt last parsed in full into a target folder. dbt 1.11
# reuses its last parse (``partial_parse.msgpack``) and re-parses only the files that changed,
# but that loses the snapshots defined in YAML when a macro or a schema file changes (an open
# dbt-core bug): every later command then fails on "depends on a node named 'snp_shop__customers'
# which was not found" until the file is deleted. So a changed project is parsed in full once,
# and an unchanged one (every daily run) still reuses the parse.
PARSED_CODE_FILE = "parsed-code.sha256"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


class BuildError(WarehouseError):
    """dbt reported failed models or tests."""


@dataclass(frozen=True)
class BuildReport:
    """The outcome of one dbt invocation."""

    command: str
    seconds: float
    statuses: dict[str, int]


def dbt(paths: Paths, *args: str) -> BuildReport:
    """Run ``dbt <args>`` on the project with the warehouse at ``paths``; raise on failure.

    dbt prints its own per-model progress (status, rows, seconds) as it goes.
    """
    from dbt.cli.main import dbtRunner

    from .test_scope import code_fingerprint

    dbt_environment(paths)
    started = time.perf_counter()
    code, parsed = code_fingerprint(), paths.dbt_target / PARSED_CODE_FILE
    reparse, invoked_at = _read(parsed) != code, time.time()
    result = dbtRunner().invoke(
        [
            *args,
            *("--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)),
            *("--target-path", str(paths.dbt_target), "--log-path", str(paths.dbt_logs)),
            *(["--no-partial-parse"] if reparse else []),
        ]
    )
    saved = paths.dbt_target / "partial_parse.msgpack"
    if reparse and saved.exists() and saved.stat().st_mtime >= invoked_at:
        parsed.write_text(code)  # dbt saved the full parse of this code
    statuses: dict[str, int] = {}
    for node in getattr(result.result, "results", None) or []:
        status = str(node.status)
        statuses[status] = statuses.get(status, 0) + 1
    report = BuildReport(" ".join(args), time.perf_counter() - started, statuses)
    if not result.success:
        detail = f": {result.exception}" if result.exception else ""
        raise BuildError(
            f"dbt {report.command} failed ({_describe(statuses)}){detail}. The failing models "
            "and tests are listed above; the previous warehouse tables are unchanged where dbt "
            "did not get to replace them."
        )
    return report


def dbt_environment(paths: Paths) -> None:
    """Point profiles.yml at the warehouse of ``paths`` (environment variables it reads).

    Every dbt invocation goes through this, in-process (:func:`dbt`) or as a subprocess (the
    orchestrator's dbt assets inherit the environment), so both build the same warehouse.
    """
    os.environ["WAREHOUSE_DUCKDB_PATH"] = str(paths.duckdb)
    # Read by the `spark` target only (profiles.yml): the local Spark's folder in this home.
    os.environ["WAREHOUSE_SPARK_DIR"] = str(paths.spark)
    if os.environ.get("DBT_TARGET") == "spark":
        # Spark reads the Delta lake's current version: the files deltalake lists for it.
        from .lake import current_snapshot

        os.environ["WAREHOUSE_LAKE_SNAPSHOT"] = str(current_snapshot(paths))
    os.environ.setdefault("SPARK_CONF_DIR", str(PROJECT_DIR / ".spark"))  # its log settings
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR))


def mart_relations(paths: Paths) -> list[tuple[str, str]]:
    """``(schema, table)`` of every mart model in the home's last compiled manifest, sorted."""
    manifest = json.loads((paths.dbt_target / "manifest.json").read_text())
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
    )


def load_time_columns() -> frozenset[str]:
    """The columns of the models that say when their rows were loaded (dbt var
    ``test_scope_columns`` in dbt_project.yml): they differ between two loads of the same
    data, so comparisons of builds made at different moments leave them out."""
    import yaml

    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return frozenset(project.get("vars", {}).get("test_scope_columns", []))


def comparable_rows(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """SQL selecting every row of ``table`` (as quoted and qualified in ``conn``) without its
    load-time columns (``load_time_columns``): the rows two builds made at different moments
    must agree on. The one home of that rule for checksums and row comparisons."""
    skipped = load_time_columns()
    columns = [row[0] for row in conn.execute(f"describe {table}").fetchall()]
    excluded = ", ".join(f'"{column}"' for column in columns if column in skipped)
    return f"select * exclude ({excluded}) from {table}" if excluded else f"select * from {table}"


def _describe(statuses: dict[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "none"
