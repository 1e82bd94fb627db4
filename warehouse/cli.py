"""``warehouse``: the one entry point that runs the job: simulate, ingest, build, query.

    warehouse demo                 the whole demo: shop database, every pipeline, dbt build
    warehouse demo generate        (re)create the simulated shop database
    warehouse demo advance         move the simulated world forward one day (or --days N)
    warehouse demo stop            stop the embedded PostgreSQL
    warehouse ingest [SOURCE ...]  run the dlt pipelines (default: all)
    warehouse discard-failed-load SOURCE  drop a load that cannot load; re-extracted next ingest
    warehouse build [DBT ARGS]     dbt build (extra arguments go to dbt)
    warehouse run                  ingest everything, then build, then publish
    warehouse publish              write serving.duckdb (marts + metric views) for BI tools
    warehouse reverse-etl          push customer segments and flags to the shop's crm schema
    warehouse query SQL            run SQL on the warehouse and print the result

``--home DIR`` (or ``$WAREHOUSE_HOME``) chooses where the warehouse keeps its files.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence

from . import discard
from .paths import PROJECT_DIR, Paths
from .sources import RECONCILERS, SOURCES, destination


class IngestError(RuntimeError):
    """One or more sources failed to load (the others loaded); the message names each."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # dbt's own options (`warehouse build --full-refresh --select x+`) are not the parser's:
    # `build` takes whatever it does not know and passes it on, in order; others reject it.
    args, unknown = parser.parse_known_args(argv)
    if args.handler is cmd_build:
        args.dbt_args = [arg for arg in unknown if arg != "--"]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    _configure_logging(args.verbose)
    os.chdir(PROJECT_DIR)  # dlt reads .dlt/config.toml from the working directory
    paths = Paths.from_env(args.home).ensure()
    try:
        args.handler(args, paths)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose or not _is_expected(exc):
            raise
        print(f"error: {_reason(exc)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Commands


def cmd_demo(args: argparse.Namespace, paths: Paths) -> None:
    started = time.perf_counter()
    from demo import shop

    dsn = _shop_dsn(paths)
    if args.reset or not _generated(dsn):
        _step("generate", lambda: _generate(dsn, paths, args.scale, args.seed))
    else:
        clock = _with_connection(dsn, shop.read_clock)
        print(
            f"shop database: already generated (scale {clock.scale}, clock {clock.now:%Y-%m-%d})"
            "; --reset regenerates it"
        )
    cmd_run(args, paths)
    _print_marts(paths)
    _print_headline_metrics(paths)
    home = "" if paths == Paths.from_env() else f" --home {_relative(paths.home)}"
    print(f"\nDone in {time.perf_counter() - started:.1f} s. Query the marts with:")
    print(
        f"  .venv/bin/duckdb -readonly {_relative(paths.serving)} "
        "-c 'select * from sales.fct_orders limit 5'"
    )
    print(
        f"  .venv/bin/warehouse{home} query "
        "'select order_status, count(*) from sales.fct_orders group by 1'"
    )
    print("Move the simulated world a day forward and refresh incrementally with:")
    print(f"  .venv/bin/warehouse{home} demo advance && .venv/bin/warehouse{home} run")


def cmd_generate(args: argparse.Namespace, paths: Paths) -> None:
    _step("generate", lambda: _generate(_shop_dsn(paths), paths, args.scale, args.seed))


def cmd_advance(args: argparse.Namespace, paths: Paths) -> None:
    from demo import world

    def advance() -> str:
        summary = world.advance(_shop_dsn(paths), paths.home, args.days)
        return f"clock {summary.clock.now:%Y-%m-%d}; " + _counts(summary.counts)

    _step(f"advance {args.days} day(s)", advance)


def cmd_stop(args: argparse.Namespace, paths: Paths) -> None:
    from demo.postgres import stop_embedded

    stopped = stop_embedded(paths.postgres)
    print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL was running")


def cmd_ingest(args: argparse.Namespace, paths: Paths) -> None:
    unknown = sorted(set(args.sources or ()) - set(SOURCES))
    if unknown:
        raise ValueError(
            f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}"
        )
    target = destination(getattr(args, "destination", None))
    suffix = "" if target == "duckdb" else f" into the {target}"
    # One source failing (an API down, the shop's schema drifting) must not keep the others'
    # data out: each source loads on its own, then the failures stop the command (and so the
    # build and publish of `run`), leaving the marts and the serving file as they were.
    failed: dict[str, str] = {}
    for source in args.sources or SOURCES:
        try:
            _step(f"ingest {source}{suffix}", lambda source=source: _ingest(source, paths, target))
        except Exception as exc:
            if args.verbose or not _is_expected(exc):
                raise
            reason = _reason(exc)
            failed[source] = reason if reason.startswith(source) else f"{source}: {reason}"
            print(f"    ingest {source}{suffix}: FAILED", flush=True)
    if failed:
        loaded = [source for source in args.sources or SOURCES if source not in failed]
        others = f"; loaded: {', '.join(loaded)}" if loaded else ""
        raise IngestError(
            " | ".join(reason.rstrip(".") + "." for reason in failed.values())
            + f" (not loaded: {', '.join(failed)}{others}. Nothing was built or published: "
            "the marts and the serving file are still the last good build.)"
        )


