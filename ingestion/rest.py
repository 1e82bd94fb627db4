"""What the REST API sources (payments, marketing, reviews) share: building dlt ``rest_api``
resources with bearer auth and merge loading, and turning HTTP failures into clear errors.

Retries are dlt's own: its requests client retries 429, 5xx and dropped connections with
exponential backoff and honours ``Retry-After``, as configured under ``[runtime]``
(``request_max_attempts``, ``request_backoff_factor``, ``request_max_retry_delay``,
``request_timeout``). This module only adds what happens once those retries are spent: an
error that names the source, the URL (never the token) and the setting to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.common import jsonpath
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.sources import DltResource
from dlt.sources.helpers.requests import Client, HTTPError, RequestException, Session
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import EndpointResource, RESTAPIConfig, rest_api_resources
from requests.exceptions import SSLError

from .errors import SourceError
from .rest_arrow import ArrowPages, PageBatches, RecordTypes
from .rest_session import read_environment_once, share_backoff
from .rest_slices import SlicedList, sliced_resource

# The API sources' dlt schema contract. A vendor adding a field adds a column to raw (and a
# nested list a table), so nothing they send is lost; a field whose values change type stops the
# load with an error naming the table and column, instead of landing in a variant column
# (`amount__v_text`) that staging never reads.
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


class ApiSourceError(SourceError):
    """A REST API source cannot be read as configured; the message says what to do."""


def api_resources(
    source: str,
    base_url: str | None,
    token: str | None,
    paginator: BasePaginator,
    resources: list[EndpointResource],
    ca_bundle: str | None = None,
    record_types: Mapping[str, RecordTypes] | None = None,
    sliced: Mapping[str, SlicedList] | None = None,
) -> list[DltResource]:
    """dlt resources for ``resources`` of one API, merged into the destination on their keys.

    The resources page concurrently (dlt's ``parallelized``: one thread per resource, each
    still paged in order and retried under the same rate-limit backoff), and each page whose
    records fit the resource's declared shape reaches dlt as one typed Arrow table
    (``rest_arrow``), not as records to normalize one by one.

    Args:
        source: the source's name, also its configuration section (``[sources.<source>]``).
        base_url: the API's root, e.g. ``https://api.stripe.com``; endpoint paths are
            relative to it. None (not configured) is an error that says where to set it.
        token: the bearer token; None (not configured) likewise.
        paginator: how the API pages its lists.
        resources: one ``rest_api`` resource per endpoint, each with its ``primary_key`` and
            ``incremental`` cursor.
        ca_bundle: a PEM file of the CAs that verify the API's certificate; None: the
            system's. Verification is never switched off: an untrusted certificate fails.
        record_types: per resource name, the declared shape of its records (field -> dlt
            data type, nested objects as dicts); a resource without one is normalized by dlt.
        sliced: per resource name, how to read it as time slices paged at once
            (``rest_slices``), for a list whose pages can only be fetched one after another.
    """
    if not base_url or urlsplit(base_url).scheme not in ("http", "https"):
        problem = f"base_url {base_url!r} is not an http(s) URL" if base_url else "no base_url"
        raise ApiSourceError(
            f"{source} source: {problem}. Set [sources.{source}] base_url in .dlt/config.toml "
            f"(or SOURCES__{source.upper()}__BASE_URL); `warehouse ingest` uses the demo API "
            "when it is unset."
        )
    if not token:
        raise ApiSourceError(f"{source} source: no API token. {_where_to_set_token(source)}")
    session = _explaining_session(source, ca_bundle)
    sliced = sliced or {}
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url,
            "auth": {"type": "bearer", "token": token},
            "paginator": paginator,
            "session": session,
        },
        # Parquet, not dlt's default INSERT statements for DuckDB: loading 100k records
        # takes about a second instead of twenty.
        "resource_defaults": {
            "write_disposition": "merge",
            "file_format": "parquet",
            "schema_contract": SCHEMA_CONTRACT,
            "parallelized": True,
        },
        "resources": [resource for resource in resources if resource["name"] not in sliced],
    }
    by_name = {
        built.name: built for built in (rest_api_resources(config) if config["resources"] else [])
    }
    client = RESTClient(base_url, auth=BearerTokenAuth(token), session=session)
    for resource in resources:
        if resource["name"] in sliced:
            by_name[resource["name"]] = _sliced(sliced[resource["name"]], client, resource)
    # In the declared order: dlt starts them in it (the first to fail names the error).
    built = [by_name[resource["name"]] for resource in resources]
    keys = {resource["name"]: resource.get("primary_key") for resource in resources}
    cursors = {resource["name"]: _cursor(resource) for resource in resources}
    for resource in built:
        declared = (record_types or {}).get(resource.name)
        if declared:
            key = keys.get(resource.name) or ()
            resource.add_step(PageBatches())
            resource.add_step(
                ArrowPages(
                    resource.name,
                    declared,
                    [key] if isinstance(key, str) else key,
                    cursor=cursors[resource.name],
                )
            )
    return built


def _cursor(resource: EndpointResource) -> str:
    """The field a resource's incremental cursor reads, or "" if it has none."""
    endpoint: Any = resource.get("endpoint") or {}
    return str((endpoint.get("incremental") or {}).get("cursor_path", ""))


