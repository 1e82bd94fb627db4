"""Where the shop database lives: an embedded PostgreSQL (pgserver) or one given by configuration.

The demo runs a real PostgreSQL 16 from pip, with its data under the warehouse home folder, so
nothing needs root, Docker or a network. Set ``SOURCES__SHOP__CREDENTIALS`` (or
``[sources.shop] credentials`` in ``.dlt/secrets.toml``) to use your own PostgreSQL instead: the
generator and the pipeline then both talk to that one.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import dlt

log = logging.getLogger(__name__)

CREDENTIALS_KEY = "sources.shop.credentials"


def configured_dsn() -> str | None:
    """Return the shop credentials from dlt configuration (env or secrets.toml), if any, with
    the ``[postgres]`` TLS settings (warehouse.postgres_tls).

    Read through ``dlt.secrets``, not ``dlt.config``: dlt records every value it resolves and
    writes the non-secret ones into the next pipeline's trace (``trace.pickle`` in the working
    folder), so a password read as config would be saved there in clear.
    """
    from warehouse.postgres_tls import with_tls

    value = dlt.secrets.get(CREDENTIALS_KEY)
    if value is None:
        return None
    if isinstance(value, str):
        return with_tls(value)
    # A TOML table (drivername, host, ...) resolves to a mapping; turn it into a URL.
    from dlt.common.configuration.specs import ConnectionStringCredentials

    credentials = ConnectionStringCredentials(dict(value))
    return with_tls(credentials.to_native_representation())


def embedded_dsn(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose data lives in ``data_dir``.

    The server keeps running after this process exits, so the CLI's steps (generate, ingest,
    advance) share one database; ``stop_embedded`` or ``make clean`` stops it.
    """
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    dsn = server.get_uri()
    _ensure_logical_decoding(dsn, data_dir)
    return dsn


# The settings change data capture needs (docs/sources.md): logical WAL, and room for a
# replication slot per shop pipeline (DuckDB, lake) and per test database beside them.
REPLICATION_SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "32",
    "max_wal_senders": "16",
}


def _ensure_logical_decoding(dsn: str, data_dir: Path) -> None:
    """Give the embedded server ``wal_level = logical`` (the shop's CDC mode reads its
    changes through a logical replication slot), restarting a server started without it.

    ``wal_level`` takes effect only at server start: a server created before CDC existed is
    restarted once, in place (same socket, same data); later calls find it set and return.
    """
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        current = {
            name: conn.execute(f"show {name}").fetchone()[0] for name in REPLICATION_SETTINGS
        }
        if current == REPLICATION_SETTINGS:
            return
        for name, value in REPLICATION_SETTINGS.items():
            conn.execute(f"alter system set {name} = '{value}'")
    from pgserver._commands import pg_ctl

    log.info("restarting the embedded PostgreSQL in %s with wal_level = logical", data_dir)
    # pg_ctl restart reuses the options the server was started with (postmaster.opts).
    pg_ctl(
        ["-w", "restart", "-m", "fast", "-l", str(data_dir / "log")],
        pgdata=data_dir,
        user=_system_user(),
        timeout=60,
    )


def shop_dsn(data_dir: Path) -> str:
    """The shop database to use: the configured one, else the embedded demo server."""
    return configured_dsn() or embedded_dsn(data_dir)


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server in ``data_dir`` if one runs there. Returns True if it stopped."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    from pgserver._commands import pg_ctl

    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=_system_user(), timeout=30)
    except subprocess.CalledProcessError:
        return False
    log.info("stopped the embedded PostgreSQL in %s", data_dir)
    return True


def _system_user() -> str | None:
    """As root, pgserver runs PostgreSQL as its own system user; pg_ctl must run as it too."""
    return "pgserver" if os.geteuid() == 0 else None
