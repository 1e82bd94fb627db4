"""dlt's loaded packages do not pile up in the home: their rows go once the package is loaded
([load] delete_completed_jobs in .dlt/config.toml), and only the newest folders stay."""

from __future__ import annotations

import gzip
from itertools import pairwise
from pathlib import Path

import pytest

from ingestion import runner
from ingestion.clickstream import clickstream
from ingestion.lake import query_loaded
from tests.test_resumed_loads import clickstream_pipeline


def test_loaded_packages_keep_no_rows_and_only_the_newest_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "KEPT_LOADED_PACKAGES", 2)
    bucket = tmp_path / "logs" / "2026/10/20"
    bucket.mkdir(parents=True)
    loaded = tmp_path / "dlt" / "clickstream" / "load" / "loaded"
    event = '{"event_id": "e%d", "event": "page_view", "timestamp": "2026-10-20T%02d:00:00Z"}'
    packages: list[set[str]] = []
    for hour in (9, 10, 11):
        lines = [event % (hour * 10 + n, hour) for n in range(3)]
        (bucket / f"events-20261020{hour:02d}.jsonl.gz").write_bytes(
            gzip.compress("\n".join(lines).encode() + b"\n")
        )
        pipeline = clickstream_pipeline("duckdb", tmp_path)
        report = runner.run(pipeline, clickstream(bucket_url=str(tmp_path / "logs")))
        assert report.rows["events"] == 3
        packages.append({entry.name for entry in loaded.iterdir()})
        # The package's folder is there; the copies of its rows are not.
        copies = [path for path in loaded.rglob("*") if path.is_file() and "jobs" in path.parts[-2]]
        assert copies == []

    new = [packages[0], *(now - before for before, now in pairwise(packages))]
    assert all(len(load) == 1 for load in new)
    assert packages[-1] == new[1] | new[2]  # the two newest; the first run's folder is gone
    events = query_loaded(pipeline, "select count(*) as n from events", "events")
    assert events["n"][0].as_py() == 9
