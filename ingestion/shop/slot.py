"""The shop's replication slot and publication: names, privileges, creation, lag, dropping.

CDC mode reads the shop's changes from a logical replication slot (plugin ``pgoutput``) over a
publication of the replicated tables. The slot keeps every WAL segment from its position on,
so a slot nobody advances fills the source's disk: its lag is reported on every run and
``warehouse shop drop-slot`` removes it (the next run then starts with a fresh snapshot).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .helpers import ShopSourceError, redact

log = logging.getLogger(__name__)

# The setting (and its environment variable) that switches the shop source's mode.
MODE_SETTING = '[sources.shop] mode = "cursor" in .dlt/config.toml (env SOURCES__SHOP__MODE=cursor)'


@dataclass(frozen=True)
class SlotInfo:
    """What PostgreSQL says of a slot: its positions and the WAL it holds back."""

    name: str
    confirmed_flush: int
    lag_bytes: int  # WAL written since the position the warehouse has loaded
    retained_bytes: int  # WAL the slot keeps on the server's disk (from its restart point)
    lost: bool


def slot_name(pipeline_name: str, destination: str, pipelines_dir: str, database: str) -> str:
    """The slot (and publication) name of one dlt pipeline reading one shop database.

    Two pipelines must never share a slot: the DuckDB and the lake pipelines of one home, two
    homes on the same shop, or the same home name on two databases of one server (slot names
    are unique per server). The readable part names the pipeline and destination; the hash
    tells the rest apart. PostgreSQL allows 63 characters of ``[a-z0-9_]``.
    """
    digest = hashlib.sha1(f"{database}|{pipelines_dir}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9_]", "_", f"{pipeline_name}_{destination}".lower())[:40]
    return f"dlt_{readable}_{digest}"


def lsn_int(lsn: str) -> int:
    """``'16/B374D848'`` as a number, for comparisons."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_text(lsn: int) -> str:
    """A number as PostgreSQL writes an LSN."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def slot_info(conn: psycopg.Connection, name: str) -> SlotInfo | None:
    """The slot ``name`` if it exists."""
    row = conn.execute(
        "select confirmed_flush_lsn::text,"
        " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint,"
        " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint,"
        " coalesce(wal_status = 'lost', false)"
        " from pg_replication_slots where slot_name = %s",
        (name,),
    ).fetchone()
    if row is None:
        return None
    confirmed, lag, retained, lost = row
    position = lsn_int(confirmed) if confirmed else 0
    return SlotInfo(name, position, int(lag), int(retained), bool(lost))


def check_replication_rights(conn: psycopg.Connection, dsn: str) -> None:
    """Fail with what is missing and how to switch to cursor mode, before extracting.

    A logical slot needs the REPLICATION role attribute (or superuser; on managed services
    the provider's equivalent, e.g. membership of ``rds_replication`` on Amazon RDS).
    """
    user, can_replicate = conn.execute(
        "select current_user, rolsuper or rolreplication"
        " or exists (select from pg_roles r where r.rolname = 'rds_replication'"
        "            and pg_has_role(current_user, r.oid, 'member'))"
        " from pg_roles where rolname = current_user"
    ).fetchone()
    if not can_replicate:
        raise ShopSourceError(
            f"shop source (cdc mode): the user {user!r} of {redact(dsn)} may not use logical "
            "replication: it needs the REPLICATION role attribute (`alter role "
            f"{user} replication`; on a managed service its equivalent, e.g. `grant "
            f"rds_replication to {user}` on Amazon RDS). Or read the shop without replication "
            f"rights: set {MODE_SETTING}."
        )


def check_publication_rights(
    conn: psycopg.Connection, schema: str, tables: Sequence[str], publication: str
) -> None:
    """Creating the publication needs CREATE on the database and ownership of the tables,
    unless a DBA created it beforehand."""
    if publication_exists(conn, publication):
        return
    user = conn.info.user
    can_create, not_owned = conn.execute(
        "select has_database_privilege(current_database(), 'CREATE'),"
        " coalesce(array_agg(c.relname order by c.relname)"
        "          filter (where not pg_has_role(c.relowner, 'USAGE')), '{}')"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = any(%s)",
        (schema, list(tables)),
    ).fetchone()
    if not can_create or not_owned:
        missing = [] if can_create else ["CREATE on the database"]
        if not_owned:
            missing.append(f"ownership of {', '.join(f'{schema}.{t}' for t in not_owned)}")
        listed = ", ".join(f"{schema}.{t}" for t in tables)
        raise ShopSourceError(
            f"shop source (cdc mode): the user {user!r} cannot create the publication "
            f"{publication!r}: it lacks {' and '.join(missing)}. Have the tables' owner run "
            f"`create publication {publication} for table {listed}`, or set {MODE_SETTING}."
        )


def publication_exists(conn: psycopg.Connection, name: str) -> bool:
    """Whether the publication ``name`` exists in the connection's database."""
    found = conn.execute("select from pg_publication where pubname = %s", (name,)).fetchone()
    return found is not None


def ensure_publication(
    conn: psycopg.Connection, name: str, schema: str, tables: Sequence[str]
) -> bool:
    """Create the publication on the tables, or add the tables it lacks (a table newly listed
    in ``[sources.shop] tables``); True if it changed anything. It must exist before the slot:
    pgoutput looks it up as of each change's position, so a slot older than the change cannot
    decode the tables it now has (the caller then starts a fresh snapshot)."""
    wanted = [sql.Identifier(schema, table) for table in tables]
    if not publication_exists(conn, name):
        conn.execute(
            sql.SQL("create publication {} for table {}").format(
                sql.Identifier(name), sql.SQL(", ").join(wanted)
            )
        )
        log.info("created publication %s", name)
        return True
    present = {
        row[0]
        for row in conn.execute(
            "select tablename from pg_publication_tables where pubname = %s and schemaname = %s",
            (name, schema),
        )
    }
    missing = [table for table in tables if table not in present]
    if missing:
        conn.execute(
            sql.SQL("alter publication {} add table {}").format(
                sql.Identifier(name),
                sql.SQL(", ").join(sql.Identifier(schema, table) for table in missing),
            )
        )
    return bool(missing)


def check_replica_identity(conn: psycopg.Connection, schema: str, tables: Sequence[str]) -> None:
    """Deletes must carry the key: a table needs a primary key (replica identity ``default``),
    or replica identity ``full`` or an index."""
    rows = conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = any(%s)"
        " and (c.relreplident = 'n' or (c.relreplident = 'd' and not exists"
        "      (select from pg_index i where i.indrelid = c.oid and i.indisprimary)))",
        (schema, list(tables)),
    ).fetchall()
    if rows:
        names = ", ".join(f"{schema}.{row[0]}" for row in rows)
        raise ShopSourceError(
            f"shop source (cdc mode): {names} has no replica identity, so its deletes would not "
            "say which row went: give it a primary key, or run `alter table ... replica identity "
            f"full`. Or set {MODE_SETTING}."
        )


def drop(dsn: str, name: str, publication: bool = True) -> list[str]:
    """Drop the slot (and the publication, unless ``publication`` is False) ``name`` if they
    exist; what was dropped."""
    dropped = []
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        if slot_info(conn, name) is not None:
            try:
                conn.execute("select pg_drop_replication_slot(%s)", (name,))
            except psycopg.errors.ObjectInUse as exc:
                raise ShopSourceError(
                    f"shop source: the replication slot {name!r} is in use by a running "
                    f"extraction ({exc}); wait for it to end and try again."
                ) from None
            dropped.append(f"replication slot {name}")
        if publication and publication_exists(conn, name):
            conn.execute(sql.SQL("drop publication {}").format(sql.Identifier(name)))
            dropped.append(f"publication {name}")
    for what in dropped:
        log.info("dropped %s", what)
    return dropped
