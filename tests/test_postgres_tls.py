"""PostgreSQL over TLS: `[postgres] sslmode = verify-full` against a real server with SSL.

The embedded demo server is built without SSL, so this starts Debian's `postgresql` package
(`make test` installs it) with a certificate from the demo's local CA, accepting only SSL
connections from TCP clients. It never skips: a server that cannot start fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from demo.tls import TlsFiles, local_ca
from warehouse.paths import Paths
from warehouse.postgres_tls import with_tls

pytestmark = pytest.mark.slow

SERVER_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[str, TlsFiles, Path]]:
    """``(URL without TLS parameters, the CA files, a folder for other files)``."""
    if not SERVER_BINARIES:
        pytest.fail(
            "Debian's PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/postgres):"
            " `make test` installs it, or run `apt-get install postgresql`"
        )
    bin_dir = SERVER_BINARIES[-1].parent
    root = Path(tempfile.mkdtemp(prefix="warehouse-pg-tls-"))
    root.chmod(0o755)  # the server's own user must reach its data folder
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tls = local_ca(root / "tls")
    data, sockets = root / "data", root / "sockets"
    for folder in (data, sockets):
        folder.mkdir()
        if as_server:
            shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    try:
        subprocess.run(
            [*as_server, bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
            text=True,
        )
        for name in ("server.pem", "server.key"):
            shutil.copy(root / "tls" / name, data / name)
            (data / name).chmod(0o600)
            if as_server:
                shutil.chown(data / name, "postgres", "postgres")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{sockets}'\nssl = on\n"
                "ssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n"
            )
        # TCP clients must use SSL: a plain connection is turned away by the server itself.
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 trust\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
        subprocess.run(
            [*as_server, bin_dir / "pg_ctl", "-D", data, "-l", data / "server.log", "-w",
             "-t", "60", "start"],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = data / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(
            f"Debian's PostgreSQL ({bin_dir}) did not start with SSL: {exc.stderr}\n{detail}"
        )
    try:
        yield f"postgresql://postgres@localhost:{port}/postgres", tls, root
    finally:
        subprocess.run(
            [*as_server, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _encrypted(dsn: str) -> bool:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        (ssl,) = conn.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()").fetchone()
    return ssl


def test_every_configured_connection_verifies_the_server(
    tls_server: tuple[str, TlsFiles, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, tls, _ = tls_server
    monkeypatch.setenv("POSTGRES__SSLMODE", "verify-full")
    monkeypatch.setenv("POSTGRES__SSLROOTCERT", str(tls.ca_bundle))
    assert _encrypted(with_tls(url))
    assert "sslmode=verify-full" in with_tls(url)
    # Each configured connection of the project goes through the same setting.
    from demo.postgres import configured_dsn
    from warehouse.analytics_endpoint import endpoint_dsn
    from warehouse.reverse_etl import _crm_dsn

    monkeypatch.setenv("SOURCES__SHOP__CREDENTIALS", url)
    monkeypatch.setenv("DESTINATION__CRM__CREDENTIALS", url)
    monkeypatch.setenv("ANALYTICS_ENDPOINT__CREDENTIALS", url)
    paths = Paths(tmp_path)
    for name, dsn in {
        "shop": configured_dsn(),
        "crm": _crm_dsn(paths),
        "analytics endpoint": endpoint_dsn(paths),
    }.items():
        assert dsn is not None and "sslmode=verify-full" in dsn, name
        assert _encrypted(dsn), name


def test_verify_full_refuses_a_server_it_cannot_verify(
    tls_server: tuple[str, TlsFiles, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, tls, root = tls_server
    other = local_ca(root / "other-ca")  # a CA that did not sign the server's certificate
    monkeypatch.setenv("POSTGRES__SSLMODE", "verify-full")
    monkeypatch.setenv("POSTGRES__SSLROOTCERT", str(other.ca_bundle))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _encrypted(with_tls(url))
    # The right CA, but a name the certificate does not carry.
    monkeypatch.setenv("POSTGRES__SSLROOTCERT", str(tls.ca_bundle))
    # (libpq connects to hostaddr and checks the certificate against host.)
    wrong_name = url.replace("@localhost:", "@db.example.com:") + "?hostaddr=127.0.0.1"
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        _encrypted(with_tls(wrong_name))
    # And the server itself refuses a connection without SSL.
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        _encrypted(url + "?sslmode=disable")
