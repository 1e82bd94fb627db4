"""The error the simulated company raises when it is asked for something it cannot do."""

from __future__ import annotations


class DemoError(RuntimeError):
    """The simulated company cannot do what was asked (a bad scale, no generated shop, a
    ``shop`` schema it did not create); the message says what to do."""
