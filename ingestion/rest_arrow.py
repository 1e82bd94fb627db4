"""API records into Arrow tables typed from a declared schema, so dlt loads them without
normalizing record by record in Python.

Each API resource declares the JSON shape of its records (``RECORD_TYPES`` in the source's
settings: field -> dlt data type, nested objects as dicts). A pipe step placed after dlt's
incremental filter turns each page into one Arrow table: pyarrow reads the page's dicts in C++
(inferring each field's JSON type), the page is checked against the declaration, nested objects
are flattened into ``parent__child`` columns (dlt's naming), text is parsed into the declared
timestamps and dates, and ``_dlt_id`` is added as dlt's normalizer would. dlt writes the table
to parquet as it is: the raw table gets the same columns and types as before.

The declaration is a fast path, never a filter. A page that does not fit it exactly (a field
the declaration does not name, a value of another JSON type, a timestamp that does not parse)
goes on as the plain records it was, through dlt's own normalizer and schema contract: a new
field becomes a new column (a nested list a nested table), a changed type stops the load on the
frozen data-type contract naming table and column. Text is never read as anything but text: a
value that looks like a date in a text field stays text, whatever the first page holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import pyarrow as pa
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.extract.items_transform import ItemTransform

log = logging.getLogger(__name__)

# A record's declared shape: field -> dlt data type, or a nested object's own shape.
RecordTypes = Mapping[str, Union[str, "RecordTypes"]]

# The Arrow type each declared dlt data type is loaded as, and the Arrow types pyarrow may infer
# for its JSON values (null: the field is null or absent on the whole page).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}
_JSON_TYPES: dict[str, tuple[pa.DataType, ...]] = {
    "text": (pa.string(),),
    "bigint": (pa.int64(),),
    "double": (pa.float64(), pa.int64()),
    "bool": (pa.bool_(),),
    # ISO 8601 text, parsed here: a value that does not parse sends the page to dlt.
    "timestamp": (pa.string(),),
    "date": (pa.string(),),
}
# Records per batch handed to dlt: each Arrow table costs dlt ~15 ms whatever its size (schema
# merge, parquet row group), so 100-record pages are joined first; memory stays a few MB.
BATCH_RECORDS = 5_000
_SEPARATOR = "__"  # dlt's snake_case naming joins a nested field to its parent with it
DLT_ID = "_dlt_id"


class PageBatches(ItemTransform[Any, dict[str, Any]]):
    """The pipe step that joins consecutive pages of one resource into batches of about
    ``BATCH_RECORDS`` records, before dlt's incremental filter (which reads them as before).

    A page that says no page follows (its paginator's state, updated before the page is
    yielded) flushes the batch, so the last records are never held back; a list that is not a
    page of dlt's REST client flushes too, and anything else passes straight through.
    """

    # Before dlt's incremental filter (1): it filters the joined records as it did the pages.
    placement_affinity: ClassVar[float] = 0.5

    def __init__(self, batch_records: int = BATCH_RECORDS) -> None:
        super().__init__(lambda item: item)
        self.batch_records = batch_records
        self.held: list[Any] = []

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if not isinstance(item, list):
            return item
        self.held.extend(item)
        paginator = getattr(item, "paginator", None)
        more = paginator is not None and paginator.has_next_page
        if more and len(self.held) < self.batch_records:
            return None  # held until the batch is full or the last page comes
        held, self.held = self.held, []
        return held


class ArrowPages(ItemTransform[Any, dict[str, Any]]):
    """The pipe step that turns each page of ``table``'s records into one Arrow table typed by
    ``declared``; a page that does not fit is passed on unchanged (see the module)."""

    # After dlt's incremental filter (1), which reads the cursor as the API writes it...
    placement_affinity: ClassVar[float] = 1.2
    # ...unless the cursor reads the same from the typed table (an integer or a text: not a
    # timestamp, which the table holds parsed): then before it, where dlt's incremental filters
    # the whole table at once instead of record by record (its boundary dedup hashes the key
    # values the same way on both, so the state of earlier runs still applies).
    BEFORE_INCREMENTAL: ClassVar[float] = 0.95
    SAME_CURSOR_TYPES: ClassVar[frozenset[str]] = frozenset({"bigint", "text"})

    def __init__(
        self, table: str, declared: RecordTypes, key: Sequence[str] = (), cursor: str = ""
    ) -> None:
        super().__init__(lambda item: item)
        self.table = table
        self.declared = declared
        self.key = tuple(key)  # not nullable, as dlt declares a primary key
        self.fallbacks = 0
        if declared.get(cursor) in self.SAME_CURSOR_TYPES:
            self.placement_affinity = self.BEFORE_INCREMENTAL  # type: ignore[misc]

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if not isinstance(item, list) or not item:
            return item
        table, misfit = page_to_arrow(item, self.declared, self.key)
        if table is not None:
            return table
        if not self.fallbacks:
            log.warning(
                "%s: a page does not fit the declared record schema (%s): such pages are "
                "normalized record by record by dlt (slower; a new field becomes a column, a "
                "changed type stops the load). Declare the field in the source's settings.py.",
                self.table,
                misfit,
            )
        self.fallbacks += 1
        return item


def page_to_arrow(
    records: list[dict[str, Any]], declared: RecordTypes, key: Sequence[str] = ()
) -> tuple[pa.Table | None, str]:
    """One page of records as an Arrow table of the declared columns (flattened, typed, with
    ``_dlt_id``), or None and why the page does not fit the declaration. The ``key`` columns
    and ``_dlt_id`` are declared not nullable, as dlt's schema has them."""
    try:
        inferred = pa.array(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        return None, f"a field with values of several JSON types ({exc})"
    if not pa.types.is_struct(inferred.type):
        return None, f"records are {inferred.type}, not objects"
    columns: dict[str, pa.Array] = {}
    misfit = _flatten(inferred, declared, "", columns)
    if misfit:
        return None, misfit
    columns[DLT_ID] = pa.array(generate_dlt_ids(len(records)), pa.string())
    if any(columns[name].null_count for name in key if name in columns):
        return None, f"a record without its key {', '.join(key)}"
    required = {*key, DLT_ID}
    schema = pa.schema(
        pa.field(name, array.type, nullable=name not in required) for name, array in columns.items()
    )
    return pa.Table.from_arrays(list(columns.values()), schema=schema), ""


def _flatten(
    struct: pa.StructArray, declared: RecordTypes, prefix: str, columns: dict[str, pa.Array]
) -> str:
    """Add the declared fields of ``struct`` to ``columns`` (nested objects flattened, with
    their parents' nulls); return what does not fit, or "" when everything does."""
    present = {field.name: index for index, field in enumerate(struct.type)}
    unknown = sorted(set(present) - set(declared))
    if unknown:
        return f"undeclared field(s) {', '.join(prefix + name for name in unknown)}"
    children = struct.flatten()  # each child with its parent's nulls
    for name, kind in declared.items():
        path = f"{prefix}{name}"
        values = children[present[name]] if name in present else None
        if not isinstance(kind, str):
            if values is None or pa.types.is_null(values.type):
                _add_nulls(kind, f"{path}{_SEPARATOR}", len(struct), columns)
                continue
            if not pa.types.is_struct(values.type):
                return f"{path} is {values.type}, declared an object"
            misfit = _flatten(values, kind, f"{path}{_SEPARATOR}", columns)
            if misfit:
                return misfit
            continue
        target = _ARROW_TYPES[kind]
        if values is None or pa.types.is_null(values.type):
            columns[path] = pa.nulls(len(struct), target)
        elif values.type not in _JSON_TYPES[kind]:
            return f"{path} is {values.type}, declared {kind}"
        else:
            try:
                columns[path] = values.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                return f"{path} does not read as {kind} ({exc})"
    return ""


def _add_nulls(declared: RecordTypes, prefix: str, length: int, columns: dict[str, pa.Array]):
    """Null columns for every field of an object absent (or null) on the whole page."""
    for name, kind in declared.items():
        if isinstance(kind, str):
            columns[f"{prefix}{name}"] = pa.nulls(length, _ARROW_TYPES[kind])
        else:
            _add_nulls(kind, f"{prefix}{name}{_SEPARATOR}", length, columns)
