"""The one door from the warehouse to the simulated company (``demo/``).

The warehouse reads real systems through configuration; only when nothing is configured does
it fall back on the simulation: the embedded PostgreSQL for the shop, the demo HTTP API for the
vendors, the demo's log folder for the clickstream. Every such use goes through this module, so
the rest of ``warehouse/`` never imports ``demo`` and the demo never imports the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from demo.errors import DemoError

if TYPE_CHECKING:
    from demo.api.server import ApiServer
    from demo.live_traffic import TrafficCounts
    from demo.shop import Clock, Summary

__all__ = [
    "DemoError",
    "advance",
    "api_server",
    "check_world",
    "generate",
    "live_traffic",
    "log_folder",
    "read_clock",
    "shop_dsn",
    "stop",
]


def shop_dsn(postgres_dir: Path) -> str:
    """The configured shop database, else the embedded demo PostgreSQL in ``postgres_dir``
    (started if needed)."""
    from demo.postgres import shop_dsn as resolve

    return resolve(postgres_dir)


def stop(postgres_dir: Path) -> bool:
    """Stop the embedded PostgreSQL in ``postgres_dir``; True if one was running."""
    from demo.postgres import stop_embedded

    return stop_embedded(postgres_dir)


def read_clock(dsn: str) -> Clock:
    """The simulated clock of the shop at ``dsn``; DemoError if it was never generated."""
    import psycopg

    from demo import shop

    with psycopg.connect(dsn) as conn:
        return shop.read_clock(conn)


def check_world(dsn: str) -> Clock:
    """The simulated clock of the generated world at ``dsn``; DemoError, saying what to do, if
    the world lost what it needs to go on (its order plans, see ``demo.shop.check_plans``)."""
    import psycopg

    from demo import shop

    with psycopg.connect(dsn) as conn:
        return shop.check_plans(conn)


def is_generated(dsn: str) -> bool:
    """Whether the shop at ``dsn`` holds a generated simulated company."""
    try:
        read_clock(dsn)
    except DemoError:
        return False
    return True


def generate(dsn: str, home: Path, scale: float, seed: int) -> Summary:
    """(Re)create the whole simulated world: the shop, the vendors' records, the web logs."""
    from demo import world

    return world.generate(dsn, home, scale=scale, seed=seed)


def advance(dsn: str, home: Path, days: int) -> Summary:
    """Move the simulated world forward ``days`` days."""
    from demo import world

    return world.advance(dsn, home, days)


@contextmanager
def api_server(dsn: str, source: str, home: Path) -> Iterator[tuple[ApiServer, str, Path]]:
    """The demo's vendor API over the shop database at ``dsn``, for the length of the block,
    with the misbehaviour configured in ``[demo.api]``, over HTTPS with a certificate of the
    demo's own CA (kept under ``home``); yields the server, its token and the CA bundle."""
    from demo.api.server import DEMO_TOKEN, demo_behaviour, running
    from demo.tls import local_ca

    tls = local_ca(home / "tls")
    with running(dsn, demo_behaviour(), source=source, tls=tls) as server:
        yield server, DEMO_TOKEN, tls.ca_bundle


def log_folder(home: Path) -> Path:
    """The demo's web log folder under ``home``: the clickstream source's default."""
    from demo.clickstream import log_folder as folder

    return folder(home)


def live_traffic(
    dsn: str, url: str, token: str, rate: float, seconds: float, seed: int | None = None
) -> TrafficCounts:
    """The web app's live traffic to the collector at ``url``: ``rate`` events a second for
    ``seconds`` from visitors of the shop at ``dsn``, buffered and retried until accepted."""
    from demo.live_sessions import LiveCatalogue
    from demo.live_traffic import live_traffic as send

    return send(url, token, LiveCatalogue.read(dsn), rate, seconds, seed=seed)