def cmd_build(args: argparse.Namespace, paths: Paths) -> None:
    from .dbt import dbt

    def run(*dbt_args: str) -> Callable[[], str]:
        def action() -> str:
            report = dbt(paths, *dbt_args)
            return ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))

        return action

    # Freshness first: a source that stopped loading is named before models are rebuilt on it.
    _step("dbt source freshness", run("source", "freshness"))
    _step("dbt build", run("build", *getattr(args, "dbt_args", [])))


def cmd_run(args: argparse.Namespace, paths: Paths) -> None:
    args.sources = None
    cmd_ingest(args, paths)
    cmd_build(args, paths)
    if destination() == "lake":
        # The serving file is a copy of DuckDB marts; on Spark, BI tools read the marts where
        # they are built (its Thrift/JDBC server), so there is nothing to publish.
        print("==> publish: skipped (the lake destination builds on Spark: DBT_TARGET=spark)")
        return
    cmd_publish(args, paths)  # only reached after a green build: a failure raised above


def cmd_publish(args: argparse.Namespace, paths: Paths) -> None:
    from .serving import publish

    published = []

    def action() -> str:
        published.append(publish(paths))
        return _describe_publish(published[0])

    _step("publish", action)
    report = published[0]
    if args.command == "publish":  # `run` and `demo` list the marts themselves
        for name, rows in report.tables.items():
            print(f"  {name:<40} {rows:>12,} rows")
    for view in report.views:
        print(f"  {view:<40} {'view':>17}")
    serving = _relative(report.path)
    print(f"BI tools: open {serving} read-only (it is replaced atomically on each publish):")
    print(f"  .venv/bin/duckdb -readonly {serving}")
    print(f"  JDBC (DBeaver): jdbc:duckdb:{report.path} with property duckdb.read_only=true")


def cmd_reverse_etl(args: argparse.Namespace, paths: Paths) -> None:
    from .reverse_etl import reverse_etl

    def action() -> str:
        report = reverse_etl(paths)
        return f"{report.customers:,} customers, {report.changed:,} changed in {report.table}"

    _step("reverse ETL", action)


def cmd_docs(args: argparse.Namespace, paths: Paths) -> None:
    from .dbt import dbt

    if not paths.duckdb.exists():
        raise RuntimeError(
            f"no warehouse at {_relative(paths.duckdb)}: run `make demo` (or `warehouse run`) "
            "first, so that the docs describe the tables it built"
        )
    # The catalog (column types, row counts) comes from the warehouse as built.
    _step("dbt docs generate", lambda: dbt(paths, "docs", "generate") and None)
    site = paths.dbt_target / "index.html"
    if not args.serve:
        print(f"docs site: {_relative(site)} (serve it with `warehouse docs --serve`)")
        return
    url = f"http://{args.host}:{args.port}/#!/overview?g_v=1"
    print(f"serving the docs site; the lineage graph is at {url} (Ctrl-C stops)", flush=True)
    dbt(paths, "docs", "serve", "--host", args.host, "--port", str(args.port), "--no-browser")


def cmd_query(args: argparse.Namespace, paths: Paths) -> None:
    import duckdb

    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        conn.sql(args.sql).show(max_rows=args.max_rows)


# --------------------------------------------------------------------------------------------
# Steps


def _shop_dsn(paths: Paths) -> str:
    from .sources import shop_dsn

    return shop_dsn(paths)


