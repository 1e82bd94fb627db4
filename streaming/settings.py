"""Settings of the streaming pipeline and the refresher: ``[streaming]`` and
``[streaming.pipeline]`` in .dlt/config.toml (env ``STREAMING__<KEY>``,
``STREAMING__PIPELINE__<KEY>``), and where the path keeps its files under the home."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError
from warehouse.paths import Paths

from .config import read_section

# The JetStream durable pull consumer the pipeline reads (the collector reads its lag).
CONSUMER = "LANDING"
# The web-analytics slice the refresher builds each tick (a dbt selection).
DEFAULT_SELECT = (
    "stg_clickstream__events stg_clickstream__quarantined_lines stg_clickstream__log_files "
    "int_events_sessionized int_sessions_stitched fct_sessions fct_daily_web_activity"
)


class StreamingError(WarehouseError):
    """The streaming path is misconfigured or cannot run; the message says what to do."""


@dataclass(frozen=True)
class PipelineSettings:
    """How the Beam pipeline reads the bus (``[streaming.pipeline]``)."""

    # Messages fetched, parsed and landed as one unit (one Beam run, one landed folder).
    max_batch: int = 5000
    # How long one fetch waits for the first message before the pipeline idles a moment.
    fetch_seconds: float = 1.0
    # After a batch's first message, how long more arrive into the same batch (and unit).
    batch_seconds: float = 2.0
    # A message not acknowledged within this is redelivered (a pipeline killed mid-batch).
    ack_wait_seconds: float = 60.0
    # The Beam runner and any further pipeline options (space separated), e.g. for Flink:
    # runner = "FlinkRunner", options = "--flink_master=flink:8081 --environment_type=LOOPBACK".
    runner: str = "BundleBasedDirectRunner"
    options: str = ""

    @classmethod
    def from_config(cls) -> PipelineSettings:
        settings = cls(**read_section("streaming.pipeline", cls, StreamingError))
        if settings.max_batch <= 0 or settings.fetch_seconds <= 0 or settings.ack_wait_seconds <= 0:
            raise StreamingError(
                "[streaming.pipeline] max_batch, fetch_seconds and ack_wait_seconds must be "
                "positive: see docs/streaming.md"
            )
        return settings

    def beam_args(self) -> list[str]:
        """The Beam pipeline options these settings give."""
        return [f"--runner={self.runner}", *self.options.split()]


@dataclass(frozen=True)
class RefreshSettings:
    """How often and what the refresher rebuilds (``[streaming]``)."""

    refresh_seconds: float = 10.0
    select: str = DEFAULT_SELECT
    # Unit tests check the models' SQL on fixed inputs, not the new data: CI runs them.
    exclude: str = "test_type:unit"

    def dbt_args(self) -> list[str]:
        """``dbt build`` arguments of one tick."""
        exclude = ["--exclude", *self.exclude.split()] if self.exclude.split() else []
        return ["--quiet", "build", "--select", *self.select.split(), *exclude]

    @classmethod
    def from_config(cls) -> RefreshSettings:
        settings = cls(**read_section("streaming", cls, StreamingError))
        if settings.refresh_seconds <= 0 or not settings.select.split():
            raise StreamingError(
                "[streaming] refresh_seconds must be positive and select a dbt selection: "
                "see docs/streaming.md"
            )
        return settings


def landing_dir(paths: Paths) -> Path:
    """Where the pipeline lands units the refresher has not loaded yet."""
    return paths.home / "streaming" / "landing"


def done_dir(paths: Paths) -> Path:
    """Where the refresher moves the units it loaded (kept for audit; safe to delete)."""
    return paths.home / "streaming" / "done"
