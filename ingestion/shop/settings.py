"""Constants of the shop source: what it reads and how it tracks changes."""

from pathlib import Path

import yaml

# Every table of the shop's OLTP schema, in load order (parents before children).
TABLES = ("customers", "products", "orders", "order_items", "shipments")
# Each table has a surrogate key `id` and an `updated_at` the application moves on every change.
PRIMARY_KEY = "id"
CURSOR_COLUMN = "updated_at"
# How the shop is read ([sources.shop] mode): from the logical replication log, or by cursor.
MODES = ("cdc", "cursor")
# Rows whose key has vanished from the source are recorded here (schema raw_shop).
HARD_DELETES_TABLE = "hard_deletes"

# dlt's schema contract for raw_shop: evolve, deliberately. New tables (listed in `tables`) and
# new columns flow through to raw. The columns the models read are checked before extraction
# (REQUIRED_COLUMNS below): renamed, dropped or retyped, they stop the run naming table and
# column. Any other column that changes type lands in a variant column (`<name>__v_<type>`), so
# nothing is lost. Not `data_type: freeze`: dlt 1.31 counts the precision that table reflection
# adds on the second run (`bigint` -> `bigint`, precision 32) as a type change, so a frozen
# contract fails the first ordinary incremental run.
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}
# The columns the staging models read, and the kind of PostgreSQL type each must have: every
# column declared with a `data_type` in models/staging/shop/_shop__sources.yml (their one home).
# A column renamed, dropped or changed to another kind stops the run before anything is
# extracted, with an error naming the table and the column: loading on would write NULLs (or
# another type) into raw_shop and move the incremental cursor past the rows, so fixing the source
# later would not bring them back. New columns are fine: they flow through to raw_shop. Widening
# within a kind (integer -> bigint) is fine too.
SOURCES_YAML = Path(__file__).resolve().parents[2] / "models/staging/shop/_shop__sources.yml"


def required_columns(sources_yaml: Path = SOURCES_YAML) -> dict[str, dict[str, str]]:
    """``{table: {column: kind}}`` for every source column declared with a ``data_type``."""
    document = yaml.safe_load(sources_yaml.read_text(encoding="utf-8"))
    tables = (
        table
        for source in document["sources"]
        if source["name"] == "shop"
        for table in source["tables"]
    )
    required = {
        table["name"]: {
            column["name"]: column["data_type"]
            for column in table.get("columns", [])
            if column.get("data_type")
        }
        for table in tables
    }
    return {table: columns for table, columns in required.items() if columns}


REQUIRED_COLUMNS = required_columns()
# information_schema.columns.data_type -> the kind above.
TYPE_KINDS = {
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "text": "text",
    "character varying": "text",
    "character": "text",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
}
