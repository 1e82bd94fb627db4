"""TLS on every PostgreSQL connection the project makes to a configured server.

``[postgres] sslmode`` and ``sslrootcert`` (``.dlt/config.toml``, or ``POSTGRES__SSLMODE`` /
``POSTGRES__SSLROOTCERT``) are added to each configured connection string: the shop
extraction (``[sources.shop] credentials``), reverse ETL (``[destination.crm] credentials``)
and the analytics endpoint (``[analytics_endpoint] credentials``). Against a real server set
``sslmode = "verify-full"`` and ``sslrootcert`` to the CA that signed the server's certificate:
the connection is then encrypted, and refused unless the server proves it is the host named in
the credentials. A parameter already in a connection string wins over the setting.

The demo's embedded PostgreSQL is reached over a Unix socket, where libpq never uses SSL.
"""

from __future__ import annotations

from urllib.parse import urlencode

SETTINGS = ("sslmode", "sslrootcert")


def with_tls(dsn: str) -> str:
    """``dsn`` (a URL or ``key=value`` string) with the configured TLS parameters it lacks."""
    import dlt
    from psycopg.conninfo import conninfo_to_dict

    present = conninfo_to_dict(dsn)
    extra = {}
    for name in SETTINGS:
        value = dlt.config.get(f"postgres.{name}")
        if value and name not in present:
            extra[name] = str(value)
    if not extra:
        return dsn
    if "://" in dsn:  # kept a URL, so that messages can still redact its password
        return dsn + ("&" if "?" in dsn else "?") + urlencode(extra)
    quoted = {
        name: value.replace("\\", "\\\\").replace("'", "\\'") for name, value in extra.items()
    }
    return " ".join([dsn, *(f"{name}='{value}'" for name, value in quoted.items())])
