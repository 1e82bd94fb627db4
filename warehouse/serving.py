"""Publish the serving file: the marts and one view per saved query, for BI tools.

BI tools never open the warehouse itself: a build holds DuckDB's writer lock on it for minutes,
and it holds raw data and staging that analysts must not see. They open ``serving.duckdb``
instead, a separate file holding only the mart tables (copied) and, for every MetricFlow saved
query, a plain view ``metrics.<saved_query>`` over them.

Publishing is atomic: the new file is written under a temporary name in the same folder and
moved over the old one with ``os.replace``. A reader sees the old file or the new one, never a
half-written one; a read-only connection already open keeps reading the old file (on Linux a
replaced file stays readable by open handles) and never waits for a lock, because the writer
never opens the published file. A failed build or publish leaves the previous file in place.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .access import secure_serving
from .errors import WarehouseError
from .paths import Paths

log = logging.getLogger(__name__)

# The schema of the saved-query views in the serving file.
METRICS_SCHEMA = "metrics"


class PublishError(WarehouseError):
    """The serving file could not be built; the previous one (if any) is unchanged."""


@dataclass(frozen=True)
class PublishReport:
    """What one publish wrote: the tables (with row counts), the views and the file's size."""

    path: Path
    tables: dict[str, int]
    views: list[str]
    size_bytes: int
    seconds: float


def publish(
    paths: Paths,
    relations: list[tuple[str, str]] | None = None,
    semantic_manifest: Path | None = None,
) -> PublishReport:
    """Build ``<home>/serving.duckdb`` from the warehouse's marts and saved queries, atomically.

    ``relations`` defaults to every mart in the last compiled dbt manifest and
    ``semantic_manifest`` to the home's dbt ``target/semantic_manifest.json`` (a missing file or one
    without saved queries publishes the marts only). Raises PublishError, leaving the previous
    serving file untouched, if the warehouse lacks a mart or a saved query does not compile.
    """
    from .dbt import mart_relations

    started = time.perf_counter()
    relations = mart_relations(paths) if relations is None else relations
    if not relations:
        raise PublishError("no marts in target/manifest.json: run `warehouse build` first")
    if not paths.duckdb.exists():
        raise PublishError(f"no warehouse at {paths.duckdb}: run `warehouse run` first")
    saved_queries = compile_saved_queries(
        semantic_manifest or paths.dbt_target / "semantic_manifest.json"
    )
    _remove_abandoned(paths.serving)
    # Same folder as the target, so os.replace is a rename on one file system (atomic). The
    # writer's process id is in the name, so a later publish can tell an abandoned file.
    temporary = paths.serving.with_name(
        f".{paths.serving.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp"
    )
    try:
        tables = _copy_marts(paths.duckdb, temporary, relations)
        _create_views(temporary, saved_queries)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        secure_serving(temporary)  # its tier's mode before anyone can open it by name
        os.replace(temporary, paths.serving)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
    report = PublishReport(
        path=paths.serving,
        tables=tables,
        views=[f"{METRICS_SCHEMA}.{name}" for name in saved_queries],
        size_bytes=paths.serving.stat().st_size,
        seconds=time.perf_counter() - started,
    )
    log.info("published %s: %d tables, %d views", report.path, len(tables), len(report.views))
    return report


