"""What the assets share: the warehouse home as a Dagster resource, the dbt project on it, and
the single-writer rule for the DuckDB file."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from warehouse.dbt import dbt
from warehouse.paths import PROJECT_DIR, Paths

log = logging.getLogger(__name__)

# DuckDB allows one writer per file. Every step that opens warehouse.duckdb for writing (a dlt
# load, dbt, publish) runs in this pool, whose limit is 1 (the instance's dagster.yaml), so
# steps of two runs started at once take turns instead of failing on the file's lock.
WRITER_POOL = "warehouse_duckdb"
# Runs that write the warehouse carry this tag; the run queue admits one of them at a time.
WRITER_TAGS = {"warehouse/writes": "duckdb"}

# What dbt parses: a manifest older than any of these is parsed again.
DBT_INPUTS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "snapshots",
    "seeds",
    "macros",
    "tests/dbt",
)


class WarehouseResource(ConfigurableResource):
    """The warehouse instance the assets work on: its home folder (``--home``)."""

    home: str

    @property
    def paths(self) -> Paths:
        """The home's files (the folder is created if missing)."""
        return Paths.from_env(self.home).ensure()


def prepared_manifest(paths: Paths) -> Path:
    """The home's dbt manifest, parsed first if missing or older than the project's files.

    The orchestrator builds its dbt assets from it, as ``warehouse build`` compiles into the same
    target folder, so both see the same models.
    """
    manifest = paths.dbt_target / "manifest.json"
    newest = max(
        (path.stat().st_mtime for name in DBT_INPUTS for path in _files(PROJECT_DIR / name)),
        default=0.0,
    )
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        log.info("parsing the dbt project into %s", paths.dbt_target)
        dbt(paths, "parse", "--quiet")
    return manifest


def read_manifest(manifest: Path) -> dict[str, Any]:
    return json.loads(manifest.read_text())


def dbt_project(paths: Paths) -> DbtProject:
    """The dbt project, compiling into the home's own target folder."""
    return DbtProject(
        project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target_path=paths.dbt_target
    )


def dbt_resource(paths: Paths) -> DbtCliResource:
    """dbt as a subprocess (its per-node events become materializations and check results), the
    ``dbt`` of this environment whatever the PATH of the process that runs the step."""
    return DbtCliResource(
        project_dir=dbt_project(paths),
        profiles_dir=str(PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [file for file in path.rglob("*") if file.is_file()] if path.exists() else []
