"""Chaos family: schema drift in the shop (caught before anything is replaced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

from .api_faults import _grew
from .harness import (
    Trial,
    copy_home,
    digest,
    error_lines,
    mart_checksums,
    raw_counts,
    remove_home,
    start_postgres,
    warehouse,
)
from .lab import Lab, _succeeded, _timed

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
