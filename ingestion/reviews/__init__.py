"""The reviews source: product reviews (a rating and free text) into ``raw_reviews``.

Each review names the order and the product it is about. The text is kept as the customer
typed it (staging trims it); customers may edit a review later, which moves ``updated_at``, so
the list is read incrementally on it and merged on ``id``.
"""

from __future__ import annotations

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

from ..rest import ApiSourceError, api_resources, incremental_resource
from .settings import (
    CURSOR_FIELD,
    ENDPOINT,
    INITIAL_UPDATED_SINCE,
    MAX_PAGE_SIZE,
    PAGE_PARAM,
    PAGE_SIZE_PARAM,
    PRIMARY_KEY,
    RECORD_TYPES,
    TABLE,
    TOTAL_PAGES_PATH,
    UPDATED_SINCE_PARAM,
)

__all__ = ["ApiSourceError", "reviews"]


@dlt.source(name="reviews")
def reviews(
    base_url: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
    ca_bundle: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    updated_since: str = INITIAL_UPDATED_SINCE,
) -> list[DltResource]:
    """Reviews written or edited since the last run.

    Args:
        base_url: the API root (``[sources.reviews] base_url``).
        token: an API key of the review service (``[sources.reviews] token``).
        ca_bundle: the CA certificates (a PEM file) that verify the API's TLS certificate
            (``[sources.reviews] ca_bundle``); unset: the system's trusted CAs.
        page_size: reviews per page.
        updated_since: ISO 8601 time to start the first load from (default: all history).
    """
    paginator = PageNumberPaginator(base_page=1, page_param=PAGE_PARAM, total_path=TOTAL_PAGES_PATH)
    resource = incremental_resource(
        TABLE,
        ENDPOINT,
        primary_key=PRIMARY_KEY,
        cursor=CURSOR_FIELD,
        start_param=UPDATED_SINCE_PARAM,
        initial_value=updated_since,
        data_selector="reviews",
        params={PAGE_SIZE_PARAM: page_size},
        # A rating-only review has neither; a small first load may have no text at all.
        columns={"title": "text", "body": "text"},
    )
    return api_resources(
        "reviews",
        base_url,
        token,
        paginator,
        ca_bundle=ca_bundle,
        resources=[resource],
        record_types=RECORD_TYPES,
    )
