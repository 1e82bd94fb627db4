"""Read what a pipeline already loaded, in the DuckDB warehouse or in the Delta lake.

Sources look back at their destination (the shop's hard-delete check compares the keys
loaded with the keys still in the source; the clickstream reconciles lines read with rows
loaded). dlt's SQL over a Delta lake needs DuckDB's ``delta`` extension, which is downloaded on
first use and cannot be on a machine without access to DuckDB's extension server. So in the
lake the tables are read with ``deltalake`` (their current version, as Arrow datasets) and
the same SQL runs on them in an in-memory DuckDB.
"""

from __future__ import annotations

import dlt
import pyarrow as pa


def is_lake(pipeline: dlt.Pipeline) -> bool:
    """Whether ``pipeline`` lands in the lake (dlt's filesystem destination)."""
    return pipeline.destination.destination_name == "filesystem"


def query_loaded(pipeline: dlt.Pipeline, sql: str, *tables: str) -> pa.Table:
    """Run ``sql`` on the pipeline's loaded ``tables`` (named in it unqualified).

    In the lake, each table is its Delta table's current version (one consistent snapshot
    per table, whatever a concurrent writer commits meanwhile).
    """
    if not is_lake(pipeline):
        return pipeline.dataset()(sql).arrow()
    import duckdb
    from dlt.common.libs.deltalake import get_delta_tables

    with duckdb.connect() as conn:
        for name, table in get_delta_tables(pipeline, *tables).items():
            conn.register(name, table.to_pyarrow_dataset())
        return conn.sql(sql).fetch_arrow_table()
