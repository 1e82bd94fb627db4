"""Encryption at rest of the DuckDB files: the setting, and why it is refused today.

The key is the secret ``[warehouse] encryption_key`` (``.dlt/secrets.toml`` or env
``WAREHOUSE__ENCRYPTION_KEY``): read through ``dlt.secrets`` so it never lands in dlt's traces,
and never put in a log or a message. DuckDB encrypts a database file with AES-GCM when it is
attached with ``ENCRYPTION_KEY``, but DuckDB 1.5.6 writes encrypted files only with OpenSSL from
the ``httpfs`` extension, which cannot be installed offline, and labels its built-in fallback
(mbedtls) not secure. So with a key configured, every command stops before touching a file, with
DuckDB's own error, instead of silently writing the warehouse in clear.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import WarehouseError

SECRET = "warehouse.encryption_key"


class EncryptionUnavailable(WarehouseError):
    """A key is configured but this DuckDB cannot write encrypted files securely."""


def encryption_key() -> str | None:
    """The configured key, or None (no encryption at rest requested)."""
    import dlt

    value = dlt.secrets.get(SECRET)
    return str(value) if value else None


def check_encryption() -> None:
    """Raise EncryptionUnavailable, with DuckDB's error, if a key is configured and DuckDB
    cannot write an encrypted file with it; do nothing when no key is configured."""
    key = encryption_key()
    if key is None:
        return
    import duckdb

    with tempfile.TemporaryDirectory(prefix="warehouse-encryption-") as folder:
        probe = Path(folder) / "probe.duckdb"
        quoted = key.replace("'", "''")
        try:
            with duckdb.connect() as conn:
                conn.execute(f"attach '{probe}' as probe (encryption_key '{quoted}')")
                conn.execute("create table probe.t as select 1 as x")
        except duckdb.Error as exc:
            reason = str(exc).replace(key, "***")
            raise EncryptionUnavailable(
                f"[warehouse] encryption_key is set, but DuckDB {duckdb.__version__} cannot "
                f"write an encrypted file: {reason} The project does not use the unsafe mode; "
                "unset the key (and encrypt the file system instead) until httpfs can be "
                "installed. Nothing was written."
            ) from None
    raise EncryptionUnavailable(
        f"[warehouse] encryption_key is set and DuckDB {duckdb.__version__} can write encrypted "
        "files, but the warehouse does not attach its files with the key yet: unset it"
    )
