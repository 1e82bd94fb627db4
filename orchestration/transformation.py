"""dbt assets: every seed, snapshot and model of the project, and its tests as asset checks.

``dbt build`` runs them as ``warehouse build`` does, source freshness first: a source past its
``error_after`` fails the step before anything is rebuilt, and a failing test fails it after
its model, so nothing downstream (the publish) runs on a build the tests rejected. Warnings
(``severity: warn``) show as failed checks of warning severity and do not stop the run.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Config
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from warehouse.dbt import dbt_environment
from warehouse.writer_lock import writer_lock

from .ingestion import raw_key
from .resources import WRITER_POOL, WarehouseResource

# The op's name, used in run configuration (ops: {dbt_build: {config: {full_refresh: true}}}).
DBT_OP = "dbt_build"
GROUPS = {"seed": "seeds", "snapshot": "snapshots"}


class DbtBuildConfig(Config):
    """Options of one dbt build."""

    full_refresh: bool = False
    """Rebuild incremental models from scratch (``dbt build --full-refresh``)."""


class WarehouseTranslator(DagsterDbtTranslator):
    """A dbt source is the raw table its dlt pipeline lands (``raw_<source>/<table>``); models
    are grouped by layer (staging, intermediate, marts, semantic)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props["schema"], dbt_resource_props["identifier"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props["resource_type"]
        if kind == "model":
            return dbt_resource_props["fqn"][1]
        return GROUPS.get(kind)


def transformation_assets(manifest_path: Path, project: DbtProject) -> AssetsDefinition:
    """The dbt build as one multi-asset (subsettable: a selection builds only its nodes)."""

    @dbt_assets(
        manifest=manifest_path,
        project=project,
        dagster_dbt_translator=WarehouseTranslator(),
        name=DBT_OP,
        pool=WRITER_POOL,
    )
    def dbt_build(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ) -> Iterator[Any]:
        paths = warehouse.paths
        dbt_environment(paths)  # profiles.yml reads the warehouse's location from it
        # As `warehouse build`: a source that stopped loading is named before models are
        # rebuilt on it; past error_after this raises and nothing is built.
        with writer_lock(paths):  # as `warehouse build` holds it
            dbt.cli(
                ["source", "freshness"], manifest=manifest_path, target_path=paths.dbt_target
            ).wait()
            args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
            yield from dbt.cli(args, context=context, target_path=paths.dbt_target).stream()

    return dbt_build
