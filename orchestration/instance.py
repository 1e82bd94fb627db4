"""The Dagster instance of a warehouse home: ``<home>/dagster`` (``DAGSTER_HOME``).

Run history, event logs, schedules' and sensors' state (SQLite) and the steps' logs live there,
so ``--home`` isolates an orchestrator like everything else of the warehouse. Its
``dagster.yaml`` enforces the single writer of warehouse.duckdb twice: the run queue starts one
run tagged ``warehouse/writes=duckdb`` at a time, and every step that writes the file runs in
the ``warehouse_duckdb`` pool of one slot (which also covers runs started outside the queue,
such as a test's or ``dagster asset materialize``). Readers of serving.duckdb take no part:
publish replaces that file atomically and never locks it.
"""

from pathlib import Path

from warehouse.paths import Paths

from .resources import WRITER_POOL, WRITER_TAGS

INSTANCE_YAML = """\
# The Dagster instance of this warehouse home (written by the orchestration package).
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 4
    # DuckDB allows one writer: runs that write the warehouse start one at a time.
    tag_concurrency_limits:
      - key: "{tag_key}"
        value: "{tag_value}"
        limit: 1
  pools:
    # Every step that writes warehouse.duckdb is in the pool "{pool}": one at a time.
    default_limit: 1
    granularity: op
compute_logs:
  module: dagster._core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: "{logs}"
telemetry:
  enabled: false
"""


def dagster_home(paths: Paths) -> Path:
    """``<home>/dagster``, with its dagster.yaml written (kept current with this package)."""
    home = paths.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    ((tag_key, tag_value),) = WRITER_TAGS.items()
    config = INSTANCE_YAML.format(
        tag_key=tag_key, tag_value=tag_value, pool=WRITER_POOL, logs=home / "logs"
    )
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != config:
        target.write_text(config)
    return home
