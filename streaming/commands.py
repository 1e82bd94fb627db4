"""The ``warehouse stream`` and ``warehouse live`` commands (registered in warehouse/cli.py)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from warehouse.paths import Paths

if TYPE_CHECKING:
    from .refresher import TickReport


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``stream`` and ``live`` to the CLI."""
    stream = subcommands.add_parser(
        "stream",
        help="run the Beam pipeline (bus -> raw) and the refresher of the web-analytics slice "
        "until Ctrl-C / SIGTERM",
    )
    stream.set_defaults(handler=cmd_stream)
    live = subcommands.add_parser(
        "live",
        help="the real-time path end to end on the demo: bus, pipeline, refresher and live "
        "traffic for a while, then latency and counts",
    )
    live.add_argument("--seconds", type=float, default=60, help="how long to send (default 60)")
    live.add_argument("--rate", type=float, default=50, help="events per second (default 50)")
    live.set_defaults(handler=cmd_live)


def print_tick(report: TickReport) -> None:
    """One line per refresher tick."""
    print(f"    tick: {report.summary()}", flush=True)


def cmd_stream(args: argparse.Namespace, paths: Paths) -> None:
    from .service import run_stream

    print(
        "streaming: the pipeline lands the bus's events, the refresher publishes them "
        "(Ctrl-C stops)",
        flush=True,
    )
    with _stop_on_signals() as stop:
        totals = run_stream(paths, stop, print_tick)
    print(
        f"stopped after {totals.ticks} tick(s): {totals.events:,} events landed, "
        f"{totals.quarantined:,} quarantined",
        flush=True,
    )


def cmd_live(args: argparse.Namespace, paths: Paths) -> None:
    from .live import run_live

    print(
        f"live: sending the demo's web traffic at {args.rate:g} events/s for {args.seconds:g} s "
        "through the bus, the Beam pipeline and the refresher",
        flush=True,
    )
    report = run_live(paths, args.seconds, args.rate, print_tick)
    print(f"live: {report.summary()} ({report.seconds:.0f} s in all)", flush=True)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, for the length of the block: the stream finishes
    its batch and its last tick instead of dying part-way."""
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
