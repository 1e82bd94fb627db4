"""The push-ingestion commands: ``warehouse collect`` (the collector in front of the bus) and
``warehouse demo live-traffic`` (the demo web app's live events sent to it).

Both run on the same home: the collector's token (configured, or generated under the home)
and its address (``[streaming.collector]``) are found the same way by both.
"""

from __future__ import annotations

import argparse
import asyncio

from .errors import WarehouseError
from .paths import Paths


def cmd_collect(args: argparse.Namespace, paths: Paths) -> None:
    """Run the collector until Ctrl-C or SIGTERM, starting the embedded bus if none is set."""
    from streaming.bus import BusSettings, bus_url
    from streaming.collector import Collector, serve
    from streaming.collector_settings import CollectorSettings, collector_token

    bus = BusSettings.from_config()
    settings = CollectorSettings.from_config(host=args.host, port=args.port)
    url = bus_url(paths.bus, bus)
    collector = Collector(settings, bus, url, collector_token(paths.home))

    def ready() -> None:
        where = "the configured bus" if bus.url else "the embedded bus"
        print(
            f"collector: POST {settings.url}/v1/events (bearer token), GET {settings.url}/health;"
            f" publishing to {where} at {url}, stream {bus.stream}. Ctrl-C stops.",
            flush=True,
        )

    asyncio.run(serve(collector, ready))
    print("collector stopped", flush=True)


def cmd_live_traffic(args: argparse.Namespace, paths: Paths) -> None:
    """Send the demo web app's live events to the collector; fail if any are left unsent."""
    from streaming.collector_settings import CollectorSettings, collector_token

    from . import simulation
    from .sources import shop_dsn

    url = args.url or CollectorSettings.from_config().url
    print(f"live traffic: {args.rate:g} events/s for {args.seconds:g} s to {url}", flush=True)
    counts = simulation.live_traffic(
        shop_dsn(paths), url, collector_token(paths.home), args.rate, args.seconds, args.seed
    )
    print(counts.summary(), flush=True)
    if counts.buffered:
        raise WarehouseError(
            f"{counts.buffered:,} events could not be sent before the drain timeout "
            "([demo.live_traffic] drain_seconds): is the collector running and the pipeline "
            "reading the stream?"
        )


def stop_bus(paths: Paths) -> str:
    """Stop the home's embedded NATS server (``warehouse demo stop``); what happened."""
    from streaming.bus import stop_embedded

    return "embedded NATS stopped" if stop_embedded(paths.bus) else "no embedded NATS was running"


def register(
    subcommands: argparse._SubParsersAction, demo_actions: argparse._SubParsersAction
) -> None:
    """The ``collect`` command and the ``demo live-traffic`` action."""
    collect = subcommands.add_parser(
        "collect", help="run the HTTP collector: events POSTed to it go to the NATS bus"
    )
    collect.add_argument("--host", help="address to listen on ([streaming.collector] host)")
    collect.add_argument("--port", type=int, help="port ([streaming.collector] port, 8765)")
    collect.set_defaults(handler=cmd_collect)

    live = demo_actions.add_parser(
        "live-traffic", help="send the web app's live events to the collector"
    )
    live.add_argument("--rate", type=float, default=50.0, help="events a second (default 50)")
    live.add_argument("--seconds", type=float, default=60.0, help="for how long (default 60)")
    live.add_argument("--url", help="the collector (default: [streaming.collector] host:port)")
    live.add_argument("--seed", type=int, help="random seed of the visitors (default: random)")
    live.set_defaults(handler=cmd_live_traffic)
