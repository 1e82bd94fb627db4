"""The quick cases of the reliability suite (``tests/chaos``), as ``make test`` runs them:
idempotent runs, ``warehouse run`` killed at 3 random moments and rerun, API faults and an API
that stays down, shop schema drift, hostile log files, bad configuration and secrets.
``make chaos`` runs the full suite (20 crash trials and more of everything) with its table.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
import yaml

from ingestion.shop.settings import REQUIRED_COLUMNS, TABLES, TYPE_KINDS
from warehouse.paths import PROJECT_DIR

from .chaos.cases import (
    Lab,
    api_faults,
    bad_configuration,
    build_lab,
    crashes,
    hostile_logs,
    new_secrets,
    schema_drift,
    secrets_never_leak,
)
from .chaos.harness import Trial

# Set CHAOS_SEED to replay a failed run's random choices (the seed is in the failure message).
SEED = int(os.environ.get("CHAOS_SEED", random.randrange(100_000)))


@pytest.fixture(scope="module")
def lab_and_idempotency() -> Iterator[tuple[Lab, list[Trial]]]:
    lab, trials = build_lab(full=False)
    yield lab, trials
    lab.remove()


@pytest.fixture(scope="module")
def lab(lab_and_idempotency: tuple[Lab, list[Trial]]) -> Lab:
    return lab_and_idempotency[0]


def assert_all_ok(trials: list[Trial]) -> None:
    assert trials
    failed = [trial for trial in trials if not trial.ok]
    assert not failed, f"seed {SEED}:\n" + "\n".join(
        f"{trial.case}: {trial.fault}: {'; '.join(trial.problems)}" for trial in failed
    )


@pytest.mark.slow
def test_runs_are_idempotent(lab_and_idempotency: tuple[Lab, list[Trial]]) -> None:
    assert_all_ok(lab_and_idempotency[1])


@pytest.mark.slow
def test_a_run_killed_at_random_moments_reruns_to_the_clean_warehouse(lab: Lab) -> None:
    trials = list(crashes(lab, 3, random.Random(SEED)))
    assert_all_ok(trials)
    assert sum(trial.faults for trial in trials) >= 2, "the kills came too late"


@pytest.mark.slow
def test_api_faults_lose_nothing_and_a_down_api_fails_clearly(lab: Lab) -> None:
    assert_all_ok(list(api_faults(lab, False, random.Random(SEED))))


@pytest.mark.slow
def test_shop_schema_drift_stops_before_the_marts(lab: Lab) -> None:
    assert_all_ok(list(schema_drift(lab, False)))


@pytest.mark.slow
def test_hostile_log_files_are_quarantined_never_a_crash(lab: Lab) -> None:
    assert_all_ok(list(hostile_logs(lab, False)))


@pytest.mark.slow
def test_bad_configuration_fails_in_one_line_and_writes_nothing(lab: Lab) -> None:
    assert_all_ok(list(bad_configuration(lab, False, new_secrets())))


@pytest.mark.slow
def test_secrets_appear_in_no_output_file_or_table(lab: Lab) -> None:
    assert_all_ok(list(secrets_never_leak(lab, False, new_secrets())))


def test_the_drift_check_covers_the_columns_staging_declares() -> None:
    """Every shop column the sources YAML declares carries a kind the drift check knows, so the
    check (REQUIRED_COLUMNS, read from that YAML) covers them all."""
    sources = yaml.safe_load(
        (PROJECT_DIR / "models" / "staging" / "shop" / "_shop__sources.yml").read_text()
    )
    declared = {
        table["name"]: {column["name"] for column in table.get("columns", [])} - {"_dlt_load_id"}
        for source in sources["sources"]
        for table in source["tables"]
        if table["name"] in TABLES
    }
    assert declared == {table: set(columns) for table, columns in REQUIRED_COLUMNS.items()}
    kinds = {kind for columns in REQUIRED_COLUMNS.values() for kind in columns.values()}
    assert kinds <= set(TYPE_KINDS.values()), kinds - set(TYPE_KINDS.values())
