"""TLS as MinIO does it: its client certificate (or one derived from its API key), its trust set,
host-name checking, TLS >= 1.2; and handshake failures named by cause."""
from __future__ import annotations

import datetime as dt
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..identity import ApiKeyError, api_key_private_key, identity_of_api_key
from ..load.source import InputError, check_readable_file, read_bytes
from ..material import material, minio_identities
from ..rules import doctor as doc
from .checks import Check
from ..minio_names import API_KEY, CAPATH, CERT_FILE, KEY_FILE, KEY_PASSWORD
from .minio import MinioSettings

_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.S)
MAX_CA_FILES = 1000

# OpenSSL X509_V_ERR_* codes that ssl.SSLCertVerificationError carries
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21, 27, 28}
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = {62, 64}


@dataclass
class ClientTls:
    """Everything needed to connect to KES the way MinIO does."""

    context: ssl.SSLContext
    """Verifies the server (unless --insecure) and presents MinIO's client certificate."""
    inspect_context: ssl.SSLContext
    """Same client certificate, no verification: to look at what a failing server presents."""
    has_client_cert: bool
    identity: str | None
    identity_source: str
    """Where the identity comes from, for advice ('the API key in MINIO_KMS_KES_API_KEY', a file path)."""
    trusted: str
    """What verifies KES besides the system roots, for messages: 'MINIO_KMS_KES_CAPATH (path)', MinIO's
    certs/CAs directory, or '' for the system roots alone."""
    insecure: bool


