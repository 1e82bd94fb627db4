"""What each ``warehouse`` command does, step by step. ``cli`` parses the arguments and calls
one of these; the steps themselves live in their modules (``sources``, ``dbt``, ``serving``,
``reverse_etl``, ``simulation``) and the wording of the output in ``report``."""

from __future__ import annotations

import argparse
import functools
import shutil
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import report
from .errors import WarehouseError, is_user_error, reason
from .paths import Paths
from .sources import SOURCES, destination, load_all
from .writer_lock import writer_lock

if TYPE_CHECKING:
    from ingestion.runner import IngestReport


class IngestError(WarehouseError):
    """One or more sources failed to load (the others loaded); the message names each."""


Command = Callable[[argparse.Namespace, Paths], None]


def _writes(command: Command) -> Command:
    """Run ``command`` holding the home's writer lock (warehouse/writer_lock.py): it waits for
    another writer (the streaming refresher's tick, another run) instead of failing on DuckDB's."""

    @functools.wraps(command)
    def locked(args: argparse.Namespace, paths: Paths) -> None:
        with writer_lock(paths):
            command(args, paths)

    return locked


def cmd_demo(args: argparse.Namespace, paths: Paths) -> None:
    from . import simulation

    started = time.perf_counter()
    dsn = _shop_dsn(paths)
    if args.reset or not simulation.is_generated(dsn):
        report.step("generate", lambda: _generate(dsn, paths, args.scale, args.seed))
    else:
        clock = simulation.check_world(dsn)
        print(
            f"shop database: already generated (scale {clock.scale}, clock {clock.now:%Y-%m-%d})"
            "; --reset regenerates it"
        )
    cmd_run(args, paths)
    report.print_marts(paths)
    report.print_headline_metrics(paths)
    report.print_next_steps(paths, time.perf_counter() - started)


def cmd_generate(args: argparse.Namespace, paths: Paths) -> None:
    report.step("generate", lambda: _generate(_shop_dsn(paths), paths, args.scale, args.seed))


def cmd_advance(args: argparse.Namespace, paths: Paths) -> None:
    from . import simulation

    def advance() -> str:
        summary = simulation.advance(_shop_dsn(paths), paths.home, args.days)
        return f"clock {summary.clock.now:%Y-%m-%d}; " + report.counts(summary.counts)

    report.step(f"advance {args.days} day(s)", advance)


def cmd_stop(args: argparse.Namespace, paths: Paths) -> None:
    from . import simulation
    from .collect_commands import stop_bus

    stopped = simulation.stop(paths.postgres)
    print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL was running")
    print(stop_bus(paths))


@_writes
def cmd_ingest(args: argparse.Namespace, paths: Paths) -> None:
    unknown = sorted(set(args.sources or ()) - set(SOURCES))
    if unknown:
        raise WarehouseError(
            f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}"
        )
    target = destination(getattr(args, "destination", None))
    suffix = "" if target == "duckdb" else f" into the {target}"
    # One source failing (an API down, the shop's schema drifting) must not keep the others'
    # data out: each source loads on its own (the API sources at the same time), then the
    # failures stop the command (and so the build and publish of `run`), leaving the marts
    # and the serving file as they were.
    failed: dict[str, str] = {}

    def starting(batch: tuple[str, ...]) -> None:
        for source in batch:  # each its own step line, as when they load one after another
            report.starting(f"ingest {source}{suffix}")
        if len(batch) > 1:
            print(
                f"    {', '.join(batch)}: loading at the same time; each one's line follows"
                " when it finishes",
                flush=True,
            )

    sources = args.sources or list(SOURCES)
    for outcome in load_all(sources, paths, target, starting):
        source, exc = outcome.source, outcome.error
        if exc is None and outcome.report is not None:
            report.finished(f"ingest {source}{suffix}", _described(outcome.report), outcome.seconds)
            continue
        if args.verbose or not is_user_error(exc):
            raise exc
        why = reason(exc)
        failed[source] = why if why.startswith(source) else f"{source}: {why}"
        print(f"    ingest {source}{suffix}: FAILED", flush=True)
    if failed:
        # Named in the order asked for, whichever of those loading at once failed first.
        failed = {source: failed[source] for source in sources if source in failed}
        loaded = [source for source in sources if source not in failed]
        others = f"; loaded: {', '.join(loaded)}" if loaded else ""
        raise IngestError(
            " | ".join(why.rstrip(".") + "." for why in failed.values())
            + f" (not loaded: {', '.join(failed)}{others}. Nothing was built or published: "
            "the marts and the serving file are still the last good build.)"
        )


@_writes
def cmd_build(args: argparse.Namespace, paths: Paths) -> None:
    from .dbt import dbt

    def run(*dbt_args: str) -> Callable[[], str]:
        def action() -> str:
            outcome = dbt(paths, *dbt_args)
            return ", ".join(f"{n} {status}" for status, n in sorted(outcome.statuses.items()))

        return action

    # Freshness first: a source that stopped loading is named before models are rebuilt on it.
    report.step("dbt source freshness", run("source", "freshness"))
    report.step("dbt build", run("build", *getattr(args, "dbt_args", [])))


