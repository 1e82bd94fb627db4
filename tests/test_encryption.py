"""Encryption at rest: a configured key never means files written in clear."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from warehouse.paths import PROJECT_DIR

KEY = "k3y-that-must-never-be-printed"


def test_a_configured_key_stops_every_command_with_duckdbs_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "warehouse.cli", "--home", str(home), "query", "select 1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
        env={**os.environ, "WAREHOUSE__ENCRYPTION_KEY": KEY},
    )
    assert result.returncode == 1
    # DuckDB 1.5.6 writes encrypted files only with httpfs's OpenSSL (not installable offline).
    assert result.stderr.startswith("error: [warehouse] encryption_key is set, but DuckDB")
    assert "read-only crypto module" in result.stderr and "Nothing was written" in result.stderr
    assert KEY not in result.stdout + result.stderr
    assert list(home.iterdir()) == []
