"""Helpers several test modules share (fixtures stay in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shareable_home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A new warehouse home under pytest's temporary folder that PostgreSQL's own user can
    enter: pgserver, run as root, starts the server as another user, which must reach the
    data folder through every parent up to /tmp."""
    home = tmp_path_factory.mktemp(name)
    home.chmod(0o755)
    for parent in home.parents:
        if parent == Path(os.path.realpath("/tmp")):
            break
        parent.chmod(parent.stat().st_mode | 0o055)
    return home
