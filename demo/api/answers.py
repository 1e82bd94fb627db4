"""The demo API's answers and the parsing of its query parameters and cursors."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus

from .behaviour import BadRequest

log = logging.getLogger(__name__)


@dataclass
class _Answer:
    status: int
    body: str
    rows: int = 0
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Small helpers


def _error(status: HTTPStatus, message: str, kind: str) -> _Answer:
    return _Answer(status, json.dumps({"error": {"type": kind, "message": message}}))


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None


def _timestamp(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 timestamp, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


def _encode_cursor(updated_at: datetime, key: str) -> str:
    raw = json.dumps([updated_at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, key = json.loads(raw)
        return datetime.fromisoformat(updated_at), str(key)
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid cursor: {cursor!r}") from None
