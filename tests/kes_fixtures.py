"""pytest fixtures around tests/kes_server.py: a private PKI, KES stand-ins, and broken ports.

Use from a test module with `pytest_plugins = ["tests.kes_fixtures"]` or import the fixtures.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certgen import Issued, issue
from tests.kes_server import Blackhole, KesServer, PlainHttpServer, Policy, identity_of_der_certificate, refused_port

DEFAULT_KEY = "minio-default-key"

MINIO_POLICY_ALLOW = [
    "/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*",
    "/v1/key/describe/minio-*", "/v1/key/list/*", "/v1/status",
]


def identity_of(issued: Issued) -> str:
    from cryptography.hazmat.primitives import serialization

    return identity_of_der_certificate(issued.certificate.public_bytes(serialization.Encoding.DER))


@dataclass
class KesPki:
    """A CA, a KES server certificate for localhost/127.0.0.1, and MinIO and admin client identities."""

    directory: Path
    ca: Issued
    ca_file: Path
    server: Issued
    server_cert: Path
    server_key: Path
    minio: Issued
    minio_cert: Path
    minio_key: Path
    admin: Issued
    admin_cert: Path
    admin_key: Path

    @property
    def minio_identity(self) -> str:
        return identity_of(self.minio)

    @property
    def admin_identity(self) -> str:
        return identity_of(self.admin)

    def server_certificate(self, name: str, **kwargs) -> tuple[Path, Path]:
        """Another KES server certificate from the same CA (e.g. other SANs, expired)."""
        issued = issue("kes", issuer=self.ca, eku=("server",), **kwargs)
        return issued.write(self.directory, name)

    def chained_server_certificate(self, name: str, intermediate_expired: bool = False, served_chain: bool = True,
                                   **kwargs) -> tuple[Path, Path, Path]:
        """A KES certificate issued by an intermediate CA under the root: (cert file, key file, intermediate file).

        The cert file holds leaf + intermediate as a server configures it (`served_chain`), or the leaf alone."""
        intermediate = issue("kescheck intermediate CA", issuer=self.ca, ca=True, days=30 if intermediate_expired else 365,
                             not_before_days=-40 if intermediate_expired else -1)
        leaf = issue("kes", issuer=intermediate, eku=("server",), **kwargs)
        cert, key = leaf.write(self.directory, name)
        if served_chain:
            cert.write_bytes(leaf.cert_pem() + intermediate.cert_pem())
        intermediate_file = self.directory / f"{name}-intermediate.crt"
        intermediate_file.write_bytes(intermediate.cert_pem())
        return cert, key, intermediate_file

    def minio_policy(self, allow=None, deny=(), identities=None) -> dict[str, Policy]:
        return {"minio": Policy(list(MINIO_POLICY_ALLOW if allow is None else allow), list(deny),
                                list(identities or [self.minio_identity]))}

    def env(self, endpoints: str, *, name: str = "minio.env", key_name: str = DEFAULT_KEY, capath: Path | None = None,
            api_key: str | None = None, extra: str = "") -> Path:
        lines = [f"MINIO_KMS_KES_ENDPOINT={endpoints}", f"MINIO_KMS_KES_KEY_NAME={key_name}"]
        if api_key:
            lines.append(f"MINIO_KMS_KES_API_KEY={api_key}")
        else:
            lines += [f"MINIO_KMS_KES_CERT_FILE={self.minio_cert}", f"MINIO_KMS_KES_KEY_FILE={self.minio_key}"]
        lines.append(f"MINIO_KMS_KES_CAPATH={capath or self.ca_file}")
        path = self.directory / name
        path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra), encoding="utf-8")
        return path


def make_pki(directory: Path) -> KesPki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = issue("kescheck test CA", ca=True)
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.cert_pem())
    server = issue("kes", issuer=ca, dns=("localhost",), ips=("127.0.0.1", "::1"), eku=("server",))
    server_cert, server_key = server.write(directory, "kes-server")
    minio = issue("minio", issuer=ca, eku=("client",))
    minio_cert, minio_key = minio.write(directory, "minio-client")
    admin = issue("admin", key_kind="ed25519")
    admin_cert, admin_key = admin.write(directory, "admin")
    return KesPki(directory, ca, ca_file, server, server_cert, server_key, minio, minio_cert, minio_key,
                  admin, admin_cert, admin_key)


@pytest.fixture
def kes_pki(tmp_path) -> KesPki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def stopper():
    """keep(server) -> server; every kept server is stopped when the test ends."""
    kept: list = []
    yield lambda server: kept.append(server) or server
    for server in kept:
        server.stop()


@pytest.fixture
def kes_server_factory(kes_pki, stopper):
    """start(**KesServer options) -> a running KesServer; defaults: the PKI's server cert, MinIO's policy."""

    def start(cert: Path | None = None, key: Path | None = None, **options) -> KesServer:
        options.setdefault("admin", kes_pki.admin_identity)
        options.setdefault("policies", kes_pki.minio_policy())
        return stopper(KesServer(cert or kes_pki.server_cert, key or kes_pki.server_key, **options).start())

    return start


@pytest.fixture
def kes_server(kes_server_factory) -> KesServer:
    return kes_server_factory()


@pytest.fixture
def blackhole_factory(stopper):
    return lambda: stopper(Blackhole().start())


@pytest.fixture
def plain_http_server(stopper):
    return stopper(PlainHttpServer().start())


@pytest.fixture
def naive_http_server(stopper):
    """A plain HTTP server that waits for a request line, as a TLS ClientHello rarely completes one."""
    return stopper(PlainHttpServer(answers_tls_hello=False).start())


@pytest.fixture
def closed_port() -> int:
    return refused_port()
