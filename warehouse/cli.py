"""``warehouse``: the one entry point that runs the job: simulate, ingest, build, query.

    warehouse demo                 the whole demo: shop database, every pipeline, dbt build
    warehouse demo generate        (re)create the simulated shop database
    warehouse demo advance         move the simulated world forward one day (or --days N)
    warehouse demo stop            stop the embedded PostgreSQL and NATS
    warehouse demo live-traffic    send the web app's live events to the collector
    warehouse ingest [SOURCE ...]  run the dlt pipelines (default: all)
    warehouse collect              the HTTP collector: pushed events onto the NATS bus
    warehouse discard-failed-load SOURCE  drop a load that cannot load; re-extracted next ingest
    warehouse shop drop-slot       drop the shop's CDC replication slot (next run: fresh snapshot)
    warehouse build [DBT ARGS]     dbt build (extra arguments go to dbt)
    warehouse run                  ingest everything, then build, then publish
    warehouse publish              write serving.duckdb (marts + metric views) for BI tools
    warehouse reverse-etl          push customer segments and flags to the shop's crm schema
    warehouse ui                   the Dagster UI: the warehouse as assets, schedules, runs
    warehouse query SQL            run SQL on the warehouse and print the result
    warehouse lake ACTION          the Delta lake: history, build (--as-of), maintain
    warehouse forget --customer ID erase a customer's PII everywhere (docs/security.md)
    warehouse stream               the Beam pipeline (bus -> raw) and the refresher, until stopped
    warehouse live                 the real-time path end to end on the demo (docs/streaming.md)

``--home DIR`` (or ``$WAREHOUSE_HOME``) chooses where the warehouse keeps its files.

This module parses the arguments and dispatches to ``commands``; a user error (``errors``)
becomes one line on stderr and exit 1, anything else keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from streaming import commands as streaming_commands

from . import collect_commands, commands, discard, shop_slot
from .access import restrict_umask, secure_home
from .encryption import check_encryption
from .errors import is_user_error, reason
from .paths import PROJECT_DIR, Paths
from .sources import SOURCES


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names; the exit status (0, 1 for a user error, 130 on Ctrl-C)."""
    parser = _parser()
    # dbt's own options (`warehouse build --full-refresh --select x+`) are not the parser's:
    # `build` takes whatever it does not know and passes it on, in order; others reject it.
    args, unknown = parser.parse_known_args(argv)
    if args.handler is commands.cmd_build:
        args.dbt_args = [arg for arg in unknown if arg != "--"]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    _configure_logging(args.verbose)
    os.chdir(PROJECT_DIR)  # dlt reads .dlt/config.toml from the working directory
    restrict_umask()  # every file the command creates is owner-only until secure_home
    paths = Paths.from_env(args.home).ensure()
    try:
        check_encryption()  # a configured key must never mean files written in clear
        args.handler(args, paths)
        secure_home(paths)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose or not is_user_error(exc):
            raise
        print(f"error: {reason(exc)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Logging


def _configure_logging(verbose: bool) -> None:
    """Warnings only, or everything with ``--verbose``; quiet the embedded PostgreSQL."""
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


def _lake_moment(text: str):
    from .lake_commands import parse_moment

    return parse_moment(text)


def _lake_pin(text: str) -> tuple[str, int]:
    from .lake_commands import parse_pin

    return parse_pin(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warehouse",
        description="The GlobalRetail analytics warehouse: dlt pipelines into DuckDB, dbt models.",
    )
    parser.add_argument(
        "--home", help="folder for the warehouse's files (default: var/ or $WAREHOUSE_HOME)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details and tracebacks")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scale_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--scale",
            type=_scale,
            default=1.0,
            help="scale factor: 1 is about 100k orders (default 1)",
        )
        sub.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    demo = subcommands.add_parser("demo", help="run the whole demo, or manage the simulated shop")
    scale_options(demo)
    demo.add_argument(
        "--reset", action="store_true", help="regenerate the shop database even if it exists"
    )
    demo.set_defaults(handler=commands.cmd_demo)
    actions = demo.add_subparsers(dest="action", metavar="ACTION")
    generate = actions.add_parser("generate", help="(re)create the simulated shop database")
    scale_options(generate)
    generate.set_defaults(handler=commands.cmd_generate)
    advance = actions.add_parser("advance", help="move the simulated world forward")
    advance.add_argument("--days", type=int, default=1, help="how many days (default 1)")
    advance.set_defaults(handler=commands.cmd_advance)
    actions.add_parser("stop", help="stop the embedded PostgreSQL and NATS").set_defaults(
        handler=commands.cmd_stop
    )

    ingest = subcommands.add_parser("ingest", help="run dlt pipelines into the raw schemas")
    ingest.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help=f"which sources (default: all of {', '.join(SOURCES)})",
    )
    ingest.add_argument(
        "--destination",
        choices=("duckdb", "lake"),
        help="duckdb: the warehouse file; lake: Delta tables (docs/lakehouse.md) "
        "(default: [warehouse] destination in .dlt/config.toml, else duckdb)",
    )
    ingest.set_defaults(handler=commands.cmd_ingest)
    discard.register(subcommands)
    collect_commands.register(subcommands, actions)
    shop_slot.register(subcommands)

    subcommands.add_parser(
        "build",
        help="dbt build: models, snapshots, seeds and tests; any dbt option after it is "
        "passed on (e.g. --select marts.sales, --full-refresh)",
    ).set_defaults(handler=commands.cmd_build)

    run = subcommands.add_parser("run", help="ingest every source, build, publish")
    run.add_argument(
        "--full-test",
        action="store_true",
        help="run every data test on whole tables (default after a green build: only the rows "
        "loaded since it, on models with a load column; docs/testing.md)",
    )
    run.set_defaults(handler=commands.cmd_run)
    publish = subcommands.add_parser(
        "publish", help="write serving.duckdb (marts and metric views) for BI tools, atomically"
    )
    publish.add_argument(
        "--full",
        action="store_true",
        help="write a new file, every mart whole (default: only the rows that differ)",
    )
    publish.set_defaults(handler=commands.cmd_publish)
    subcommands.add_parser(
        "reverse-etl", help="merge customer segments and flags into the shop's crm schema"
    ).set_defaults(handler=commands.cmd_reverse_etl)

    docs = subcommands.add_parser(
        "docs", help="generate the dbt docs site (lineage, descriptions, tests); --serve it"
    )
    docs.add_argument("--serve", action="store_true", help="serve the site after generating it")
    docs.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    docs.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    docs.set_defaults(handler=commands.cmd_docs)

    ui = subcommands.add_parser(
        "ui", help="start the Dagster UI and daemon: the warehouse as assets (orchestration)"
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")
    ui.set_defaults(handler=commands.cmd_ui)

    lake = subcommands.add_parser(
        "lake", help="the Delta lake: history, build the marts from it (--as-of), maintain"
    )
    lake.set_defaults(handler=commands.cmd_lake)
    lake_actions = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    lake_history = lake_actions.add_parser("history", help="every version of every table")
    lake_history.add_argument("tables", nargs="*", metavar="TABLE", help="raw_<source>.<table>")
    lake_build = lake_actions.add_parser(
        "build", help="dbt build on DuckDB from the lake, now or as of a past moment"
    )
    lake_build.add_argument(
        "--as-of",
        type=_lake_moment,
        help="each table as of this UTC time (ISO 8601), e.g. 2026-12-03T09:00:00Z",
    )
    lake_build.add_argument(
        "--version",
        dest="versions",
        action="append",
        type=_lake_pin,
        metavar="TABLE=N",
        help="pin a table at a version (repeatable), e.g. raw_shop.orders=3",
    )
    lake_build.add_argument("--select", help="a dbt selection, e.g. +fct_orders (default: all)")
    lake_maintain = lake_actions.add_parser(
        "maintain", help="compact small files, then vacuum files no retained version reads"
    )
    lake_maintain.add_argument("tables", nargs="*", metavar="TABLE", help="default: all")
    lake_maintain.add_argument(
        "--retention-hours",
        type=float,
        help="keep every version of the last H hours readable ([lake] retention_hours, 168)",
    )

    forget = subcommands.add_parser(
        "forget", help="erase a customer's PII from the warehouse, serving file, crm and state"
    )
    forget.add_argument("--customer", type=int, required=True, help="the shop's customer id")
    forget.set_defaults(handler=commands.cmd_forget)

    streaming_commands.register(subcommands)

    query = subcommands.add_parser("query", help="run SQL on the warehouse (read-only)")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=40)
    query.set_defaults(handler=commands.cmd_query)
    return parser


if __name__ == "__main__":
    sys.exit(main())
