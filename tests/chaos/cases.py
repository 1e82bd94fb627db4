"""The chaos cases. Each takes the suite's ``Lab`` (homes built once) and yields ``Trial``s as
they finish; ``full=False`` is the quick version ``make test`` runs.

What "the same warehouse" means throughout: every mart has the same row count and the same
order-independent checksum (the sum of its rows' hashes) as after a clean run; every raw table
the same row count and no key twice; the serving file opens and equals a complete build.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from demo.api.server import DEMO_TOKEN, Behaviour, running

from .harness import (
    PHASES,
    SCALE,
    SOURCES,
    Checksums,
    Trial,
    clickstream_lines,
    copy_home,
    demo_dsn,
    differences,
    digest,
    error_lines,
    leftovers,
    mart_checksums,
    new_home,
    output,
    raw_counts,
    remove_home,
    run_and_kill,
    secret_hits,
    serving_checksums,
    start_postgres,
    stop_postgres,
    warehouse,
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


# --------------------------------------------------------------------------------------------
# Schema drift in the shop


DRIFTS = {
    "rename": (
        "shop.orders.status renamed to order_status",
        ["alter table shop.orders rename column status to order_status"],
        ["shop.orders.status is missing"],
    ),
    "drop": (
        "shop.products.category dropped",
        ["alter table shop.products drop column category"],
        ["shop.products.category is missing"],
    ),
    "type": (
        "shop.order_items.quantity integer -> numeric",
        ["alter table shop.order_items alter column quantity type numeric(10, 2)"],
        ["shop.order_items.quantity is now numeric"],
    ),
}
ADD_COLUMN = [
    "alter table shop.customers add column loyalty_tier text",
    # Touch the rows (past the incremental cursor) so the run reads them.
    "update shop.customers set loyalty_tier = 'gold',"
    " updated_at = (select max(updated_at) from shop.customers) + interval '1 minute'"
    " where id % 10 = 0",
]


def schema_drift(lab: Lab, full: bool) -> Iterator[Trial]:
    """A column added flows to raw; a column the models read renamed, dropped or retyped
    stops the run with an error naming table and column before any mart or the serving file
    is replaced. In full, also dlt's contract on an unmodelled column changing type: it
    evolves into a variant column, nothing lost."""
    yield _timed(
        Trial("schema drift", "column shop.customers.loyalty_tier added"), _added(lab, full)
    )
    if full:
        for name, (fault, statements, expected) in DRIFTS.items():
            yield _timed(Trial("schema drift", fault), _drifted(lab, statements, expected, name))
        yield _timed(
            Trial("schema drift", "unmodelled column's type text -> integer"), _retyped(lab)
        )
    else:
        faults = [DRIFTS[name] for name in DRIFTS]
        yield _timed(
            Trial("schema drift", "; ".join(fault for fault, _, _ in faults)),
            _drifted(
                lab,
                [statement for _, statements, _ in faults for statement in statements],
                [phrase for _, _, expected in faults for phrase in expected],
                "all",
            ),
        )


def _alter(home: Path, statements: list[str]) -> None:
    with psycopg.connect(start_postgres(home), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _added(lab: Lab, full: bool) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, "added")
        try:
            _alter(home, ADD_COLUMN)
            command = ("run",) if full else ("ingest", "shop")
            _succeeded(trial, warehouse(home, *command), " ".join(command))
            (tiers,) = _column(home, "select count(loyalty_tier) from raw_shop.customers")
            trial.check(tiers > 0, "the new column's values are not in raw_shop.customers")
            trial.outcome = f"`{' '.join(command)}` ok; {tiers} values in raw_shop.customers"
        finally:
            remove_home(home)

    return trial_body


def _drifted(lab: Lab, statements: list[str], expected: list[str], name: str):
    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, f"drift-{name}")
        try:
            marts, serving = mart_checksums(home), digest(home / "serving.duckdb")
            raw_before = raw_counts(home)
            _alter(home, statements)
            trial.faults = len(statements)
            result = warehouse(home, "run")
            trial.check(result.returncode == 1, f"exit {result.returncode}, expected 1")
            errors = error_lines(result)
            trial.check(len(errors) == 1, f"{len(errors)} error lines: {errors[:3]}")
            message = errors[-1] if errors else ""
            for phrase in expected:
                trial.check(phrase in message, f"error does not say {phrase!r}: {message[:300]}")
            trial.check("==> dbt build" not in result.stdout, "the build ran")
            trial.check(mart_checksums(home) == marts, "marts changed")
            trial.check(digest(home / "serving.duckdb") == serving, "serving file changed")
            raw = raw_counts(home)
            trial.check(not _grew(raw, raw_before, "raw_shop."), "raw_shop changed")
            trial.outcome = (
                f"exit 1, one line: {'; '.join(expected)}; marts, serving file, raw_shop unchanged"
            )
        finally:
            remove_home(home)

    return trial_body


def _retyped(lab: Lab) -> Callable[[Trial], None]:
    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, "retyped")
        try:
            _alter(home, ADD_COLUMN)
            _succeeded(trial, warehouse(home, "ingest", "shop"), "first ingest")
            _alter(
                home,
                [
                    "alter table shop.customers alter column loyalty_tier type integer"
                    " using (case when loyalty_tier = 'gold' then 3 end)",
                    ADD_COLUMN[1].replace("loyalty_tier = 'gold'", "loyalty_tier = 3"),
                ],
            )
            _succeeded(trial, warehouse(home, "ingest", "shop"), "second ingest")
            (columns,) = _column(
                home,
                "select list(column_name order by column_name) from information_schema.columns"
                " where table_schema = 'raw_shop' and table_name = 'customers'"
                " and column_name like 'loyalty_tier%'",
            )
            # The 40 touched rows now carry 3 (as text in the old column, or in a variant one).
            new_values = " or ".join(f"cast({column} as varchar) = '3'" for column in columns)
            (values,) = _column(home, f"select count(*) from raw_shop.customers where {new_values}")
            trial.check(values == 40, f"{values} new values in {columns}, expected 40")
            trial.outcome = (
                f"ingest ok (data_type: evolve); new values kept in {', '.join(columns)}"
            )
        finally:
            remove_home(home)

    return trial_body


def _column(home: Path, sql: str) -> tuple:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchone()


# --------------------------------------------------------------------------------------------
# Hostile log input


def _event(event_id: str, **fields: object) -> dict:
    return {
        "event_id": event_id,
        "event": "page_view",
        "timestamp": "2026-11-01T23:00:00Z",
        "anonymous_id": f"chaos-{event_id}",
        "properties": {},
        "context": {"page": {"path": "/"}, "device": {"type": "desktop"}},
        **fields,
    }


def _line(event: dict) -> bytes:
    return json.dumps(event).encode()


def hostile_files() -> dict[str, tuple[bytes, list[str], int]]:
    """``{file name: (file bytes, quarantine reasons expected, events expected)}``."""
    rng = random.Random(7)
    good = [_line(_event(f"chaos-ok-{n}")) for n in range(2000)]
    truncated = gzip.compress(b"\n".join(good) + b"\n")
    deep = 100_000
    files = {
        "random-bytes": (rng.randbytes(100_000), ["BadGzipFile"], 0),
        "truncated": (truncated[: len(truncated) // 2], ["EOFError"], -1),
        "ten-megabyte-lines": (
            gzip.compress(
                b"\n".join(
                    [
                        _line(_event("chaos-big-before")),
                        b"x" * 10_000_000,
                        _line(_event("chaos-big", properties={"blob": "y" * 10_000_000})),
                    ]
                )
                + b"\n"
            ),
            ["not valid JSON"],
            2,
        ),
        "deeply-nested": (
            gzip.compress(
                b'{"event_id":"chaos-deep-1","event":"page_view",'
                b'"timestamp":"2026-11-01T23:00:00Z","properties":'
                + b"[" * deep
                + b"]" * deep
                + b"}\n"
                + _line(_event("chaos-deep-2", properties={}))[:-1]
                + b',"context_extra":'
                + b'{"a":' * 5000
                + b"1"
                + b"}" * 5000
                + b"}\n"
            ),
            ["wrong type: properties is array"],
            1,
        ),
        "wrong-types": (
            gzip.compress(
                b"\n".join(
                    _line(event)
                    for event in [
                        _event(5),
                        _event({"x": 1}),
                        _event("chaos-t3", event=["page_view"]),
                        _event("chaos-t4", timestamp=True),
                        _event("chaos-t5", properties="text"),
                        _event("chaos-t6", context=[1, 2]),
                        _event(None),
                    ]
                )
                + b'\n[1, 2]\n"just a string"\n\n   \n'
            ),
            [
                "wrong type: event_id is ubigint",
                "wrong type: event_id is object",
                "wrong type: event is array",
                "wrong type: timestamp is boolean",
                "wrong type: properties is varchar",
                "wrong type: context is array",
                "no event_id",
                "JSON but not an object",
                "empty line",
            ],
            0,
        ),
        "invalid-utf8": (
            gzip.compress(
                _line(_event("chaos-u1"))[:-2]
                + b',"x":"\xff\xfe"}\n\xc3\x28\n'
                + _line(_event("chaos-u3"))
                + b"\n"
            ),
            ["not UTF-8 text"],
            1,
        ),
    }
    return {f"2026/11/01/chaos-{name}.jsonl.gz": spec for name, spec in files.items()}


def hostile_logs(lab: Lab, full: bool) -> Iterator[Trial]:
    """Hostile files in the home's log folder: never a crash, every line loaded or quarantined
    with its reason, lines read = loaded + quarantined for each file."""
    files = hostile_files()
    trial = Trial(
        "hostile logs",
        "random bytes, truncated gzip, 10 MB lines, 100k-deep JSON, wrong types, bad UTF-8",
    )

    def trial_body(trial: Trial) -> None:
        home = copy_home(lab.pending, "hostile")
        try:
            for name, (data, _, _) in files.items():
                path = home / "clickstream" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            command = ("run",) if full else ("ingest", "clickstream")
            result = warehouse(home, *command)
            _succeeded(trial, result, " ".join(command))
            trial.check("Traceback" not in output(result), "a traceback")
            per_file = _per_file(home, list(files))
            quarantined = 0
            for name, (_, reasons, events) in files.items():
                read, loaded, bad, errors = per_file.get(name, (0, 0, 0, ""))
                quarantined += bad
                short = name.split("chaos-")[1]
                trial.check(read > 0 and read == loaded + bad, f"{short}: {read} != {loaded}+{bad}")
                for reason in reasons:
                    trial.check(reason in errors, f"{short}: no {reason!r} in {errors[:200]}")
                if events >= 0:
                    trial.check(loaded == events, f"{short}: {loaded} events, expected {events}")
                else:
                    trial.check(loaded > 0, f"{short}: the lines before the cut were not loaded")
            trial.faults = quarantined
            read, loaded, bad = clickstream_lines(home)
            trial.check(read == loaded + bad, f"all files: {read} != {loaded} + {bad}")
            trial.outcome = (
                f"`{' '.join(command)}` ok; {len(files)} files: {quarantined} lines quarantined "
                "with reasons, the rest loaded; read = loaded + quarantined per file"
            )
        finally:
            remove_home(home)

    yield _timed(trial, trial_body)


def _per_file(home: Path, names: list[str]) -> dict[str, tuple[int, int, int, str]]:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            """
            select
                files.file_name,
                files.lines_read,
                (select count(*) from raw_clickstream.events as e
                 where e._file_name = files.file_name),
                (select count(*) from raw_clickstream.quarantine as q
                 where q.file_name = files.file_name),
                (select string_agg(q.error, ' | ') from raw_clickstream.quarantine as q
                 where q.file_name = files.file_name)
            from raw_clickstream.files as files
            where files.file_name in (select unnest(?))
            """,
            [names],
        ).fetchall()
    return {name: (read, loaded, bad, errors or "") for name, read, loaded, bad, errors in rows}


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
