"""The semantic layer end to end: MetricFlow (`mf query`) on a demo warehouse gives the same
numbers as SQL written directly against the marts."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mf_project(built_demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MetricFlow project folder of the test's own, reading the demo warehouse.

    `mf` always reads `<project>/target/semantic_manifest.json` (it has no target-path
    option) and runs `dbt debug` on the project folder. So the project is parsed into this
    folder's `target/` (never the repo's, which concurrent builds share), and the folder gets
    copies of dbt_project.yml and profiles.yml: DBT_PROJECT_DIR points mf at it.
    """
    folder = tmp_path_factory.mktemp("mf-project")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, folder / name)
    result = subprocess.run(
        [str(BIN / "dbt"), "parse", "--target-path", str(folder / "target"), "--log-path",
         str(folder / "logs"), "--project-dir", str(PROJECT_DIR)],
        capture_output=True,
        text=True,
        env=_env(built_demo_home, PROJECT_DIR),
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (folder / "target" / "semantic_manifest.json").exists()
    return folder


def _env(home: Path, project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WAREHOUSE_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
    }


def mf_query(
    home: Path, project: Path, *args: str, metrics: str | None = None
) -> list[dict[str, str]]:
    """Rows of ``mf query`` (as strings, by column name), run the way an analyst runs it."""
    out = project / "result.csv"
    out.unlink(missing_ok=True)
    command = [str(BIN / "mf"), "query", "--csv", str(out), "--quiet", *args]
    if metrics:
        command += ["--metrics", metrics]
    result = subprocess.run(
        command, capture_output=True, text=True, env=_env(home, project), cwd=project, timeout=300
    )
    assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    with out.open(newline="") as file:
        return list(csv.DictReader(file))


def sql(home: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(query).fetchall()


def number(value: str | None) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


def assert_close(actual: Decimal | None, expected: object, what: str) -> None:
    assert actual is not None and expected is not None, (what, actual, expected)
    expected = Decimal(str(expected))
    assert abs(actual - expected) <= Decimal("1e-6") * max(1, abs(expected)), (
        what,
        actual,
        expected,
    )


def assert_groups_match(
    rows: list[dict[str, str]], group: str, metrics: tuple[str, ...], expected: dict
) -> None:
    """MetricFlow's ``rows`` grouped by ``group`` equal ``expected``: ``{group value: (one
    value per metric)}`` from SQL on the marts; an expected NULL (a ratio without a
    denominator) must be NULL in MetricFlow too."""
    got = {row[group]: row for row in rows}
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        for metric, value in zip(metrics, values, strict=True):
            if value is None:
                assert number(got[key][metric]) is None, (metric, key)
            else:
                assert_close(number(got[key][metric]), value, f"{metric} {key}")


def test_revenue_per_day_equals_the_orders_mart(built_demo_home: Path, mf_project: Path) -> None:
    rows = mf_query(
        built_demo_home, mf_project, "--group-by", "metric_time__day", metrics="revenue,orders"
    )
    expected = {
        str(day): (revenue, orders)
        for day, revenue, orders in sql(
            built_demo_home,
            """
            select order_date, sum(order_total), count(*)
            from sales.fct_orders
            where order_status != 'cancelled'
            group by order_date
            """,
        )
    }
    got = {row["metric_time__day"][:10]: row for row in rows if number(row["orders"])}
    assert len(expected) > 100
    assert got.keys() == expected.keys()
    for day, (revenue, orders) in expected.items():
        assert_close(number(got[day]["revenue"]), revenue, f"revenue {day}")
        assert_close(number(got[day]["orders"]), orders, f"orders {day}")
    # The same definition as the daily sales mart's net revenue.
    (net_revenue,) = sql(built_demo_home, "select sum(net_revenue) from sales.fct_daily_sales")[0]
    assert_close(sum(number(row["revenue"]) or 0 for row in rows), net_revenue, "total")


def test_average_order_value_per_month_is_revenue_over_orders(
    built_demo_home: Path, mf_project: Path
) -> None:
    rows = mf_query(
        built_demo_home,
        mf_project,
        "--group-by",
        "metric_time__month",
        metrics="average_order_value",
    )
    expected = dict(
        sql(
            built_demo_home,
            """
            select
                strftime(date_trunc('month', order_date), '%Y-%m-%d'),
                sum(order_total) / count(*)
            from sales.fct_orders
            where order_status != 'cancelled'
            group by 1
            """,
        )
    )
    got = {row["metric_time__month"][:10]: number(row["average_order_value"]) for row in rows}
    assert len(expected) >= 6
    assert got.keys() == expected.keys()
    for month, value in expected.items():
        assert_close(got[month], value, f"average_order_value {month}")


def test_conversion_rate_per_device_is_sessions_with_an_order_over_sessions(
    built_demo_home: Path, mf_project: Path
) -> None:
    rows = mf_query(
        built_demo_home,
        mf_project,
        "--group-by",
        "session__device_type",
        metrics="sessions,conversion_rate",
    )
    expected = {
        device: (sessions, rate)
        for device, sessions, rate in sql(
            built_demo_home,
            """
            select
                device_type,
                count(*),
                sum(case when has_order then 1 else 0 end) / count(*)
            from web_analytics.fct_sessions
            group by device_type
            """,
        )
    }
    assert len(expected) == 3
    assert_groups_match(rows, "session__device_type", ("sessions", "conversion_rate"), expected)


def test_roas_per_channel_is_attributed_revenue_over_spend(
    built_demo_home: Path, mf_project: Path
) -> None:
    rows = mf_query(
        built_demo_home,
        mf_project,
        "--group-by",
        "campaign__channel",
        metrics="spend,roas",
    )
    expected = {
        channel: (spend, roas)
        for channel, spend, roas in sql(
            built_demo_home,
            """
            select
                channel,
                sum(spend),
                sum(last_touch_revenue) / nullif(sum(spend), 0)
            from marketing.fct_campaign_performance
            group by channel
            """,
        )
    }
    assert len(expected) >= 3
    assert_groups_match(rows, "campaign__channel", ("spend", "roas"), expected)


def test_revenue_to_date_ends_at_the_total_revenue(built_demo_home: Path, mf_project: Path) -> None:
    rows = mf_query(
        built_demo_home,
        mf_project,
        "--group-by",
        "metric_time__day",
        "--order",
        "-metric_time__day",
        "--limit",
        "1",
        metrics="revenue_to_date",
    )
    (total,) = sql(
        built_demo_home,
        "select sum(order_total) from sales.fct_orders where order_status != 'cancelled'",
    )[0]
    assert len(rows) == 1
    assert_close(number(rows[0]["revenue_to_date"]), total, "revenue_to_date")


@pytest.mark.parametrize(
    "saved_query",
    [
        "daily_sales_and_engagement",
        "daily_revenue_by_channel",
        "daily_campaign_impact",
        "top_products",
        "new_campaign_impact_site",
        "new_campaign_impact_campaign",
    ],
)
def test_saved_query_returns_rows(
    built_demo_home: Path, mf_project: Path, saved_query: str
) -> None:
    rows = mf_query(built_demo_home, mf_project, "--saved-query", saved_query)
    assert rows, saved_query
