"""Chaos family: crashes (``kill -9`` at random moments of each phase, then a rerun)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from .harness import (
    PHASES,
    SOURCES,
    Trial,
    clickstream_lines,
    copy_home,
    differences,
    leftovers,
    mart_checksums,
    raw_counts,
    remove_home,
    run_and_kill,
    serving_checksums,
    start_postgres,
    stop_postgres,
    warehouse,
)
from .lab import Lab, _succeeded, _timed

# --------------------------------------------------------------------------------------------
# Crashes


def crashes(lab: Lab, count: int, rng: random.Random, keep: bool = False) -> Iterator[Trial]:
    """kill -9 `warehouse run` (after `advance`) at a random moment of each phase in turn,
    then run again: the warehouse must equal the clean run's, the serving file must be a
    complete build at all times."""
    offset = rng.randrange(len(PHASES))
    for number in range(count):
        phase = PHASES[(offset + number) % len(PHASES)]
        source = rng.choice(SOURCES)
        delay = rng.uniform(0, lab.windows[phase])
        target = f"{phase} of {source}" if phase in ("extract", "normalize", "load") else phase
        trial = Trial("crash", f"kill -9 in {target} (+{delay:.2f} s)")
        yield _timed(
            trial,
            lambda trial, phase=phase, source=source, delay=delay: _crash(
                lab, trial, phase, source, delay, keep
            ),
        )


def _crash(lab: Lab, trial: Trial, phase: str, source: str, delay: float, keep: bool) -> None:
    home = copy_home(lab.pending, "crash")
    try:
        start_postgres(home)
        kill = run_and_kill(home, phase, source, delay)
        trial.faults = int(kill.killed)
        if (home / "serving.duckdb").exists():
            published = serving_checksums(home)
            trial.check(
                published in (lab.built_serving, lab.serving),
                "after the kill the serving file is no complete build",
            )
        else:
            trial.problems.append("after the kill there is no serving file")
        _succeeded(trial, warehouse(home, "run"), "rerun")
        marts = mart_checksums(home)
        trial.check(marts == lab.marts, f"marts differ: {differences(lab.marts, marts)}")
        raw = raw_counts(home)
        doubled = [table for table, (rows, keys) in raw.items() if rows != keys]
        trial.check(not doubled, f"duplicate keys in {', '.join(doubled)}")
        lost = [table for table in raw if raw[table][1] < lab.raw[table][1]]
        trial.check(not lost, f"rows lost in {', '.join(lost)}")
        trial.check(raw == lab.raw, "raw row counts differ from the clean run")
        read, loaded, quarantined = clickstream_lines(home)
        trial.check(read == loaded + quarantined, f"lines {read} != {loaded} + {quarantined}")
        trial.check(serving_checksums(home) == lab.serving, "serving file differs after rerun")
        trial.check(not leftovers(home), f"left behind: {leftovers(home)}")
        killed = f"killed at {kill.at}, {kill.after:.1f} s in" if kill.killed else "run ended first"
        trial.outcome = f"{killed}; rerun equals the clean run"
    finally:
        if trial.ok or not keep:
            remove_home(home)
        else:
            stop_postgres(home)
            trial.outcome += f" (home kept: {home})"
