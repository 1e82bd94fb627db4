"""dbt's saved parse is reused only for the code it was made from.

dbt 1.11's partial parsing loses the snapshots defined in YAML when a macro changes: without a
full parse after an edit, every later command failed on "depends on a node named
'snp_shop__customers' which was not found" until ``target/partial_parse.msgpack`` was deleted.
The project is copied, so the edit never touches the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import warehouse.dbt
import warehouse.test_scope
from warehouse.dbt import PARSED_CODE_FILE, dbt
from warehouse.paths import PROJECT_DIR, Paths
from warehouse.test_scope import PROJECT_FILES, code_fingerprint


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "project"
    for name in (*PROJECT_FILES, "profiles.yml"):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    for module in (warehouse.dbt, warehouse.test_scope):
        monkeypatch.setattr(module, "PROJECT_DIR", copy)
    return copy


def test_an_edited_macro_is_parsed_in_full(project: Path, tmp_path: Path) -> None:
    paths = Paths(tmp_path / "home")
    recorded = paths.dbt_target / PARSED_CODE_FILE

    dbt(paths, "parse", "--quiet")
    assert recorded.read_text() == code_fingerprint()
    saved = (paths.dbt_target / "partial_parse.msgpack").stat().st_mtime_ns

    with (project / "macros" / "overrides" / "get_where_subquery.sql").open("a") as macro:
        macro.write("\n{#- an edit, as a developer makes one -#}\n")
    dbt(paths, "parse", "--quiet")  # failed with the snapshot missing before the full parse
    assert recorded.read_text() == code_fingerprint()
    manifest = (paths.dbt_target / "manifest.json").read_text()
    assert "snapshot.globalretail.snp_shop__customers" in manifest

    reparsed = (paths.dbt_target / "partial_parse.msgpack").stat().st_mtime_ns
    assert reparsed > saved
    dbt(paths, "parse", "--quiet")  # unchanged code: the saved parse is reused, not redone
    assert recorded.read_text() == code_fingerprint()
