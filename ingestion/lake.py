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


def keep_one_row_per_key(
    pipeline: dlt.Pipeline, keys: dict[str, list[str]], load_ids: list[str]
) -> dict[str, int]:
    """Among the rows the loads ``load_ids`` appended to each Delta table (name -> the columns
    that identify a row), keep one per key; the rows removed, per table that had any.

    A table whose loads hold a key twice gets those loads' rows rewritten without the second
    copies, in one commit (an overwrite limited to the loads' rows): a reader sees the version
    before or the version after, never a table without the loads.
    """
    import duckdb
    from deltalake import write_deltalake
    from dlt.common.libs.deltalake import get_delta_tables

    if not keys or not load_ids:
        return {}
    loads = ", ".join(f"'{load_id}'" for load_id in load_ids)
    removed = {}
    for name, table in get_delta_tables(pipeline, *keys).items():
        dataset = table.to_pyarrow_dataset()
        columns = ", ".join(f'"{key}"' for key in keys[name])
        with duckdb.connect() as conn:
            conn.register("loaded", dataset)
            selected = f"from loaded where _dlt_load_id in ({loads})"
            rows, distinct = conn.sql(
                f"select count(*), count(distinct ({columns})) {selected}"
            ).fetchone()
            if rows == distinct:
                continue
            kept = conn.sql(
                f"select * {selected} qualify row_number() over (partition by {columns}) = 1"
            ).to_arrow_reader()
            # DuckDB's Arrow types may differ from the table's (string views, time zones).
            batches = (batch.cast(dataset.schema) for batch in kept)
            write_deltalake(
                table,
                pa.RecordBatchReader.from_batches(dataset.schema, batches),
                mode="overwrite",
                predicate=f"_dlt_load_id in ({loads})",
            )
        removed[name] = rows - distinct
    return removed
