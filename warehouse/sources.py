"""The sources the warehouse ingests, each wired to this warehouse's configuration.

Each entry opens a dlt source ready to run: a context manager, because a demo source may need
a simulated server running while the pipeline reads it (and stopped afterwards). Adding a
source means adding one function here and one package under ``ingestion/``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from .errors import WarehouseError
from .paths import Paths, wal_of

if TYPE_CHECKING:
    import dlt
    from dlt.sources import DltSource

    from ingestion.runner import IngestReport, Reconcile

# Held while a demo API server starts (see `api`).
_DEMO_START = threading.Lock()


def destination(chosen: str | None = None) -> str:
    """Where the pipelines land: ``chosen`` (``warehouse ingest --destination``), else
    ``[warehouse] destination`` in .dlt/config.toml (env ``WAREHOUSE__DESTINATION``), else
    ``duckdb``. ``lake`` writes parquet files for the ``spark`` dbt target instead."""
    import dlt

    from ingestion.runner import DESTINATIONS

    value = chosen or dlt.config.get("warehouse.destination") or "duckdb"
    if value not in DESTINATIONS:
        raise WarehouseError(
            f"unknown destination {value!r} ([warehouse] destination in .dlt/config.toml, "
            f"WAREHOUSE__DESTINATION or --destination); choose from {', '.join(DESTINATIONS)}"
        )
    return value


def lake_url(paths: Paths) -> str:
    """The lake's root: ``[destination.filesystem] bucket_url`` (env
    ``DESTINATION__FILESYSTEM__BUCKET_URL``: a folder or a bucket URL), else ``<home>/lake``."""
    import dlt

    return dlt.config.get("destination.filesystem.bucket_url") or str(paths.lake)


def shop_dsn(paths: Paths) -> str:
    """The configured shop database, else the embedded demo PostgreSQL (started if needed)."""
    from .simulation import shop_dsn as resolve

    return resolve(paths.postgres)


@contextmanager
def shop(paths: Paths) -> Iterator[DltSource]:
    from ingestion.shop import shop as shop_source

    from .erasure import SUPPRESSED_RESOURCE, erased_customers, suppress

    source = shop_source(credentials=shop_dsn(paths))
    # Customers who asked to be forgotten stay forgotten, whatever a load replays.
    if SUPPRESSED_RESOURCE[0] in source.resources:
        suppress(source.resources[SUPPRESSED_RESOURCE[0]], erased_customers(paths))
    yield source


@contextmanager
def api(name: str, paths: Paths) -> Iterator[DltSource]:
    """A third-party API source (payments, marketing, reviews). Without a configured
    ``[sources.<name>] base_url``, the demo's API server serves the demo database over HTTPS
    (a certificate from the demo's local CA, ``<home>/tls``) for the length of the run, and the
    pipeline uses the demo token and trusts that CA."""
    import importlib

    import dlt

    source = getattr(importlib.import_module(f"ingestion.{name}"), name)
    if dlt.config.get(f"sources.{name}.base_url") is not None:
        yield source()
        return
    from .simulation import api_server

    with ExitStack() as stack:
        # Sources loading at once (load_all) each start their own server on its own port; one
        # at a time starts the embedded PostgreSQL or makes the CA, which they all share.
        with _DEMO_START:
            # Over HTTPS, as a vendor's API is: the pipeline trusts the demo's CA and no other.
            server, token, ca_bundle = stack.enter_context(
                api_server(shop_dsn(paths), name, paths.home)
            )
        yield source(base_url=server.url, token=token, ca_bundle=str(ca_bundle))


@contextmanager
def clickstream(paths: Paths) -> Iterator[DltSource]:
    """The web event logs in ``[sources.clickstream] bucket_url``, else the demo's log folder."""
    from ingestion.clickstream import clickstream as clickstream_source

    yield clickstream_source(bucket_url=clickstream_bucket(paths))


def clickstream_bucket(paths: Paths) -> str:
    """Where the event logs land: ``[sources.clickstream] bucket_url``, else the demo's
    folder. The orchestrator's sensor watches the same place the source reads."""
    import dlt

    return dlt.config.get("sources.clickstream.bucket_url") or str(paths.clickstream)


def load(source: str, paths: Paths, target: str = "duckdb") -> IngestReport:
    """Run ``source``'s dlt pipeline into the warehouse (or the lake, ``target="lake"``).

    The one way a source is loaded: ``warehouse ingest`` and the orchestrator's ingestion assets
    both call it, so a load (its resumed packages, its reconciliation) is the same in each.
    """
    from ingestion.runner import lake_pipeline_for, pipeline_for, run

    with SOURCES[source](paths) as dlt_source:
        if target == "lake":
            pipeline = lake_pipeline_for(source, lake_url(paths), paths.lake_pipelines)
        else:
            pipeline = pipeline_for(source, paths.duckdb, paths.pipelines)
        reconcile = partial(confirm_shop, paths) if source == "shop" else RECONCILERS.get(source)
        return run(pipeline, dlt_source, reconcile)


@dataclass(frozen=True)
class Outcome:
    """One source's load in :func:`load_all`: its report, or the error that stopped it."""

    source: str
    seconds: float
    report: IngestReport | None = None
    error: Exception | None = None


def load_all(
    sources: Sequence[str],
    paths: Paths,
    target: str = "duckdb",
    starting: Callable[[tuple[str, ...]], None] | None = None,
) -> Iterator[Outcome]:
    """Load each of ``sources`` as :func:`load` does, the API sources at the same time, and
    yield each one's outcome as it finishes; ``starting`` is told each batch before it runs.

    ``warehouse ingest`` (and ``run``) and the bench's API step both load through it. A source
    that fails does not stop the others, not even those running beside it: its error is in its
    outcome, for the caller to report. The API sources (``AT_ONCE``) are different vendors,
    each with its own rate limit and its own ``raw_<source>`` schema: their pipelines run in
    threads of this process, each thread its own dlt pipeline context (dlt's contexts are
    per thread), and write their own tables of the one DuckDB file, which DuckDB allows to
    connections of one process. Ctrl-C asks the running pipelines to stop (dlt's signal
    handling: they stop at their next page or load job, and the next run resumes their
    packages), then interrupts the command.
    """
    from dlt.common.runtime import signals

    at_once = sources_at_once()
    for batch in load_order(sources, at_once):
        if starting is not None:
            starting(batch)
        if len(batch) == 1:
            yield _load_one(batch[0], paths, target)
            continue
        with _database_open(paths, target), signals.intercepted_signals():
            pool = ThreadPoolExecutor(min(at_once, len(batch)), thread_name_prefix="ingest")
            try:
                futures = [pool.submit(_load_one, source, paths, target) for source in batch]
                for future in as_completed(futures):
                    yield future.result()
            finally:
                # Also when the caller stops early: the loads already running finish (a
                # thread cannot be stopped halfway), those not started do not start.
                pool.shutdown(wait=True, cancel_futures=True)
            if signals.was_signal_received():
                raise KeyboardInterrupt


@contextmanager
def _database_open(paths: Paths, target: str) -> Iterator[None]:
    """Keep the warehouse's DuckDB file open in this process while pipelines in threads connect.

    A process's connections to one file share one DuckDB database instance, but two threads
    opening the file at the same moment with no instance yet may both create one, and the
    second fails ("Unique file handle conflict ... already attached"; DuckDB 1.5, seen on a
    first load). Opened here first, the instance exists before the threads connect and until
    they are done. It is opened as dlt opens it: no configuration at connect (dlt applies its
    settings with SET GLOBAL), which a second connection of the process must match.

    Opening creates the file. When it did not exist and every pipeline failed before writing
    a table (a new home with a wrong setting), the empty file is removed again: a failed first
    run leaves no warehouse behind, as a source that fails alone leaves none.
    """
    if target != "duckdb":
        yield
        return
    import duckdb

    new = not paths.duckdb.exists()
    empty = False
    with duckdb.connect(str(paths.duckdb)) as conn:
        try:
            yield
        finally:
            empty = new and not conn.execute("select 1 from duckdb_tables() limit 1").fetchone()
    if empty:
        for path in (paths.duckdb, wal_of(paths.duckdb)):
            path.unlink(missing_ok=True)


def load_order(sources: Sequence[str], at_once: int) -> list[tuple[str, ...]]:
    """The batches ``sources`` load in, in their order: each source alone, except the API
    sources, which load together at the place of the first of them (unless ``at_once`` is 1)."""
    together = tuple(source for source in sources if source in AT_ONCE)
    if at_once < 2 or len(together) < 2:
        return [(source,) for source in sources]
    return [
        together if source == together[0] else (source,)
        for source in sources
        if source not in together or source == together[0]
    ]


def sources_at_once() -> int:
    """How many API sources load at the same time: ``[warehouse] sources_at_once`` (env
    ``WAREHOUSE__SOURCES_AT_ONCE``), by default all of them; 1 loads one after another."""
    import dlt

    value = dlt.config.get("warehouse.sources_at_once")
    if value is None:
        return len(AT_ONCE)
    count = int(value) if str(value).isdigit() else 0  # env values arrive as text
    if count < 1:
        raise WarehouseError(
            f"[warehouse] sources_at_once is {value!r} (.dlt/config.toml or "
            "WAREHOUSE__SOURCES_AT_ONCE): set how many API sources load at the same time, from "
            f"1 (one after another) to {len(AT_ONCE)}"
        )
    return count


def _load_one(source: str, paths: Paths, target: str) -> Outcome:
    started = time.perf_counter()
    try:
        report = load(source, paths, target)
    except Exception as exc:  # the caller decides: report it and go on, or raise it
        return Outcome(source, time.perf_counter() - started, error=exc)
    return Outcome(source, time.perf_counter() - started, report=report)


def confirm_shop(paths: Paths, pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> dict[str, int]:
    """After the shop's load, in CDC mode: advance the replication slot to what the load
    holds and report the slot's lag (ingestion/shop/cdc.py)."""
    import dlt

    from ingestion.shop.cdc import confirm

    max_lag_mb = float(dlt.config.get("sources.shop.max_slot_lag_mb") or 1024)
    return confirm(pipeline, shop_dsn(paths), max_lag_mb)


def reconcile_clickstream(pipeline: dlt.Pipeline, load_ids: Sequence[str]) -> dict[str, int]:
    """Lines read = events loaded + lines quarantined, per file, for the run's loads."""
    from ingestion.clickstream import reconcile

    return reconcile(pipeline, load_ids).counts()


SOURCES: dict[str, Callable[[Paths], AbstractContextManager[DltSource]]] = {
    "shop": shop,
    "payments": partial(api, "payments"),
    "marketing": partial(api, "marketing"),
    "reviews": partial(api, "reviews"),
    "clickstream": clickstream,
}

# Checks run after a source's load (ingestion.runner.Reconcile); their counts are printed.
RECONCILERS: dict[str, Reconcile] = {"clickstream": reconcile_clickstream}

# The sources `load_all` runs at the same time: the third-party APIs, separate vendors (each
# its own rate limit) whose loads wait mostly on their API. Not the shop, whose COPY parse keeps
# a core busy, nor the clickstream: its DuckDB connection has a memory_limit of its own, and
# DuckDB opens a file in one process with one configuration at a time.
AT_ONCE = ("payments", "marketing", "reviews")
