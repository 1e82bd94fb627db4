"""Chaos family: API faults (flaky APIs are retried, an API that stays down fails alone)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

from demo.api.server import DEMO_TOKEN, Behaviour, running

from .harness import (
    Trial,
    copy_home,
    differences,
    digest,
    error_lines,
    mart_checksums,
    new_home,
    raw_counts,
    remove_home,
    start_postgres,
    stop_postgres,
    warehouse,
)
from .lab import API_TABLES, APIS, Lab, _succeeded, _timed

# --------------------------------------------------------------------------------------------
# API faults


def api_faults(lab: Lab, full: bool, rng: random.Random) -> Iterator[Trial]:
    """30% of requests answered 429 (Retry-After) or 5xx, 10% slow: every API's whole history
    still loads, equal to the server's counts. Then an API that stays down (and, in full, one
    that is not there at all): a clear error after the retry budget, the other sources load,
    the marts and serving file stay as they were."""
    yield _timed(Trial("API faults", "30% answered 429 or 5xx, 10% slow"), _flaky_api(lab, rng))
    downs = [("payments", "answers 503 to every request")]
    if full:
        downs.append(("marketing", "refuses connections (nothing listens)"))
    for source, how in downs:
        yield _timed(Trial("API faults", f"the {source} API {how}"), _api_down(lab, source, full))


def _flaky_api(lab: Lab, rng: random.Random) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        home = new_home("flaky")  # empty: every API loads its whole history through the faults
        try:
            dsn = start_postgres(lab.reference)
            behaviour = Behaviour(
                throttle_rate=0.15,
                fault_rate=0.18,  # of the requests not throttled: 30% faults in all
                slow_rate=0.1,
                slow_seconds=0.5,
                max_page_size=100,
                seed=rng.randrange(1_000_000),
            )
            with running(dsn, behaviour) as server:
                env = _api_env(server.url, DEMO_TOKEN)
                # At 30% faults, 5 attempts fail one request in 400; the budget is set per API.
                env["RUNTIME__REQUEST_MAX_ATTEMPTS"] = "10"
                for source in APIS:
                    env[f"SOURCES__{source.upper()}__PAGE_SIZE"] = "50"  # more requests
                result = warehouse(home, "ingest", *APIS, env=env)
                log = list(server.requests)
            _succeeded(trial, result, "ingest")
            statuses = [request.status for request in log]
            throttled = statuses.count(429)
            failed = sum(status >= 500 for status in statuses)
            trial.faults = throttled + failed
            trial.check(trial.faults >= 0.2 * len(log), f"only {trial.faults} faults injected")
            with psycopg.connect(dsn) as conn:
                served = {
                    f"{source}.{table}": conn.execute(
                        f"select count(*) from demo_api.{table}"
                    ).fetchone()[0]
                    for source, tables in API_TABLES.items()
                    for table in tables
                }
            loaded = _counts(home, [f"raw_{name}" for name in served])
            for name, expected in served.items():
                trial.check(loaded[f"raw_{name}"] == expected, f"{name}: {loaded} != {expected}")
            trial.outcome = (
                f"{len(log)} requests: {throttled} x 429, {failed} x 5xx "
                f"({trial.faults / len(log):.0%}); {sum(served.values()):,} records = server's"
            )
        finally:
            stop_postgres(lab.reference)
            remove_home(home)

    return trial_body


def _api_down(lab: Lab, source: str, full: bool) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, "down")
        try:
            dsn = start_postgres(home)
            marts, serving = mart_checksums(home), digest(home / "serving.duckdb")
            raw_before = raw_counts(home)
            with running(dsn, Behaviour(fault_rate=1.0)) as down:
                # The default retry budget (5 attempts), with backoff in tenths of seconds.
                env = {"RUNTIME__REQUEST_BACKOFF_FACTOR": "0.1"}
                if source == "payments":
                    env.update(_api_env(down.url, DEMO_TOKEN, (source,)))
                else:
                    env.update(_api_env("http://127.0.0.1:9", DEMO_TOKEN, (source,)))
                result = warehouse(home, "run", env=env)
                requests = list(down.requests)
            trial.check(result.returncode == 1, f"exit {result.returncode}, expected 1")
            errors = error_lines(result)
            trial.check(len(errors) == 1, f"{len(errors)} error lines: {errors[:3]}")
            message = errors[-1] if errors else ""
            expected = "still answered 5" if source == "payments" else "cannot reach the API"
            trial.check(
                f"{source} source:" in message and expected in message and "5 attempts" in message,
                f"unclear error: {message[:300]}",
            )
            if source == "payments":
                trial.faults = len(requests)
                trial.check(
                    {request.status for request in requests} <= {500, 502, 503},
                    "the down API answered something",
                )
            trial.check("==> dbt build" not in result.stdout, "the build ran after the failure")
            trial.check(mart_checksums(home) == marts, "marts changed")
            trial.check(digest(home / "serving.duckdb") == serving, "serving file changed")
            raw = raw_counts(home)
            others = [s for s in ("shop", "clickstream", *APIS) if s != source]
            grown = {s for s in others if _grew(raw, raw_before, f"raw_{s}.")}
            trial.check(grown == set(others), f"not loaded: {sorted(set(others) - grown)}")
            trial.check(not _grew(raw, raw_before, f"raw_{source}."), f"{source} loaded")
            trial.outcome = f"exit 1 with one line; {', '.join(others)} loaded; marts unchanged"
            if full:  # the API is back: the next run catches up with the clean run
                _succeeded(trial, warehouse(home, "run"), "run after recovery")
                after = mart_checksums(home)
                trial.check(after == lab.marts, f"after recovery: {differences(lab.marts, after)}")
                trial.outcome += "; next run equals the clean run"
        finally:
            remove_home(home)

    return trial_body


def _api_env(url: str, token: str, sources=APIS) -> dict[str, str]:
    env = {}
    for source in sources:
        env[f"SOURCES__{source.upper()}__BASE_URL"] = url
        env[f"SOURCES__{source.upper()}__TOKEN"] = token
    return env


def _grew(after: dict, before: dict, prefix: str) -> bool:
    return any(after[t][0] > before[t][0] for t in after if t.startswith(prefix))


def _counts(home: Path, tables: list[str]) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
