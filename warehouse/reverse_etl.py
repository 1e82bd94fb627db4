"""Reverse ETL: push each customer's segment and high-value flag back to the shop's database.

The application reads ``crm.customer_flags`` (one row per customer_id: customer_segment,
lifetime_value, is_high_value, updated_at) to personalise the shop. The flags come from the
*published* serving file, never from the warehouse mid-build, so the app only ever sees flags
from a green build. All three are columns of ``sales.dim_customers``: the rules live in dbt
(``is_high_value`` is ``lifetime_value`` at least the dbt var ``customer_vip_min_lifetime_value``,
the ``vip`` threshold, but it stays true when a big spender lapses into ``at_risk``).

The load is a dlt merge on customer_id of only the rows that changed (compared with what
``crm`` already holds), so a rerun on unchanged marts writes nothing and every ``updated_at``
keeps saying when that customer's flags last changed. dlt writes only to its own dataset
schema (``crm``); the application's ``shop`` schema is never touched.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .access import analyst_connection
from .erasure import erased_customers
from .errors import WarehouseError
from .paths import Paths

log = logging.getLogger(__name__)

CONFIG_SECTION = "reverse_etl"
FLAG_COLUMNS = ("customer_segment", "lifetime_value", "is_high_value")


class ReverseEtlError(WarehouseError):
    """The flags could not be computed or loaded; the crm table is unchanged."""


@dataclass(frozen=True)
class ReverseEtlReport:
    """What one reverse ETL run did: customers read from the marts, rows merged into crm."""

    table: str
    customers: int
    changed: int
    seconds: float


def reverse_etl(paths: Paths) -> ReverseEtlReport:
    """Merge the changed customer flags into ``<schema>.<table>`` of the CRM database.

    The CRM database is ``[destination.crm] credentials`` if configured, else the shop
    database (the demo's embedded PostgreSQL unless shop credentials are configured).
    """

    started = time.perf_counter()
    schema = str(_setting("schema", "crm"))
    table = str(_setting("table", "customer_flags"))
    if schema == "shop":
        raise ReverseEtlError("reverse ETL must not write to the application's schema `shop`")
    erased = erased_customers(paths)  # forgotten customers never go back to the CRM
    flags = {key: value for key, value in _flags_from_marts(paths).items() if key not in erased}
    dsn = _crm_dsn(paths)
    current = _current_flags(dsn, schema, table)
    now = datetime.now(UTC)
    changed = [
        {"customer_id": customer_id, **values, "updated_at": now}
        for customer_id, values in flags.items()
        if current.get(customer_id) != tuple(values[column] for column in FLAG_COLUMNS)
    ]
    if changed:
        _merge(paths, dsn, schema, table, changed)
    log.info("reverse ETL: %d customers, %d changed", len(flags), len(changed))
    return ReverseEtlReport(
        f"{schema}.{table}", len(flags), len(changed), time.perf_counter() - started
    )


def _setting(name: str, default: Any) -> Any:
    """``[reverse_etl] <name>`` from dlt configuration (config.toml or env), else ``default``."""
    import dlt

    value = dlt.config.get(f"{CONFIG_SECTION}.{name}")
    return default if value is None else value


def _crm_dsn(paths: Paths) -> str:
    import dlt

    from .postgres_tls import with_tls
    from .sources import shop_dsn

    # dlt.secrets, not dlt.config: values read as config are written into dlt's traces.
    configured = dlt.secrets.get("destination.crm.credentials")
    return with_tls(str(configured)) if configured else shop_dsn(paths)


def _flags_from_marts(paths: Paths) -> dict[int, dict[str, Any]]:
    """``{customer_id: flags}`` from sales.dim_customers in the published serving file."""
    import duckdb

    if not paths.serving.exists():
        raise ReverseEtlError(
            f"no serving file at {paths.serving}: run `warehouse run` (or `warehouse publish` "
            "after a green build) first; reverse ETL only pushes flags from a published build"
        )
    with analyst_connection(paths.serving) as conn:
        try:
            rows = conn.execute(
                "select customer_id, customer_segment, lifetime_value, is_high_value"
                " from sales.dim_customers order by customer_id"
            ).fetchall()
        except duckdb.CatalogException as exc:
            raise ReverseEtlError(
                f"sales.dim_customers is missing from {paths.serving}: the marts were not "
                "published; run `warehouse run` first"
            ) from exc
    return {
        customer_id: {
            "customer_segment": segment,
            "lifetime_value": Decimal(lifetime_value),
            "is_high_value": bool(is_high_value),
        }
        for customer_id, segment, lifetime_value, is_high_value in rows
    }


def _current_flags(dsn: str, schema: str, table: str) -> dict[int, tuple]:
    """What the CRM table holds now (empty if it does not exist yet)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn) as conn:
        (exists,) = conn.execute(
            "select to_regclass(%s) is not null", [f"{schema}.{table}"]
        ).fetchone()
        if not exists:
            return {}
        query = sql.SQL("select customer_id, {} from {}").format(
            sql.SQL(", ").join(map(sql.Identifier, FLAG_COLUMNS)), sql.Identifier(schema, table)
        )
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def _merge(paths: Paths, dsn: str, schema: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Merge ``rows`` on customer_id with dlt's SQLAlchemy destination (psycopg 3)."""
    import dlt

    from ingestion.runner import run

    @dlt.resource(
        name=table,
        write_disposition="merge",
        primary_key="customer_id",
        columns={
            "customer_id": {"data_type": "bigint", "nullable": False},
            "customer_segment": {"data_type": "text", "nullable": False},
            "lifetime_value": {"data_type": "decimal", "precision": 18, "scale": 2},
            "is_high_value": {"data_type": "bool", "nullable": False},
            "updated_at": {"data_type": "timestamp", "nullable": False},
        },
    )
    def customer_flags() -> Iterator[list[dict[str, Any]]]:
        yield rows

    pipeline = dlt.pipeline(
        pipeline_name=f"reverse_etl_{schema}",
        destination=_destination(dsn),
        dataset_name=schema,
        pipelines_dir=str(paths.pipelines),
    )
    try:
        with warnings.catch_warnings():
            # dlt's SQLAlchemy merge job builds a subquery SQLAlchemy 2.1 warns about.
            warnings.filterwarnings("ignore", message=".*coercing SELECT object to scalar")
            # The ingestion runner: a killed run's package finished first, loaded packages
            # pruned, a failed job raised.
            run(pipeline, customer_flags())
    except Exception as exc:
        raise ReverseEtlError(f"reverse ETL into {schema}.{table} failed: {exc}") from exc


def _sqlalchemy_engine(dsn: str) -> Any:
    """A SQLAlchemy engine for a libpq DSN, with the psycopg 3 driver (psycopg2 is not
    installed).

    The URL is built from parts, not text: the embedded PostgreSQL's host is a Unix-socket
    folder, which a URL string can only carry in its query, and dlt needs a host to name the
    destination's data location.
    """
    import sqlalchemy
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None) or None,
        host=params.pop("host", None),
        port=int(params.pop("port")) if params.get("port") else None,
        database=params.pop("dbname", None),
        query={key: str(value) for key, value in params.items()},
    )
    return sqlalchemy.create_engine(url)


def _destination(dsn: str) -> Any:
    """dlt's SQLAlchemy destination on our engine.

    dlt re-parses an engine's URL as text, which loses a Unix-socket host (the embedded
    PostgreSQL's), and then fails after the load, naming the data location; the engine is
    ours and connects by itself, so the host is only restored on the credentials as a label.
    """
    import dlt
    from dlt.destinations.impl.sqlalchemy.configuration import SqlalchemyCredentials

    engine = _sqlalchemy_engine(dsn)
    credentials = SqlalchemyCredentials(engine)
    credentials.host = credentials.host or engine.url.host
    return dlt.destinations.sqlalchemy(credentials)
