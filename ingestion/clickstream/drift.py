"""Schema drift in the clickstream: how a file's event fields differ from the previous file's."""

from __future__ import annotations

from collections.abc import Sequence

from .settings import (
    EVENT_FIELDS,
    RENAMED_FIELDS,
)

# --------------------------------------------------------------------------------------------
# Schema drift


def drift_report(file_name: str, before: Sequence[str], after: Sequence[str]) -> str | None:
    """What changed in the events' top-level fields from one file to the next, by name, and
    what the warehouse does about it; None when nothing changed."""
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    if not added and not removed:
        return None
    notes = []
    for old, new in RENAMED_FIELDS.items():
        if new in added or (old in removed and new in after):
            notes.append(
                f"`{old}` is now `{new}` (the app's rename): both columns are loaded as "
                f"delivered and staging reads coalesce({old}, {new})"
            )
    known = [name for name in added if name in EVENT_FIELDS and name not in RENAMED_FIELDS.values()]
    if known:
        notes.append(
            f"field(s) {', '.join(f'`{name}`' for name in known)} arrive (again): loaded into "
            "their columns"
        )
    unknown = [name for name in added if name not in EVENT_FIELDS]
    if unknown:
        notes.append(
            f"new field(s) {', '.join(f'`{name}`' for name in unknown)} are kept in column "
            "`_extra` (JSON): add them to the staging model if they matter"
        )
    gone = [name for name in removed if name not in RENAMED_FIELDS]
    if gone:
        notes.append(
            f"field(s) {', '.join(f'`{name}`' for name in gone)} stopped arriving: their "
            "columns stay NULL for these events; check with the app team"
        )
    change = "; ".join(
        part
        for part in (
            f"added {', '.join(f'`{name}`' for name in added)}" if added else "",
            f"removed {', '.join(f'`{name}`' for name in removed)}" if removed else "",
        )
        if part
    )
    return f"clickstream: schema drift from {file_name} on ({change}): {'; '.join(notes)}."
