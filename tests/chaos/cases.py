"""The chaos cases. Each takes the suite's ``Lab`` (homes built once) and yields ``Trial``s as
they finish; ``full=False`` is the quick version ``make test`` runs.

What "the same warehouse" means throughout: every mart has the same row count and the same
order-independent checksum (the sum of its rows' hashes) as after a clean run; every raw table
the same row count and no key twice; the serving file opens and equals a complete build.
"""

from __future__ import annotations

# One module per family; this one gathers them for the suite's runner and the pytest cases.
from .api_faults import api_faults
from .config_and_secrets import bad_configuration, new_secrets, secrets_never_leak
from .crashes import crashes
from .hostile_logs import hostile_files, hostile_logs
from .idempotency import build_lab
from .lab import Lab
from .schema_drift import schema_drift

__all__ = [
    "Lab",
    "api_faults",
    "bad_configuration",
    "build_lab",
    "crashes",
    "hostile_files",
    "hostile_logs",
    "new_secrets",
    "schema_drift",
    "secrets_never_leak",
]
