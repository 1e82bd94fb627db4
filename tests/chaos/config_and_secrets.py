"""Chaos families: bad configuration (one clear line, nothing written) and secrets (never in
any output, file or table)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psycopg

from demo.api.server import Behaviour, running

from .api_faults import _api_env, _grew
from .harness import (
    Trial,
    copy_home,
    demo_dsn,
    digest,
    error_lines,
    leftovers,
    mart_checksums,
    new_home,
    output,
    raw_counts,
    remove_home,
    secret_hits,
    start_postgres,
    stop_postgres,
    warehouse,
)
from .lab import Lab, _succeeded, _timed

# --------------------------------------------------------------------------------------------
# Bad configuration, and secrets


def bad_configuration(lab: Lab, full: bool, secrets: dict[str, str]) -> Iterator[Trial]:
    """Wrong credentials, an unreachable host, a missing log folder, a bad scale: exit
    non-zero with one clear line, and nothing half-written."""
    password = secrets["password"]
    home = copy_home(lab.pending, "config")
    try:
        start_postgres(home)
        cases = [
            (
                "wrong shop credentials",
                ("run",),
                {
                    "SOURCES__SHOP__CREDENTIALS": demo_dsn(home, password).replace(
                        "postgres:", "intruder:", 1
                    )
                },
                1,
                "rejected the credentials",
            ),
            (
                "unreachable shop host",
                ("run",),
                {"SOURCES__SHOP__CREDENTIALS": f"postgresql://reader:{password}@127.0.0.1:9/shop"},
                1,
                "cannot reach the database",
            ),
            (
                "missing log folder",
                ("run",),
                {"SOURCES__CLICKSTREAM__BUCKET_URL": str(home / "no-such-folder")},
                1,
                "does not exist",
            ),
            ("scale -1", ("demo", "--scale", "-1"), {}, 2, "scale must be a positive number"),
            ("scale abc", ("demo", "generate", "--scale", "abc"), {}, 2, "got 'abc'"),
        ]
        if not full:
            cases = cases[1:4]
        for fault, command, env, code, phrase in cases:
            yield _timed(
                Trial("bad config", fault),
                _misconfigured(home, command, env, code, phrase, password),
            )
    finally:
        remove_home(home)
    yield _timed(
        Trial("bad config", "unreachable shop host, new home"), _fresh_unreachable(password)
    )


def _misconfigured(home, command, env, code, phrase, password) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        marts, serving = mart_checksums(home), digest(home / "serving.duckdb")
        raw_before = raw_counts(home)
        with psycopg.connect(demo_dsn(home)) as conn:
            clock = conn.execute("select * from demo_meta.clock").fetchall()
        result = warehouse(home, *command, env=env)
        trial.check(result.returncode == code, f"exit {result.returncode}, expected {code}")
        errors = [line for line in error_lines(result) if not line.startswith("usage:")]
        trial.check(len(errors) == 1, f"{len(errors)} error lines: {errors[:3]}")
        trial.check(errors and phrase in errors[-1], f"unclear: {errors[-1:]}")
        trial.check("Traceback" not in output(result), "a traceback")
        trial.check(password not in output(result), "the password is in the output")
        trial.check(mart_checksums(home) == marts, "marts changed")
        trial.check(digest(home / "serving.duckdb") == serving, "serving file changed")
        trial.check(not leftovers(home), "temporary files left")
        raw = raw_counts(home)
        if "SOURCES__SHOP__CREDENTIALS" in env or code == 2:
            trial.check(not _grew(raw, raw_before, "raw_shop."), "raw_shop changed")
        with psycopg.connect(demo_dsn(home)) as conn:
            trial.check(
                conn.execute("select * from demo_meta.clock").fetchall() == clock,
                "the shop was regenerated",
            )
        message = (errors or [""])[-1].removeprefix("error: ")
        trial.outcome = f"exit {result.returncode}: {message[:80]!r}...; nothing changed"

    return trial_body


def _fresh_unreachable(password: str) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        home = new_home("fresh")
        try:
            env = {"SOURCES__SHOP__CREDENTIALS": f"postgresql://reader:{password}@127.0.0.1:9/x"}
            result = warehouse(home, "run", env=env)
            trial.check(result.returncode == 1, f"exit {result.returncode}, expected 1")
            trial.check(len(error_lines(result)) == 1, f"error lines: {error_lines(result)[:3]}")
            trial.check(password not in output(result), "the password is in the output")
            written = sorted(p.name for p in home.glob("*.duckdb*"))
            trial.check(not written, f"half-written: {written}")
            trial.outcome = "exit 1 with one line; no warehouse or serving file created"
        finally:
            remove_home(home)

    return trial_body


def secrets_never_leak(lab: Lab, full: bool, secrets: dict[str, str]) -> Iterator[Trial]:
    """Distinctive secrets in every source's configuration, a run with verbose logging, and
    errors that involve them: none appears in any output, file or table of the home."""

    def trial_body(trial: Trial) -> None:
        home = new_home("secrets")
        texts = []
        try:
            start_postgres(lab.reference)
            shop = demo_dsn(lab.reference, secrets["password"])
            with running(shop, Behaviour(token=secrets["token"])) as server:
                env = {
                    **_api_env(server.url, secrets["token"]),
                    "SOURCES__SHOP__CREDENTIALS": shop,
                    "SOURCES__CLICKSTREAM__BUCKET_URL": str(lab.reference / "clickstream"),
                    "RUNTIME__LOG_LEVEL": "INFO",
                }
                command = ("-v", "run") if full else ("-v", "ingest")
                result = warehouse(home, *command, env=env)
                texts.append(output(result))
                _succeeded(trial, result, " ".join(command))
                # A token the API refuses, and a database that is not there.
                wrong = {**env, "SOURCES__PAYMENTS__TOKEN": secrets["token"] + "-revoked"}
                refused = warehouse(home, "ingest", "payments", env=wrong)
                texts.append(output(refused))
                trial.check(refused.returncode == 1, "a refused token did not fail")
            gone = {"SOURCES__SHOP__CREDENTIALS": shop.replace("host=", "host=/nonexistent")}
            unreachable = warehouse(home, "ingest", "shop", env=gone)
            texts.append(output(unreachable))
            trial.check(unreachable.returncode == 1, "an unreachable shop did not fail")
            values = [secrets["token"], secrets["password"]]
            hits = secret_hits(home, values, texts)
            trial.check(not hits, f"secrets found in: {', '.join(hits[:5])}")
            searched = sum(1 for path in home.rglob("*") if path.is_file())
            trial.faults = 0
            trial.outcome = (
                f"`{' '.join(command)}` + 2 failing commands: token and password in none of "
                f"3 outputs, {searched} files (dlt state, traces, packages, dbt logs), "
                "or any table"
            )
        finally:
            stop_postgres(lab.reference)
            remove_home(home)

    yield _timed(Trial("secrets", "API token + shop password, -v, 2 errors"), trial_body)


def new_secrets() -> dict[str, str]:
    return {
        "token": f"sk_live_chaos_{os.urandom(8).hex()}",
        "password": f"pw-chaos-{os.urandom(8).hex()}",
    }
