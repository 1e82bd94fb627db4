"""The payments source: charges and refunds from a Stripe-style API, into ``raw_payments``.

Amounts are integer cents with a lower-case ISO currency, times are unix seconds, and each
object carries the shop's order id in ``metadata.order_id``. Both lists are read
incrementally on ``created`` (an object is created once; a refund is a new object, not a change
to its charge) and merged on ``id``, so a rerun asks only for objects created since the last
one and reloading an object never duplicates it.
"""

from __future__ import annotations

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ..rest import ApiSourceError, api_resources, incremental_resource
from ..rest_slices import SlicedList
from .settings import (
    CREATED_BEFORE_PARAM,
    CREATED_SINCE_PARAM,
    CURSOR_FIELD,
    CURSOR_PARAM,
    DEFAULT_SLICES,
    ENDPOINTS,
    MAX_PAGE_SIZE,
    PRIMARY_KEY,
    RECORD_TYPES,
    SLICED_ENDPOINTS,
)

__all__ = ["ApiSourceError", "payments"]


@dlt.source(name="payments")
def payments(
    base_url: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
    ca_bundle: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    created_since: int = 0,
    slices: int = DEFAULT_SLICES,
) -> list[DltResource]:
    """Charges and refunds created since the last run.

    Args:
        base_url: the API root (``[sources.payments] base_url``), e.g. https://api.stripe.com.
        token: a secret or restricted key with read access (``[sources.payments] token``).
        ca_bundle: the CA certificates (a PEM file) that verify the API's TLS certificate
            (``[sources.payments] ca_bundle``); unset: the system's trusted CAs.
        page_size: objects per request; at most 100 on Stripe.
        created_since: unix time to start the first load from (0: all history).
        slices: how many time slices of its window each charges read pages at once
            (``[sources.payments] slices``; 1: one request after the other).
    """

    def paginator() -> JSONResponseCursorPaginator:
        return JSONResponseCursorPaginator(
            cursor_path="data[-1].id", cursor_param=CURSOR_PARAM, has_more_path="has_more"
        )

    # The lists page by key and objects are never edited, so no id comes twice in one load:
    # dlt's merge can skip its dedup window, which ran out of memory sorting scale 100's 11M
    # charges under a 1 GB limit. Staging still keeps one row per id.
    merge = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
    resources = [
        incremental_resource(
            name,
            path,
            primary_key=PRIMARY_KEY,
            cursor=CURSOR_FIELD,
            start_param=CREATED_SINCE_PARAM,
            initial_value=created_since,
            data_selector="data",
            params={"limit": page_size},
            # Only declined charges have one; a small first load may have none. Billing
            # details are optional at the processor: staging reads them all the same.
            columns=dict.fromkeys(
                ("failure_code", "billing_details__email", "billing_details__name"), "text"
            )
            if name == "charges"
            else None,
        )
        | {"write_disposition": merge}
        for name, path in ENDPOINTS.items()
    ]
    sliced = {
        name: SlicedList(
            "payments",
            ENDPOINTS[name],
            cursor=CURSOR_FIELD,
            gte_param=CREATED_SINCE_PARAM,
            lt_param=CREATED_BEFORE_PARAM,
            after_param=CURSOR_PARAM,
            data_selector="data",
            params={"limit": page_size},
            paginator=paginator,
            slices=slices,
            key=PRIMARY_KEY,
        )
        for name in SLICED_ENDPOINTS
    }
    return api_resources(
        "payments",
        base_url,
        token,
        paginator(),
        ca_bundle=ca_bundle,
        resources=resources,
        record_types=RECORD_TYPES,
        sliced=sliced,
    )
