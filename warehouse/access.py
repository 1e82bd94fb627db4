"""The access tiers, and the one way the project opens DuckDB files for analysts.

Three tiers, one rule: raw is for engineers, curated for analysts, PII never reaches analysts.

- **analyst**: the published serving file (marts and ``metrics.*`` views; no raw, no staging, no
  PII), through a *locked* connection (:data:`ANALYST_CONFIG`), or the ``analytics`` schema of
  the PostgreSQL endpoint. File mode: owner, plus the configured analysts' group (read).
- **engineer**: the warehouse file (raw schemas, staging, snapshots), the lake and dlt's working
  folders. File mode: owner only, plus the configured engineers' group (read).
- **application**: the ``crm`` schema the reverse ETL writes (its own database role).

A locked connection is read-only, has no access to anything outside its own file
(``enable_external_access=false``: no ATTACH, no ``read_csv``/``read_text``/``glob`` of host
files, no COPY TO, no INSTALL or LOAD of extensions), loads no extension on its own, and has
its configuration locked (``lock_configuration=true``: no SET or RESET afterwards, so none of
the above can be switched back on). Read-only alone stops writes, not reads elsewhere.
"""

from __future__ import annotations

import grp
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .errors import WarehouseError
from .paths import wal_of

if TYPE_CHECKING:
    import duckdb

    from .paths import Paths

log = logging.getLogger(__name__)

# DuckDB settings of every connection handed to analysts and BI tools (DuckDB 1.5 names).
# Order matters where it is applied one by one (SQLAlchemy URL, JDBC properties): the lock last.
ANALYST_CONFIG: dict[str, str] = {
    "access_mode": "read_only",
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "allow_community_extensions": "false",
    "lock_configuration": "true",
}

# The same lock for the DuckDB shell, which opens the file read-only with ``-readonly`` and runs
# this with ``-cmd`` before anything else: ``duckdb -readonly -cmd "<this>" serving.duckdb``.
ANALYST_LOCK_SQL = "; ".join(
    f"set {name} = {value}" for name, value in ANALYST_CONFIG.items() if name != "access_mode"
)

# What each setting of ANALYST_CONFIG is called as a JDBC driver property (DuckDB's JDBC driver
# takes the read-only flag under its own name and every other DuckDB setting by its name).
_JDBC_NAMES = {"access_mode": "duckdb.read_only"}
_JDBC_VALUES = {"read_only": "true"}


@dataclass(frozen=True)
class Tier:
    """One access tier: who it is for, what it may read, and what enforces it."""

    name: str
    audience: str
    reads: str
    enforced_by: str


TIERS: tuple[Tier, ...] = (
    Tier(
        "analyst",
        "analysts and BI tools",
        "serving.duckdb (marts, metrics.* views); PostgreSQL schema analytics",
        "locked DuckDB connection (ANALYST_CONFIG); file mode owner + analysts' group (read); "
        "PostgreSQL role analyst with USAGE/SELECT on analytics only",
    ),
    Tier(
        "engineer",
        "data engineers",
        "warehouse.duckdb (raw_*, staging, snapshots, marts), the lake, dlt state",
        "file mode owner only (+ engineers' group, read); directories 0700 (+ group r-x)",
    ),
    Tier(
        "application",
        "the shop's applications",
        "the crm schema (customer flags pushed by reverse ETL)",
        "the CRM database's own roles; reverse ETL never writes the shop schema",
    ),
)


def analyst_connection(path: Path) -> duckdb.DuckDBPyConnection:
    """A locked, read-only connection to the DuckDB file ``path`` (the serving file)."""
    import duckdb

    if not path.exists():
        raise WarehouseError(f"no DuckDB file at {path}: run `warehouse publish` first")
    return duckdb.connect(str(path), config=dict(ANALYST_CONFIG))


def sqlalchemy_url(path: Path) -> str:
    """The ``duckdb_engine`` SQLAlchemy URL that opens ``path`` as a locked analyst connection."""
    return f"duckdb:///{path.resolve()}?{urlencode(ANALYST_CONFIG)}"


def jdbc_url(path: Path) -> str:
    """The DuckDB JDBC URL of ``path``; pair it with :func:`jdbc_properties`."""
    return f"jdbc:duckdb:{path.resolve()}"


def jdbc_properties() -> dict[str, str]:
    """The JDBC driver properties that lock a DuckDB JDBC connection as :data:`ANALYST_CONFIG`."""
    return {
        _JDBC_NAMES.get(name, name): _JDBC_VALUES.get(value, value)
        for name, value in ANALYST_CONFIG.items()
    }


# --------------------------------------------------------------------------------------------
# File permissions


def _group(setting: str) -> int | None:
    """The gid of ``[warehouse.access] <setting>`` (env ``WAREHOUSE__ACCESS__<SETTING>``), or
    None when unset. An unknown group is an error: silently falling back would leave files
    unreadable by the people they were meant for, or readable by the wrong ones."""
    import dlt

    name = dlt.config.get(f"warehouse.access.{setting}")
    if not name:
        return None
    try:
        return grp.getgrnam(str(name)).gr_gid
    except KeyError:
        raise WarehouseError(
            f"[warehouse.access] {setting} = {name!r} is not a group on this machine: create it "
            f"(groupadd {name}) or unset it"
        ) from None


def restrict_umask() -> None:
    """Create every new file owner-only (umask 077); :func:`secure_home` then opens to groups."""
    os.umask(0o077)


def _chmod(path: Path, mode: int, gid: int | None) -> None:
    if gid is not None:
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def _tree(root: Path, gid: int | None) -> None:
    """Owner-only (or group-readable) on a folder and everything in it."""
    file_mode = 0o640 if gid is not None else 0o600
    dir_mode = 0o750 if gid is not None else 0o700
    if root.is_file():
        _chmod(root, file_mode, gid)
        return
    if not root.is_dir():
        return
    _chmod(root, dir_mode, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder) / name, dir_mode, gid)
        for name in files:
            entry = Path(folder) / name
            if not entry.is_symlink():
                _chmod(entry, file_mode, gid)


def secure_serving(path: Path) -> None:
    """The serving file's mode: 0600, or 0640 with group ``[warehouse.access] analysts_group``."""
    analysts = _group("analysts_group")
    _chmod(path, 0o640 if analysts is not None else 0o600, analysts)


def secure_home(paths: Paths) -> None:
    """Give the home's files the modes of their tier.

    Engineer tier (warehouse file and its WAL, lake, dlt's folders): 0600/0700, or 0640/0750
    with group ``[warehouse.access] engineers_group``. Analyst tier (the serving file): 0600, or
    0640 with group ``analysts_group``. With a group configured the home itself must be
    traversable (0711: enter, not list), or the group could not reach its file.
    """
    engineers = _group("engineers_group")
    analysts = _group("analysts_group")
    for path in (
        paths.duckdb,
        wal_of(paths.duckdb),
        paths.governance,
        paths.pipelines,
        paths.lake,
        paths.lake_pipelines,
    ):
        _tree(path, engineers)
    if paths.serving.exists():
        secure_serving(paths.serving)
    if engineers is not None or analysts is not None:
        home_mode = stat.S_IMODE(paths.home.stat().st_mode)
        paths.home.chmod(home_mode | 0o711)
    log.info(
        "file modes of %s set (engineers' gid %s, analysts' gid %s)",
        paths.home,
        engineers,
        analysts,
    )
