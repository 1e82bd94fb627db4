"""`make bench` end to end on a small world: its shop and CDC steps run, both sides of the shop's
ratio read the same rows, every phase of the shop app's latency is measured, and the app
leaves the shop's data consistent with the simulated clock.

CI does not run `make bench` (it takes an hour at scale 10); this keeps the bench's own code
from rotting between the runs that record BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from demo.postgres import stop_embedded
from warehouse.paths import PROJECT_DIR, Paths
from warehouse.sources import shop_dsn

from .conftest import TEST_SCALE
from .helpers import shareable_home


@pytest.mark.slow
def test_bench_shop_and_cdc_steps(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = shareable_home(tmp_path_factory, "bench")
    command = [sys.executable, "-m", "tools.bench", "--home", str(home)]
    options = ["--scale", str(TEST_SCALE), "--runs", "1", "--only", "generate,shop,cdc", "--keep"]
    try:
        result = subprocess.run(
            [*command, *options], capture_output=True, text=True, timeout=900, cwd=PROJECT_DIR
        )
        log = (home / "bench.log").read_text()[-3000:] if (home / "bench.log").exists() else ""
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + log
        for row in ("shop ingest", "shop CDC (1 day)", "shop app tx (idle)", "shop app tx (CDC)"):
            assert f"| {row} " in result.stdout, f"no row {row!r} in the table:\n{result.stdout}"

        samples = json.loads((home / "bench-results.json").read_text())["samples"]
        # The ratio compares like with like: dlt and COPY read the same rows.
        assert samples["shop: dlt"][0]["rows"] == samples["shop: COPY"][0]["rows"] > 0
        assert samples["shop CDC (1 day)"][0]["rows"] > 0
        for phase in ("app: idle", "app: snapshot", "app: CDC"):
            assert samples[phase][0]["rows"] > 0, f"no transaction timed in {phase}"

        # The app writes at the simulated time, never ahead of it: a row stamped ahead would
        # hide the next simulated day's changes to it from the customers' snapshot.
        with psycopg.connect(shop_dsn(Paths(home))) as conn:
            ahead = conn.execute(
                "select (select count(*) from shop.orders where updated_at > clock.now)"
                " + (select count(*) from shop.customers where updated_at > clock.now)"
                " from demo_meta.clock as clock"
            ).fetchone()[0]
        assert ahead == 0, f"{ahead} shop rows stamped after the simulated clock"
    finally:
        stop_embedded(Paths(home).postgres)
