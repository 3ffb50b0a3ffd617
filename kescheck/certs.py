"""X.509 facts judged the way Go's crypto/tls and crypto/x509 (MinIO, KES) judge them.

Host names: SANs only (the CN is ignored), `*` only as the whole left-most label matching
exactly one label, IP literals only against IP SANs. Chains: an issuer must carry CA:TRUE
(or be a v1 certificate) and keyCertSign when it has a key usage; a certificate that is
itself in the trust set is trusted as it is.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
MAX_CHAIN_DEPTH = 8


def _x509():
    from cryptography import x509

    return x509


def subject_text(certificate) -> str:
    try:
        return certificate.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unreadable subject)"


def issuer_text(certificate) -> str:
    try:
        return certificate.issuer.rfc4514_string() or "(empty issuer)"
    except ValueError:
        return "(unreadable issuer)"


def der_of(certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.DER)


def fingerprint_sha256(certificate) -> str:
    """What `openssl x509 -fingerprint -sha256` prints (without colons, lower case): NOT a KES identity."""
    import hashlib  # only with a certificate to hash: loading OpenSSL's hashes is ~3 ms of start-up otherwise

    return hashlib.sha256(der_of(certificate)).hexdigest()


@dataclass(frozen=True)
class SubjectNames:
    dns: tuple[str, ...]
    ips: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.dns or self.ips)

    def describe(self) -> str:
        parts = [f"DNS:{d}" for d in self.dns] + [f"IP:{i}" for i in self.ips]
        return ", ".join(parts) if parts else "no DNS or IP names"


def subject_names(certificate) -> SubjectNames:
    x509 = _x509()
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return SubjectNames((), ())
    return SubjectNames(tuple(san.get_values_for_type(x509.DNSName)),
                        tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)))


def _ip(text: str):
    """The address, an IPv4-mapped IPv6 one (`::ffff:10.0.0.5`) as its IPv4 address: Go's net.IP.Equal takes the two
    for one address when it matches an endpoint against IP SANs."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _dns_matches(pattern: str, host: str) -> bool:
    """Go's matching of a DNS SAN: case-insensitive, one leading `*` label; the host's trailing dot is dropped, the
    pattern's is not (Go takes `kes.example.net.` in a certificate for an invalid name that no host matches)."""
    pattern, host = pattern.lower(), host.lower().rstrip(".")
    if not pattern or not host:
        return False
    if pattern == host:
        return True
    pattern_labels, host_labels = pattern.split("."), host.split(".")
    if len(pattern_labels) != len(host_labels) or pattern_labels[0] != "*" or len(pattern_labels) < 2:
        return False
    return bool(host_labels[0]) and pattern_labels[1:] == host_labels[1:]


def host_covered(host: str, names: SubjectNames) -> bool:
    address = _ip(host)
    if address is not None:
        return any(_ip(ip) == address for ip in names.ips)
    return any(_dns_matches(pattern, host) for pattern in names.dns)


def is_loopback_host(host: str) -> bool:
    address = _ip(host)
    if address is not None:
        return address.is_loopback
    host = host.lower().rstrip(".")
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


def loopback_only(names: SubjectNames) -> bool:
    return bool(names) and all(is_loopback_host(n) for n in names.dns + names.ips)


def valid_from(certificate) -> dt.datetime:
    return certificate.not_valid_before_utc


def valid_until(certificate) -> dt.datetime:
    return certificate.not_valid_after_utc


def lifetime_days(certificate) -> float:
    return (valid_until(certificate) - valid_from(certificate)).total_seconds() / 86400


def signed_by(certificate, issuer) -> bool:
    """The issuer's name and key match `certificate`'s issuer name and signature."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        certificate.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False


def is_self_signed(certificate) -> bool:
    return signed_by(certificate, certificate)


def can_sign_certificates(certificate) -> bool:
    """Go's rule for a parent: CA:TRUE (or a v1 certificate), and keyCertSign when a key usage exists."""
    x509 = _x509()
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        ca = constraints.ca
    except x509.ExtensionNotFound:
        ca = certificate.version is x509.Version.v1
    except ValueError:
        return False
    if not ca:
        return False
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        return usage.key_cert_sign
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class ChainResult:
    trusted: bool
    reason: str = ""
    """Why not, in one clause."""


MAX_CHAIN_STEPS = 100
"""Certificates the chain search steps through at most (Go gives up after 100 signature checks)."""


