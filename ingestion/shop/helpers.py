"""Connection checks, the COPY reader and hard-delete detection for the shop source."""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from ..errors import SourceError
from .settings import PRIMARY_KEY, REQUIRED_COLUMNS, TYPE_KINDS


class ShopSourceError(SourceError):
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

    dlt would raise deep inside SQLAlchemy reflection; checking first turns the usual mistakes
    (unreachable server, rejected credentials, missing table) and schema drift that the models
    cannot take (a column they read renamed, dropped or of another type) into one clear line,
    before anything is extracted.
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
            columns = conn.execute(
                "select table_name, column_name, data_type from information_schema.columns"
                " where table_schema = %s",
                (schema,),
            ).fetchall()
    except psycopg.OperationalError as exc:
        # libpq's message is the error, then a hint on the next line: keep both, on one line.
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        reason = reason or type(exc).__name__
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
    drift = column_drift(schema, tables, columns)
    if drift:
        raise ShopSourceError(
            f"shop source: schema drift the models cannot take: {'; '.join(drift)}. Nothing was "
            "loaded from the shop, and the marts and serving file stay as they were. Restore the "
            "column in the database, or adapt models/staging/shop/ (the columns and their "
            "data_type in _shop__sources.yml) to the new shape."
        )


def column_drift(
    schema: str, tables: Sequence[str], columns: Sequence[tuple[str, str, str]]
) -> list[str]:
    """What is wrong with the columns the staging models read, one phrase per column.

    Args:
        schema: the PostgreSQL schema, for the names in the messages.
        tables: the tables being replicated (tables not in REQUIRED_COLUMNS are not checked).
        columns: ``(table, column, information_schema data_type)`` of the source.
    """
    found = {(table, column): data_type for table, column, data_type in columns}
    problems = []
    for table in tables:
        for column, kind in REQUIRED_COLUMNS.get(table, {}).items():
            data_type = found.get((table, column))
            if data_type is None:
                others = sorted(
                    c for t, c in found if t == table and c not in REQUIRED_COLUMNS[table]
                )
                hint = f" (new column(s) there: {', '.join(others)})" if others else ""
                problems.append(
                    f"column {schema}.{table}.{column} is missing (renamed or dropped?){hint}"
                )
            elif TYPE_KINDS.get(data_type) != kind:
                problems.append(
                    f"column {schema}.{table}.{column} is now {data_type}, the models expect {kind}"
                )
    return problems


def read_table(
    dsn: str,
    schema: str,
    table: str,
    cursor_column: str,
    start: object | None,
    chunk_size: int,
    options: str | None = None,
    snapshot: str | None = None,
) -> Iterator[pa.Table]:
    """Stream ``schema.table`` (the rows whose ``cursor_column`` is at least ``start``, all rows
    when it is None) as Arrow tables of ``chunk_size`` rows, through ``COPY ... TO STDOUT``.

    COPY is PostgreSQL's bulk export: the server writes CSV, pyarrow's C++ parser turns each
    chunk into columns, and no Python object is made per row or value (a SQLAlchemy cursor
    makes one per value, which is most of a full load's time). The Arrow types come from the
    catalog, so a column has the same type whatever its values; a table with no rows to read
    yields one empty batch, which still creates or checks its columns.

    ``options`` are the session's settings (``session_options``: read-only, timeouts);
    ``snapshot`` an exported snapshot (CDC mode's initial load) to read the table as of.
    """
    with psycopg.connect(dsn, **({"options": options} if options else {})) as conn:
        if snapshot is not None:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
        conn.execute("set timezone = 'UTC'")
        arrow_schema = table_arrow_schema(conn, schema, table)
        query = f'select * from "{schema}"."{table}"'
        params = None
        if start is not None:
            query += f' where "{cursor_column}" >= %s'
            params = (start,)
        yield from copy_batches(conn, query, params, arrow_schema, chunk_size)


def table_arrow_schema(conn: psycopg.Connection, schema: str, table: str) -> pa.Schema:
    """The Arrow schema of a source table, from the catalog, in the table's column order."""
    columns = conn.execute(
        "select column_name, data_type, is_nullable, numeric_precision, numeric_scale"
        " from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position",
        (schema, table),
    ).fetchall()
    # Raw does not copy the source's constraints: only the key is NOT NULL. dlt forwards
    # an Arrow field's nullability to DuckDB, which cannot add a column with a constraint
    # ("Adding columns with constraints not yet supported"): a NOT NULL column added to the
    # shop would otherwise stop every load.
    return pa.schema(
        pa.field(
            name,
            arrow_type(kind, precision, scale),
            nullable=nullable == "YES" or name != PRIMARY_KEY,
        )
        for name, kind, nullable, precision, scale in columns
    )


