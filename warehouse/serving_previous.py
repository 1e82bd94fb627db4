"""The previous publish's file, which a row-level publish brings level with the warehouse.

A publish writes its new serving file under a temporary name and moves it into place
(``warehouse.serving``). Row by row, that temporary file must start as a previous publish's
file: here it is either the *spare* or a copy of the current serving file.

The spare is the file the last publish replaced: before the move, the current serving file is
given a second name, ``.serving.spare.duckdb`` (a hard link: no copy), and the next publish
writes into it. The copy read and wrote the whole file on every publish, a cost that grows with
the history; the spare is two publishes behind, so it receives two runs' rows, and only its
changed pages are written. It is used only when nobody can be reading it:

- a reader that opened the serving file before the last publish may still hold it; DuckDB's
  lock then refuses the publish's read-write open, and the publish copies instead;
- a reader in the publishing process itself is not seen by that lock (locks are per process),
  so the spare is not used while this process holds it open (``/proc/self/fd``; where that
  cannot be read, the publish always copies);
- a publish killed between the two names leaves one file under both: it is not the spare.

A full publish (``warehouse forget``'s republish among them) keeps no spare, so no old value
stays on disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# The name the file a publish replaced keeps, for the next publish to write into (in the serving
# file's folder; the temporary files' pattern, ``.serving.duckdb.*``, does not match it).
SPARE_NAME = ".serving.spare.duckdb"


def previous_file(
    serving: Path, spare: Path, temporary: Path, growth_limit: float
) -> set[str] | None:
    """Put the previous publish's file at ``temporary``: the spare when it can be written, else
    a copy of ``serving``. Return its base tables (``schema.table``), or None (start from an
    empty file) when there is no serving file, it cannot be read as DuckDB, or it has grown past
    ``growth_limit``."""
    import duckdb

    if not serving.exists():
        return None
    step = time.perf_counter()
    reused = _claim_spare(serving, spare, temporary)
    try:
        if not reused:
            # Read through an open handle: a concurrent publish may replace the name meanwhile,
            # and the copy must be one whole file, either the old one or the new one.
            with serving.open("rb") as source, temporary.open("wb") as target:
                shutil.copyfileobj(source, target, length=16 * 1024 * 1024)
        # Read-write, as the marts will be written: on the spare this is the lock check (a
        # reader of it, in another process, holds DuckDB's lock and this open fails).
        with duckdb.connect(str(temporary)) as conn:
            rows = conn.execute(
                "select schema_name, table_name from duckdb_tables() where not temporary"
            ).fetchall()
            growth = _growth(conn, temporary.stat().st_size)
    except (OSError, duckdb.Error) as exc:
        temporary.unlink(missing_ok=True)  # only this name: a reader of the spare keeps its file
        if reused:
            log.info("publish: the spare cannot be written (%s): copying the serving file", exc)
            return previous_file(serving, spare, temporary, growth_limit)
        log.warning("previous serving file %s unreadable (%s): publishing in full", serving, exc)
        return None
    log.info(
        "publish: previous file %s in %.2f s",
        "taken from the spare" if reused else "copied",
        time.perf_counter() - step,
    )
    if growth > growth_limit:
        log.info(
            "previous serving file is %.2f times the size of its live rows (limit %.2f):"
            " writing it afresh",
            growth,
            growth_limit,
        )
        temporary.unlink()
        return None
    return {f"{schema}.{table}" for schema, table in rows}


def _claim_spare(serving: Path, spare: Path, temporary: Path) -> bool:
    """Move the spare to ``temporary`` when it may be written: it exists, it is not the
    serving file itself (a publish killed between taking the spare's name and moving its new
    file into place leaves both names on one file), and this process does not hold it open."""
    try:
        if os.path.samefile(spare, serving):
            spare.unlink()
            return False
        if _open_in_this_process(spare):
            return False
        os.replace(spare, temporary)
    except FileNotFoundError:  # no spare (or a concurrent publish took it first)
        return False
    return True


def _open_in_this_process(path: Path) -> bool:
    """Whether a file descriptor of this process refers to ``path``'s file; True when that
    cannot be told (no ``/proc/self/fd``), so the spare is then never written."""
    descriptors = Path("/proc/self/fd")
    if not descriptors.is_dir():
        return True
    wanted = path.stat()
    for descriptor in descriptors.iterdir():
        try:
            held = os.stat(descriptor)
        except OSError:  # closed meanwhile, or the listing's own descriptor
            continue
        if (held.st_dev, held.st_ino) == (wanted.st_dev, wanted.st_ino):
            return True
    return False


def keep_spare(serving: Path, spare: Path, keep: bool) -> None:
    """Before the new file replaces ``serving``: give the current serving file the spare's name
    as well (``keep``), or remove the spare (a full publish keeps no old values on disk)."""
    spare.unlink(missing_ok=True)
    if keep and serving.exists():
        # A file system without hard links (the next publish copies), or a concurrent publish
        # that kept its own (either will do): neither stops this publish.
        with contextlib.suppress(OSError):
            os.link(serving, spare)


def _growth(conn: duckdb.DuckDBPyConnection, size: int) -> float:
    """How many times larger the open file (``size`` bytes) is than its live rows need: the
    blocks in use, scaled by the share of the rows they hold that are not deleted (DuckDB's
    ``estimated_size`` counts the deleted rows a row group still carries)."""
    block_size, used_blocks = conn.execute(
        "select block_size, used_blocks from pragma_database_size()"
    ).fetchone()
    held = live = 0
    for schema, table, estimated in conn.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() where not temporary"
    ).fetchall():
        (count,) = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
        held, live = held + max(estimated, count), live + count
    needed = block_size * used_blocks * (live / held if held else 1.0)
    return size / needed if needed else 1.0