def _sliced(sliced: SlicedList, client: RESTClient, resource: EndpointResource) -> DltResource:
    """``resource`` read in time slices, with the hints ``rest_api`` would give it."""
    endpoint: Any = resource["endpoint"]
    hints = {
        "primary_key": resource.get("primary_key"),
        "columns": resource.get("columns"),
        "write_disposition": resource.get("write_disposition", "merge"),
        "file_format": "parquet",
        "schema_contract": SCHEMA_CONTRACT,
    }
    initial = endpoint["incremental"]["initial_value"]
    return sliced_resource(sliced, client, resource["name"], initial, hints)


def incremental_resource(
    name: str,
    path: str,
    primary_key: str | tuple[str, ...],
    cursor: str,
    start_param: str,
    initial_value: Any,
    data_selector: str,
    params: dict[str, Any],
    columns: dict[str, str] | None = None,
) -> EndpointResource:
    """A ``rest_api`` resource that asks only for records at or after its cursor.

    Args:
        name: the table it loads (in ``raw_<source>``).
        path: the endpoint, relative to the source's base URL.
        primary_key: the record's key; reloaded records replace their earlier version.
        cursor: the record field that moves on creation or change.
        start_param: the query parameter that filters on it (inclusive: the records at the
            last cursor value come back and dlt drops the ones it already has).
        initial_value: the cursor's value for the first load (all history).
        data_selector: where the records are in the response, e.g. ``data``.
        params: other query parameters, e.g. the page size.
        columns: data types of fields that may be NULL in a whole first load, so their
            columns exist from the start (``{"failure_code": "text"}``).
    """
    return {
        "name": name,
        "primary_key": primary_key if isinstance(primary_key, str) else list(primary_key),
        "columns": {column: {"data_type": kind} for column, kind in (columns or {}).items()},
        "endpoint": {
            "path": path,
            "params": params,
            # Compiled once: dlt would parse the JSONPath again for every page.
            "data_selector": jsonpath.compile_path(data_selector),
            "incremental": {
                "start_param": start_param,
                "cursor_path": cursor,
                "initial_value": initial_value,
            },
        },
    }


