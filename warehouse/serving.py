"""Publish the serving file: the marts and one view per saved query, for BI tools.

BI tools never open the warehouse itself: a build holds DuckDB's writer lock on it for minutes,
and it holds raw data and staging that analysts must not see. They open ``serving.duckdb``
instead, a separate file holding only the mart tables (copied) and, for every MetricFlow saved
query, a plain view ``metrics.<saved_query>`` over them.

Publishing is atomic: the new file is written under a temporary name in the same folder and
moved over the old one with ``os.replace``. A reader sees the old file or the new one, never a
half-written one; a read-only connection already open keeps reading the old file (on Linux a
replaced file stays readable by open handles) and never waits for a lock, because the writer
never opens a file a reader holds. A failed build or publish leaves the previous file in place.

Publishing is incremental, row by row: the temporary file starts as a previous publish's file,
and in each mart only the rows that differ from the warehouse's are written: the published rows
the warehouse no longer holds are deleted, the warehouse's rows not yet published are inserted
(``serving_rows``: one read of each side, by row hash). A mart an incremental run left unchanged
is not written at all; one whose columns changed, or where most rows differ, is rewritten whole.
DuckDB reuses a deleted row's space only later, so when the previous file has grown past
``GROWTH_LIMIT`` times the size its live rows need, it is written afresh instead. ``full=True``
(``warehouse publish --full``) builds the file from scratch.

That previous file is the *spare* (the file the last publish replaced, kept under a hidden name)
when nobody can be reading it, else a copy of the current one (``serving_previous``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .access import secure_serving
from .errors import WarehouseError
from .paths import Paths, wal_of
from .serving_previous import SPARE_NAME, keep_spare, previous_file
from .serving_rows import TARGET, MartWrite, rewrite, sync

log = logging.getLogger(__name__)

# The schema of the saved-query views in the serving file.
METRICS_SCHEMA = "metrics"

# A previous serving file larger than this many times what its live rows take (its deleted rows
# and free blocks are the rest) is not updated but written afresh. Row-level publishes of a
# scale-1 demo's daily runs stay well below it (docs/serving.md).
GROWTH_LIMIT = 1.5


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
    # What was written into each mart (rows deleted and inserted, or rewritten whole).
    writes: list[MartWrite] = field(default_factory=list)


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
    Incremental (only the rows that differ are written) when a previous serving file exists,
    unless ``full``. Logs the seconds of each part (copy, each mart, views, sync to disk).
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
    spare = paths.serving.with_name(SPARE_NAME)
    # Same folder as the target, so os.replace is a rename on one file system (atomic). The
    # writer's process id is in the name, so a later publish can tell an abandoned file.
    temporary = paths.serving.with_name(
        f".{paths.serving.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp"
    )
    try:
        previous = None if full else previous_file(paths.serving, spare, temporary, GROWTH_LIMIT)
        writes = _write_marts(paths.duckdb, temporary, relations, previous)
        step = time.perf_counter()
        _create_views(temporary, saved_queries)
        log.info("publish: %d views in %.2f s", len(saved_queries), time.perf_counter() - step)
        step = time.perf_counter()
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        secure_serving(temporary)  # its tier's mode before anyone can open it by name
        keep_spare(paths.serving, spare, keep=not full)
        os.replace(temporary, paths.serving)
        log.info("publish: synced and moved into place in %.2f s", time.perf_counter() - step)
    finally:
        for leftover in (temporary, wal_of(temporary)):
            leftover.unlink(missing_ok=True)
    report = PublishReport(
        path=paths.serving,
        tables={write.name: write.rows for write in writes},
        views=[f"{METRICS_SCHEMA}.{name}" for name in saved_queries],
        size_bytes=paths.serving.stat().st_size,
        seconds=time.perf_counter() - started,
        replaced=[write.name for write in writes if write.written],
        writes=writes,
    )
    log.info(
        "published %s: %d tables (%d written), %d views, %.1f MiB in %.2f s",
        report.path,
        len(report.tables),
        len(report.replaced),
        len(report.views),
        report.size_bytes / 1024**2,
        report.seconds,
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


def _write_marts(
    warehouse: Path,
    target: Path,
    relations: list[tuple[str, str]],
    previous: set[str] | None = None,
) -> list[MartWrite]:
    """Write the mart tables from the warehouse into ``target``; return what was done to each.

    ``previous``: the tables ``target`` already holds (a copy of the last serving file); a mart
    among them is brought level row by row (``serving_rows.sync``: nothing written when it is
    unchanged), and tables that are no longer marts are dropped. None: ``target`` is new, copy
    everything.
    """
    import duckdb

    # Not read-only: after `warehouse run`, dbt's in-process connection to the same file may still
    # be open, and DuckDB allows a second connection in one process only with the same settings.
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"attach '{_quoted(target)}' as {TARGET}")
        try:
            wanted = {f"{schema}.{table}" for schema, table in relations}
            for stale in sorted((previous or set()) - wanted):
                schema, table = stale.split(".", 1)
                conn.execute(f'drop table {TARGET}."{schema}"."{table}"')
            for schema in sorted({schema for schema, _ in relations}):
                conn.execute(f'create schema if not exists {TARGET}."{schema}"')
            writes = []
            for schema, table in relations:
                name = f"{schema}.{table}"
                try:
                    if previous is not None and name in previous:
                        write = sync(conn, schema, table)
                    else:
                        write = rewrite(conn, schema, table)
                except duckdb.CatalogException as exc:
                    raise PublishError(
                        f"mart {name} is missing from the warehouse: run `warehouse build` first"
                    ) from exc
                log.info(
                    "publish %s: %s in %.2f s",
                    name,
                    "rewritten whole"
                    if write.rewritten
                    else f"{write.deleted} rows deleted, {write.inserted} inserted",
                    write.seconds,
                )
                writes.append(write)
            started = time.perf_counter()
            conn.execute(f"checkpoint {TARGET}")
            log.info("publish: checkpoint of the marts in %.2f s", time.perf_counter() - started)
        finally:
            conn.execute(f"detach {TARGET}")
    return writes


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
