"""Real certificates and keys for tests, made with `cryptography` at test time.

Validity is always relative to now (or to an explicit `now`), so no test expires.
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def new_key(kind: str = "ec256"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    raise ValueError(kind)


@dataclass
class Issued:
    certificate: x509.Certificate
    key: object

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: bytes | None = None, fmt: str = "pkcs8") -> bytes:
        encoding = serialization.Encoding.PEM
        formats = {"pkcs8": serialization.PrivateFormat.PKCS8,
                   "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL,
                   "sec1": serialization.PrivateFormat.TraditionalOpenSSL}
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        return self.key.private_bytes(encoding, formats[fmt], encryption)

    def write(self, directory: Path, name: str, password: bytes | None = None, key_format: str = "pkcs8",
              key_mode: int = 0o600) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(self.cert_pem())
        key_path.write_bytes(self.key_pem(password, key_format))
        os.chmod(key_path, key_mode)
        return cert_path, key_path


def _signing_hash(key):
    return None if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()


def issue(common_name: str, *, issuer: Issued | None = None, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
          ca: bool = False, key_kind: str = "ec256", days: float = 365, not_before_days: float = -1,
          now: dt.datetime | None = None, eku: tuple[str, ...] | None = None, signature_hash=None,
          path_length: int | None = None, permitted: tuple[str, ...] = (), excluded: tuple[str, ...] = (),
          other_names: tuple[str, ...] = (), critical_oid: str | None = None) -> Issued:
    """A certificate valid from now+not_before_days for `days` days; self-signed without `issuer`. `permitted` and
    `excluded`: name constraints, `DNS:name`, `IP:network`, `email:domain`, `URI:domain` or `DirName:O=org`;
    `other_names`: more SANs, `email:address` or `URI:uri`; `critical_oid`: a critical extension of that OID."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = new_key(key_kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=not_before_days))
        .not_valid_after(now + dt.timedelta(days=not_before_days + days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    )
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips] + [
        _general_name(n) for n in other_names]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    if permitted or excluded:
        builder = builder.add_extension(x509.NameConstraints([_general_name(n) for n in permitted] or None,
                                                             [_general_name(n) for n in excluded] or None),
                                        critical=True)
    if critical_oid:
        builder = builder.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(critical_oid), b"\x05\x00"),
                                        critical=True)
    if eku:
        oids = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH,
                "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
        builder = builder.add_extension(x509.ExtendedKeyUsage([oids[e] for e in eku]), critical=False)
    signer = issuer.key if issuer else key
    algorithm = signature_hash if signature_hash is not None else _signing_hash(signer)
    return Issued(builder.sign(signer, algorithm), key)


def _general_name(text: str):
    kind, _, value = text.partition(":")
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_network(value))
    if kind == "DirName":
        attribute, _, organization = value.partition("=")
        return x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]))
    return {"DNS": x509.DNSName, "email": x509.RFC822Name, "URI": x509.UniformResourceIdentifier}[kind](value)


def version_1(common_name: str, *, issuer: Issued | None = None) -> Issued:
    """A version 1 certificate (no extensions at all, as `openssl x509 -req` without an extension file makes), with
    an EC P-256 key: cryptography builds only version 3, so the version field is cut out of the signed part, which
    is signed again."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    key = new_key()
    signer = issuer.key if issuer else key
    now = dt.datetime.now(dt.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.certificate.subject if issuer else subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
             .sign(signer, hashes.SHA256()))
    certificate = _signed_again(built, bytes.fromhex("a003020102"), b"", signer)  # [0] EXPLICIT INTEGER 2: version 3
    assert certificate.version is x509.Version.v1
    return Issued(certificate, key)


def negative_serial(common_name: str) -> Issued:
    """A self-signed certificate with a negative serial number (EC P-256), which cryptography will not build."""
    return with_negative_serial(issue(common_name))


def with_negative_serial(issued: Issued, issuer: Issued | None = None) -> Issued:
    """`issued` with the serial number -32477, signed again by `issuer` (itself when None)."""
    serial = issued.certificate.serial_number
    content = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
    old = bytes([0x02, len(content)]) + content
    certificate = _signed_again(issued.certificate, old, bytes.fromhex("02028123"), (issuer or issued).key)
    return Issued(certificate, issued.key)


def _signed_again(built: x509.Certificate, old: bytes, new: bytes, signer) -> x509.Certificate:
    """`built` with the first `old` bytes of its signed part replaced by `new`, signed again by `signer` (EC or RSA)."""
    tbs = built.tbs_certificate_bytes
    header = 2 + (tbs[1] & 0x7F if tbs[1] & 0x80 else 0)
    body = tbs[header:]
    assert old in body
    tbs = _der(0x30, body.replace(old, new, 1))
    if isinstance(signer, rsa.RSAPrivateKey):
        from cryptography.hazmat.primitives.asymmetric import padding

        algorithm = _der(0x30, bytes.fromhex("06092a864886f70d01010b0500"))  # sha256WithRSAEncryption
        signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    else:
        algorithm = _der(0x30, bytes.fromhex("06082a8648ce3d040302"))  # ecdsa-with-SHA256
        signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography's about a negative serial number
        return x509.load_der_x509_certificate(_der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature)))


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def new_api_key() -> str:
    seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return "kes:v1:" + base64.b64encode(b"\x00" + seed).decode()


def with_sha1_signature(issued: Issued, issuer: Issued) -> Issued:
    """`issued` re-signed by `issuer` (RSA) with SHA-1, which cryptography no longer builds itself.

    sha256WithRSAEncryption and sha1WithRSAEncryption OIDs have the same length and the signature
    keeps the key's length, so the DER is patched in place.
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    sha256_rsa, sha1_rsa = bytes.fromhex("2a864886f70d01010b"), bytes.fromhex("2a864886f70d010105")
    der = issued.certificate.public_bytes(serialization.Encoding.DER).replace(sha256_rsa, sha1_rsa)
    tbs = issued.certificate.tbs_certificate_bytes.replace(sha256_rsa, sha1_rsa)
    signature = issuer.key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    return Issued(x509.load_der_x509_certificate(der[: -len(signature)] + signature), issued.key)
