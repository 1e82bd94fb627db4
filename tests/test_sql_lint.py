"""The SQL lint renders the models the same way whatever warehouse has been built.

sqlfluff renders the models through dbt (``.sqlfluff``). Rendered against the built warehouse,
every incremental model took its ``is_incremental()`` branch, and ``make lint`` failed after
``make demo`` on indentation that it passed on a fresh clone. It now renders against the
``lint`` target of ``profiles.yml``, an empty in-memory database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.paths import PROJECT_DIR

# An incremental model whose incremental branch the lint does not accept as rendered.
MODEL = "models/marts/sales/fct_daily_sales.sql"


@pytest.mark.slow
def test_the_sql_lint_does_not_read_the_built_warehouse(built_demo_home: Path) -> None:
    warehouse = built_demo_home / "warehouse.duckdb"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        # Where the `dev` target would read: the built warehouse, its marts all present.
        "WAREHOUSE_DUCKDB_PATH": str(warehouse),
    }
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    result = subprocess.run(
        [str(sqlfluff), "lint", MODEL],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
