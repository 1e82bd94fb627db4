"""Erase a customer's PII from the Delta lake (the lake part of ``warehouse forget``).

A Delta table keeps its past: the data files of older versions stay in the table's folder
for time travel, and the transaction log (``_delta_log/``) records, for every file a commit
adds, column statistics whose min/max values are the strings of the rows themselves. So
blanking the customer's columns is three steps per table holding their PII:

1. ``UPDATE`` the PII columns to NULL ('' where the column is NOT NULL) for the customer: a
   versioned commit, so the erasure is itself a version in the table's history;
2. ``VACUUM`` with zero retention (``full``: orphan files too): every data file no longer in
   the current version is deleted, so no older file still holds the values. Time travel of
   this table to the versions before the erasure ends here;
3. a checkpoint at the erasure's version, then the log entries and checkpoints before it are
   deleted: they described versions whose files are gone, and their statistics may carry the
   values. Readers start from the checkpoint, whose statistics describe the files of the
   erased version only; the table's history begins with the erasure.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .lake import LakeError, table_uris
from .paths import Paths

log = logging.getLogger(__name__)

# A log entry of the transaction log: a commit (<version>.json), a checkpoint
# (<version>.checkpoint[.<part>.<parts>].parquet), or a log compaction (<from>.<to>.compacted.json).
_LOG_ENTRY = re.compile(r"^(\d{20})\.(json|checkpoint\..*parquet|\d{20}\.compacted\.json|crc)$")


def erase_lake(
    paths: Paths, customer_id: int, pii: dict[tuple[str, str], tuple[str, tuple[str, ...]]]
) -> dict[str, int]:
    """Blank customer ``customer_id``'s ``pii`` columns in every lake table that has them
    (module doc); rows changed per table. An empty dict if there is no lake."""
    try:
        uris = table_uris(paths)
    except LakeError:
        return {}
    changed: dict[str, int] = {}
    for name, uri in uris.items():
        schema, table = name.split(".", 1)
        if (schema, table) not in pii:
            continue
        key, columns = pii[(schema, table)]
        changed[name] = _erase_table(uri, key, columns, customer_id)
    return changed


def _erase_table(uri: str, key: str, columns: tuple[str, ...], customer_id: int) -> int:
    from deltalake import DeltaTable

    delta = DeltaTable(uri)
    fields = {f.name: f.nullable for f in delta.schema().fields}
    if key not in fields:
        return 0
    updates = {
        f'"{name}"': "NULL" if nullable else "''"
        for name, nullable in fields.items()
        if name in columns
    }
    predicate = f'"{key}" = {int(customer_id)}'
    metrics: dict[str, Any] = delta.update(updates=updates, predicate=predicate)
    rows = int(metrics.get("num_updated_rows", 0))
    delta = DeltaTable(uri)
    erased = delta.version()
    # A checkpoint at the erasure's own version: the log before it can go, and the history
    # still begins with the erasure (UPDATE), followed by the vacuum's commits.
    delta.create_checkpoint()
    removed = delta.vacuum(
        retention_hours=0, dry_run=False, enforce_retention_duration=False, full=True
    )
    dropped = _drop_log_before(uri, erased)
    log.info(
        "lake %s: customer %s erased in %d row(s) (version %d); %d data file(s) vacuumed, "
        "%d log entr(ies) before the checkpoint deleted",
        uri,
        customer_id,
        rows,
        erased,
        len(removed),
        dropped,
    )
    return rows


def _drop_log_before(uri: str, version: int) -> int:
    """Delete the transaction log's commits and checkpoints older than ``version`` (which has
    a checkpoint); the number deleted."""
    from fsspec.core import url_to_fs

    fs, base = url_to_fs(uri)
    dropped = 0
    for path in fs.ls(f"{base.rstrip('/')}/_delta_log", detail=False):
        match = _LOG_ENTRY.match(path.rsplit("/", 1)[-1])
        if match and int(match.group(1)) < version:
            fs.rm(path)
            dropped += 1
    return dropped
