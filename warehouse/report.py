"""What the ``warehouse`` command prints: steps with their timings, row counts, the marts built,
the headline metrics and where to go next. The commands decide; this module only words it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .access import ANALYST_LOCK_SQL, jdbc_properties, jdbc_url, sqlalchemy_url
from .paths import PROJECT_DIR, Paths

if TYPE_CHECKING:
    from .serving import PublishReport


def step(name: str, action: Callable[[], str | None]) -> None:
    """Run one step, printing its name, what it did and how long it took."""
    starting(name)
    started = time.perf_counter()
    outcome = action()
    finished(name, outcome, time.perf_counter() - started)


def starting(name: str) -> None:
    """The line that opens a step (or several run at once)."""
    print(f"==> {name}", flush=True)


def finished(name: str, outcome: str | None, seconds: float) -> None:
    """The line that closes a step: what it did and how long it took."""
    print(f"    {name}: {outcome + ' ' if outcome else ''}in {seconds:.1f} s", flush=True)


def counts(rows: dict[str, int]) -> str:
    """``table n, table n`` for a step's summary line."""
    return ", ".join(f"{table} {count:,}" for table, count in rows.items()) or "nothing new"


def relative(path: Path) -> str:
    """``path`` relative to the project when it is inside it (shorter to read and to paste)."""
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def describe_publish(report: PublishReport) -> str:
    """The publish step's summary line."""
    size = report.size_bytes / 1024**2
    deleted = sum(write.deleted for write in report.writes)
    inserted = sum(write.inserted for write in report.writes)
    whole = sum(write.rewritten for write in report.writes)
    unchanged = len(report.tables) - len(report.replaced)
    return (
        f"{len(report.tables)} tables ({len(report.replaced)} written: {deleted:,} rows deleted,"
        f" {inserted:,} inserted, {whole} rewritten whole; {unchanged} unchanged),"
        f" {len(report.views)} views, {size:.1f} MiB"
        f" -> {relative(report.path)}"
    )


def print_published(report: PublishReport, list_tables: bool) -> None:
    """What was published and how a BI tool opens it; the tables only when asked (``run`` and
    ``demo`` list the marts themselves)."""
    if list_tables:
        for name, rows in report.tables.items():
            print(f"  {name:<40} {rows:>12,} rows")
    for view in report.views:
        print(f"  {view:<40} {'view':>17}")
    serving = relative(report.path)
    print(f"BI tools: open {serving} read-only (it is replaced atomically on each publish):")
    print(f"  .venv/bin/duckdb -readonly -cmd {ANALYST_LOCK_SQL!r} {serving}")
    properties = ", ".join(f"{name}={value}" for name, value in jdbc_properties().items())
    print(f"  JDBC (DBeaver): {jdbc_url(report.path)} with properties {properties}")
    print(f"  SQLAlchemy: {sqlalchemy_url(report.path)}")


def print_marts(paths: Paths) -> None:
    """The row count of every mart of the warehouse just built."""
    import duckdb

    from .dbt import mart_relations

    print("\nMarts built:")
    # Not read-only: dbt's in-process connection to the same file is still open, and DuckDB
    # allows a second connection in one process only with the same configuration.
    with duckdb.connect(str(paths.duckdb)) as conn:
        for schema, table in mart_relations(paths):
            (rows,) = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            print(f"  {schema + '.' + table:<40} {rows:>12,} rows")


def print_headline_metrics(paths: Paths) -> None:
    """A few governed metrics over the last 30 days: the saved query ``headline_metrics`` run
    on the published serving file, so the demo shows what a BI tool would show."""
    from .headline import headline_metrics

    headline = headline_metrics(paths)
    if headline is None:  # no saved queries published: nothing to show
        return
    print(
        f"\nHeadline metrics, {headline.first:%Y-%m-%d} to {headline.last:%Y-%m-%d}"
        " (metrics.* views):"
    )
    print(f"  revenue            USD {headline.revenue or 0:>14,.2f}")
    print(f"  orders                 {headline.orders or 0:>14,}")
    print(f"  average order      USD {headline.average_order_value or 0:>14,.2f}")
    print(f"  sessions               {headline.sessions or 0:>14,}")
    print(f"  conversion rate        {(headline.conversion_rate or 0):>14.1%}")
    print(f"  ROAS (campaigns)       {(headline.roas or 0):>14.2f}")


def print_next_steps(paths: Paths, seconds: float) -> None:
    """How long the demo took, and how to query it and move it forward."""
    home = "" if paths == Paths.from_env() else f" --home {relative(paths.home)}"
    print(f"\nDone in {seconds:.1f} s. Query the marts with:")
    print(
        f"  .venv/bin/duckdb -readonly -cmd {ANALYST_LOCK_SQL!r} {relative(paths.serving)} "
        "-c 'select * from sales.fct_orders limit 5'"
    )
    print(
        f"  .venv/bin/warehouse{home} query "
        "'select order_status, count(*) from sales.fct_orders group by 1'"
    )
    print("Move the simulated world a day forward and refresh incrementally with:")
    print(f"  .venv/bin/warehouse{home} demo advance && .venv/bin/warehouse{home} run")
