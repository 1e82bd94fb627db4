"""Reading a settings dataclass from one section of dlt's configuration (.dlt/config.toml,
secrets.toml, or environment variables such as ``STREAMING__BUS__MAX_MB``)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import dlt

# How a value that does not convert is described in the error.
_KINDS = {int: "a whole number", float: "a number", str: "text"}


def read_section(section: str, cls: type, error: type[Exception]) -> dict[str, Any]:
    """The configured values of dataclass ``cls``'s fields in ``section``; an unset key keeps
    the field's default, and a set one is typed like its default (environment variables
    arrive as text). A value that does not convert raises ``error`` naming the key."""
    defaults = cls()
    values: dict[str, Any] = {}
    for field in fields(cls):
        default = getattr(defaults, field.name)
        value = dlt.config.get(f"{section}.{field.name}")
        if value is None:
            values[field.name] = default
            continue
        kind = str if default is None else type(default)
        try:
            values[field.name] = kind(value)
        except ValueError as failure:
            raise error(
                f"[{section}] {field.name} = {value!r} is not {_KINDS.get(kind, kind.__name__)}"
            ) from failure
    return values
