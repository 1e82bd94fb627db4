"""Where the warehouse keeps its files. Everything generated lives under one home folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_HOME = PROJECT_DIR / "var"


def wal_of(database: Path) -> Path:
    """DuckDB's write-ahead log of ``database``: the file beside it, with ``.wal`` appended."""
    return database.with_name(database.name + ".wal")


@dataclass(frozen=True)
class Paths:
    """The files of one warehouse instance (the demo's, the test suite's, yours)."""

    home: Path

    @classmethod
    def from_env(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        """``home``, else ``$WAREHOUSE_HOME``, else ``var/`` in the project (git-ignored)."""
        chosen = home or os.environ.get("WAREHOUSE_HOME") or DEFAULT_HOME
        return cls(Path(chosen).resolve())

    @property
    def duckdb(self) -> Path:
        """The warehouse database: raw schemas written by dlt, models built by dbt."""
        return self.home / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        """The published serving file BI tools open read-only: marts and metric views only."""
        return self.home / "serving.duckdb"

    @property
    def governance(self) -> Path:
        """The erasure audit table and suppression list (``warehouse forget``): kept apart from
        the warehouse so that resetting or rebuilding the warehouse never forgets it."""
        return self.home / "governance.duckdb"

    @property
    def postgres(self) -> Path:
        """Data folder of the embedded demo PostgreSQL (when no shop credentials are set)."""
        return self.home / "postgres"

    @property
    def pipelines(self) -> Path:
        """dlt's working folder: pipeline state and load packages in flight."""
        return self.home / "dlt"

    @property
    def lake(self) -> Path:
        """The default lake (``warehouse ingest --destination lake``): one Delta table per
        source table, ``<dataset>/<table>/`` (docs/lakehouse.md)."""
        return self.home / "lake"

    @property
    def bus(self) -> Path:
        """Data folder of the embedded NATS JetStream server (when no bus url is set)."""
        return self.home / "nats"

    @property
    def lake_snapshots(self) -> Path:
        """Lists of the lake's data files at one version per table, for dbt (warehouse/lake.py)."""
        return self.home / "lake-snapshots"

    @property
    def lake_builds(self) -> Path:
        """Warehouses built from the lake (``warehouse lake build``), one home each."""
        return self.home / "lake-builds"

    @property
    def lake_pipelines(self) -> Path:
        """dlt's working folder for the pipelines into the lake: their own cursors and state."""
        return self.home / "dlt-lake"

    @property
    def spark(self) -> Path:
        """The local Spark of the ``spark`` target: its tables (warehouse dir) and catalogue."""
        return self.home / "spark"

    @property
    def clickstream(self) -> Path:
        """The demo's web log folder (hourly gzip JSONL files): the clickstream source's
        ``bucket_url`` unless one is configured. The demo decides where its logs go."""
        from .simulation import log_folder

        return log_folder(self.home)

    @property
    def dbt_target(self) -> Path:
        """dbt's artifacts: manifest, compiled SQL, semantic manifest, docs.

        The default home uses the project's ``target/``, where ``mf`` and ``dbt docs serve``
        look; any other home keeps its own, so two instances can build at the same time.
        """
        if self.home == DEFAULT_HOME.resolve():
            return PROJECT_DIR / "target"
        return self.home / "target"

    @property
    def dbt_logs(self) -> Path:
        """dbt's log folder, beside :attr:`dbt_target` for the same reason."""
        return self.dbt_target.with_name("logs")

    def ensure(self) -> Paths:
        self.home.mkdir(parents=True, exist_ok=True)
        return self
