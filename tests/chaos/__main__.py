"""``python -m tests.chaos``: run the reliability suite and print its table of trials.

    python -m tests.chaos                  the full suite (``make chaos``): 20 crash trials
    python -m tests.chaos --quick          the cases ``make test`` runs (3 crash trials)
    python -m tests.chaos --crashes 40     more crash trials
    python -m tests.chaos --seed 7         replay a run's random choices (its seed is printed)

Exits 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings

from .cases import (
    api_faults,
    bad_configuration,
    build_lab,
    crashes,
    hostile_logs,
    new_secrets,
    schema_drift,
    secrets_never_leak,
)
from .harness import Trial


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick cases of `make test`")
    parser.add_argument("--crashes", type=int, help="crash trials (default 20, quick 3)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--keep", action="store_true", help="keep the homes of failed trials")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    full = not args.quick
    crash_count = args.crashes if args.crashes is not None else (20 if full else 3)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    print(f"Reliability suite ({'full' if full else 'quick'}, seed {args.seed})", flush=True)
    print(HEADER, flush=True)
    trials = run_suite(full, crash_count, rng, args.keep, report=print_trial)
    print_summary(trials, time.perf_counter() - started)
    return 0 if all(trial.ok for trial in trials) else 1


def run_suite(full, crash_count, rng, keep=False, report=lambda trial: None) -> list[Trial]:
    """Every case against one lab of homes; ``report`` is called with each finished trial."""
    trials: list[Trial] = []

    def record(trial: Trial) -> None:
        trial.number = len(trials) + 1
        trials.append(trial)
        report(trial)

    lab, idempotency = build_lab(full)
    try:
        for trial in idempotency:
            record(trial)
        secrets = new_secrets()
        # The long crash trials last, so a broken case shows in the first minutes.
        for case in (
            api_faults(lab, full, rng),
            schema_drift(lab, full),
            hostile_logs(lab, full),
            bad_configuration(lab, full, secrets),
            secrets_never_leak(lab, full, secrets),
            crashes(lab, crash_count, rng, keep),
        ):
            for trial in case:
                record(trial)
    finally:
        lab.remove()
    return trials


HEADER = f"{'#':>3}  {'case':<13} {'fault injected':<46} {'result':<6} {'s':>6}  outcome"


def print_trial(trial: Trial) -> None:
    result = "ok" if trial.ok else "FAIL"
    print(
        f"{trial.number:>3}  {trial.case:<13} {trial.fault[:46]:<46} {result:<6} "
        f"{trial.seconds:>6.1f}  {trial.outcome}",
        flush=True,
    )
    for problem in trial.problems:
        print(f"{'':>5}! {problem}", flush=True)


def print_summary(trials: list[Trial], seconds: float) -> None:
    failures = [trial for trial in trials if not trial.ok]
    by_case: dict[str, list[Trial]] = {}
    for trial in trials:
        by_case.setdefault(trial.case, []).append(trial)
    print()
    print(f"{'case':<13} {'trials':>6} {'faults':>7} {'failures':>8}")
    for case, group in by_case.items():
        print(
            f"{case:<13} {len(group):>6} {sum(t.faults for t in group):>7,} "
            f"{sum(not t.ok for t in group):>8}"
        )
    print(
        f"{'total':<13} {len(trials):>6} {sum(t.faults for t in trials):>7,} "
        f"{len(failures):>8}   in {seconds / 60:.1f} min"
    )


if __name__ == "__main__":
    sys.exit(main())