def _new_context(verify: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    # Verify as Go's crypto/x509 does for MinIO: the subject CN never stands in for a SAN, and any certificate
    # in the trust set (an intermediate CA alone in MINIO_KMS_KES_CAPATH) is a trust anchor.
    context.hostname_checks_common_name = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _self_signed_pem(api_key: str) -> tuple[bytes, bytes]:
    """A certificate for the API key's Ed25519 key pair, as a KES client with an API key presents."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = api_key_private_key(api_key)
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity_of_api_key(api_key))])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=90))
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .sign(key, None))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _load_api_key_certificate(contexts: list[ssl.SSLContext], api_key: str) -> None:
    cert_pem, key_pem = _self_signed_pem(api_key)
    # ssl loads key pairs from files only: a private directory that lives for this call alone.
    with tempfile.TemporaryDirectory(prefix="kescheck-") as directory:
        cert_path, key_path = Path(directory) / "client.crt", Path(directory) / "client.key"
        cert_path.write_bytes(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        for context in contexts:
            context.load_cert_chain(cert_path, key_path)


def _ssl_reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or str(err)
    return str(reason).replace("_", " ").lower()


def _credentials(settings: MinioSettings, contexts: list[ssl.SSLContext], check: Check) -> tuple[bool, str | None, str]:
    api_key = settings.value(API_KEY)
    cert_file, key_file = settings.value(CERT_FILE), settings.value(KEY_FILE)
    if api_key:
        check.anchor = API_KEY
        try:
            identity = identity_of_api_key(api_key)
            _load_api_key_certificate(contexts, api_key)
        except ApiKeyError as err:
            check.fail(doc.CREDENTIALS_UNUSABLE, f"MINIO_KMS_KES_API_KEY is not a usable KES API key: {err}")
            return False, None, ""
        except (ssl.SSLError, OSError) as err:
            check.fail(doc.CREDENTIALS_UNUSABLE, f"cannot use a certificate for the API key: {_ssl_reason(err)}")
            return False, None, ""
        check.ok(f"API key from MINIO_KMS_KES_API_KEY; identity {identity}")
        return True, identity, "the API key in MINIO_KMS_KES_API_KEY"
    if cert_file and key_file:
        check.anchor = CERT_FILE
        deployment = settings.deployment
        cert_path = deployment.resolve(cert_file, settings.env.source)
        key_path = deployment.resolve(key_file, settings.env.source)
        password = settings.value(KEY_PASSWORD)
        for setting, path in ((CERT_FILE, cert_path), (KEY_FILE, key_path)):
            try:
                check_readable_file(path)  # before OpenSSL opens it: a FIFO would block the doctor for good
            except InputError as err:
                check.fail(doc.CREDENTIALS_UNUSABLE, f"{setting} {path}: {err.reason}")
                return False, None, ""
        try:
            for context in contexts:
                # A callable, never None: without a password OpenSSL would ask for one on the terminal and wait.
                context.load_cert_chain(cert_path, key_path, password=lambda: password.encode())
        except PermissionError:
            check.fail(doc.CREDENTIALS_UNUSABLE, f"{KEY_FILE} {key_path} or {CERT_FILE} {cert_path}: permission "
                                                 "denied for the current user")
            return False, None, ""
        except (ssl.SSLError, OSError, ValueError) as err:
            encrypted = not password and _is_encrypted_key(key_path)
            check.fail(doc.CREDENTIALS_UNUSABLE,
                       f"the private key {key_file} is encrypted and {KEY_PASSWORD} is not set" if encrypted else
                       f"cannot load the client certificate {cert_file} with key {key_file}: {_ssl_reason(err)}")
            return False, None, ""
        found = next((i for i in minio_identities(deployment) if i.origin == "certificate"), None)
        identity = found.identity if found else None
        check.ok(f"client certificate {cert_file}; identity {identity or 'unknown (no single leaf certificate)'}")
        return True, identity, cert_file
    check.fail(doc.SETTINGS_INCOMPLETE, "no authentication method: set MINIO_KMS_KES_API_KEY, or "
                                        "MINIO_KMS_KES_CERT_FILE and MINIO_KMS_KES_KEY_FILE")
    return False, None, ""


def _is_encrypted_key(path: Path) -> bool:
    try:
        text = read_bytes(path).decode("utf-8", errors="replace")
    except InputError:
        return False
    return "ENCRYPTED" in text


def _trusted_pem(path: Path) -> tuple[str, int, int]:
    """(PEM certificates, files read, files unreadable) of a CA file or directory, as MinIO loads it."""
    files = sorted(p for p in path.iterdir() if p.is_file())[:MAX_CA_FILES] if path.is_dir() else [path]
    blocks: list[str] = []
    unreadable = 0
    for file in files:
        try:
            text = read_bytes(file).decode("utf-8", errors="replace")
        except InputError:
            unreadable += 1
            continue
        blocks += _PEM_CERTIFICATE.findall(text)
    return "\n".join(blocks), len(files) - unreadable, unreadable


def _trust(settings: MinioSettings, context: ssl.SSLContext, check: Check) -> str:
    check.anchor = CAPATH
    context.load_default_certs()
    capath = settings.value(CAPATH)
    if not capath:
        return _certs_dir_roots(settings, context, check)
    path = settings.deployment.resolve(capath, settings.env.source)
    if not path.exists() or not os.access(path, os.R_OK):
        check.warn(doc.CAPATH_IGNORED, f"{capath} {'does not exist' if not path.exists() else 'is not readable'}: "
                                       "MinIO silently falls back to the system roots")
        return ""
    pem, read, unreadable = _trusted_pem(path)
    where = f"MINIO_KMS_KES_CAPATH ({capath})"
    if not pem:
        check.fail(doc.CAPATH_EMPTY, f"{capath} holds no PEM certificate: MinIO refuses to start")
        return where
    count, skipped = _load_blocks(context, pem)
    if not count:
        check.fail(doc.CAPATH_EMPTY, f"{capath}: none of its {skipped} certificate block(s) parses")
        return where
    note = f"; {unreadable} unreadable file(s) skipped, as MinIO does" if unreadable else ""
    note += f"; {skipped} block(s) that do not parse passed over, as MinIO does" if skipped else ""
    check.ok(f"{count} CA certificate(s) from {capath}{note}")
    return where


def _load_blocks(context: ssl.SSLContext, pem: str) -> tuple[int, int]:
    """(loaded, passed over): MinIO adds the CERTIFICATE blocks that parse, one by one, and passes over the others
    (Go's AppendCertsFromPEM), so one bad block does not cost the good ones."""
    loaded = skipped = 0
    for block in _PEM_CERTIFICATE.findall(pem):
        try:
            context.load_verify_locations(cadata=block)
            loaded += 1
        except ssl.SSLError:
            skipped += 1
    return loaded, skipped


def _certs_dir_roots(settings: MinioSettings, context: ssl.SSLContext, check: Check) -> str:
    """Without MINIO_KMS_KES_CAPATH MinIO adds its `<certs-dir>/CAs` to the system roots; a certificate there
    that does not parse is passed over, as Go's AppendCertsFromPEM does."""
    side = next(iter(material(settings.deployment).minio), None)
    cas = side.certs_cas if side is not None else None
    if settings.env.defined(CAPATH):
        check.ok("MINIO_KMS_KES_CAPATH is set but empty: MinIO verifies KES against the system roots alone")
        return ""
    if cas is None:
        unnamed = ("neither MINIO_OPTS nor MinIO's unit names a --certs-dir" if settings.unit is not None else
                   "MINIO_OPTS names no --certs-dir")
        check.ok("MINIO_KMS_KES_CAPATH is not set: the system roots verify KES (MinIO adds its certs/CAs "
                 f"directory, which kescheck does not know: {unnamed})")
        return ""
    if not cas.path.is_dir() or not os.access(cas.path, os.R_OK | os.X_OK):
        check.ok(f"MINIO_KMS_KES_CAPATH is not set and {cas.path} cannot be read here: the system roots verify KES")
        return ""
    pem, _, unreadable = _trusted_pem(cas.path)
    count, _ = _load_blocks(context, pem)
    note = f"; {unreadable} unreadable file(s) skipped, as MinIO does" if unreadable else ""
    check.ok(f"MINIO_KMS_KES_CAPATH is not set: the system roots and {count} CA certificate(s) from {cas.path} "
             f"({cas.setting}) verify KES{note}")
    return f"the system roots and {cas.path} (MINIO_KMS_KES_CAPATH is not set)"


def client_tls(settings: MinioSettings, insecure: bool, credentials: Check, trust: Check) -> ClientTls:
    context = _new_context(verify=not insecure)
    inspect = _new_context(verify=False)
    has_cert, identity, source = _credentials(settings, [context, inspect], credentials)
    trusted = _trust(settings, context, trust) if not insecure else ""
    if insecure:
        trust.warn(doc.VERIFICATION_DISABLED, "--insecure: the KES certificate is NOT verified; "
                                              "this run cannot tell whether MinIO trusts KES")
    return ClientTls(context, inspect, has_cert, identity, source, trusted, insecure)


@dataclass
class ServedCertificate:
    subject: str
    issuer: str
    names: list[str]
    not_before: dt.datetime
    not_after: dt.datetime
    self_signed: bool

    def describe(self) -> str:
        return (f"subject {self.subject}, issuer {self.issuer}, SANs {', '.join(self.names) or 'none'}, "
                f"valid {self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}")


def served_certificate(der: bytes | None) -> ServedCertificate | None:
    if not der:
        return None
    from cryptography import x509

    try:
        certificate = x509.load_der_x509_certificate(der)
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
            names += [f"IP:{n}" for n in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            names = []
        return ServedCertificate(certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string(), names,
                                 certificate.not_valid_before_utc, certificate.not_valid_after_utc,
                                 certificate.subject == certificate.issuer)
    except ValueError:
        return None


@dataclass(frozen=True)
class HandshakeFailure:
    rule: object
    summary: str
    advice: str = ""


CLIENT_CERT_ALERTS = ("certificate required", "bad certificate", "unknown ca", "certificate expired",
                      "certificate unknown", "access denied", "unsupported certificate", "certificate revoked")


def client_certificate_refusal(err: ssl.SSLError, tls: ClientTls) -> HandshakeFailure | None:
    """KES aborting the handshake over MinIO's client certificate (seen at handshake or first read in TLS 1.3)."""
    reason = _ssl_reason(err)
    if "alert" not in reason and "certificate required" not in reason:
        return None
    if not any(alert in reason for alert in CLIENT_CERT_ALERTS) and not ("handshake failure" in reason and not tls.has_client_cert):
        return None
    if not tls.has_client_cert or "certificate required" in reason:
        return HandshakeFailure(doc.CLIENT_CERT_REFUSED,
                                f"KES aborted the TLS handshake ({reason}): it requires a client certificate"
                                f"{' and MinIO has none that kescheck could load' if not tls.has_client_cert else ''}")
    return HandshakeFailure(doc.CLIENT_CERT_REFUSED,
                            f"KES rejected MinIO's client certificate in the handshake ({reason})",
                            "KES verifies client certificates (`tls.auth: on`, or KES <= 2023-09-28 without "
                            "--auth=off): issue MinIO's certificate from KES's tls.ca with the clientAuth usage, "
                            "or set `tls.auth: off` and rely on the identity in the policy")


def classify_verification(err: ssl.SSLCertVerificationError, host: str, tls: ClientTls,
                          served: ServedCertificate | None, now: dt.datetime) -> HandshakeFailure:
    """Why MinIO's verification of the KES certificate fails, as Go words it first: Go checks the certificate's dates
    before its host names and its chain, where OpenSSL names a host or issuer problem first."""
    failure = _verification_failure(err, host, tls, served, now)
    if served is not None and served.not_after < now and failure.rule in (doc.HOST_NOT_IN_SAN, doc.UNKNOWN_CA):
        return HandshakeFailure(doc.CERT_EXPIRED,
                                f"the KES server certificate expired on {served.not_after:%Y-%m-%d %H:%M} UTC (MinIO "
                                f"reports that first: `x509: certificate has expired or is not yet valid`); it also "
                                f"fails otherwise: {failure.summary}",
                                "Issue a new KES certificate that fixes both" + (f": {failure.advice}" if failure.advice
                                                                                 else ""))
    return failure


def _verification_failure(err: ssl.SSLCertVerificationError, host: str, tls: ClientTls,
                          served: ServedCertificate | None, now: dt.datetime) -> HandshakeFailure:
    code = getattr(err, "verify_code", 0)
    seen = f" (KES presents {served.describe()})" if served else ""
    if code in _NAME_MISMATCH:
        names = ", ".join(served.names) if served and served.names else "no DNS/IP SAN at all"
        return HandshakeFailure(doc.HOST_NOT_IN_SAN,
                                f"the KES certificate is not valid for host {host}: it names {names}",
                                f"Issue the KES certificate with {'IP' if ':' in host or host.replace('.', '').isdigit() else 'DNS'}"
                                f":{host} in its SANs, or use a host name it lists in MINIO_KMS_KES_ENDPOINT")
    if code == _EXPIRED and served and served.not_after >= now:
        return HandshakeFailure(doc.CERT_EXPIRED,
                                f"a CA certificate in the KES certificate's chain has expired (the server certificate "
                                f"itself is valid until {served.not_after:%Y-%m-%d}; it is issued by {served.issuer})",
                                "Renew the expired CA certificate: an intermediate CA that KES serves after its "
                                "certificate in tls.cert, or the CA in MINIO_KMS_KES_CAPATH; then restart KES or MinIO")
    if code == _EXPIRED or (served and served.not_after < now and code not in _UNKNOWN_ISSUER):
        when = f" on {served.not_after:%Y-%m-%d %H:%M} UTC" if served else ""
        return HandshakeFailure(doc.CERT_EXPIRED, f"the KES server certificate expired{when}{seen}")
    if code == _NOT_YET_VALID:
        return HandshakeFailure(doc.CERT_EXPIRED, f"the KES server certificate is not valid yet{seen}",
                                "Check the clocks of both hosts (NTP) and the certificate's notBefore")
    if code in _UNKNOWN_ISSUER:
        where = tls.trusted or "the system roots (MINIO_KMS_KES_CAPATH is not set or not readable)"
        issuer = f"; it is issued by {served.issuer}{' (self-signed)' if served.self_signed else ''}" if served else ""
        advice = ""
        if served and not served.self_signed:
            advice = (f"Set MINIO_KMS_KES_CAPATH to the CA certificate that issued the KES certificate ({served.issuer}) "
                      "or to its root CA, and restart MinIO. If that issuer is an intermediate CA, KES must serve it: "
                      "KES's tls.cert file holds the server certificate followed by its intermediate certificate(s)")
        return HandshakeFailure(doc.UNKNOWN_CA, f"the KES certificate is signed by an unknown authority for "
                                                f"{where}{issuer}", advice)
    return HandshakeFailure(doc.HANDSHAKE_FAILED, f"certificate verification failed: {err.verify_message}{seen}")
