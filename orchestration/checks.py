"""Freshness checks of the raw tables, from the dbt sources' own ``freshness`` settings.

One home for the rule: ``error_after`` in ``models/staging/*/_*__sources.yml`` is both what
``dbt source freshness`` enforces before a build and how long Dagster lets a raw table go
without a load before its freshness check fails. A sensor evaluates them, so a source that
stopped loading shows as stale in the UI even when no run is started.
"""

import datetime
import warnings
from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetChecksDefinition,
    SensorDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)
from dagster._utils.warnings import SupersessionWarning

from .ingestion import raw_key

PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


def freshness_checks(manifest: dict[str, Any]) -> list[AssetChecksDefinition]:
    """One last-update check per raw table that has an ``error_after`` in dbt."""
    by_limit: dict[datetime.timedelta, list] = {}
    for props in manifest["sources"].values():
        error_after = (props.get("freshness") or {}).get("error_after") or {}
        if not error_after.get("count"):
            continue  # e.g. the clickstream quarantine: no malformed line is good news
        limit = datetime.timedelta(**{PERIODS[error_after["period"]]: error_after["count"]})
        by_limit.setdefault(limit, []).append(raw_key(props["schema"], props["identifier"]))
    with warnings.catch_warnings():
        # Dagster 1.13 steers towards FreshnessPolicy, evaluated by Dagster+ only; these checks
        # run on any deployment (the sensor below) and show as asset checks.
        warnings.simplefilter("ignore", SupersessionWarning)
        return [
            check
            for limit, keys in sorted(by_limit.items())
            for check in build_last_update_freshness_checks(assets=keys, lower_bound_delta=limit)
        ]


def freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    """Evaluates the freshness checks every 10 minutes (each when it can next change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=600, name="raw_freshness"
        )
