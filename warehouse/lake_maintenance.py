"""Keep the Delta lake small and fast: compact small files, vacuum what no retained version reads.

Every load adds files to a table (a MERGE rewrites the files holding the keys it updates and
adds the new rows; an append adds the load's rows), so a table read after a year of daily loads
opens hundreds of small files. Compaction (Delta's OPTIMIZE) rewrites them into a few large ones
in a new version: the same rows, one commit, readers of any version unaffected (a reader keeps
the files of the version it started with; the replaced files stay on disk). Vacuum then deletes
the files that no version within the retention period reads: files removed from the table
(by a merge or a compaction) longer ago than ``retention_hours``. The current version's files
and those of every version committed within the retention period are never deleted, so time
travel works back to the retention period and no further.

Settings: ``[lake] retention_hours`` (.dlt/config.toml, env ``LAKE__RETENTION_HOURS``; default
168, one week, Delta's own default) and ``[lake] target_file_mb`` (compacted file size).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from .lake import LakeError, table_uris
from .paths import Paths

log = logging.getLogger(__name__)

DEFAULT_RETENTION_HOURS = 168
DEFAULT_TARGET_FILE_MB = 128


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_vacuumed: int


def retention_hours(chosen: float | None = None) -> float:
    """``chosen``, else ``[lake] retention_hours``, else one week; never negative."""
    import dlt

    value = chosen
    if value is None:
        value = dlt.config.get("lake.retention_hours") or DEFAULT_RETENTION_HOURS
    value = float(value)
    if value < 0:
        raise LakeError(
            f"retention of {value} hours: give 0 or more ([lake] retention_hours in "
            ".dlt/config.toml, LAKE__RETENTION_HOURS or --retention-hours)"
        )
    return value


def compact(paths: Paths, tables: list[str] | None = None) -> list[TableMaintenance]:
    """Rewrite each table's small files into files of ``[lake] target_file_mb``, one commit
    per table (none when a table has nothing to compact)."""
    import dlt
    from deltalake import DeltaTable

    target_mb = int(dlt.config.get("lake.target_file_mb") or DEFAULT_TARGET_FILE_MB)
    done = []
    for name, uri in _selected(paths, tables).items():
        delta = DeltaTable(uri)
        before, files_before = delta.version(), len(delta.file_uris())
        delta.optimize.compact(target_size=target_mb * 1024 * 1024)
        delta = DeltaTable(uri)
        done.append(
            TableMaintenance(name, before, delta.version(), files_before, len(delta.file_uris()), 0)
        )
        log.info("compacted %s: %d -> %d files", name, files_before, len(delta.file_uris()))
    return done


def vacuum(
    paths: Paths, hours: float | None = None, tables: list[str] | None = None
) -> list[TableMaintenance]:
    """Delete the files no version committed within the last ``hours`` reads."""
    from deltalake import DeltaTable

    keep = retention_hours(hours)
    done = []
    for name, uri in _selected(paths, tables).items():
        delta = DeltaTable(uri)
        files = len(delta.file_uris())
        removed = delta.vacuum(
            retention_hours=math.ceil(keep),  # whole hours; rounding up keeps more, never less
            dry_run=False,
            # The retention is the project's setting, checked above; Delta would otherwise
            # refuse anything under the table's own default of a week.
            enforce_retention_duration=False,
            full=True,
        )
        version = delta.version()
        done.append(TableMaintenance(name, version, version, files, files, len(removed)))
        log.info("vacuumed %s: %d file(s) older than %s h deleted", name, len(removed), keep)
    return done


def maintain(
    paths: Paths, hours: float | None = None, tables: list[str] | None = None
) -> list[TableMaintenance]:
    """Compact, then vacuum: the whole routine, per table in one report line."""
    compacted = {item.table: item for item in compact(paths, tables)}
    report = []
    for item in vacuum(paths, hours, tables):
        before = compacted[item.table]
        report.append(
            TableMaintenance(
                item.table,
                before.version_before,
                before.version_after,
                before.files_before,
                before.files_after,
                item.files_vacuumed,
            )
        )
    return report


def _selected(paths: Paths, tables: list[str] | None) -> dict[str, str]:
    uris = table_uris(paths)
    unknown = sorted(set(tables or []) - set(uris))
    if unknown:
        raise LakeError(f"no lake table {', '.join(unknown)}: choose from {', '.join(uris)}")
    return {name: uri for name, uri in uris.items() if not tables or name in tables}