def _generated(dsn: str) -> bool:
    from demo import shop

    try:
        _with_connection(dsn, shop.read_clock)
    except RuntimeError:
        return False
    return True


def _generate(dsn: str, paths: Paths, scale: float, seed: int) -> str:
    from demo import world

    summary = world.generate(dsn, paths.home, scale=scale, seed=seed)
    # A new world makes the warehouse built from the old one (and its pipelines' cursors)
    # meaningless: start it afresh rather than merge two companies' histories.
    paths.duckdb.unlink(missing_ok=True)
    for folder in (paths.pipelines, paths.lake, paths.lake_pipelines, paths.spark):
        shutil.rmtree(folder, ignore_errors=True)
    return f"scale {scale}, seed {seed}; " + _counts(summary.counts) + "; warehouse reset"


def _ingest(source: str, paths: Paths, target: str = "duckdb") -> str:
    from ingestion.runner import lake_pipeline_for, pipeline_for, run

    from .sources import lake_url

    with SOURCES[source](paths) as dlt_source:
        if target == "lake":
            pipeline = lake_pipeline_for(source, lake_url(paths), paths.lake_pipelines)
        else:
            pipeline = pipeline_for(source, paths.duckdb, paths.pipelines)
        report = run(pipeline, dlt_source, RECONCILERS.get(source))
    reconciled = f"; {_counts(report.reconciled)}" if report.reconciled else ""
    return _counts(report.rows) + f" ({report.total:,} rows)" + reconciled


def _describe_publish(report) -> str:
    size = report.size_bytes / 1024**2
    return (
        f"{len(report.tables)} tables, {len(report.views)} views, {size:.1f} MiB"
        f" -> {_relative(report.path)}"
    )


def _print_marts(paths: Paths) -> None:
    import duckdb

    from .dbt import mart_relations

    print("\nMarts built:")
    # Not read-only: dbt's in-process connection to the same file is still open, and DuckDB
    # allows a second connection in one process only with the same configuration.
    with duckdb.connect(str(paths.duckdb)) as conn:
        for schema, table in mart_relations(paths):
            (rows,) = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            print(f"  {schema + '.' + table:<40} {rows:>12,} rows")


HEADLINE_SQL = """
    with

    daily as (
        select * from metrics.daily_sales_and_engagement
        where metric_time__day > (
            select max(metric_time__day) - interval 30 day
            from metrics.daily_sales_and_engagement
        )
    ),

    channels as (
        select * from metrics.daily_revenue_by_channel
        where metric_time__day > (select min(metric_time__day) from daily) - interval 1 day
    )

    select
        min(daily.metric_time__day),
        max(daily.metric_time__day),
        sum(daily.revenue),
        sum(daily.orders),
        sum(daily.revenue) / nullif(sum(daily.orders), 0),
        sum(daily.sessions),
        sum(daily.conversion_rate * daily.sessions) / nullif(sum(daily.sessions), 0),
        (select sum(attributed_revenue) / nullif(sum(spend), 0) from channels)
    from daily
"""


def _print_headline_metrics(paths: Paths) -> None:
    """A few governed metrics over the last 30 days, read from the published metric views
    (MetricFlow's saved queries), so the demo shows what a BI tool would show."""
    import duckdb

    with duckdb.connect(str(paths.serving), read_only=True) as conn:
        try:
            first, last, revenue, orders, aov, sessions, conversion, roas = conn.execute(
                HEADLINE_SQL
            ).fetchone()
        except duckdb.CatalogException:  # no saved queries published: nothing to show
            return
    print(f"\nHeadline metrics, {first:%Y-%m-%d} to {last:%Y-%m-%d} (metrics.* views):")
    print(f"  revenue            USD {revenue or 0:>14,.2f}")
    print(f"  orders                 {orders or 0:>14,}")
    print(f"  average order      USD {aov or 0:>14,.2f}")
    print(f"  sessions               {sessions or 0:>14,}")
    print(f"  conversion rate        {(conversion or 0):>14.1%}")
    print(f"  ROAS (campaigns)       {(roas or 0):>14.2f}")


def _step(name: str, action: Callable[[], str | None]) -> None:
    """Run one step, printing its name, what it did and how long it took."""
    print(f"==> {name}", flush=True)
    started = time.perf_counter()
    outcome = action()
    elapsed = time.perf_counter() - started
    print(f"    {name}: {outcome + ' ' if outcome else ''}in {elapsed:.1f} s", flush=True)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count:,}" for table, count in counts.items()) or "nothing new"


