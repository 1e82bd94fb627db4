"""A resumed load package keeps one row per key in tables whose staged rows skip the merge's
deduplication (the shop's): a copy job killed after it committed, before dlt recorded it,
runs again on resume and stages its file twice."""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pytest

from ingestion.runner import _drop_restaged_duplicates


def test_a_twice_staged_batch_leaves_one_row_per_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    merge = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
    rows = pa.table({"id": [1, 2, 3], "status": ["new", "paid", "shipped"]})
    database = tmp_path / "warehouse.duckdb"
    pipeline = dlt.pipeline(
        "resumed_test",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="raw_test",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    resource = dlt.resource(rows, name="orders", primary_key="id", write_disposition=merge)
    pipeline.run(resource).raise_on_failed_jobs()
    # What the merge of a twice-staged batch leaves: the same rows twice.
    with duckdb.connect(str(database)) as conn:
        conn.execute("insert into raw_test.orders select * from raw_test.orders where id < 3")
    with caplog.at_level(logging.WARNING):
        _drop_restaged_duplicates(pipeline)
    with duckdb.connect(str(database)) as conn:
        kept = conn.execute("select id, status from raw_test.orders order by id").fetchall()
    assert kept == [(1, "new"), (2, "paid"), (3, "shipped")]
    assert "orders: removed 2 row(s) the resumed load staged twice" in caplog.text
