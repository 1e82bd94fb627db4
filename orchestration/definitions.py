"""The code location Dagster loads (``dagster dev -m orchestration.definitions``): the
warehouse at ``$WAREHOUSE_HOME`` (else the project's ``var/``)."""

import os

from warehouse.paths import PROJECT_DIR, Paths

from .location import build_definitions

# dlt reads .dlt/config.toml from the working directory, as the CLI arranges with its own
# chdir: run workers and code servers start wherever their launcher was.
os.chdir(PROJECT_DIR)

defs = build_definitions(Paths.from_env().ensure())
