"""Encryption in transit: the demo API over HTTPS from the demo's CA; pipelines verify it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo.api.server import DEMO_TOKEN, running
from demo.tls import local_ca
from ingestion.reviews import reviews
from ingestion.runner import pipeline_for, run
from warehouse.errors import reason as _reason
from warehouse.paths import Paths


@pytest.fixture(autouse=True)
def _one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate that fails verification fails the same way on every retry."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")


def test_pipeline_trusts_the_configured_ca_and_refuses_any_other(
    generated_world_dsn: str, paths: Paths, tmp_path: Path
) -> None:
    demo_ca = local_ca(tmp_path / "demo-tls")
    other_ca = local_ca(tmp_path / "other-tls")  # a CA that did not sign the server's certificate
    assert oct(demo_ca.key.stat().st_mode & 0o777) == "0o600"
    with running(generated_world_dsn, tls=demo_ca) as server:
        assert server.url.startswith("https://127.0.0.1:")
        refusals = {}
        for name, bundle in (("system CAs", None), ("another CA", str(other_ca.ca_bundle))):
            source = reviews(base_url=server.url, token=DEMO_TOKEN, ca_bundle=bundle)
            with pytest.raises(PipelineStepFailed) as failure:
                run(pipeline_for(f"reviews_{len(refusals)}", paths.duckdb, paths.pipelines), source)
            refusals[name] = _reason(failure.value)
        # Refused before any request reached the API: the handshake failed.
        assert server.requests == []

        source = reviews(base_url=server.url, token=DEMO_TOKEN, ca_bundle=str(demo_ca.ca_bundle))
        report = run(pipeline_for("reviews", paths.duckdb, paths.pipelines), source)
        assert report.rows["reviews"] > 0 and {r.status for r in server.requests} == {200}
    for name, message in refusals.items():
        assert message.startswith(
            f"reviews source: the API at {server.url}/v1/reviews did not prove who it is"
        ), name
        assert "certificate verify failed" in message and "ca_bundle" in message, name
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        tables = {
            name for (name,) in conn.execute("select schema_name from duckdb_tables()").fetchall()
        }
    assert "raw_reviews_0" not in tables and "raw_reviews_1" not in tables
