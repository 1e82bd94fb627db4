"""Small helpers of the simulated web logs: file paths, segments, stable random draws, UTC
offsets, writing a file."""

from __future__ import annotations

import gzip
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from .clickstream_settings import EPOCH, GZIP_LEVEL, HOUR_US, ZONES

if TYPE_CHECKING:
    from .clickstream_catalogue import _Catalogue

log = logging.getLogger(__name__)


def file_path(root: Path, hour: datetime) -> Path:
    """The file of one UTC hour: ``YYYY/MM/DD/events-YYYYMMDDHH.jsonl.gz`` under ``root``."""
    return root / f"{hour:%Y/%m/%d}" / f"events-{hour:%Y%m%d%H}.jsonl.gz"


# --------------------------------------------------------------------------------------------
# Small helpers


def _segment(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-session counts, each element's session and its position within the session."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


def _events(
    session: np.ndarray,
    seq: np.ndarray | int,
    event: np.ndarray | int,
    page: np.ndarray | int,
    product_id: np.ndarray | int = 0,
    quantity: np.ndarray | int = 0,
) -> dict[str, np.ndarray]:
    """Event columns for the given sessions; scalars apply to every event."""
    n = len(session)
    columns = {"seq": seq, "event": event, "page": page, "product_id": product_id}
    events = {name: np.broadcast_to(value, n).astype(np.int64) for name, value in columns.items()}
    zeros = np.zeros(n, dtype=np.int64)
    return {
        "session": session.astype(np.int64),
        **events,
        "quantity": np.broadcast_to(quantity, n).astype(np.int64),
        "order_id": zeros,
        "revenue_cents": zeros,
    }


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _any_product(rng: np.random.Generator, catalogue: _Catalogue, owners: np.ndarray) -> np.ndarray:
    return catalogue.product_ids[rng.integers(0, len(catalogue.product_ids), len(owners))]


def _has_second_device(seed: int, customer: np.ndarray) -> np.ndarray:
    """A quarter of the customers use a second device now and then (always the same ones)."""
    return _mix(customer.astype(np.uint64), seed) % np.uint64(4) == 0


def _mix(values: np.ndarray, salt: int) -> np.ndarray:
    """A 64-bit hash (splitmix64) of each value and a salt: stable ids and traits per key."""
    z = values.astype(np.uint64) ^ np.uint64(salt * 0x9E3779B97F4A7C15 % 2**64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _utc_offsets(zone: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """The UTC offset, in minutes, of each instant in its zone (an index into ``ZONES``).

    These zones change their offset only on whole UTC hours, so one look-up per zone and hour
    is exact, and much faster than converting every instant.
    """
    if not len(t_us):
        return np.zeros(0, dtype=np.int64)
    hours = t_us // HOUR_US
    first = int(hours.min())
    table = np.array(
        [
            [
                datetime.fromtimestamp((first + h) * 3600, ZoneInfo(name)).utcoffset()
                // timedelta(minutes=1)
                for h in range(int(hours.max()) - first + 1)
            ]
            for name in ZONES
        ],
        dtype=np.int64,
    )
    return table[zone, hours - first]


def _pick(hashes: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """An index into ``shares`` for each hash, with those probabilities."""
    uniform = (hashes >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.searchsorted(np.cumsum(shares) / shares.sum(), uniform, side="right")


def _write_file(path: Path, text: str) -> None:
    """Write one hourly file atomically (a reader never sees half a file), reproducibly
    (no time stamp in the gzip header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(gzip.compress(text.encode(), compresslevel=GZIP_LEVEL, mtime=0))
    os.replace(partial, path)


def _epoch_us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)
