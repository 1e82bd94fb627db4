"""The errors the ``warehouse`` command reports to its user as one line, without a traceback.

A user error is one the user can fix (a setting, a source that is down, a failing dbt test):
its message names what is wrong and what to do. Everything else is a bug and keeps its
traceback, so catching every ``ValueError`` or ``RuntimeError`` (which would hide bugs) is
exactly what this module avoids: the user errors are the types listed in :func:`is_user_error`.
"""

from __future__ import annotations

import re


class WarehouseError(Exception):
    """A step of the warehouse cannot go on as configured; the message says what to do."""


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` carries a message meant for the user: the warehouse's own errors, the
    sources' (ingestion), the simulated company's (demo), a dlt step that failed on one of
    those, and the databases' own errors (a refused connection, a failing query)."""
    import duckdb
    import psycopg
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.errors import SourceError

    from .simulation import DemoError

    expected = (WarehouseError, SourceError, DemoError, PipelineStepFailed)
    return isinstance(exc, (*expected, duckdb.Error, psycopg.Error))


def reason(exc: BaseException) -> str:
    """The innermost message, on one line: dlt wraps source errors in several layers of its
    own, and libpq's messages run over several lines (the error, then a hint)."""
    while exc.__cause__ is not None or getattr(exc, "exception", None) is not None:
        inner = getattr(exc, "exception", None) or exc.__cause__
        if inner is None or inner is exc:
            break
        exc = inner
    return re.sub(r"\s*\n\s*", " ", str(exc).strip())
