"""``warehouse shop drop-slot``: drop the shop's replication slot and publication (CDC mode).

A replication slot keeps every WAL segment from its position on: a warehouse that stops
running (or runs too rarely) fills the shop database's disk. Dropping the slot frees that WAL
at once; the next shop load then starts over with a fresh snapshot (docs/sources.md).
"""

from __future__ import annotations

import argparse

from .paths import Paths
from .sources import destination, lake_url, shop_dsn


def cmd_drop_slot(args: argparse.Namespace, paths: Paths) -> None:
    """Drop the slot and publication of the shop pipeline into ``--destination`` (both
    pipelines' with ``--all``), and say what the next run does."""
    import psycopg

    from ingestion.runner import lake_pipeline_for, pipeline_for
    from ingestion.shop.cdc import pipeline_slot
    from ingestion.shop.slot import drop

    dsn = shop_dsn(paths)
    targets = ("duckdb", "lake") if args.all else (destination(args.destination),)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        database = conn.info.dbname
    dropped: list[str] = []
    for target in targets:
        if target == "lake":
            pipeline = lake_pipeline_for("shop", lake_url(paths), paths.lake_pipelines)
        else:
            pipeline = pipeline_for("shop", paths.duckdb, paths.pipelines)
        dropped += drop(dsn, pipeline_slot(pipeline, database))
    if not dropped:
        print("shop: no replication slot or publication to drop")
        return
    print(
        f"shop: dropped {', '.join(dropped)}; the next `warehouse ingest shop` "
        "starts with a fresh snapshot"
    )


def register(commands: argparse._SubParsersAction) -> None:
    """The ``shop`` command group's arguments."""
    shop = commands.add_parser("shop", help="the shop source's change data capture (CDC mode)")
    actions = shop.add_subparsers(dest="action", metavar="ACTION", required=True)
    drop_slot = actions.add_parser(
        "drop-slot",
        help="drop the replication slot and publication (frees the WAL it holds; "
        "the next run takes a fresh snapshot)",
    )
    drop_slot.add_argument(
        "--destination",
        choices=("duckdb", "lake"),
        help="whose slot: the pipeline into the warehouse file or into the lake "
        "(default: [warehouse] destination)",
    )
    drop_slot.add_argument("--all", action="store_true", help="both pipelines' slots")
    drop_slot.set_defaults(handler=cmd_drop_slot)
