"""Identities and PEM material that a deployment refers to, loaded once per deployment.

First version: MinIO's own identity. The certificate issue grows this module (PEM loading of
every referenced file, chains, keys) behind the same functions.
"""
from __future__ import annotations

from dataclasses import dataclass

from .identity import ApiKeyError, identity_of_api_key, identity_of_certificate
from .load.envfile import EnvEntry, EnvFile
from .model import Deployment


@dataclass(frozen=True)
class MinioIdentity:
    identity: str
    origin: str
    """`api-key` or `certificate`."""
    env: EnvFile
    entry: EnvEntry
    """The variable it was derived from (the API key or the certificate file)."""
    described_as: str
    """For messages: 'the API key in MINIO_KMS_KES_API_KEY' or the certificate file path."""


def _certificate_identity(deployment: Deployment, env: EnvFile, entry: EnvEntry) -> str | None:
    from cryptography import x509

    path = deployment.resolve(entry.value, env.source)
    try:
        data = path.read_bytes() if path.is_file() and path.stat().st_size < 1 << 20 else None
    except OSError:
        return None
    if data is None:
        return None
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    leaves = []
    for cert in chain:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            leaves.append(cert)
    return identity_of_certificate(leaves[0]) if len(leaves) == 1 else None


def minio_identities(deployment: Deployment) -> list[MinioIdentity]:
    """The KES identity each MinIO env file in the deployment authenticates with, when computable."""

    def compute() -> list[MinioIdentity]:
        found = []
        for env in deployment.envs:
            api_key = env.get("MINIO_KMS_KES_API_KEY")
            cert = env.get("MINIO_KMS_KES_CERT_FILE")
            if api_key is not None and api_key.value:
                try:
                    found.append(MinioIdentity(identity_of_api_key(api_key.value), "api-key", env, api_key,
                                               "the API key in MINIO_KMS_KES_API_KEY"))
                except ApiKeyError:
                    pass
            elif cert is not None and cert.value:
                identity = _certificate_identity(deployment, env, cert)
                if identity:
                    found.append(MinioIdentity(identity, "certificate", env, cert, cert.value))
        return found

    return deployment.memo("minio_identities", compute)
