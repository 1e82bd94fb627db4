"""A cursor-paged list read as several time slices at once: Stripe-style lists (newest first,
``starting_after`` the last id, filtered by ``created[gte]`` / ``created[lt]``) can only be
paged one request after the other, so a big window is cut by creation time and each slice is
paged in a thread of its own.

The first page is asked for exactly as the unsliced list (``created[gte]`` = the incremental
cursor): a window that fits one page costs one request, as before. When more follow, the rest
of the window is cut into ``slices`` parts by ``created``: the top one continues the first
page's list (``starting_after`` its last id, ``created[gte]`` its lower bound), each other one is
``created[gte]`` = its start and ``created[lt]`` = the next one's start. The bounds are whole
seconds and each bound belongs to exactly one slice, so every record of the window is read once,
whatever the slices' sizes; the slices are only balanced by a few one-record probes that find
where the window's records start (a first load from 0 would otherwise put them all in one).

Pages from every slice are joined into batches of ``BATCH_RECORDS`` and yielded in the order
they arrive; dlt's incremental cursor keeps the maximum whatever the order, so its state, the
merge on the key and the rerun after a crash (nothing committed, the same window read again)
are those of the unsliced list. A slice that fails stops the others and fails the extract with
its error; each request is retried (429 with ``Retry-After``, 5xx) by the shared session as
before, so a rate-limited API slows the slices rather than failing them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import dlt
from dlt.common import jsonpath
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from .errors import SourceError
from .rest_arrow import BATCH_RECORDS

log = logging.getLogger(__name__)

# Balancing probes: stop once the lower bound is known to within this share of a slice.
_PROBE_PRECISION = 4
_MAX_PROBES = 24
# How long a slice's thread waits to hand a page over before it checks whether to stop.
_HANDOVER_SECONDS = 0.5
_DONE = object()


class SlicedList:
    """How to read one list in slices: its path, cursor field and the filters on it."""

    def __init__(
        self,
        source: str,
        path: str,
        cursor: str,
        gte_param: str,
        lt_param: str,
        after_param: str,
        data_selector: str,
        params: dict[str, Any],
        paginator: Callable[[], BasePaginator],
        slices: int,
        key: str = "id",
        limit_param: str = "limit",
    ) -> None:
        if slices < 1:
            raise SourceError(f"{source} source: slices is {slices}; set it to 1 or more.")
        self.source = source
        self.path = path
        self.cursor = cursor
        self.gte, self.lt, self.after = gte_param, lt_param, after_param
        self.selector = jsonpath.compile_path(data_selector)
        self.params = params
        self.paginator = paginator
        self.slices = slices
        self.key = key  # the field whose value `after_param` continues after
        self.limit_param = limit_param

    def pages(self, client: RESTClient, start: int) -> Iterator[list[dict[str, Any]]]:
        """Every record created at or after ``start``, in batches of about ``BATCH_RECORDS``."""
        head = client.paginate(
            self.path,
            params={**self.params, self.gte: start},
            paginator=self.paginator(),
            data_selector=self.selector,
        )
        first = next(head, None)
        if first is None:
            return
        more = first.paginator.has_next_page and len(first) > 0
        head.close()
        if not more or self.slices == 1:
            yield list(first)
            if more:
                yield from self._read(client, [self._top(first, start)])
            return
        last = first[-1]
        bottom = self._lowest(client, start, int(last[self.cursor]))
        bounds = _bounds(start, bottom, int(last[self.cursor]), self.slices)
        yield list(first)
        plans = [self._top(first, bounds[-1])]
        plans += [{**self.params, self.gte: low, self.lt: high} for low, high in pairwise(bounds)]
        log.info("%s: %s in %d slices from %s", self.source, self.path, len(plans), bounds)
        yield from self._read(client, plans)

    def _top(self, first: list[dict[str, Any]], low: int) -> dict[str, Any]:
        """The unsliced list after the first page, down to ``low``."""
        return {**self.params, self.gte: low, self.after: first[-1][self.key]}

    def _lowest(self, client: RESTClient, start: int, top: int) -> int:
        """A bound at or below the oldest record created in [start, top]: no record lies in
        [start, bound). Found by bisection with one-record requests, to within a fraction of a
        slice of the span above it."""
        low, high = start, top
        for _ in range(_MAX_PROBES):
            if (top - high) // (self.slices * _PROBE_PRECISION) >= high - low or high - low <= 1:
                break
            middle = (low + high) // 2
            params = {**self.params, self.limit_param: 1, self.gte: low, self.lt: middle}
            found = client.get(self.path, params=params)
            found.raise_for_status()
            selected = jsonpath.find_values(self.selector, found.json())
            if selected and selected[0]:  # the list the selector points at, not empty
                high = middle
            else:
                low = middle
        return low

    def _read(self, client: RESTClient, plans: list[dict[str, Any]]) -> Iterator[list[Any]]:
        """Page every plan in its own thread; batches of their records as they arrive."""
        handover: queue.Queue[Any] = queue.Queue(maxsize=2 * len(plans))
        stop = threading.Event()

        def page(params: dict[str, Any]) -> None:
            try:
                for records in client.paginate(
                    self.path,
                    params=params,
                    paginator=self.paginator(),
                    data_selector=self.selector,
                ):
                    if not _hand_over(handover, stop, list(records)):
                        return
                _hand_over(handover, stop, _DONE)
            except BaseException as exc:  # handed to the extract, which raises it
                _hand_over(handover, stop, _Failed(params, exc))

        batch: list[Any] = []
        with ThreadPoolExecutor(len(plans), thread_name_prefix=f"{self.source}-slice") as pool:
            try:
                for params in plans:
                    pool.submit(page, params)
                running = len(plans)
                while running:
                    item = handover.get()
                    if item is _DONE:
                        running -= 1
                    elif isinstance(item, _Failed):
                        raise item.error(self.source, self.path, self.gte, self.lt)
                    else:
                        batch.extend(item)
                        if len(batch) >= BATCH_RECORDS:
                            yield batch
                            batch = []
            finally:
                stop.set()  # the other slices end at their next page
        if batch:
            yield batch


class _Failed:
    """A slice's exception, handed from its thread to the extract."""

    def __init__(self, params: dict[str, Any], exc: BaseException) -> None:
        self.params = params
        self.exc = exc

    def error(self, source: str, path: str, gte: str, lt: str) -> BaseException:
        if isinstance(self.exc, SourceError):
            return self.exc  # already names the source, the URL and what to do
        window = f"{gte}={self.params.get(gte)}" + (
            f", {lt}={self.params[lt]}" if lt in self.params else ""
        )
        failure = SourceError(
            f"{source} source: reading {path} ({window}) failed: {type(self.exc).__name__}: "
            f"{self.exc}. Nothing of this run is loaded; rerun to read the window again."
        )
        failure.__cause__ = self.exc
        return failure


def _hand_over(handover: queue.Queue[Any], stop: threading.Event, item: Any) -> bool:
    """Put ``item`` for the extract; False if the read was stopped meanwhile."""
    while not stop.is_set():
        try:
            handover.put(item, timeout=_HANDOVER_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _bounds(start: int, bottom: int, top: int, slices: int) -> list[int]:
    """``slices`` increasing lower bounds: ``start``, then evenly over [bottom, top]."""
    step = max(1, (top - bottom) // slices)
    inner = sorted({bottom + step * index for index in range(1, slices)} - {start})
    return [start, *(bound for bound in inner if start < bound <= top)]


def sliced_resource(
    sliced: SlicedList,
    client: RESTClient,
    name: str,
    initial_value: int,
    hints: dict[str, Any],
) -> DltResource:
    """The dlt resource ``name`` reading ``sliced`` from its incremental cursor on, with the
    same hints (key, columns, write disposition, contract) as its ``rest_api`` sibling."""

    since = dlt.sources.incremental(sliced.cursor, initial_value=initial_value)

    def read(cursor: dlt.sources.incremental[int] = since) -> Iterator[list[Any]]:
        yield from sliced.pages(client, int(cursor.last_value))

    return dlt.resource(read, name=name, **hints)