def _remove_abandoned(serving: Path) -> None:
    """Delete temporary files a killed publish left (its process is gone); one still being
    written by a live process stays."""
    for leftover in serving.parent.glob(f".{serving.name}.*-*.tmp*"):
        pid = leftover.name[len(serving.name) + 2 :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        log.info("removing %s, left by a publish that did not finish", leftover)
        leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def compile_saved_queries(semantic_manifest: Path) -> dict[str, str]:
    """``{saved query name: SQL}`` for every saved query in ``semantic_manifest``, compiled by
    MetricFlow for DuckDB.

    Table references are made ``schema.table`` (no database name): the serving file holds the
    marts under the same schema and table names as the warehouse, but its catalog is named after
    its own file.
    """
    loaded = semantic_engine(semantic_manifest)
    if loaded is None:
        return {}
    engine, manifest = loaded
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    compiled: dict[str, str] = {}
    for saved_query in sorted(manifest.saved_queries, key=lambda query: query.name):
        try:
            request = MetricFlowQueryRequest.create(saved_query_name=saved_query.name)
            compiled[saved_query.name] = engine.explain(request).sql_statement.sql
        except Exception as exc:
            raise PublishError(
                f"saved query {saved_query.name!r} does not compile with MetricFlow: {exc}"
            ) from exc
    return compiled


def semantic_engine(semantic_manifest: Path) -> tuple[Any, Any] | None:
    """MetricFlow's engine (compile only) and the parsed manifest for ``semantic_manifest``,
    with table references made ``schema.table`` so the SQL runs on the serving file too; None
    when the file is missing or holds no saved queries."""
    if not semantic_manifest.exists():
        return None
    document = json.loads(semantic_manifest.read_text())
    if not document.get("saved_queries"):
        return None
    for model in document.get("semantic_models", []):
        relation = model["node_relation"]
        relation["database"] = None
        relation["relation_name"] = f'"{relation["schema_name"]}"."{relation["alias"]}"'

    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    # The parser `mf` itself uses: it applies the transformations dbt's JSON still needs.
    manifest = parse_manifest_from_dbt_generated_manifest(json.dumps(document))
    return MetricFlowEngine(SemanticManifestLookup(manifest), _ExplainOnlyDuckDbClient()), manifest


def _copy_marts(warehouse: Path, target: Path, relations: list[tuple[str, str]]) -> dict[str, int]:
    """Copy every mart table from the warehouse into a new DuckDB file; return row counts."""
    import duckdb

    tables: dict[str, int] = {}
    # Not read-only: after `warehouse run`, dbt's in-process connection to the same file may still
    # be open, and DuckDB allows a second connection in one process only with the same settings.
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"attach '{_quoted(target)}' as serving_build")
        try:
            for schema in sorted({schema for schema, _ in relations}):
                conn.execute(f'create schema serving_build."{schema}"')
            for schema, table in relations:
                name = f'"{schema}"."{table}"'
                try:
                    conn.execute(f"create table serving_build.{name} as select * from {name}")
                except duckdb.CatalogException as exc:
                    raise PublishError(
                        f"mart {schema}.{table} is missing from the warehouse: run "
                        "`warehouse build` first"
                    ) from exc
                (rows,) = conn.execute(f"select count(*) from serving_build.{name}").fetchone()
                tables[f"{schema}.{table}"] = rows
        finally:
            conn.execute("detach serving_build")
    return tables


def _create_views(target: Path, saved_queries: dict[str, str]) -> None:
    """Create one view per saved query in the new file and check each one runs."""
    import duckdb

    with duckdb.connect(str(target)) as conn:
        if saved_queries:
            conn.execute(f"create schema {METRICS_SCHEMA}")
        for name, sql in saved_queries.items():
            view = f'{METRICS_SCHEMA}."{name}"'
            try:
                conn.execute(f"create view {view} as {sql}")
                conn.execute(f"select * from {view} limit 0").fetchall()
            except duckdb.Error as exc:
                raise PublishError(
                    f"saved query {name!r} does not run on the marts: {exc}"
                ) from exc
        conn.execute("checkpoint")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


class _ExplainOnlyDuckDbClient:
    """The part of MetricFlow's SqlClient that compiling (explain) needs: the DuckDB dialect.

    Publishing only renders SQL; it never runs a query through MetricFlow, so every method that
    would reach a database raises.
    """

    @property
    def sql_engine_type(self) -> Any:
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> Any:
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        return DuckDbSqlPlanRenderer()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"

    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the serving publisher only compiles saved queries")

    execute = dry_run = query

    def close(self) -> None:
        return None
