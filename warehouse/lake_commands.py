"""``warehouse lake``: the Delta lake's history, builds from it (now or as of a past moment)
and its maintenance. The arguments are declared in warehouse/cli.py; this runs them.

    warehouse lake history [TABLE ...]           every version of every table
    warehouse lake build                         the marts on DuckDB from the lake as it is now
    warehouse lake build --as-of 2026-12-03T09:00:00Z
                                                 ... as the lake was at that moment
    warehouse lake build --version raw_shop.orders=3
                                                 ... with a table pinned at a version
    warehouse lake maintain [--retention-hours H]
                                                 compact small files, then vacuum
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from .paths import PROJECT_DIR, Paths


def run(args: argparse.Namespace, paths: Paths) -> None:
    """Run the ``warehouse lake`` action in ``args.action``."""
    {"history": _history, "build": _build, "maintain": _maintain}[args.action](args, paths)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time (``2026-12-03T09:00:00Z``, ``2026-12-03 09:00``), UTC if no zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give an ISO 8601 time such as 2026-12-03T09:00:00Z"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_pin(text: str) -> tuple[str, int]:
    """``raw_<source>.<table>=<version>``."""
    table, _, version = text.partition("=")
    if not table or not version.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a table and a version, e.g. raw_shop.orders=3"
        )
    return table, int(version)


def _history(args: argparse.Namespace, paths: Paths) -> None:
    from .lake import history

    rows = [row for row in history(paths) if not args.tables or row["table"] in args.tables]
    print(f"{'table':<28} {'version':>7}  {'committed at (UTC)':<26} {'operation':<10} rows")
    for row in rows:
        moment = row["committed_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        print(
            f"{row['table']:<28} {row['version']:>7}  {moment:<26} "
            f"{row['operation']:<10} {row['rows']}"
        )


def _build(args: argparse.Namespace, paths: Paths) -> None:
    import duckdb

    from .dbt import mart_relations
    from .lake import build

    started = time.perf_counter()
    what = f"as of {args.as_of.isoformat()}" if args.as_of else "current"
    print(f"==> dbt build on DuckDB from the lake ({what})", flush=True)
    result = build(paths, args.as_of, dict(args.versions or []), select=args.select)
    for table in result.tables:
        version = "absent" if table.version is None else f"version {table.version}"
        print(f"  {table.schema + '.' + table.table:<34} {version:<12} {len(table.files)} file(s)")
    print("Marts built:")
    # Not read-only: dbt's in-process connection to the file is still open, and DuckDB allows a
    # second connection in one process only with the same configuration.
    with duckdb.connect(str(result.duckdb)) as conn:
        tables = "select schema_name, table_name from duckdb_tables()"
        built = set(conn.execute(tables).fetchall())
        for schema, table in mart_relations(Paths(result.home)):
            if (schema, table) not in built:  # outside a --select
                continue
            (rows,) = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            print(f"  {schema + '.' + table:<40} {rows:>12,} rows")
    print(f"    done in {time.perf_counter() - started:.1f} s. Query it read-only:")
    print(f"  .venv/bin/duckdb -readonly {_relative(result.duckdb)}")


def _maintain(args: argparse.Namespace, paths: Paths) -> None:
    from .lake_maintenance import maintain, retention_hours

    hours = retention_hours(args.retention_hours)
    print(f"==> compact, then vacuum files no version of the last {hours:g} h reads", flush=True)
    for item in maintain(paths, hours, args.tables or None):
        print(
            f"  {item.table:<34} version {item.version_before} -> {item.version_after}, "
            f"{item.files_before} -> {item.files_after} file(s), "
            f"{item.files_vacuumed} vacuumed"
        )


def _relative(path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)
