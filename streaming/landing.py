"""The landing folder: where the Beam pipeline hands events to the refresher, durably.

A *unit* is what one pipeline run made of one stretch of input (a batch of bus messages, or one
replayed log file): a folder holding ``events.parquet``, ``quarantine.parquet`` and
``files.parquet`` (the rows of the three ``raw_clickstream`` tables, in their schemas) and, for
bus messages, ``messages.parquet`` (stream sequence and collector receive time of each message,
for the latency figures). It is written under a temporary name, every file fsynced, then
renamed into place and the folder fsynced: a unit is there complete or not at all, and the
pipeline acknowledges its messages only after the rename. The refresher loads complete units
and moves them to the done folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

TABLES = ("events", "quarantine", "files")
MESSAGES = "messages"
# The landed columns of each bus message: its stream sequence and when the collector got it.
MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("collected_at", pa.timestamp("us", tz="UTC")),
    ]
)
_TEMPORARY = ".tmp-"


@dataclass(frozen=True)
class Unit:
    """One landed unit: its folder and tables."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def table(self, name: str) -> pa.Table:
        return pq.read_table(self.path / f"{name}.parquet")

    def messages(self) -> pa.Table:
        """The unit's bus messages (empty for a replayed file)."""
        file = self.path / f"{MESSAGES}.parquet"
        return pq.read_table(file) if file.exists() else MESSAGES_SCHEMA.empty_table()


def unit_folder_name(source_name: str) -> str:
    """A folder name for the unit of ``source_name`` (a log file's path, a stream range)."""
    return source_name.replace("/", "__")


def write_unit(landing: Path, name: str, tables: dict[str, pa.Table]) -> Unit:
    """Write ``tables`` (``TABLES``, optionally ``MESSAGES``) as the unit ``name``, atomically
    and durably; return it. An existing unit of that name is left as it is (a replay of the
    same file landed twice): the refresher loads a file once."""
    landing.mkdir(parents=True, exist_ok=True)
    final = landing / name
    if final.exists():
        log.warning("landing: unit %s is already landed; not writing it again", name)
        return Unit(final)
    temporary = landing / f"{_TEMPORARY}{name}.{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    for table_name, table in tables.items():
        target = temporary / f"{table_name}.parquet"
        pq.write_table(table, target)
        _fsync(target)
    _fsync(temporary)
    os.rename(temporary, final)
    _fsync(landing)
    return Unit(final)


def landed_units(landing: Path) -> list[Unit]:
    """The complete units in ``landing``, in name order (stream units: by first sequence)."""
    if not landing.is_dir():
        return []
    return [
        Unit(path)
        for path in sorted(landing.iterdir())
        if path.is_dir() and not path.name.startswith(".")
    ]


def remove_abandoned(landing: Path) -> int:
    """Delete the temporary folders of units a killed pipeline did not finish (their messages
    were never acknowledged, so the bus redelivers them). Call it with no pipeline running."""
    if not landing.is_dir():
        return 0
    abandoned = [path for path in landing.iterdir() if path.name.startswith(_TEMPORARY)]
    for path in abandoned:
        shutil.rmtree(path, ignore_errors=True)
    return len(abandoned)


def move_done(unit: Unit, done: Path) -> None:
    """Move a loaded unit to the done folder (a rename: the refresher never reloads it)."""
    done.mkdir(parents=True, exist_ok=True)
    target = done / unit.name
    if target.exists():
        shutil.rmtree(target)
    os.rename(unit.path, target)


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk: after a crash, what was renamed into place is whole."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
