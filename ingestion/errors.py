"""The base of the errors a source raises when it cannot be read as configured.

Each source's error (``ShopSourceError``, ``ApiSourceError``, ``ClickstreamSourceError``)
derives from :class:`SourceError`, so a caller tells a user's problem (a setting, a server
that is down, a log file that does not reconcile), reported as its one-line message, from a
bug, which keeps its traceback.
"""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source cannot be read as configured; the message says what to do."""
