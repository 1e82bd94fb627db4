"""The chaos suite's lab (the homes built once, the clean reference) and what every family
shares: the APIs' tables, the kill windows, timing a trial."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .harness import (
    Checksums,
    Trial,
    output,
    remove_home,
)

APIS = ("payments", "marketing", "reviews")
API_TABLES = {
    "payments": ("charges", "refunds"),
    "marketing": ("campaigns", "ad_spend"),
    "reviews": ("reviews",),
}
# How long after a phase starts a kill may land (seconds): each phase's length on the demo.
# The CLI's steps (dbt build, publish) are timed on the reference run instead, when it says.
KILL_WINDOWS = {"extract": 1.0, "normalize": 0.1, "load": 0.5, "dbt build": 40.0, "publish": 3.0}
STEP_TIME = re.compile(r"^    (dbt build|publish): .* in ([0-9.]+) s$", re.MULTILINE)


@dataclass
class Lab:
    """The homes the cases start from (PostgreSQL stopped in each, so they can be copied).

    built: ``warehouse demo`` at the test scale: marts built, serving file published.
    pending: built, then ``warehouse demo advance``: a day of new data, not yet run.
    reference: pending, then a clean ``warehouse run``: what every crashed-and-rerun trial
        must equal.
    """

    built: Path
    pending: Path
    reference: Path
    built_marts: Checksums
    built_serving: Checksums
    marts: Checksums
    serving: Checksums
    raw: dict[str, tuple[int, int]]
    windows: dict[str, float]  # KILL_WINDOWS, with the steps as long as the reference's

    def remove(self) -> None:
        for home in (self.built, self.pending, self.reference):
            remove_home(home)


def _timed(trial: Trial, action: Callable[[Trial], None]) -> Trial:
    started = time.perf_counter()
    try:
        action(trial)
    except Exception as exc:  # a harness error is a failed trial, not a crashed suite
        trial.problems.append(f"{type(exc).__name__}: {exc}")
    trial.seconds = time.perf_counter() - started
    return trial


def _succeeded(trial: Trial, result, what: str) -> bool:
    return trial.check(
        result.returncode == 0,
        f"{what} exited {result.returncode}: {output(result)[-600:]}",
    )