def _explaining_session(source: str, ca_bundle: str | None = None) -> Session:
    """A dlt requests session (retries per ``[runtime]``) whose final failures, once retries
    are spent, become an ``ApiSourceError`` naming the source and what to fix.

    dlt wraps ``send`` with its retry loop; wrapping that once more sees only the outcome of
    the last attempt, so transient failures stay silent and retried.
    """
    session = Client(raise_for_status=False).session
    send_with_retries = session.send
    share_backoff(session)
    read_environment_once(session)

    def send(request: Any, **kwargs: Any) -> Any:
        if ca_bundle:
            # Per request: requests lets REQUESTS_CA_BUNDLE (from the environment) override a
            # session's `verify`, and the configured CA must win.
            kwargs["verify"] = ca_bundle
        try:
            return _decoded_once(send_with_retries(request, **kwargs))
        except HTTPError as exc:
            raise _explain_status(source, exc) from None
        except SSLError as exc:
            raise ApiSourceError(
                f"{source} source: the API at {_public_url(request.url)} did not prove who it "
                f"is over TLS ({_tls_reason(exc)}). If it uses a private CA, set "
                f"[sources.{source}] ca_bundle to that CA's PEM file."
            ) from None
        except RequestException as exc:
            url = _public_url(request.url)
            raise ApiSourceError(
                f"{source} source: cannot reach the API at {url} after "
                f"{_attempts()} ({type(exc).__name__}). Is the service up and "
                f"[sources.{source}] base_url right? [runtime] request_max_attempts and "
                "request_timeout set how long to keep trying."
            ) from None

    session.send = send  # type: ignore[method-assign]
    return session


def _decoded_once(response: Any) -> Any:
    """``response`` whose ``json()`` parses the body once: dlt's client reads the records with
    it and the paginator reads it again for the next page's cursor."""
    decode = response.json
    decoded: list[Any] = []

    def json_once(**kwargs: Any) -> Any:
        if kwargs:
            return decode(**kwargs)
        if not decoded:
            decoded.append(decode())
        return decoded[0]

    response.json = json_once
    return response


def _tls_reason(exc: SSLError) -> str:
    """The certificate problem in OpenSSL's words, e.g. ``certificate verify failed: ...``."""
    text = str(exc)
    start = text.find("certificate verify failed")
    return text[start:].split(" (_ssl")[0].rstrip("')") if start >= 0 else type(exc).__name__


def _explain_status(source: str, exc: HTTPError) -> ApiSourceError:
    response = exc.response
    status = response.status_code if response is not None else 0
    url = _public_url(response.url if response is not None else "")
    detail = _error_message(response)
    if status in (401, 403):
        return ApiSourceError(
            f"{source} source: the API at {url} rejected the token ({status}"
            f"{': ' + detail if detail else ''}). {_where_to_set_token(source)}"
        )
    if status == 429 or status >= 500:
        return ApiSourceError(
            f"{source} source: the API at {url} still answered {status} after "
            f"{_attempts()} with backoff; the service is down or throttling. "
            "Try again later, or raise [runtime] request_max_attempts and "
            "request_max_retry_delay."
        )
    return ApiSourceError(
        f"{source} source: the API at {url} refused the request ({status}"
        f"{': ' + detail if detail else ''}). Check [sources.{source}] in .dlt/config.toml "
        "(base_url, page_size)."
    )


def _where_to_set_token(source: str) -> str:
    return (
        f"Set [sources.{source}] token in .dlt/secrets.toml, or the environment variable "
        f"SOURCES__{source.upper()}__TOKEN; leave base_url unset to use the demo API."
    )


def _public_url(url: str) -> str:
    """Scheme, host and path only: query strings may carry keys some APIs accept there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_message(response: Any) -> str:
    """The API's own error message, when the body is the usual ``{"error": {"message"}}``."""
    try:
        error = json.loads(response.text).get("error")
    except (ValueError, AttributeError):
        return ""
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return str(error or "")


def _attempts() -> str:
    """How many attempts dlt makes per request (``[runtime] request_max_attempts``)."""
    configured = dlt.config.get("runtime.request_max_attempts", int)
    count = configured if configured is not None else RuntimeConfiguration.request_max_attempts
    return f"{count} attempt{'' if count == 1 else 's'}"
