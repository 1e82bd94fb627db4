"""The demo summary's headline metrics, read from the semantic layer.

The figures are the saved query ``headline_metrics`` (``models/semantic/_saved_queries.yml``)
compiled by MetricFlow for the last 30 days the published metrics cover, and run on the
published serving file: what a BI tool reading the governed metrics would show. Nothing here
recomputes a metric; ratios such as the conversion rate and ROAS are MetricFlow's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from .paths import Paths

SAVED_QUERY = "headline_metrics"
# The daily saved query whose last day ends the window: the latest day with published metrics.
DAILY_VIEW = "metrics.daily_sales_and_engagement"
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Headline:
    """The headline metrics over ``first`` to ``last`` (UTC days, both included)."""

    first: date
    last: date
    revenue: Decimal | None
    orders: int | None
    average_order_value: float | None
    sessions: int | None
    conversion_rate: float | None
    roas: float | None


def headline_metrics(paths: Paths) -> Headline | None:
    """The headline metrics of the last ``WINDOW_DAYS`` days; None when the serving file has no
    published metrics (a build without saved queries)."""
    import duckdb
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    from .access import analyst_connection
    from .serving import semantic_engine

    loaded = semantic_engine(paths.dbt_target / "semantic_manifest.json")
    if loaded is None:
        return None
    engine, _ = loaded
    with analyst_connection(paths.serving) as conn:
        try:
            (last,) = conn.execute(f"select max(metric_time__day) from {DAILY_VIEW}").fetchone()
        except duckdb.CatalogException:  # no saved queries published: nothing to show
            return None
        if last is None:
            return None
        last_day = last.date() if isinstance(last, datetime) else last
        first_day = last_day - timedelta(days=WINDOW_DAYS - 1)
        request = MetricFlowQueryRequest.create(
            saved_query_name=SAVED_QUERY,
            time_constraint_start=datetime.combine(first_day, time()),
            time_constraint_end=datetime.combine(last_day, time()),
        )
        sql = engine.explain(request).sql_statement.sql
        revenue, orders, aov, sessions, conversion, roas = conn.execute(sql).fetchone()
    return Headline(first_day, last_day, revenue, orders, aov, sessions, conversion, roas)