def _with_connection(dsn: str, action):
    import psycopg

    with psycopg.connect(dsn) as conn:
        return action(conn)


def _relative(path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Errors and logging


def _is_expected(exc: BaseException) -> bool:
    """Errors that carry a message meant for the user (no traceback needed)."""
    import duckdb
    import psycopg
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.shop import ShopSourceError

    from .dbt import BuildError

    expected = (PipelineStepFailed, ShopSourceError, BuildError, ValueError, RuntimeError)
    return isinstance(exc, (*expected, duckdb.Error, psycopg.Error))


def _reason(exc: BaseException) -> str:
    """The innermost message, on one line: dlt wraps source errors in several layers of its
    own, and libpq's messages run over several lines (the error, then a hint)."""
    while exc.__cause__ is not None or getattr(exc, "exception", None) is not None:
        inner = getattr(exc, "exception", None) or exc.__cause__
        if inner is None or inner is exc:
            break
        exc = inner
    return re.sub(r"\s*\n\s*", " ", str(exc).strip())


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pgserver logs every pg_ctl call at INFO and warns when XDG_RUNTIME_DIR is unset.
    logging.getLogger("pgserver").setLevel(logging.INFO if verbose else logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


# --------------------------------------------------------------------------------------------
# Arguments


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        scale = float("nan")
    if not scale > 0:
        raise argparse.ArgumentTypeError(
            f"scale must be a positive number (e.g. 0.1, 1, 10), got {value!r}"
        )
    return scale


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warehouse",
        description="The GlobalRetail analytics warehouse: dlt pipelines into DuckDB, dbt models.",
    )
    parser.add_argument(
        "--home", help="folder for the warehouse's files (default: var/ or $WAREHOUSE_HOME)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details and tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scale_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--scale",
            type=_scale,
            default=1.0,
            help="scale factor: 1 is about 100k orders (default 1)",
        )
        sub.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    demo = commands.add_parser("demo", help="run the whole demo, or manage the simulated shop")
    scale_options(demo)
    demo.add_argument(
        "--reset", action="store_true", help="regenerate the shop database even if it exists"
    )
    demo.set_defaults(handler=cmd_demo)
    actions = demo.add_subparsers(dest="action", metavar="ACTION")
    generate = actions.add_parser("generate", help="(re)create the simulated shop database")
    scale_options(generate)
    generate.set_defaults(handler=cmd_generate)
    advance = actions.add_parser("advance", help="move the simulated world forward")
    advance.add_argument("--days", type=int, default=1, help="how many days (default 1)")
    advance.set_defaults(handler=cmd_advance)
    actions.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=cmd_stop)

    ingest = commands.add_parser("ingest", help="run dlt pipelines into the raw schemas")
    ingest.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help=f"which sources (default: all of {', '.join(SOURCES)})",
    )
    ingest.add_argument(
        "--destination",
        choices=("duckdb", "lake"),
        help="duckdb: the warehouse file; lake: parquet files for the spark target "
        "(default: [warehouse] destination in .dlt/config.toml, else duckdb)",
    )
    ingest.set_defaults(handler=cmd_ingest)
    discard.register(commands)

    commands.add_parser(
        "build",
        help="dbt build: models, snapshots, seeds and tests; any dbt option after it is "
        "passed on (e.g. --select marts.sales, --full-refresh)",
    ).set_defaults(handler=cmd_build)

    commands.add_parser("run", help="ingest every source, build, publish").set_defaults(
        handler=cmd_run
    )
    commands.add_parser(
        "publish", help="write serving.duckdb (marts and metric views) for BI tools, atomically"
    ).set_defaults(handler=cmd_publish)
    commands.add_parser(
        "reverse-etl", help="merge customer segments and flags into the shop's crm schema"
    ).set_defaults(handler=cmd_reverse_etl)

    docs = commands.add_parser(
        "docs", help="generate the dbt docs site (lineage, descriptions, tests); --serve it"
    )
    docs.add_argument("--serve", action="store_true", help="serve the site after generating it")
    docs.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    docs.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    docs.set_defaults(handler=cmd_docs)

    query = commands.add_parser("query", help="run SQL on the warehouse (read-only)")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=40)
    query.set_defaults(handler=cmd_query)
    return parser


if __name__ == "__main__":
    sys.exit(main())