@_writes
def cmd_run(args: argparse.Namespace, paths: Paths) -> None:
    from .test_scope import build_started, code_fingerprint, record_green_build, scoped_tests

    args.sources = None
    # A new warehouse (a first run, or `demo --reset`) is tested whole, whatever was recorded.
    full = getattr(args, "full_test", False) or not paths.duckdb.exists()
    cmd_ingest(args, paths)
    started, code = build_started(), code_fingerprint()
    with scoped_tests(paths, full, code) as scope:
        if scope.since is not None:
            unit = "; unit tests skipped (code unchanged)" if scope.skip_unit_tests else ""
            print(f"data tests: on rows loaded since the last green build{unit}")
        cmd_build(args, paths)
    record_green_build(paths, started, code)  # only reached after a green build
    if destination() == "lake":
        # The serving file is a copy of DuckDB marts; on Spark, BI tools read the marts where
        # they are built (its Thrift/JDBC server), so there is nothing to publish.
        print("==> publish: skipped (the lake destination builds on Spark: DBT_TARGET=spark)")
        return
    cmd_publish(args, paths)  # only reached after a green build: a failure raised above


@_writes
def cmd_publish(args: argparse.Namespace, paths: Paths) -> None:
    from .serving import publish

    published = []

    def action() -> str:
        published.append(publish(paths, full=getattr(args, "full", False)))
        return report.describe_publish(published[0])

    report.step("publish", action)
    from .analytics_endpoint import enabled, publish_analytics

    if enabled():  # the analyst tier over the network, from the file just published
        report.step("publish analytics endpoint", lambda: publish_analytics(paths).summary())
    report.print_published(published[0], list_tables=args.command == "publish")


def cmd_reverse_etl(args: argparse.Namespace, paths: Paths) -> None:
    from .reverse_etl import reverse_etl

    def action() -> str:
        outcome = reverse_etl(paths)
        return f"{outcome.customers:,} customers, {outcome.changed:,} changed in {outcome.table}"

    report.step("reverse ETL", action)


@_writes
def cmd_forget(args: argparse.Namespace, paths: Paths) -> None:
    from .erasure import forget

    report.step(f"forget customer {args.customer}", lambda: forget(paths, args.customer).summary())


def cmd_docs(args: argparse.Namespace, paths: Paths) -> None:
    from .dbt import dbt

    if not paths.duckdb.exists():
        raise WarehouseError(
            f"no warehouse at {report.relative(paths.duckdb)}: run `make demo` (or "
            "`warehouse run`) first, so that the docs describe the tables it built"
        )
    # The catalog (column types, row counts) comes from the warehouse as built.
    report.step("dbt docs generate", lambda: dbt(paths, "docs", "generate") and None)
    site = paths.dbt_target / "index.html"
    if not args.serve:
        print(f"docs site: {report.relative(site)} (serve it with `warehouse docs --serve`)")
        return
    url = f"http://{args.host}:{args.port}/#!/overview?g_v=1"
    print(f"serving the docs site; the lineage graph is at {url} (Ctrl-C stops)", flush=True)
    dbt(paths, "docs", "serve", "--host", args.host, "--port", str(args.port), "--no-browser")


def cmd_lake(args: argparse.Namespace, paths: Paths) -> None:
    from .lake_commands import run

    run(args, paths)


def cmd_ui(args: argparse.Namespace, paths: Paths) -> None:
    from orchestration.ui import serve

    serve(paths, args.host, args.port)


def cmd_query(args: argparse.Namespace, paths: Paths) -> None:
    import duckdb

    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        conn.sql(args.sql).show(max_rows=args.max_rows)


# --------------------------------------------------------------------------------------------
# Steps


def _shop_dsn(paths: Paths) -> str:
    from .sources import shop_dsn

    return shop_dsn(paths)


def _generate(dsn: str, paths: Paths, scale: float, seed: int) -> str:
    from . import simulation

    summary = simulation.generate(dsn, paths.home, scale=scale, seed=seed)
    # A new world makes the warehouse built from the old one (and its pipelines' cursors)
    # meaningless: start it afresh rather than merge two companies' histories.
    paths.duckdb.unlink(missing_ok=True)
    paths.governance.unlink(missing_ok=True)  # its customer ids were the old world's people
    lake = (paths.lake, paths.lake_pipelines, paths.lake_snapshots, paths.lake_builds)
    # The bus holds the old world's live events: stop it and start the next one empty.
    from .collect_commands import stop_bus

    stop_bus(paths)
    for folder in (paths.pipelines, *lake, paths.spark, paths.bus):
        shutil.rmtree(folder, ignore_errors=True)
    return f"scale {scale}, seed {seed}; " + report.counts(summary.counts) + "; warehouse reset"


def _described(outcome: IngestReport) -> str:
    reconciled = f"; {report.counts(outcome.reconciled)}" if outcome.reconciled else ""
    return report.counts(outcome.rows) + f" ({outcome.total:,} rows)" + reconciled