def chain_to(leaf, intermediates: list, anchors: list) -> ChainResult:
    """Whether `leaf` chains to one of `anchors`, through `intermediates` (the rest of its file). Every candidate
    parent is tried, as Go's chain building tries them (a cross-signed copy of an intermediate whose root is not
    trusted does not hide the copy the trusted root signed); the reason names the first place the search got stuck."""
    anchor_ders = {der_of(a) for a in anchors}
    if der_of(leaf) in anchor_ders:
        return ChainResult(True)
    candidates = list(anchors) + [c for c in intermediates if der_of(c) not in anchor_ders]
    seen = {"same name": False, "cannot sign": False, "steps": 0}
    stuck: list = []

    def reaches_an_anchor(current, visited: frozenset, depth: int) -> bool:
        seen["steps"] += 1  # cross-signed copies could make the paths countless: bounded, as Go bounds its search
        if depth < MAX_CHAIN_DEPTH and seen["steps"] <= MAX_CHAIN_STEPS:
            for candidate in candidates:
                if candidate.subject != current.issuer:
                    continue
                seen["same name"] = True
                if not signed_by(current, candidate):
                    continue
                if not can_sign_certificates(candidate):
                    seen["cannot sign"] = True
                    continue
                der = der_of(candidate)
                if der in anchor_ders:
                    return True
                if der not in visited and reaches_an_anchor(candidate, visited | {der}, depth + 1):
                    return True
        if not stuck:
            stuck.append(current)
        return False

    if reaches_an_anchor(leaf, frozenset({der_of(leaf)}), 0):
        return ChainResult(True)
    current = stuck[0]
    weak = weak_signature_hash(current)
    if weak:
        return ChainResult(False, f"'{subject_text(current)}' is signed with {weak}, which Go refuses to verify")
    if seen["cannot sign"]:
        return ChainResult(False, f"the certificate named '{issuer_text(current)}' signed it but may not sign "
                                  "certificates (no CA:TRUE or no keyCertSign key usage)")
    if seen["same name"]:
        return ChainResult(False, f"a certificate named '{issuer_text(current)}' is there, but its key did not "
                                  "sign this certificate (a stale copy from before the certificate was re-issued?)")
    return ChainResult(False, f"no certificate there issued it (its issuer is '{issuer_text(current)}')")


def extended_key_usages(certificate) -> set[str] | None:
    """`serverAuth`/`clientAuth`/`any`/dotted OIDs, or None when the certificate has no EKU extension."""
    x509 = _x509()
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return set()
    names = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
             ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "any"}
    return {names.get(oid, oid.dotted_string) for oid in usage}


def allows_usage(certificate, usage: str) -> bool:
    usages = extended_key_usages(certificate)
    return usages is None or usage in usages or "any" in usages


def key_weakness(public_key) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        return f"an RSA key of {public_key.key_size} bits (at least 2048 are needed)"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.key_size < 256:
        return f"an EC key on {public_key.curve.name} (at least P-256 is needed)"
    if _is_dsa(public_key, dsa):
        return "a DSA key (Go's TLS stack does not support DSA)"
    return None


_GO_CURVES = ("secp224r1", "secp256r1", "secp384r1", "secp521r1")


def unsupported_by_go(public_key) -> str | None:
    """The key of a certificate that Go's TLS stack (KES, MinIO) cannot load as a key pair, in words; None when it
    can (RSA, ECDSA on the NIST curves, Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, x448, x25519

    if _is_dsa(public_key, dsa):
        return "a DSA key"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "an Ed448 key"
    if isinstance(public_key, (x25519.X25519PublicKey, x448.X448PublicKey)):
        return "a key-agreement key that cannot sign"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name not in _GO_CURVES:
        return f"an EC key on {public_key.curve.name} (Go knows P-224, P-256, P-384 and P-521)"
    return None


def _is_dsa(public_key, dsa) -> bool:
    """cryptography 51 warns on every use of its DSA types, and a report must not begin with that warning."""
    import warnings

    from cryptography.utils import CryptographyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return isinstance(public_key, dsa.DSAPublicKey)


def weak_signature_hash(certificate) -> str | None:
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    if algorithm is not None and algorithm.name in ("sha1", "md5"):
        return algorithm.name.upper().replace("SHA1", "SHA-1")
    return None
