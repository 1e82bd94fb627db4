"""The sources the warehouse ingests, each wired to this warehouse's configuration.

Each entry opens a dlt source ready to run: a context manager, because a demo source may need
a simulated server running while the pipeline reads it (and stopped afterwards). Adding a
source means adding one function here and one package under ``ingestion/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from .paths import Paths

if TYPE_CHECKING:
    from dlt.sources import DltSource


def shop_dsn(paths: Paths) -> str:
    """The configured shop database, else the embedded demo PostgreSQL (started if needed)."""
    from demo.postgres import shop_dsn as resolve

    return resolve(paths.postgres)


@contextmanager
def shop(paths: Paths) -> Iterator[DltSource]:
    from ingestion.shop import shop as shop_source

    yield shop_source(credentials=shop_dsn(paths))


SOURCES: dict[str, Callable[[Paths], AbstractContextManager[DltSource]]] = {
    "shop": shop,
}
