"""The analyst tier over the network: the marts and metric views in a PostgreSQL schema.

BI tools on other machines cannot open a local DuckDB file. After the serving file is
published, this copies what it holds into schema ``analytics`` of a PostgreSQL database (the
``[analytics_endpoint] credentials`` secret, else the shop database: the demo's embedded
server), and grants a read-only role (``analyst``) USAGE and SELECT on that schema and nothing
else. Every mart becomes ``analytics.<table>``; every metric view ``metrics.<name>`` becomes the
table ``analytics.metrics__<name>`` (its answer at publish time: MetricFlow compiles the views
for DuckDB).

The copy is read from the serving file through a locked analyst connection, so the endpoint
can never hold more than the serving file does. It is built in a schema of its own and swapped
in with the grants in one transaction: an analyst sees the previous publish or the new one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from .access import analyst_connection
from .errors import WarehouseError
from .paths import Paths

log = logging.getLogger(__name__)

CONFIG_SECTION = "analytics_endpoint"

# DuckDB type (as information_schema names it) -> PostgreSQL type; decimals keep their scale.
_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
}


class AnalyticsEndpointError(WarehouseError):
    """The endpoint could not be published; the previous ``analytics`` schema is unchanged."""


@dataclass(frozen=True)
class EndpointReport:
    """What one publish to the endpoint wrote."""

    schema: str
    role: str
    tables: dict[str, int]
    seconds: float

    def summary(self) -> str:
        rows = sum(self.tables.values())
        return f"{len(self.tables)} tables ({rows:,} rows) in {self.schema}, read by {self.role}"


def setting(name: str, default: Any) -> Any:
    """``[analytics_endpoint] <name>`` from dlt configuration (config.toml or env)."""
    import dlt

    value = dlt.config.get(f"{CONFIG_SECTION}.{name}")
    return default if value is None else value


def enabled() -> bool:
    """Whether `warehouse publish` (and `run`) also publish to the endpoint."""
    return str(setting("enabled", False)).lower() in ("true", "1", "yes")


def endpoint_dsn(paths: Paths) -> str:
    """``[analytics_endpoint] credentials`` (a secret), else the shop database."""
    import dlt

    from .postgres_tls import with_tls
    from .sources import shop_dsn

    configured = dlt.secrets.get(f"{CONFIG_SECTION}.credentials")
    return with_tls(str(configured)) if configured else shop_dsn(paths)


def publish_analytics(paths: Paths, dsn: str | None = None) -> EndpointReport:
    """Copy the serving file's marts and metric views into the endpoint's ``analytics``
    schema, readable by the analyst role only (module doc)."""
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    schema = str(setting("schema", "analytics"))
    role = str(setting("role", "analyst"))
    if schema in ("shop", "crm", "public"):
        raise AnalyticsEndpointError(
            f"[analytics_endpoint] schema = {schema!r} would mix analysts' tables with another "
            "tier's: choose a schema of its own (default analytics)"
        )
    building = f"{schema}__publishing"
    tables: dict[str, int] = {}
    with (
        analyst_connection(paths.serving) as source,
        psycopg.connect(dsn or endpoint_dsn(paths)) as conn,
    ):
        relations = source.execute(
            "select table_schema, table_name from information_schema.tables"
            " order by table_schema = 'metrics', 1, 2"
        ).fetchall()
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(building)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(building)))
        for source_schema, table in relations:
            name = f"metrics__{table}" if source_schema == "metrics" else table
            if name in tables:
                raise AnalyticsEndpointError(
                    f"two serving relations map to {schema}.{name}: rename one of the marts"
                )
            tables[name] = _copy(source, conn, (source_schema, table), (building, name))
        _grant(conn, building, role)
        database = conn.info.dbname
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(building), sql.Identifier(schema)
            )
        )
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    report = EndpointReport(f"{database}.{schema}", role, tables, time.perf_counter() - started)
    log.info("analytics endpoint: %s", report.summary())
    return report


def _copy(source: Any, conn: Any, relation: tuple[str, str], target: tuple[str, str]) -> int:
    """Create ``target`` with ``relation``'s columns and COPY its rows in; return the count."""
    from psycopg import sql

    columns = source.execute(
        "select column_name, data_type, numeric_precision, numeric_scale"
        " from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position",
        list(relation),
    ).fetchall()
    definitions = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_pg_type(kind, precision, scale)))
        for name, kind, precision, scale in columns
    ]
    conn.execute(
        sql.SQL("create table {} ({})").format(
            sql.Identifier(*target), sql.SQL(", ").join(definitions)
        )
    )
    result = source.execute(f'select * from "{relation[0]}"."{relation[1]}"')
    copied = 0
    with conn.cursor().copy(sql.SQL("copy {} from stdin").format(sql.Identifier(*target))) as copy:
        while batch := result.fetchmany(10_000):
            for row in batch:
                copy.write_row(row)
            copied += len(batch)
    return copied


def _pg_type(kind: str, precision: int | None, scale: int | None) -> str:
    if kind.startswith("DECIMAL"):
        return f"numeric({precision}, {scale})"
    if kind not in _TYPES:
        raise AnalyticsEndpointError(
            f"a serving column has type {kind}, which the endpoint does not map to PostgreSQL:"
            " cast it in the mart"
        )
    return _TYPES[kind]


def _grant(conn: Any, schema: str, role: str) -> None:
    """The analyst role: may log in and read ``schema``; owns nothing, creates nothing."""
    from psycopg import sql

    (exists,) = conn.execute("select count(*) from pg_roles where rolname = %s", [role]).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("create role {} login nosuperuser nocreatedb nocreaterole").format(
                sql.Identifier(role)
            )
        )
    password = _analyst_password()
    if password:
        conn.execute(
            sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(password))
        )
    schema_id, role_id = sql.Identifier(schema), sql.Identifier(role)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema_id, role_id))
    conn.execute(
        sql.SQL("grant select on all tables in schema {} to {}").format(schema_id, role_id)
    )


def _analyst_password() -> str | None:
    import dlt

    value = dlt.secrets.get(f"{CONFIG_SECTION}.analyst_password")
    return str(value) if value else None
