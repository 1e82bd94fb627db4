"""Connection checks and hard-delete detection for the shop source."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from .settings import PRIMARY_KEY


class ShopSourceError(RuntimeError):
    """The shop database cannot be read as configured; the message says what to do."""


WHERE_TO_CONFIGURE = (
    "Set it in .dlt/secrets.toml under [sources.shop] credentials, or in the environment "
    "variable SOURCES__SHOP__CREDENTIALS (postgresql://user:password@host:5432/database). "
    "Leave it unset to use the embedded demo database."
)


def redact(dsn: str) -> str:
    """The connection URL without its password, fit for logs and error messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def check_source(dsn: str, schema: str, tables: Sequence[str]) -> None:
    """Fail fast, with a message that says what to do, if the shop cannot be read.

    dlt would raise deep inside SQLAlchemy reflection; checking first turns the three usual
    mistakes (unreachable server, rejected credentials, missing table) into one clear line.
    """
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            found = {
                row[0]
                for row in conn.execute(
                    "select table_name from information_schema.tables where table_schema = %s",
                    (schema,),
                )
            }
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if re.search(r"password|authentication|role .* does not exist", reason, re.IGNORECASE):
            raise ShopSourceError(
                f"shop source: the database at {redact(dsn)} rejected the credentials "
                f"({reason}). Check the user and password. {WHERE_TO_CONFIGURE}"
            ) from None
        raise ShopSourceError(
            f"shop source: cannot reach the database at {redact(dsn)} ({reason}). Is the server "
            f"running and the host, port and database right? {WHERE_TO_CONFIGURE}"
        ) from None
    missing = [table for table in tables if table not in found]
    if missing:
        raise ShopSourceError(
            f"shop source: table(s) {', '.join(f'{schema}.{t}' for t in missing)} not found in "
            f"{redact(dsn)} (schema {schema!r} has: {', '.join(sorted(found)) or 'no tables'}). "
            "Create them (`warehouse demo generate` for the demo), or list the tables you have "
            "in .dlt/config.toml under [sources.shop] tables."
        )


def source_keys(dsn: str, schema: str, table: str) -> pa.Array:
    """Every primary key currently in a source table, read in one streamed query."""
    with psycopg.connect(dsn) as conn, conn.cursor(name=f"keys_{table}") as cursor:
        cursor.itersize = 500_000
        cursor.execute(f'select "{PRIMARY_KEY}" from "{schema}"."{table}"')
        chunks = []
        while rows := cursor.fetchmany(500_000):
            chunks.append(pa.array([row[0] for row in rows], type=pa.int64()))
    return pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.int64())


def vanished_keys(loaded: pa.Array, already_deleted: pa.Array, in_source: pa.Array) -> pa.Array:
    """Keys loaded before that the source no longer has, and that are not yet recorded."""
    candidates = pc.filter(loaded, pc.invert(pc.is_in(loaded, value_set=already_deleted)))
    return pc.filter(candidates, pc.invert(pc.is_in(candidates, value_set=in_source)))


def deletions(table: str, keys: pa.Array, detected_at: datetime | None = None) -> pa.Table:
    """Rows for the hard_deletes table: which key vanished from which table, and when seen."""
    detected_at = detected_at or datetime.now(UTC)
    schema = pa.schema(
        [
            pa.field("table_name", pa.string(), nullable=False),
            pa.field(PRIMARY_KEY, pa.int64(), nullable=False),
            pa.field("detected_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )
    return pa.table(
        [
            pa.array([table] * len(keys), type=pa.string()),
            keys.cast(pa.int64()),
            pa.array([detected_at] * len(keys), type=pa.timestamp("us", tz="UTC")),
        ],
        schema=schema,
    )


def batches(table: pa.Table, size: int) -> Iterator[pa.Table]:
    """Slice an Arrow table into chunks of at most ``size`` rows (zero-copy)."""
    for offset in range(0, table.num_rows, size):
        yield table.slice(offset, size)
