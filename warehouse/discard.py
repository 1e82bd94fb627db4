"""``warehouse discard-failed-load SOURCE``: discard a source's load packages that failed.

A package whose load failed is loaded first by every later run of its source; when the cause
cannot be fixed in the warehouse (the error names the table and columns), this command aborts
the package and restores the pipeline's state to before it, so the next ``warehouse ingest``
extracts everything the package held again: nothing is lost.
"""

from __future__ import annotations

import argparse

from .errors import WarehouseError
from .paths import Paths
from .sources import SOURCES, destination, lake_url


def cmd_discard_failed_load(args: argparse.Namespace, paths: Paths) -> None:
    """Discard the pending packages of ``args.source`` and say what happens next."""
    from ingestion.failed_loads import discard
    from ingestion.runner import lake_pipeline_for, pipeline_for

    if args.source not in SOURCES:
        raise WarehouseError(f"unknown source {args.source!r}; choose from {', '.join(SOURCES)}")
    if destination(getattr(args, "destination", None)) == "lake":
        pipeline = lake_pipeline_for(args.source, lake_url(paths), paths.lake_pipelines)
    else:
        pipeline = pipeline_for(args.source, paths.duckdb, paths.pipelines)
    discarded = discard(pipeline)
    if not discarded:
        print(f"{args.source}: no failed load to discard")
        return
    print(
        f"{args.source}: discarded load package(s) {', '.join(discarded)}; its state is back to "
        f"before them: `warehouse ingest {args.source}` extracts their rows again"
    )


def register(commands: argparse._SubParsersAction) -> None:
    """The command's arguments."""
    parser = commands.add_parser(
        "discard-failed-load",
        help="discard a source's failed load package (it is extracted again on the next ingest)",
    )
    parser.add_argument("source", choices=list(SOURCES), metavar="SOURCE")
    parser.add_argument("--destination", choices=("duckdb", "lake"))
    parser.set_defaults(handler=cmd_discard_failed_load)
