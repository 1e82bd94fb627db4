"""Chaos family: idempotency (the lab is built here)."""

from __future__ import annotations

from pathlib import Path

from .harness import (
    SCALE,
    Trial,
    copy_home,
    differences,
    mart_checksums,
    new_home,
    output,
    raw_counts,
    remove_home,
    serving_checksums,
    stop_postgres,
    warehouse,
)
from .lab import KILL_WINDOWS, STEP_TIME, Lab, _succeeded, _timed

# --------------------------------------------------------------------------------------------
# Idempotency (the lab is built here)


def build_lab(full: bool) -> tuple[Lab, list[Trial]]:
    """Build the homes, checking on the way that runs are idempotent: ``run`` on unchanged
    sources changes no mart, and after ``advance`` a second ``run`` changes nothing either."""
    homes: list[Path] = []
    try:
        return _build_lab(full, homes)
    except BaseException:
        for home in homes:
            remove_home(home)
        raise


def _build_lab(full: bool, homes: list[Path]) -> tuple[Lab, list[Trial]]:
    trials = []
    built = new_home("built")
    homes.append(built)
    result = warehouse(built, "demo", "--scale", str(SCALE))
    if result.returncode != 0:
        raise RuntimeError(f"warehouse demo failed: {output(result)[-3000:]}")
    built_marts, built_serving = mart_checksums(built), serving_checksums(built)
    if full:

        def rerun_unchanged(trial: Trial) -> None:
            _succeeded(trial, warehouse(built, "run"), "run")
            after = mart_checksums(built)
            trial.check(after == built_marts, f"marts changed: {differences(built_marts, after)}")
            trial.outcome = f"{len(after)} marts identical (rows and checksums)"

        trials.append(
            _timed(Trial("idempotency", "`run` again on unchanged sources"), rerun_unchanged)
        )
    stop_postgres(built)
    pending = copy_home(built, "pending")
    homes.append(pending)
    result = warehouse(pending, "demo", "advance")
    if result.returncode != 0:
        raise RuntimeError(f"warehouse demo advance failed: {output(result)[-3000:]}")
    stop_postgres(pending)
    reference = copy_home(pending, "reference")
    homes.append(reference)
    result = warehouse(reference, "run")
    if result.returncode != 0:
        raise RuntimeError(f"warehouse run after advance failed: {output(result)[-3000:]}")
    lab = Lab(
        built,
        pending,
        reference,
        built_marts,
        built_serving,
        mart_checksums(reference),
        serving_checksums(reference),
        raw_counts(reference),
        {**KILL_WINDOWS, **{step: float(s) for step, s in STEP_TIME.findall(result.stdout)}},
    )

    def rerun_after_advance(trial: Trial) -> None:
        trial.check(lab.marts != built_marts, "the advanced day changed no mart")
        _succeeded(trial, warehouse(reference, "run"), "second run")
        after = mart_checksums(reference)
        trial.check(after == lab.marts, f"marts changed: {differences(lab.marts, after)}")
        trial.check(raw_counts(reference) == lab.raw, "raw tables changed")
        trial.check(serving_checksums(reference) == lab.serving, "serving file changed")
        trial.outcome = f"{len(after)} marts, raw and serving identical"

    trials.append(
        _timed(Trial("idempotency", "`advance`, `run`, then `run` again"), rerun_after_advance)
    )
    stop_postgres(reference)
    return lab, trials
