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

Publishing is incremental: the temporary file starts as a copy of the previous serving file
(a plain file copy: sequential, no decompression), and only the marts whose content differs
from their published copy are replaced in it. A mart's content is compared by its columns, row
count and an order-independent checksum (the sum of every row's hash), computed on both sides
in one read; so a mart an incremental run left unchanged, or one a run did not rebuild, is not
written again. ``full=True`` (``warehouse publish --full``) builds the file from scratch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .access import secure_serving
from .errors import WarehouseError
from .paths import Paths

if TYPE_CHECKING:
    import duckdb

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
    # The marts written into this file; the others were kept from the previous one unchanged.
    replaced: list[str] = field(default_factory=list)


def publish(
    paths: Paths,
    relations: list[tuple[str, str]] | None = None,
    semantic_manifest: Path | None = None,
    full: bool = False,
) -> PublishReport:
    """Build ``<home>/serving.duckdb`` from the warehouse's marts and saved queries, atomically.

    ``relations`` defaults to every mart in the last compiled dbt manifest and
    ``semantic_manifest`` to the home's dbt ``target/semantic_manifest.json`` (a missing file or one
    without saved queries publishes the marts only). Raises PublishError, leaving the previous
    serving file untouched, if the warehouse lacks a mart or a saved query does not compile.
    Incremental (only changed marts are written) when a previous serving file exists, unless
    ``full``.
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
        previous = None if full else _previous_copy(paths.serving, temporary)
        tables, replaced = _copy_marts(paths.duckdb, temporary, relations, previous)
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
        replaced=replaced,
    )
    log.info(
        "published %s: %d tables (%d replaced), %d views",
        report.path,
        len(tables),
        len(replaced),
        len(report.views),
    )
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


def _previous_copy(serving: Path, temporary: Path) -> set[str] | None:
    """Copy the published file to ``temporary``; return its base tables (``schema.table``), or
    None (start from an empty file) when there is none or it cannot be read as DuckDB."""
    import duckdb

    if not serving.exists():
        return None
    try:
        # Read through an open handle: a concurrent publish may replace the name meanwhile,
        # and the copy must be one whole file, either the old one or the new one.
        with serving.open("rb") as source, temporary.open("wb") as target:
            shutil.copyfileobj(source, target, length=16 * 1024 * 1024)
        with duckdb.connect(str(temporary), read_only=True) as conn:
            rows = conn.execute(
                "select schema_name, table_name from duckdb_tables() where not temporary"
            ).fetchall()
    except (OSError, duckdb.Error) as exc:
        log.warning("previous serving file %s unreadable (%s): publishing in full", serving, exc)
        temporary.unlink(missing_ok=True)
        return None
    return {f"{schema}.{table}" for schema, table in rows}


def _copy_marts(
    warehouse: Path,
    target: Path,
    relations: list[tuple[str, str]],
    previous: set[str] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Copy the mart tables from the warehouse into ``target``; return the row count of every
    mart and the names of those written.

    ``previous``: the tables ``target`` already holds (a copy of the last serving file); a mart
    among them whose columns, row count and checksum match the warehouse's is kept as it is,
    and tables that are no longer marts are dropped. When the marts to write hold more than
    half of all the rows, ``target`` is started afresh instead: a replaced table's space is
    only reused later, so replacing most of a file would leave it nearly twice its size.
    None: ``target`` is new, copy everything.
    """
    import duckdb

    # Not read-only: after `warehouse run`, dbt's in-process connection to the same file may still
    # be open, and DuckDB allows a second connection in one process only with the same settings.
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"attach '{_quoted(target)}' as serving_build")
        try:
            changed, rows = _changed_marts(conn, relations, previous)
            if previous is not None and 2 * sum(rows[name] for name in changed) > sum(
                rows.values()
            ):
                log.info("most rows changed: writing %s afresh", target.name)
                conn.execute("detach serving_build")
                target.unlink()
                conn.execute(f"attach '{_quoted(target)}' as serving_build")
                previous, changed = None, list(rows)
            wanted = {f"{schema}.{table}" for schema, table in relations}
            for stale in sorted((previous or set()) - wanted):
                schema, table = stale.split(".", 1)
                conn.execute(f'drop table serving_build."{schema}"."{table}"')
            for schema in sorted({schema for schema, _ in relations}):
                conn.execute(f'create schema if not exists serving_build."{schema}"')
            for name in changed:
                schema, table = name.split(".", 1)
                quoted = f'"{schema}"."{table}"'
                conn.execute(
                    f"create or replace table serving_build.{quoted} as select * from {quoted}"
                )
        finally:
            conn.execute("detach serving_build")
    return rows, changed


def _changed_marts(
    conn: duckdb.DuckDBPyConnection,
    relations: list[tuple[str, str]],
    previous: set[str] | None,
) -> tuple[list[str], dict[str, int]]:
    """The marts (``schema.table``) whose content differs from their copy in the attached
    ``serving_build`` (every mart not in ``previous``), and the row count of every mart."""
    import duckdb

    changed: list[str] = []
    rows: dict[str, int] = {}
    for schema, table in relations:
        name, quoted = f"{schema}.{table}", f'"{schema}"."{table}"'
        try:
            if previous is not None and name in previous:
                current = _fingerprint(conn, None, quoted)
                rows[name] = current[0]
                if _fingerprint(conn, "serving_build", quoted) == current:
                    continue
            else:
                (rows[name],) = conn.execute(f"select count(*) from {quoted}").fetchone()
        except duckdb.CatalogException as exc:
            raise PublishError(
                f"mart {name} is missing from the warehouse: run `warehouse build` first"
            ) from exc
        changed.append(name)
    return changed, rows


def _fingerprint(
    conn: duckdb.DuckDBPyConnection, catalog: str | None, name: str
) -> tuple[int, int | None, tuple]:
    """Row count, order-independent checksum (sum of the rows' hashes) and column names and
    types of table ``name`` (quoted ``"schema"."table"``) in ``catalog`` (None: the warehouse)."""
    qualified = f"{catalog}.{name}" if catalog else name
    rows, checksum = conn.execute(f"select count(*), sum(hash(t)) from {qualified} as t").fetchone()
    columns = tuple(
        (column, kind) for column, kind, *_ in conn.execute(f"describe {qualified}").fetchall()
    )
    return rows, checksum, columns


def _create_views(target: Path, saved_queries: dict[str, str]) -> None:
    """Create one view per saved query in the new file and check each one runs."""
    import duckdb

    with duckdb.connect(str(target)) as conn:
        # A copied previous file holds the views of its own build: they are all made again.
        conn.execute(f"drop schema if exists {METRICS_SCHEMA} cascade")
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