def copy_batches(
    conn: psycopg.Connection,
    query: str,
    params: Sequence[object] | None,
    arrow_schema: pa.Schema,
    chunk_size: int,
) -> Iterator[pa.Table]:
    """The rows of ``query`` as Arrow tables of ``chunk_size`` rows, through COPY (CSV); one
    empty table when there are none."""
    with conn.cursor().copy(f"copy ({query}) to stdout (format csv)", params) as copy:
        yielded = False
        for block in read_ahead(copy, chunk_size):
            yield parse_csv(block, arrow_schema)
            yielded = True
        if not yielded:
            yield arrow_schema.empty_table()


def session_options(statement_timeout: str, lock_timeout: str) -> str:
    """libpq ``options`` for an extraction session: read-only, and bounded in how long a
    statement may run and how long it may wait for a lock, so the extract can never block or
    outlast the shop's own work (docs/sources.md)."""
    for name, value in (("statement_timeout", statement_timeout), ("lock_timeout", lock_timeout)):
        if not re.fullmatch(r"\d+\s*(us|ms|s|min|h|d)?", str(value).strip()):
            raise ShopSourceError(
                f"shop source: [sources.shop] {name} = {value!r} is not a PostgreSQL duration; "
                'write e.g. "15min", "30s" or "500ms" (0 means no limit).'
            )
    return (
        "-c default_transaction_read_only=on"
        f" -c statement_timeout={str(statement_timeout).replace(' ', '')}"
        f" -c lock_timeout={str(lock_timeout).replace(' ', '')}"
    )


def read_ahead(copy: psycopg.Copy, rows_per_block: int) -> Iterator[bytearray]:
    """The blocks of a running COPY (``copy_blocks``), read by a thread while the caller parses
    and writes the previous block: receiving the rows (Python, one call per row) and the rest
    (pyarrow, DuckDB: native code, no GIL) then share two cores. At most two blocks wait in
    the queue, so memory stays bounded."""
    blocks: queue.Queue[bytearray | None] = queue.Queue(maxsize=2)
    stop = threading.Event()
    failed: list[BaseException] = []

    def read() -> None:
        try:
            for block in copy_blocks(copy, rows_per_block):
                if stop.is_set():
                    return
                blocks.put(block)
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)
        finally:
            blocks.put(None)

    reader = threading.Thread(target=read, name="shop-copy", daemon=True)
    reader.start()
    try:
        while (block := blocks.get()) is not None:
            yield block
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.1)
        reader.join()
    if failed:
        raise failed[0]


def copy_blocks(copy: psycopg.Copy, rows_per_block: int) -> Iterator[bytearray]:
    """The rows of a running COPY joined into blocks of ``rows_per_block`` rows.

    psycopg gives each row as a memoryview, an object Python's garbage collector tracks: kept
    in a list until the block was full, tens of thousands of them reached the collector's
    oldest generation, which it then scanned again and again (7.7 of a 16 s scale-10 load).
    Each row is copied into the block as it comes, and its view freed at once.
    """
    block, rows = bytearray(), 0
    for row in copy:  # one message per row
        block += row
        rows += 1
        if rows >= rows_per_block:
            yield block
            block, rows = bytearray(), 0
    if rows:
        yield block


def parse_csv(data: bytes | bytearray, schema: pa.Schema) -> pa.Table:
    """PostgreSQL CSV (``COPY ... (format csv)``) as an Arrow table of ``schema``: NULL is an
    unquoted empty field, an empty string a quoted one; booleans are ``t``/``f``."""
    if not data:
        return schema.empty_table()
    parsed = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=schema.names, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    return pa.Table.from_arrays(parsed.columns, schema=schema)


def arrow_type(data_type: str, precision: int | None = None, scale: int | None = None):
    """The Arrow type of an ``information_schema.columns.data_type`` (text for the rest)."""
    if data_type == "numeric":
        return pa.decimal128(precision, scale or 0) if precision else pa.decimal128(38, 9)
    return ARROW_TYPES.get(data_type, pa.string())


ARROW_TYPES = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
}


def source_keys(
    dsn: str, schema: str, table: str, options: str | None = None, snapshot: str | None = None
) -> pa.Array:
    """Every primary key currently in a source table (as of the exported ``snapshot`` if
    given), streamed with COPY (no Python object per key: at scale 100 the shop has tens of
    millions)."""
    key = pa.schema([pa.field(PRIMARY_KEY, pa.int64(), nullable=False)])
    chunks = []
    with psycopg.connect(dsn, **({"options": options} if options else {})) as conn:
        if snapshot is not None:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
        query = f'copy (select "{PRIMARY_KEY}" from "{schema}"."{table}") to stdout'
        with conn.cursor().copy(query) as copy:
            for block in copy_blocks(copy, 1_000_000):
                chunks.append(parse_csv(block, key)[PRIMARY_KEY].combine_chunks())
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
