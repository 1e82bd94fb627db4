"""The sources the warehouse ingests, each wired to this warehouse's configuration.

Each entry opens a dlt source ready to run: a context manager, because a demo source may need
a simulated server running while the pipeline reads it (and stopped afterwards). Adding a
source means adding one function here and one package under ``ingestion/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import TYPE_CHECKING

from .errors import WarehouseError
from .paths import Paths

if TYPE_CHECKING:
    import dlt
    from dlt.sources import DltSource

    from ingestion.runner import IngestReport, Reconcile


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

    # Over HTTPS, as a vendor's API is: the pipeline trusts the demo's own CA and nothing else.
    with api_server(shop_dsn(paths), name, paths.home) as (server, token, ca_bundle):
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
