"""The marketing source: an ad platform's campaigns and daily spend, into ``raw_marketing``.

Campaigns carry the UTM codes (``utm.source``, ``utm.medium``, ``utm.campaign``) that the
clickstream's sessions carry, which is how spend is joined to visits and orders. Delivery
(impressions, clicks, spend in cents) is one row per campaign and day, reported the next
morning and restated later, so both lists are read incrementally on their update time and
merged on their keys: a restated day replaces its preliminary figures.
"""

from __future__ import annotations

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ..rest import ApiSourceError, api_resources, incremental_resource
from .settings import (
    CURSOR_FIELDS,
    ENDPOINTS,
    INITIAL_UPDATED_SINCE,
    MAX_PAGE_SIZE,
    NULLABLE_COLUMNS,
    PRIMARY_KEYS,
    RECORD_TYPES,
    UPDATED_SINCE_PARAM,
)

__all__ = ["ApiSourceError", "marketing"]


@dlt.source(name="marketing")
def marketing(
    base_url: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
    ca_bundle: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    updated_since: str = INITIAL_UPDATED_SINCE,
) -> list[DltResource]:
    """Campaigns and daily delivery changed since the last run.

    Args:
        base_url: the API root (``[sources.marketing] base_url``).
        token: an access token with read access to the ad account
            (``[sources.marketing] token``).
        ca_bundle: the CA certificates (a PEM file) that verify the API's TLS certificate
            (``[sources.marketing] ca_bundle``); unset: the system's trusted CAs.
        page_size: records per request.
        updated_since: ISO 8601 time to start the first load from (default: all history).
    """
    # The platform returns the full URL of the next page in `paging.next`, absent on the last.
    paginator = JSONLinkPaginator(next_url_path="paging.next")
    resources = [
        incremental_resource(
            name,
            path,
            primary_key=PRIMARY_KEYS[name],
            cursor=CURSOR_FIELDS[name],
            start_param=UPDATED_SINCE_PARAM,
            initial_value=updated_since,
            data_selector="data",
            params={"limit": page_size},
            columns=NULLABLE_COLUMNS[name],
        )
        for name, path in ENDPOINTS.items()
    ]
    return api_resources(
        "marketing",
        base_url,
        token,
        paginator,
        ca_bundle=ca_bundle,
        resources=resources,
        record_types=RECORD_TYPES,
    )
