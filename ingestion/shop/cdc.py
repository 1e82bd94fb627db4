"""The shop's change data capture: a snapshot, then the changes from a logical replication slot.

A run either starts afresh (no usable slot: the first run, after ``warehouse shop drop-slot``,
after the warehouse was reset) or continues. Starting afresh creates the slot with an exported
snapshot and copies every table *as of that snapshot*, so the snapshot holds exactly the
transactions before the slot's start and the slot exactly those after: no change missed or
applied twice. Continuing peeks the slot's changes up to the current WAL position, without
consuming them; inserts and updates merge into the raw tables, deletes go to
``raw_shop.hard_deletes``. The position reached is kept in the pipeline's state and the slot
advances to it only after dlt has loaded the package (``confirm``): a crash in between makes
the next run read the same changes again, which the merge makes harmless; nothing is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
import psycopg
import pyarrow as pa

from ..lake import query_loaded
from .changes import ChangeSet
from .helpers import (
    ShopSourceError,
    copy_batches,
    deletions,
    read_table,
    source_keys,
    table_arrow_schema,
)
from .pgoutput import Decoder
from .settings import CURSOR_COLUMN, HARD_DELETES_TABLE, PRIMARY_KEY
from .slot import (
    MODE_SETTING,
    check_publication_rights,
    check_replica_identity,
    check_replication_rights,
    drop,
    ensure_publication,
    lsn_int,
    slot_info,
    slot_name,
)

log = logging.getLogger(__name__)

STATE_KEY = "cdc"
# Rows fetched per round trip from the slot's change stream (one pgoutput message each).
FETCH_ROWS = 20_000


def pipeline_slot(pipeline: dlt.Pipeline, database: str) -> str:
    """The slot and publication name of ``pipeline`` on the shop ``database``."""
    return slot_name(
        pipeline.pipeline_name,
        pipeline.destination.destination_name,
        str(pipeline.pipelines_dir),
        database,
    )


class ChangeReader:
    """One run's reading of the shop in CDC mode, shared by the source's resources.

    It starts on the first resource that asks (inside dlt's extract, where the pipeline and
    its state are known): it decides between a fresh snapshot and the slot's changes and
    records the position the run reads up to in the source state.
    """

    def __init__(
        self, dsn: str, schema: str, tables: Sequence[str], chunk_size: int, options: str
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.tables = tuple(tables)
        self.chunk_size = chunk_size
        self.options = options
        self.snapshot: str | None = None
        self.changes: ChangeSet | None = None
        self._exporter: psycopg.Connection | None = None
        self._open_readers = len(self.tables) + 1  # the tables and hard_deletes
        self._started = False

    def start(self) -> None:
        """Choose snapshot or changes once per run; later calls do nothing."""
        if self._started:
            return
        self._started = True
        state: dict[str, Any] = dlt.current.source_state().setdefault(STATE_KEY, {})
        pipeline = dlt.current.pipeline()
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as admin:
            name = pipeline_slot(pipeline, admin.info.dbname)
            check_publication_rights(admin, self.schema, self.tables, name)
            changed = ensure_publication(admin, name, self.schema, self.tables)
            info = slot_info(admin, name)
        loaded = state.get("upto_lsn") if state.get("slot") == name else None
        reason = None
        if info is None:
            reason = "no replication slot yet" if loaded is None else "the slot was dropped"
        elif info.lost:
            reason = "the slot lost WAL it needed (max_slot_wal_keep_size)"
        elif changed:
            reason = "the publication gained tables"
        elif loaded is None or info.confirmed_flush > lsn_int(loaded):
            # The slot is ahead of anything this warehouse loaded: made for a load that never
            # completed (a failed or discarded first run, a reset warehouse).
            reason = "the slot does not match this warehouse's loads"
        if reason is None:
            self._read_changes(name)
            state["upto_lsn"] = self._upto
            return
        first = info is None and loaded is None
        (log.info if first else log.warning)(
            "shop: %s (%s): starting with a fresh snapshot", reason, name
        )
        if info is not None:
            drop(self.dsn, name, publication=False)
        self.snapshot, consistent_point = self._create_slot(name)
        state["slot"] = name
        state["upto_lsn"] = consistent_point

    def _create_slot(self, name: str) -> tuple[str, str]:
        """Create the slot, exporting the snapshot of its start; the exporting session stays
        open (the snapshot lives as long as it) until every table has been copied."""
        try:
            conn = psycopg.connect(
                self.dsn, autocommit=True, replication="database", connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            raise ShopSourceError(
                f"shop source (cdc mode): cannot open a replication connection ({exc}). The "
                "user needs the REPLICATION attribute and pg_hba.conf must allow replication "
                f"connections; or set {MODE_SETTING}."
            ) from None
        # The replication protocol takes simple queries only; slot names are [a-z0-9_].
        command = f"CREATE_REPLICATION_SLOT {name} LOGICAL pgoutput (SNAPSHOT 'export')"
        result = conn.pgconn.exec_(command.encode())
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            message = (result.error_message or b"").decode(errors="replace").strip()
            conn.close()
            raise ShopSourceError(f"shop source (cdc mode): cannot create slot {name}: {message}")
        consistent_point = result.get_value(0, 1).decode()
        snapshot = result.get_value(0, 2).decode()
        self._exporter = conn
        log.info("shop: created slot %s at %s", name, consistent_point)
        return snapshot, consistent_point

    def _read_changes(self, name: str) -> None:
        """Decode the slot's changes up to the WAL flushed now, without consuming them."""
        started = time.perf_counter()
        changes = ChangeSet(self.schema, self.tables)
        decoder = Decoder()
        with psycopg.connect(self.dsn, options=self.options) as conn:
            conn.execute("set timezone = 'UTC'")  # the text of timestamptz values
            (self._upto,) = conn.execute("select pg_current_wal_flush_lsn()::text").fetchone()
            with conn.cursor(name="shop_changes") as cursor:
                cursor.itersize = FETCH_ROWS
                cursor.execute(
                    "select data from pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, null,"
                    " 'proto_version', '1', 'publication_names', %s)",
                    (name, self._upto, name),
                )
                for (message,) in cursor:
                    event = decoder.decode(message)
                    if event is not None:
                        changes.apply(event)
        log.info(
            "shop: %d change(s) from slot %s up to %s, read in %.1f s",
            changes.changes,
            name,
            self._upto,
            time.perf_counter() - started,
        )
        self.changes = changes

    def table_rows(self, table: str) -> Iterator[pa.Table]:
        """The table's rows of this run: all of it as of the snapshot, or its changed rows."""
        try:
            self.start()
            if self.snapshot is not None:
                yield from read_table(
                    self.dsn,
                    self.schema,
                    table,
                    CURSOR_COLUMN,
                    None,
                    self.chunk_size,
                    self.options,
                    self.snapshot,
                )
                return
            yield from self._changed_rows(table)
        finally:
            self._release()

    def _changed_rows(self, table: str) -> Iterator[pa.Table]:
        assert self.changes is not None
        with psycopg.connect(self.dsn, options=self.options) as conn:
            conn.execute("set timezone = 'UTC'")
            arrow_schema = table_arrow_schema(conn, self.schema, table)
            yield arrow_schema.empty_table()  # creates or checks the columns, as a snapshot does
            yield from self.changes.table_batches(table, arrow_schema, self.chunk_size)
            keys = sorted(self.changes.unchanged.get(table, ()))
            if keys:
                # Rows whose update left a large (TOASTed) value unsent: read them whole. A row
                # deleted since is absent here and its delete is in the log.
                query = f'select * from "{self.schema}"."{table}" where "{PRIMARY_KEY}" = any(%s)'
                yield from copy_batches(conn, query, (keys,), arrow_schema, self.chunk_size)

    def deleted_rows(self) -> Iterator[pa.Table]:
        """``hard_deletes`` rows for the keys deleted (or truncated) since the last run.

        After a fresh snapshot on a warehouse that already holds rows (the slot was dropped or
        replaced), the deletes in between are in no log: the keys loaded are compared once
        with the snapshot's keys, as cursor mode does on every run.
        """
        from . import vanished

        try:
            self.start()
            yield deletions("", pa.array([], type=pa.int64()))  # creates the table on a first run
            if self.snapshot is not None:
                yield from vanished(
                    dlt.current.pipeline(),
                    self.tables,
                    lambda table: source_keys(
                        self.dsn, self.schema, table, self.options, self.snapshot
                    ),
                    self.chunk_size,
                )
                return
            assert self.changes is not None
            for table in self.tables:
                if table in self.changes.truncated:
                    self._add_truncated(table)
                yield from self.changes.deletion_batches(table, self.chunk_size)
        finally:
            self._release()

    def _add_truncated(self, table: str) -> None:
        """A TRUNCATE deleted every row loaded before it: record their keys too."""
        assert self.changes is not None
        pipeline = dlt.current.pipeline()
        if pipeline.default_schema_name is None:
            return
        if table not in pipeline.default_schema.data_table_names(seen_data_only=True):
            return
        keys = query_loaded(pipeline, f"select {PRIMARY_KEY} from {table}", table)[PRIMARY_KEY]
        deleted = self.changes.deleted[table]
        # Keys inserted again after the truncate are live.
        live = self.changes.live_after_truncate.get(table) or set(self.changes.rows.get(table, {}))
        when = self.changes.truncated[table]
        for key in keys.to_pylist():
            if key not in live:
                deleted.setdefault(key, when)

    def _release(self) -> None:
        """One table is read; after the last, the snapshot is no longer needed."""
        self._open_readers -= 1
        if self._open_readers <= 0 and self._exporter is not None:
            self._exporter.close()
            self._exporter = None


