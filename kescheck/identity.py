"""KES identities, computed exactly as `kes identity of` does (reference §2)."""
from __future__ import annotations

import base64
import binascii
import re

API_KEY_PREFIX = "kes:v1:"
PLAY_IDENTITY = "3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[0-9A-Za-z_-]{1,80}$")


class ApiKeyError(ValueError):
    """An API key that cannot be decoded. The message never contains the key."""


def is_identity_hash(text: str) -> bool:
    return bool(_HEX64.match(text))


def is_valid_name(text: str) -> bool:
    """KES's rule for identity, policy and key names: 1-80 of [0-9A-Za-z_-], no edge hyphen, not `_`."""
    return bool(_NAME.match(text)) and not text.startswith("-") and not text.endswith("-") and text != "_"


def identity_of_public_key_der(spki_der: bytes) -> str:
    import hashlib  # only with certificates to hash: loading OpenSSL's hashes is ~3 ms of start-up otherwise

    return hashlib.sha256(spki_der).hexdigest()


def identity_of_certificate(certificate) -> str:
    """`certificate` is a `cryptography.x509.Certificate`: SHA-256 of its SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization

    der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return identity_of_public_key_der(der)


def api_key_seed(api_key: str) -> bytes:
    """The Ed25519 seed of a KES API key: `kes:v1:` (which MinIO and KES take as optional) and base64 of 33 bytes."""
    text = api_key.strip()
    text = text[len(API_KEY_PREFIX):] if text.startswith(API_KEY_PREFIX) else text
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiKeyError("not valid base64 after the optional 'kes:v1:'") from None
    if len(raw) != 33:
        raise ApiKeyError(f"invalid length: the key decodes to {len(raw)} bytes, not 33")
    if raw[0] != 0:
        raise ApiKeyError("unsupported type: only Ed25519 keys (type byte 0) exist")
    return raw[1:]


def api_key_private_key(api_key: str):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(api_key_seed(api_key))


def identity_of_api_key(api_key: str) -> str:
    from cryptography.hazmat.primitives import serialization

    public = api_key_private_key(api_key).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return identity_of_public_key_der(der)


def looks_like_api_key(text: str) -> bool:
    """A KES API key: `kes:v1:` and its key, or the key alone (MinIO and KES take the prefix as optional)."""
    text = text.strip()
    if text.startswith(API_KEY_PREFIX):
        return True
    try:
        api_key_seed(text)
    except ApiKeyError:
        return False
    return True
