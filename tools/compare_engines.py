"""Compare every mart of a home's DuckDB build with its Spark build (``make test-spark``).

Both builds run the same dbt project on the same sources: DuckDB from the raw schemas dlt
wrote into the warehouse file, Spark (the ``spark`` target) from the Delta lake dlt wrote.
For each mart in the home's manifest this computes, on each engine, the row count and per
column: non-NULL count, then sum, min and max of numbers; true count of booleans; distinct
count, min and max of strings; min, max and distinct count of dates and timestamps (compared as
text and epoch microseconds, so no driver's time zone handling gets in between). Every figure
must be equal, floating-point ones within a relative 1e-9. Load-time columns (dbt var
``test_scope_columns``) differ by design, since the lake is loaded after the warehouse: only
their counts are compared.

    python -m tools.compare_engines --home var/test-spark

Prints one line per mart and exits non-zero, listing each difference, if any figure differs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from warehouse.paths import PROJECT_DIR, Paths

FLOAT_TOLERANCE = 1e-9
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "DOUBLE", "FLOAT")
FLOATING = ("DOUBLE", "FLOAT", "REAL")


@dataclass(frozen=True)
class Figure:
    """One aggregate of one mart, as SQL for each engine."""

    name: str
    duckdb: str
    spark: str
    floating: bool = False


@dataclass(frozen=True)
class MartComparison:
    relation: str
    duckdb_rows: int
    spark_rows: int
    columns: int
    figures: int
    differences: list[str]


def figures_for(
    columns: list[tuple[str, str]], load_columns: frozenset[str] = frozenset()
) -> list[Figure]:
    """The aggregates to compare for a mart's ``(column, DuckDB type)`` list. A load column
    (when its rows were loaded: the two builds read loads made at different moments) is
    compared by its count and distinct count only."""
    figures = [Figure("rows", "count(*)", "count(*)")]
    for column, data_type in columns:
        kind = data_type.upper()
        if column in load_columns:
            every = _column_figures(column, kind)
            figures += [figure for figure in every if "(epoch us)" not in figure.name]
        else:
            figures += _column_figures(column, kind)
    return figures


def _column_figures(column: str, kind: str) -> list[Figure]:
    duckdb_column, spark_column = f'"{column}"', f"`{column}`"

    def both(name: str, template: str, floating: bool = False) -> Figure:
        return Figure(
            f"{column}: {name}",
            template.format(c=duckdb_column),
            template.format(c=spark_column),
            floating,
        )

    figures = [both("count", "count({c})")]
    if kind.startswith(NUMERIC):
        floating = kind.startswith(FLOATING)
        figures += [
            both("sum", "sum({c})", floating),
            both("min", "min({c})", floating),
            both("max", "max({c})", floating),
        ]
    elif kind == "BOOLEAN":
        figures.append(both("true", "sum(case when {c} then 1 else 0 end)"))
    elif kind == "DATE":
        figures += [
            both("min", "cast(min({c}) as string)"),
            both("max", "cast(max({c}) as string)"),
            both("distinct", "count(distinct {c})"),
        ]
    elif kind.startswith("TIMESTAMP"):
        figures += [
            Figure(
                f"{column}: {name} (epoch us)",
                f"epoch_us({name}({duckdb_column}))",
                f"unix_micros({name}({spark_column}))",
            )
            for name in ("min", "max")
        ]
        figures.append(both("distinct", "count(distinct {c})"))
    else:  # strings, and anything else compared as text
        figures += [
            both("distinct", "count(distinct {c})"),
            both("min", "min(cast({c} as string))"),
            both("max", "max(cast({c} as string))"),
        ]
    return figures


def same(left: Any, right: Any, floating: bool) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if floating:
        return math.isclose(float(left), float(right), rel_tol=FLOAT_TOLERANCE, abs_tol=1e-9)
    if isinstance(left, int | float | Decimal) and isinstance(right, int | float | Decimal):
        return Decimal(str(left)) == Decimal(str(right))
    return str(left) == str(right)


def spark_session(paths: Paths):
    """A local Spark on the home's catalogue and tables, configured as the ``spark`` target
    (its ``server_side_parameters`` in profiles.yml), so it sees exactly what dbt built."""
    import jinja2
    import yaml
    from pyspark.sql import SparkSession

    os.environ.setdefault("WAREHOUSE_SPARK_DIR", str(paths.spark))
    os.environ.setdefault("SPARK_CONF_DIR", str(PROJECT_DIR / ".spark"))

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return value

    text = (PROJECT_DIR / "profiles.yml").read_text()
    rendered = jinja2.Environment().from_string(text).render(env_var=env_var)
    parameters = yaml.safe_load(rendered)["globalretail"]["outputs"]["spark"][
        "server_side_parameters"
    ]
    builder = SparkSession.builder.appName("compare-engines").enableHiveSupport()
    for key, value in {**parameters, "spark.sql.ansi.enabled": "false"}.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def compare(paths: Paths) -> list[MartComparison]:
    import duckdb

    from warehouse.dbt import load_time_columns, mart_relations

    marts = mart_relations(paths)
    loaded_at_columns = load_time_columns()
    spark = spark_session(paths)
    results = []
    with duckdb.connect(str(paths.duckdb), read_only=True) as conn:
        for schema, table in marts:
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            figures = figures_for(columns, loaded_at_columns)
            duck_values = conn.execute(
                "select "
                + ", ".join(figure.duckdb for figure in figures)
                + f' from "{schema}"."{table}"'
            ).fetchone()
            spark_columns = [field.name for field in spark.table(f"{schema}.{table}").schema]
            differences = []
            missing = [name for name, _ in columns if name not in spark_columns]
            extra = [name for name in spark_columns if name not in dict(columns)]
            if missing or extra:
                differences.append(f"columns: only in DuckDB {missing}, only in Spark {extra}")
                spark_values = [None] * len(figures)
            else:
                spark_values = list(
                    spark.sql(
                        "select "
                        + ", ".join(figure.spark for figure in figures)
                        + f" from {schema}.{table}"
                    ).collect()[0]
                )
            for figure, left, right in zip(figures, duck_values, spark_values, strict=True):
                if not same(left, right, figure.floating):
                    differences.append(f"{figure.name}: DuckDB {left!r}, Spark {right!r}")
            results.append(
                MartComparison(
                    f"{schema}.{table}",
                    int(duck_values[0]),
                    int(spark_values[0] or 0),
                    len(columns),
                    len(figures),
                    differences,
                )
            )
    spark.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="the warehouse home both builds are in")
    args = parser.parse_args(argv)
    paths = Paths.from_env(args.home)
    results = compare(paths)
    print(
        f"\n{'mart':<42} {'DuckDB rows':>11} {'Spark rows':>11} {'columns':>7} "
        f"{'figures':>7}  result"
    )
    for result in results:
        status = "equal" if not result.differences else f"{len(result.differences)} differ"
        print(
            f"{result.relation:<42} {result.duckdb_rows:>11,} {result.spark_rows:>11,} "
            f"{result.columns:>7} {result.figures:>7}  {status}"
        )
    failed = [result for result in results if result.differences]
    for result in failed:
        print(f"\n{result.relation}:", file=sys.stderr)
        for difference in result.differences:
            print(f"  {difference}", file=sys.stderr)
    total = sum(result.figures for result in results)
    print(
        f"\n{len(results) - len(failed)} marts equal, {len(failed)} differ "
        f"({total:,} figures compared; floating point within a relative {FLOAT_TOLERANCE:g})"
    )
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
