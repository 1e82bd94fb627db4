"""The demo's local certificate authority: TLS for the simulated vendors' API (and any other
demo server), so the pipelines verify a certificate as they would against a real service.

The CA and one server certificate (for ``localhost`` and ``127.0.0.1``) are made with the
``openssl`` command line on first use and kept under ``<home>/tls``: ``ca.pem`` is the bundle a
client trusts, ``server.pem``/``server.key`` what the server presents. Private keys are
owner-only. Nothing here is meant for a real deployment: there, the service's own certificate
is used and the client trusts the CA that signed it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import DemoError

log = logging.getLogger(__name__)

# The names the server certificate is valid for: the demo servers listen on the loopback.
SERVER_NAMES = "DNS:localhost,IP:127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    """A CA bundle and the server certificate and key it signed."""

    ca_bundle: Path
    certificate: Path
    key: Path


def local_ca(folder: Path) -> TlsFiles:
    """The demo CA and server certificate in ``folder``, created if missing."""
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    if all(path.exists() for path in (files.ca_bundle, files.certificate, files.key)):
        return files
    if shutil.which("openssl") is None:
        raise DemoError(
            "the demo serves its API over HTTPS with a local CA made by the `openssl` command, "
            "which is not installed: apt-get install openssl"
        )
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    ca_key = folder / "ca.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-keyout", ca_key, "-out", files.ca_bundle, "-subj", "/CN=GlobalRetail demo CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    request = folder / "server.csr"
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", files.key,
        "-out", request, "-subj", "/CN=localhost",
    )  # fmt: skip
    extensions = folder / "server.ext"
    extensions.write_text(
        f"subjectAltName={SERVER_NAMES}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", request, "-CA", files.ca_bundle, "-CAkey", ca_key,
        "-CAcreateserial", "-sha256", "-days", "825", "-extfile", extensions,
        "-out", files.certificate,
    )  # fmt: skip
    for path in (ca_key, files.key):
        path.chmod(0o600)
    log.info("demo CA and server certificate created in %s", folder)
    return files


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DemoError(f"openssl {args[0]} failed: {result.stderr.strip()}")
