"""A destination whose capabilities are worked out once per naming convention, not on every
call.

dlt's ``Destination.capabilities()`` resolves the destination's whole configuration (config
files, environment, a mock of its credentials) each time it is called without a config, and a
pipeline run calls it dozens of times: 36 calls, ~1.3 s of CPU, in the three API pipelines of
one bench run (8% of it). For a destination that does not adjust its capabilities to its
configuration (DuckDB: only the naming convention's case sensitivity changes them, which is
part of the key here), the answer cannot change within a run, so it is kept.
"""

from __future__ import annotations

import copy
from typing import Any

from dlt.common.destination import Destination, DestinationCapabilitiesContext


def capabilities_resolved_once(destination: Destination[Any, Any]) -> Destination[Any, Any]:
    """``destination``, its ``capabilities()`` without a config answered from a cache keyed by
    the naming convention; unchanged for a destination that adjusts them to its config."""
    adjusts = type(destination).adjust_capabilities.__func__  # type: ignore[attr-defined]
    if adjusts is not Destination.adjust_capabilities.__func__:  # type: ignore[attr-defined]
        return destination  # its capabilities may depend on its config
    resolve = destination.capabilities
    known: dict[tuple[Any, ...], DestinationCapabilitiesContext] = {}

    def capabilities(config: Any = None, naming: Any = None) -> DestinationCapabilitiesContext:
        if config is not None:
            return resolve(config, naming)
        key = (type(naming), naming.is_case_sensitive, naming.max_length) if naming else ()
        if key not in known:
            known[key] = resolve(None, naming)
        return copy.deepcopy(known[key])  # callers may adjust their copy

    destination.capabilities = capabilities  # type: ignore[method-assign]
    return destination
