"""A resumed load package keeps one row per key: a job killed after its insert committed,
before dlt recorded it, runs again on resume and loads its file twice. The shop's merged
tables (whose staged rows skip the merge's deduplication) and the clickstream's appended
tables (one row per line of a file) keep one copy."""

from __future__ import annotations

import gzip
import logging
import signal
import subprocess
import sys
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pytest

from ingestion.clickstream import clickstream
from ingestion.lake import query_loaded
from ingestion.runner import _drop_restaged_duplicates, lake_pipeline_for, pipeline_for, run
from warehouse.paths import PROJECT_DIR
from warehouse.sources import reconcile_clickstream


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
        _drop_restaged_duplicates(pipeline, [])
    with duckdb.connect(str(database)) as conn:
        kept = conn.execute("select id, status from raw_test.orders order by id").fetchall()
    assert kept == [(1, "new"), (2, "paid"), (3, "shipped")]
    assert "orders: removed 2 row(s) the resumed load staged twice" in caplog.text


# Runs the clickstream pipeline and kills it (SIGKILL) the moment a job of the named table has
# committed its rows, before dlt records that the job is done: the narrowest window a kill can
# hit, where the resumed package runs the job again.
KILLED_AFTER_COMMIT = """
import os, signal, sys
from dlt.common.storages.load_package import PackageStorage
from ingestion.clickstream import clickstream
from ingestion.runner import run
from tests.test_resumed_loads import clickstream_pipeline

destination, home, bucket, table = sys.argv[1:5]
record = PackageStorage.save_pending_transition

def killed_before_recording(self, load_id, file_name, *args, **kwargs):
    if file_name.startswith(table + "."):
        os.kill(os.getpid(), signal.SIGKILL)
    return record(self, load_id, file_name, *args, **kwargs)

PackageStorage.save_pending_transition = killed_before_recording
run(clickstream_pipeline(destination, home), clickstream(bucket_url=bucket))
"""


def clickstream_pipeline(destination: str, home: Path) -> dlt.Pipeline:
    """The clickstream pipeline into a DuckDB file or a Delta lake under ``home``."""
    if destination == "lake":
        return lake_pipeline_for("clickstream", str(Path(home) / "lake"), Path(home) / "dlt")
    return pipeline_for("clickstream", Path(home) / "w.duckdb", Path(home) / "dlt")


@pytest.mark.parametrize("destination", ["duckdb", "lake"])
@pytest.mark.parametrize("table", ["events", "quarantine", "files"])
def test_a_clickstream_job_killed_after_its_commit_loads_each_line_once(
    tmp_path: Path, destination: str, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = tmp_path / "logs"
    event = '{"event_id": "e%d", "event": "page_view", "timestamp": "2026-10-20T09:00:00Z"}'
    lines = [event % n for n in range(1, 4)] + ["{not json", "[1, 2]"]
    (bucket / "2026/10/20").mkdir(parents=True)
    (bucket / "2026/10/20/events-2026102009.jsonl.gz").write_bytes(
        gzip.compress("\n".join(lines).encode() + b"\n")
    )
    argv = [sys.executable, "-c", KILLED_AFTER_COMMIT, destination, tmp_path, bucket, table]
    killed = subprocess.run(list(map(str, argv)), cwd=PROJECT_DIR, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    pipeline = clickstream_pipeline(destination, tmp_path)
    with caplog.at_level(logging.WARNING):
        report = run(pipeline, clickstream(bucket_url=str(bucket)), reconcile_clickstream)

    assert f"{table}: removed" in caplog.text and "staged twice" in caplog.text
    assert report.reconciled == {"lines read": 5, "loaded": 3, "quarantined": 2}
    counts = {
        name: query_loaded(pipeline, f"select count(*) as n from {name}", name)["n"][0].as_py()
        for name in ("events", "quarantine", "files")
    }
    assert counts == {"events": 3, "quarantine": 2, "files": 1}


# Kills the clickstream pipeline (SIGKILL) right after dlt's normalize committed its package
# (renamed into load/normalized), before it deleted the extracted copy.
KILLED_AFTER_NORMALIZE = """
import os, signal, sys
from dlt.common.storages.load_storage import LoadStorage
from ingestion.clickstream import clickstream
from ingestion.runner import run
from tests.test_resumed_loads import clickstream_pipeline

destination, home, bucket = sys.argv[1:4]
commit = LoadStorage.commit_new_load_package

def killed_after_commit(self, *args, **kwargs):
    commit(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

LoadStorage.commit_new_load_package = killed_after_commit
run(clickstream_pipeline(destination, home), clickstream(bucket_url=bucket))
"""


@pytest.mark.parametrize("destination", ["duckdb", "lake"])
def test_a_run_killed_between_normalize_commit_and_cleanup_does_not_wedge_the_next(
    tmp_path: Path, destination: str, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = tmp_path / "logs"
    event = '{"event_id": "e%d", "event": "page_view", "timestamp": "2026-10-20T09:00:00Z"}'
    (bucket / "2026/10/20").mkdir(parents=True)
    (bucket / "2026/10/20/events-2026102009.jsonl.gz").write_bytes(
        gzip.compress("\n".join([event % 1, event % 2, "{not json"]).encode() + b"\n")
    )
    argv = [sys.executable, "-c", KILLED_AFTER_NORMALIZE, destination, tmp_path, bucket]
    killed = subprocess.run(list(map(str, argv)), cwd=PROJECT_DIR, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    working = tmp_path / "dlt" / "clickstream"
    left = [p.name for p in (working / "normalize" / "extracted").iterdir()]
    assert left and all((working / "load" / "normalized" / name).is_dir() for name in left)

    pipeline = clickstream_pipeline(destination, tmp_path)
    with caplog.at_level(logging.WARNING):
        report = run(pipeline, clickstream(bucket_url=str(bucket)), reconcile_clickstream)

    assert "was normalized when the run was killed" in caplog.text
    assert report.reconciled == {"lines read": 3, "loaded": 2, "quarantined": 1}
    events = query_loaded(pipeline, "select count(*) as n from events", "events")
    assert events["n"][0].as_py() == 2
