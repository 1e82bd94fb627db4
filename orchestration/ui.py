"""``warehouse ui``: the Dagster UI and daemon on this warehouse home's instance.

``dagster dev`` runs the webserver (the asset graph, runs, checks) and the daemon (which starts
queued runs one writer at a time, ticks the schedules and sensors) against ``<home>/dagster``,
loading the code location ``orchestration.definitions`` for this home.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

from warehouse.paths import PROJECT_DIR, Paths

from .instance import dagster_home
from .resources import prepared_manifest

log = logging.getLogger(__name__)


def ui_command(host: str, port: int) -> list[str]:
    """The ``dagster dev`` command line serving the code location on ``host:port``."""
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster), "dev", "-m", "orchestration.definitions", "-h", host, "-p", str(port)]


def ui_environment(paths: Paths) -> dict[str, str]:
    """The environment of the UI's processes: this home, its instance, and a UI that never
    calls out to the internet (the warehouse runs on closed networks)."""
    return {
        **os.environ,
        "WAREHOUSE_HOME": str(paths.home),
        "DAGSTER_HOME": str(dagster_home(paths)),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def serve(paths: Paths, host: str, port: int) -> int:
    """Run the UI until interrupted; its exit status. The dbt manifest is parsed first, so
    a broken project is reported here rather than as a code location that fails to load."""
    prepared_manifest(paths)
    print(f"Dagster UI for {paths.home}: http://{host}:{port} (Ctrl-C stops)", flush=True)
    return subprocess.run(
        ui_command(host, port), cwd=PROJECT_DIR, env=ui_environment(paths), check=False
    ).returncode