def cdc_resources(
    dsn: str, schema: str, tables: Sequence[str], chunk_size: int, options: str
) -> list[Any]:
    """The CDC mode's resources: one per table (merged on ``id``) and ``hard_deletes``."""
    from . import hinted, table_resource_of

    # Fail before extracting (and before dlt wraps the error) when replication cannot work.
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        check_replication_rights(conn, dsn)
        check_replica_identity(conn, schema, tables)
    reader = ChangeReader(dsn, schema, tables, chunk_size, options)

    def rows_of(table: str) -> Callable[[], Iterator[pa.Table]]:
        def rows() -> Iterator[pa.Table]:
            yield from hinted(reader.table_rows(table))

        return rows

    def deleted() -> Iterator[pa.Table]:
        yield from reader.deleted_rows()

    resources = [table_resource_of(table, rows_of(table)) for table in tables]
    resources.append(
        dlt.resource(
            deleted,
            name=HARD_DELETES_TABLE,
            primary_key=("table_name", PRIMARY_KEY),
            write_disposition="merge",
        )
    )
    return resources


def confirm(pipeline: dlt.Pipeline, dsn: str, max_slot_lag_mb: float) -> dict[str, int]:
    """After a successful load: advance the slot to the position the loaded package read up to,
    and report its lag (WAL written since that position) and the WAL it keeps on the server
    (warning above ``max_slot_lag_mb``). The kept WAL runs from the slot's restart point, which
    PostgreSQL moves only to a point where it serialized its decoding state: after a run it
    still holds about the WAL that run read, freed by the next run.

    The position comes from the pipeline state that the package itself carried, so it is
    never ahead of what is loaded. Returns the counts the run prints.
    """
    state = pipeline.state.get("sources", {}).get("shop", {}).get(STATE_KEY) or {}
    name, upto = state.get("slot"), state.get("upto_lsn")
    if not name or not upto:
        return {}
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        info = slot_info(conn, name)
        if info is None:
            log.warning("shop: replication slot %s is gone; the next run takes a snapshot", name)
            return {}
        if info.confirmed_flush < lsn_int(upto):
            conn.execute("select pg_replication_slot_advance(%s, %s::pg_lsn)", (name, upto))
            info = slot_info(conn, name)
            assert info is not None
    report_lag(name, info.retained_bytes, max_slot_lag_mb)
    return {"slot lag bytes": info.lag_bytes, "WAL retained bytes": info.retained_bytes}


def report_lag(name: str, retained_bytes: int, max_slot_lag_mb: float) -> None:
    """Warn when the slot holds back more WAL than ``max_slot_lag_mb``: the shop's disk fills
    while nobody advances it."""
    if retained_bytes > max_slot_lag_mb * 2**20:
        log.warning(
            "shop: replication slot %s holds back %.1f MB of WAL on the shop database, over "
            "[sources.shop] max_slot_lag_mb = %s. Run the shop pipeline more often, or drop "
            "the slot with `warehouse shop drop-slot` (the next run then takes a snapshot).",
            name,
            retained_bytes / 2**20,
            max_slot_lag_mb,
        )
