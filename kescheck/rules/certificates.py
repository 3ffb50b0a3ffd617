"""CRT001-CRT199: the certificates and keys a deployment names, read and judged like KES and MinIO do.

Findings stand at the setting that names the file (the KES YAML line or the env line) and
name the file; the file itself has no useful line.
"""
from __future__ import annotations

from dataclasses import replace

from ..findings import Finding, Location, Severity
from ..load.kesconfig import Generation
from ..load.pem import FileState, KeyState, LoadedCertificate, PemFile, plain_file_state
from ..material import (KeyPair, MinioSide, PasswordState, Reference, Role, client_leaf, key_of, leaves, material, pem_of,
                        pods_decide)
from ..minio_names import ENDPOINT
from .base import Example, at_entry, at_file, at_line, at_node, rule
from .env_kms import kes_endpoints

KES_KEY_BLOCKS = ("CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")


def at_reference(ref: Reference, message: str, *, fix: str | None = None,
                 related: tuple[Location, ...] = ()) -> Finding:
    if ref.entry is not None:
        return at_entry(ref.env, ref.entry, message, fix=fix, related=related, source=ref.source)
    return at_node(ref.source, ref.node, message, fix=fix, related=related)


def loaded_references(deployment, want=lambda ref: True):
    """(reference, PEM file) for every reference `want` accepts whose file could be read."""
    for ref, pem in deployment.memo("loaded references", lambda: _loaded_references(deployment)):
        if want(ref):
            yield ref, pem


def _loaded_references(deployment) -> list[tuple[Reference, PemFile]]:
    """Every reference whose file could be read, with it: twenty rules ask, and most batches hold no such file."""
    return [(ref, pem) for ref in material(deployment).references if (pem := pem_of(deployment, ref)).ok]


def certificate_label(ref: Reference, loaded: LoadedCertificate, pem: PemFile) -> str:
    """How a message names one certificate of a reference: a chain's later certificates are not the role's own."""
    from ..certs import subject_text

    if pem.is_directory:
        return f"'{loaded.path.name}' ({subject_text(loaded.certificate)}) in {ref.role.value} {ref.describe()}"
    if len(pem.certificates) > 1:
        return (f"certificate {loaded.index + 1} ({subject_text(loaded.certificate)}) of the file of "
                f"{ref.role.value} {ref.describe()}")
    return f"{ref.role.value} {ref.describe()}"


def server_leaf(deployment) -> tuple[Reference, PemFile, LoadedCertificate] | None:
    """The KES server certificate Go presents: the first one of `tls.cert`.

    When the key belongs to a later certificate of the file (a chain with the CA first), Go refuses the
    pair (CRT006, whose fix is to put that certificate first), so that later one is the certificate KES
    will present once it starts: the SAN and usage rules judge it, not the CA in front of it."""
    from ..load.pem import spki_der

    pair = material(deployment).kes_server
    if pair is None or pair.cert is None:
        return None
    pem = pem_of(deployment, pair.cert)
    if not pem.ok or not pem.certificates:
        return None
    loaded = key_of(deployment, pair) if pair.key is not None else None
    if loaded is not None and loaded.state is KeyState.OK and len(pem.certificates) > 1:
        key_der = loaded.public_der()
        if spki_der(pem.certificates[0].certificate.public_key()) != key_der:
            owner = next((c for c in pem.certificates[1:] if spki_der(c.certificate.public_key()) == key_der), None)
            if owner is not None:
                return pair.cert, pem, owner
    return pair.cert, pem, pem.certificates[0]


def minio_client_chain(deployment, side: MinioSide) -> tuple[Reference, PemFile] | None:
    if side.pair is None or side.pair.cert is None:
        return None
    pem = pem_of(deployment, side.pair.cert)
    return (side.pair.cert, pem) if pem.ok and pem.certificates else None


def at_side(side: MinioSide, message: str, *, fix: str | None = None) -> Finding:
    """At MINIO_KMS_KES_ENDPOINT, else at the top of the env file."""
    if side.endpoint_entry is not None:
        return at_entry(side.env, side.endpoint_entry, message, fix=fix)
    return at_file(side.env.source, message, fix=fix, anchor="MINIO_KMS_KES_ENDPOINT")


# Documented examples: a small working deployment that each example bends in one place.
KES_CONFIG = """\
address: 0.0.0.0:7373
admin:
  identity: disabled
tls:
  key: server.key
  cert: server.crt{tls_extra}
policy:
  minio:
    allow: [/v1/key/create/minio-*, /v1/key/generate/minio-*, /v1/key/decrypt/minio-*]
    identities: [${{identity:client.crt}}]
keystore:
  fs:
    path: /var/lib/kes
"""
MINIO_ENV = """\
MINIO_KMS_KES_ENDPOINT={endpoint}
MINIO_KMS_KES_KEY_NAME=minio-default
MINIO_KMS_KES_CERT_FILE=client.crt
MINIO_KMS_KES_KEY_FILE=client.key
{env_extra}"""
SERVER_CERT = "!cert cn=kes dns=kes.example.net"
AUTH_ON = "\n  auth: on\n  ca: ca.crt"
OLDER_KES = (("kes_version", "0.22.0"),)
OLDER_KES_CA = "\n  ca: ca.crt"
CLIENT_CERT = "!cert cn=minio"


def deployment_example(fails: bool, *, server: str = SERVER_CERT, client: str = CLIENT_CERT,
                       endpoint: str = "https://kes.example.net:7373", env_extra: str = "MINIO_KMS_KES_CAPATH=server.crt\n",
                       tls_extra: str = "", files: tuple[tuple[str, str], ...] = (), note: str = "",
                       options: tuple[tuple[str, object], ...] = ()) -> Example:
    named = dict(files)
    base = [("server.crt", server), ("client.crt", client)]
    base += [("kes-config.yaml", KES_CONFIG.format(tls_extra=tls_extra)),
             ("minio.env", MINIO_ENV.format(endpoint=endpoint, env_extra=env_extra))]
    merged = [(name, named.pop(name, text)) for name, text in base]
    merged = list(named.items()) + merged
    return Example(tuple(merged), fails, note, options)


def encrypted_key_example(fails: bool, password: str | None, key_format: str = "sec1") -> Example:
    """MinIO's key encrypted with the password `secret`; `password` is what the env file sets."""
    extra = "MINIO_KMS_KES_CAPATH=server.crt\n" + (f"MINIO_KMS_KES_KEY_PASSWORD={password}\n" if password else "")
    return deployment_example(fails, env_extra=extra,
                              files=(("client.key", f"!key of=client.crt password=secret format={key_format}"),))


# --- files: present, readable, parsable -------------------------------------------------------------

_MISSING_CONSEQUENCE = {
    Role.MINIO_CAPATH: " (MinIO silently ignores a CAPATH it cannot find and falls back to the system roots)",
    Role.VAULT_JWT: " (KES refuses to start when it cannot read it)",
}


def _absent(deployment):
    for ref in material(deployment).references:
        pem = pem_of(deployment, ref)
        if pem.state is FileState.ABSENT:
            yield ref, pem


def _missing_here(deployment):
    """What CRT001 notes: the certificates and keys that are absent, and the Vault token file (no PEM, so
    outside `_absent`; with --require-files KES107 reports it, not CRT002; where KES's pods tell whether they have
    it, SYS011 does)."""
    yield from (ref for ref, _ in _absent(deployment))
    token = material(deployment).vault_jwt
    if token is not None and plain_file_state(token.path) is FileState.ABSENT and not pods_decide(deployment, token):
        yield token


@rule("CRT001", "file-not-found", Severity.NOTE, "A referenced certificate, key or token file is not here to check",
      rationale="""Certificates, keys and the Vault Kubernetes service account token (`keystore.vault.kubernetes.jwt`
      naming a file) are usually not in the repository with the configs, so lint mode only notes that it could
      not check them. On the host (or with --require-files) a missing file is an error (CRT002; KES107 for the
      token): KES and MinIO refuse to start without their key pair, and KES without the token file.""",
      fix="""Run kescheck where the files are (or give the deployment a base directory in the settings),
      and use --require-files in CI on hosts that hold the files.""",
      examples=(deployment_example(True, env_extra="MINIO_KMS_KES_CAPATH=missing-ca.crt\n"),
                Example.kes("admin: {identity: disabled}\ntls: {key: /etc/kes/server.key, cert: /etc/kes/server.crt}\n"
                            "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n"
                            "    kubernetes: {role: kes, jwt: ./no-such-token}\n", True,
                            note="the service account token file"),
                deployment_example(False)))
def file_not_found(deployment):
    from ..placeholders import ANY_PLACEHOLDER

    if deployment.options.require_files:
        return
    for ref in _missing_here(deployment):
        if ANY_PLACEHOLDER.search(ref.text):
            continue  # a documentation placeholder, not a path: ENV110 and KES206 report it
        yield at_reference(ref, f"{ref.setting} names {ref.describe()}, which does not exist here, so kescheck "
                                f"could not check {ref.role.value}{_MISSING_CONSEQUENCE.get(ref.role, '')}")



@rule("CRT002", "required-file-missing", Severity.ERROR, "A referenced certificate or key file does not exist",
      rationale="""With --require-files (and in the doctor) the files must be where the configs say: KES and
      MinIO refuse to start without their key pair, and MinIO silently ignores a missing CAPATH, after which
      it cannot verify KES.""",
      fix="Put the file at the path the setting names, or correct the path.",
      examples=(replace(deployment_example(True, env_extra="MINIO_KMS_KES_CAPATH=no-such-ca.crt\n"),
                        options=(("require_files", True),)),
                replace(deployment_example(False), options=(("require_files", True),))))
def required_file_missing(deployment):
    if not deployment.options.require_files:
        return
    for ref, pem in _absent(deployment):
        yield at_reference(ref, f"{ref.setting} names {ref.describe()}, which does not exist: "
                                f"{ref.consumer} cannot load {ref.role.value}{_MISSING_CONSEQUENCE.get(ref.role, '')}")


@rule("CRT003", "file-unreadable", Severity.ERROR, "A referenced certificate or key file cannot be read",
      rationale="""A path that is a directory where a file is expected, a FIFO or device, a file larger than
      any certificate, or a file without read permission stops KES or MinIO at start (MinIO silently ignores
      an unreadable CAPATH instead, and then cannot verify KES).""",
      fix="Point the setting at a regular PEM file that the service user can read.",
      examples=(deployment_example(True, files=(("certs/placeholder.pem", "x"),),
                                   env_extra="MINIO_KMS_KES_CAPATH=server.crt\nMINIO_KMS_KES_KEY_FILE=certs\n",
                                   note="the key setting names a directory"),
                deployment_example(False)))
def file_unreadable(deployment):
    for ref in material(deployment).references:
        pem = pem_of(deployment, ref)
        if pem.state is FileState.UNREADABLE:
            yield at_reference(ref, f"{ref.setting} names {ref.describe()}, which cannot be read ({pem.problem})"
                                    f"{_MISSING_CONSEQUENCE.get(ref.role, '')}")


_POOLS_THAT_PASS_OVER = (Role.MINIO_CAPATH, Role.MINIO_CERTS_CAS)
"""MinIO adds the certificates of these that parse and passes over the others (Go's AppendCertsFromPEM)."""


def _unsupported_leaf_key(pem: PemFile) -> str | None:
    from ..certs import unsupported_by_go

    try:
        return unsupported_by_go(pem.certificates[0].certificate.public_key())
    except ValueError:  # a key cryptography cannot read either: other rules say what is wrong with it
        return None


def _malformed_reason(deployment, ref: Reference, pem: PemFile) -> str | None:
    if pem.state is FileState.MALFORMED:
        return pem.problem
    if pem.bad_certificates and not (ref.role in _POOLS_THAT_PASS_OVER and pem.certificates):
        count = pem.bad_certificates
        why = (f" ({'one has' if count > 1 else 'it has'} a negative serial number, which RFC 5280 forbids; "
               "re-issue the certificate)" if pem.negative_serials else "")
        return f"{count} CERTIFICATE block{'s' if count > 1 else ''} in it {'do' if count > 1 else 'does'} not parse{why}"
    labels = sorted(set(pem.labels))
    if ref.role.is_ca and not pem.certificates:
        return f"it holds no certificate (only {', '.join(labels)})"
    if ref.role.is_certificate:
        if not pem.certificates:
            return f"it holds no certificate (only {', '.join(labels)})"
        unsupported = _unsupported_leaf_key(pem)
        if unsupported:
            return (f"its certificate has {unsupported}, which Go's TLS stack cannot load (`tls: failed to parse private "
                    "key` or `x509: unsupported elliptic curve`)")
        if ref.role is Role.KES_SERVER_CERT and set(labels) != {"CERTIFICATE"}:
            others = ", ".join(label for label in labels if label != "CERTIFICATE")
            return f"KES accepts only CERTIFICATE blocks in tls.cert and refuses the {others} block"
    if ref.role.is_key:
        if not pem.key_blocks:
            return f"it holds no private key (only {', '.join(labels)})"
        if ref.role is Role.KES_SERVER_KEY and any(label not in KES_KEY_BLOCKS for label in labels):
            others = ", ".join(label for label in labels if label not in KES_KEY_BLOCKS)
            return f"KES refuses the {others} block in its key file ('unsupported PEM data block')"
        pair = next((p for p in material(deployment).pairs() if p.key is ref), None)
        loaded = key_of(deployment, pair) if pair else None
        if loaded is not None and loaded.state is KeyState.MALFORMED:
            return loaded.problem
    return None


@rule("CRT004", "pem-malformed", Severity.ERROR, "A certificate or key file is not the PEM that KES or MinIO needs",
      rationale="""KES and MinIO read PEM: a file without a PEM block, with broken base64, a certificate that
      does not parse, a certificate file without a certificate, a key file without a key, a certificate whose key
      Go's TLS stack cannot load (DSA, Ed448, an EC curve other than NIST's) or (for KES) a block type it does not
      accept stops the service at start; a CAPATH without a certificate stops MinIO (a block of it
      that does not parse beside others that do MinIO passes over, as Go's AppendCertsFromPEM does).""",
      fix="""Replace the file with the PEM the setting expects: certificates as CERTIFICATE blocks, the key as
      one PRIVATE KEY block (convert DER with `openssl x509 -inform der -in FILE -out FILE.pem`).""",
      examples=(deployment_example(True, files=(("client.crt", "this is not a certificate\n"),)),
                deployment_example(False)))
def pem_malformed(deployment):
    for ref in material(deployment).references:
        pem = pem_of(deployment, ref)
        if pem.state not in (FileState.OK, FileState.MALFORMED):
            continue
        reason = _malformed_reason(deployment, ref, pem)
        if reason:
            fix = (f"Save the PEM in a file only the {ref.consumer} service user can read and set {ref.setting} to "
                   "that file's absolute path." if ref.holds_pem_text else None)
            yield at_reference(ref, f"{ref.setting} names {ref.describe()}, which {ref.consumer} cannot use as "
                                    f"{ref.role.value}: {reason}", fix=fix)


@rule("CRT005", "key-file-extra-data", Severity.ERROR, "MinIO's client key file holds more than one PEM block",
      rationale="""MinIO reads MINIO_KMS_KES_KEY_FILE as exactly one PEM block and refuses to start when
      anything follows it ('private key contains additional data'): a second key, an appended certificate,
      or the EC PARAMETERS block that `openssl ecparam -genkey` writes before the key.""",
      fix="""Keep only the private key block in the file (e.g. `openssl pkey -in KEY -out KEY.clean`).""",
      examples=(deployment_example(True, files=(("client.key", "!key of=client.crt append=client.crt"),),
                                   note="the certificate appended after the key"),
                deployment_example(False)))
def key_file_extra_data(deployment):
    for ref, pem in loaded_references(deployment, lambda r: r.role is Role.MINIO_CLIENT_KEY):
        if len(pem.blocks) > 1 or pem.trailing_data:
            what = ", ".join(pem.labels) if len(pem.blocks) > 1 else f"{pem.labels[0]} followed by other text"
            yield at_reference(ref, f"MINIO_KMS_KES_KEY_FILE names {ref.describe()}, which holds {what}: MinIO "
                                    "refuses a key file with anything after its first PEM block "
                                    "('private key contains additional data')")


def _pairs_with_key(deployment, state: KeyState | None = None):
    for pair in material(deployment).pairs():
        if pair.key is None:
            continue
        loaded = key_of(deployment, pair)
        if loaded is not None and (state is None or loaded.state is state):
            yield pair, loaded


@rule("CRT006", "key-cert-mismatch", Severity.ERROR, "The private key does not belong to the certificate",
      rationale="""Go pairs the key with the first certificate of the certificate file and refuses a key
      that does not match it ('tls: private key does not match public key'): KES or MinIO does not start.
      It happens when one of the two files was re-issued or copied from another host.""",
      fix="""Use the key the certificate was issued for (compare `openssl x509 -noout -pubkey -in CERT` with
      `openssl pkey -pubout -in KEY`), and put the leaf certificate first in a chain file.""",
      examples=(deployment_example(True, files=(("client.key", "!key fresh"),)),
                deployment_example(False)))
def key_cert_mismatch(deployment):
    from ..load.pem import spki_der

    for pair, loaded in _pairs_with_key(deployment, KeyState.OK):
        if pair.cert is None:
            continue
        pem = pem_of(deployment, pair.cert)
        if not pem.ok or not pem.certificates:
            continue
        key_der = loaded.public_der()
        if spki_der(pem.certificates[0].certificate.public_key()) == key_der:
            continue
        later = next((c for c in pem.certificates[1:] if spki_der(c.certificate.public_key()) == key_der), None)
        if later is not None:
            message = (f"the private key {pair.key.describe()} belongs to certificate {later.index + 1} of "
                       f"{pair.cert.describe()}, but Go pairs the key with the first certificate: "
                       f"{pair.cert.consumer} refuses the pair")
            fix = "Put the leaf certificate (the one the key belongs to) first in the certificate file."
        else:
            message = (f"the private key {pair.key.describe()} does not belong to the certificate "
                       f"{pair.cert.describe()}: {pair.cert.consumer} refuses the pair "
                       "('private key does not match public key')")
            fix = None
        yield at_reference(pair.key, message, fix=fix)


def _password_hint(pair: KeyPair) -> str:
    if not pair.password_configurable:
        return "KES has no password setting for a keystore client key"
    if pair.password_state is PasswordState.EMPTY:
        return f"{pair.password_setting} is set but empty"
    return f"no {pair.password_setting} is set"


@rule("CRT007", "key-password-missing", Severity.ERROR, "An encrypted private key has no password configured",
      rationale="""An encrypted PEM key can only be used with its password: KES takes it from `tls.password`,
      MinIO from MINIO_KMS_KES_KEY_PASSWORD. Without one the service refuses to start ('private key is
      encrypted: password required').""",
      fix="""Set the password (`tls.password: ${KES_KEY_PASSWORD}` for KES, MINIO_KMS_KES_KEY_PASSWORD for
      MinIO), or store the key unencrypted with file permissions 0600.""",
      examples=(encrypted_key_example(True, None), encrypted_key_example(False, "secret")))
def key_password_missing(deployment):
    for pair, loaded in _pairs_with_key(deployment, KeyState.NEEDS_PASSWORD):
        yield at_reference(pair.key, f"{pair.key.describe()} is an encrypted private key and {_password_hint(pair)}: "
                                     f"{pair.key.consumer} cannot load it and refuses to start")


@rule("CRT008", "key-password-wrong", Severity.ERROR, "The configured password does not decrypt the private key",
      rationale="""A wrong password stops KES or MinIO at start ('decryption password incorrect'), often
      after the key was re-encrypted or the variable holds a stale value.""",
      fix="Set the password the key was encrypted with, or re-encrypt the key with the configured one.",
      examples=(encrypted_key_example(True, "wrong"), encrypted_key_example(False, "secret")))
def key_password_wrong(deployment):
    for pair, loaded in _pairs_with_key(deployment, KeyState.WRONG_PASSWORD):
        yield at_reference(pair.key, f"the password in {pair.password_setting} does not decrypt the private key "
                                     f"{pair.key.describe()}: {pair.key.consumer} refuses to start")


@rule("CRT009", "key-encryption-unsupported", Severity.ERROR, "The private key is PKCS#8-encrypted",
      rationale="""KES and MinIO decrypt only the legacy PEM encryption (a block with `Proc-Type: 4,ENCRYPTED`).
      A PKCS#8 `ENCRYPTED PRIVATE KEY` block is handed to the key parser undecrypted and fails ('failed to
      parse private key'), whatever the password.""",
      fix="""Store the key unencrypted with permissions 0600 (`openssl pkey -in KEY -out KEY.plain`), or
      re-encrypt it in the legacy form (`openssl rsa|ec -in KEY -aes256 -traditional -out KEY.enc`).""",
      examples=(encrypted_key_example(True, "secret", "pkcs8"), encrypted_key_example(False, "secret")))
def key_encryption_unsupported(deployment):
    for pair, loaded in _pairs_with_key(deployment):
        if loaded.block is not None and loaded.block.pkcs8_encrypted:
            yield at_reference(pair.key, f"{pair.key.describe()} is a PKCS#8-encrypted key (ENCRYPTED PRIVATE KEY): "
                                         f"{pair.key.consumer} decrypts only legacy PEM encryption and fails to "
                                         "parse it")


# --- validity --------------------------------------------------------------------------------------

def _all_certificates(deployment):
    for ref, pem in loaded_references(deployment, lambda r: not r.role.is_key):
        for loaded in pem.certificates:
            yield ref, pem, loaded


_VERIFIED_BY_KES_ONLY = (Role.MINIO_CLIENT_CERT, Role.KES_CLIENT_CA)


def _dated_certificates(deployment):
    """The certificates whose validity period decides a handshake: MinIO's client certificate and KES's `tls.ca`
    count only when KES verifies client certificates (with `tls.auth` off it takes any certificate and reads only
    its public key, the identity, so an expired one connects)."""
    for ref, pem, loaded in _all_certificates(deployment):
        if ref.role not in _VERIFIED_BY_KES_ONLY or material(deployment).client_verification is not None:
            yield ref, pem, loaded


def _day(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@rule("CRT010", "certificate-expired", Severity.ERROR, "A certificate has expired",
      rationale="""An expired certificate fails every TLS handshake it takes part in ('certificate has expired
      or is not yet valid'): MinIO cannot reach KES, or KES cannot reach its keystore. MinIO's client certificate
      and KES's `tls.ca` count only when KES verifies client certificates (`tls.auth: on`, or KES up to 2023-09-28
      without `--auth=off`): otherwise KES reads only the identity. `kes identity new` certificates expire after 30
      days. Go builds every chain it can and checks validity only on the one it uses,
      so an expired CA in MINIO_KMS_KES_CAPATH (an old root kept during a rotation) or an expired copy in the KES
      certificate's chain is reported only when KES's certificate does not chain to MinIO's trusted CAs without
      it.""",
      fix="""Re-issue the certificate. When the key changes, the identity changes too: update the KES policy
      (and MINIO_KMS_KES_CAPATH for a server certificate).""",
      examples=(deployment_example(True, server="!cert cn=kes dns=kes.example.net days=10 not-before-days=-20"),
                deployment_example(True, tls_extra=AUTH_ON, client="!cert cn=minio issuer=ca.crt eku=client days=10 "
                                                                   "not-before-days=-20",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),), note="KES verifies MinIO's certificate"),
                deployment_example(False, client="!cert cn=minio days=10 not-before-days=-20",
                                   note="with `tls.auth` off KES does not check MinIO's certificate's dates"),
                deployment_example(False)))
def certificate_expired(deployment):
    from ..certs import valid_until

    now = deployment.options.now()
    for ref, pem, loaded in _dated_certificates(deployment):
        until = valid_until(loaded.certificate)
        if until < now and not _needed_by_no_chain(deployment, ref, loaded, now):
            days = (now - until).days
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} expired on {_day(until)} "
                                    f"({days} day{'s' if days != 1 else ''} before {_day(now)}): every TLS handshake "
                                    "with it fails")


_TRUST_OF_KES = (Role.MINIO_CAPATH, Role.MINIO_CERTS_CAS, Role.KES_SERVER_CERT)
"""The files of the chain MinIO builds to verify KES: the server certificate's file and MinIO's trusted CAs."""


def _needed_by_no_chain(deployment, ref: Reference, loaded, now) -> bool:
    """An expired CA or chain certificate that MinIO's verification of KES does without: Go builds every chain it
    can and checks validity only on the one it uses, so an old root kept beside its successor, or an expired
    cross-signed copy in the served chain, fails nothing while the KES certificate chains to MinIO's trusted CAs
    through valid certificates alone. The other trust relations (KES's `tls.ca`, the keystore's CA) keep the
    plain verdict."""
    from ..certs import chain_to, valid_until

    found = server_leaf(deployment) if ref.role in _TRUST_OF_KES else None
    if found is None or found[2] is loaded:
        return False
    _, server_pem, leaf = found

    def valid(certificates) -> list:
        return [c.certificate for c in certificates if c is not loaded and c is not leaf
                and valid_until(c.certificate) >= now]

    for side in material(deployment).minio:
        pool_ref = side.capath or side.certs_cas
        pool = pem_of(deployment, pool_ref) if pool_ref is not None else None
        if pool is not None and pool.ok and pool.certificates and \
                chain_to(leaf.certificate, valid(server_pem.certificates), valid(pool.certificates),
                         "serverAuth").trusted:
            return True
    return False


@rule("CRT011", "certificate-not-yet-valid", Severity.ERROR, "A certificate is not valid yet",
      rationale="""A certificate whose validity starts in the future fails every handshake until then; it
      usually means a clock skew on the issuing host or a wrong --at time.""",
      fix="Re-issue the certificate with a start time in the past, or correct the clock of the issuing host.",
      examples=(deployment_example(True, server="!cert cn=kes dns=kes.example.net not-before-days=2"),
                deployment_example(False, client="!cert cn=minio not-before-days=2",
                                   note="with `tls.auth` off KES does not check MinIO's certificate's dates"),
                deployment_example(False)))
def certificate_not_yet_valid(deployment):
    from ..certs import valid_from

    now = deployment.options.now()
    for ref, pem, loaded in _dated_certificates(deployment):
        start = valid_from(loaded.certificate)
        if start > now:
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} is valid only from "
                                    f"{_day(start)} (judged at {_day(now)}): every TLS handshake with it fails until then")


@rule("CRT012", "certificate-expires-soon", Severity.WARNING, "A certificate expires soon",
      rationale="""When a certificate expires, MinIO loses KES and with it every encrypted object. Renewing
      needs the other side too (CAPATH, policy identity), so it needs notice. The window is
      --expiry-warning DAYS (default 30), judged at --at TIME when given.""",
      fix="Re-issue the certificate before it expires and plan the matching CAPATH/policy update.",
      examples=(deployment_example(True, server="!cert cn=kes dns=kes.example.net days=10"),
                deployment_example(False)))
def certificate_expires_soon(deployment):
    import datetime as dt

    from ..certs import valid_until

    now = deployment.options.now()
    try:
        horizon = now + dt.timedelta(days=deployment.options.expiry_warning_days)
    except OverflowError:  # `--at 9999-12-31`, or a window of millions of days: every later date is inside it
        horizon = dt.datetime.max.replace(tzinfo=now.tzinfo)
    for ref, pem, loaded in _dated_certificates(deployment):
        until = valid_until(loaded.certificate)
        if now <= until < horizon:
            days = (until - now).days
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} expires on {_day(until)}, "
                                    f"in {days} day{'s' if days != 1 else ''}")


# --- the KES server certificate seen from MinIO ---------------------------------------------------------

@rule("CRT020", "server-cert-without-san", Severity.ERROR, "The KES server certificate has no DNS or IP SAN",
      rationale="""KES refuses to start with a certificate that names no DNS name or IP address in its subject
      alternative names ('certificate does not contain any DNS or IP address as SAN'); clients ignore the
      CN, so such a certificate could not be verified anyway.""",
      fix="""Re-issue the certificate with every name MinIO uses (`--dns kes.example.net --ip 10.0.0.5` for
      `kes identity new`, subjectAltName for openssl).""",
      examples=(deployment_example(True, server="!cert cn=kes.example.net"),
                deployment_example(False)))
def server_cert_without_san(deployment):
    from ..certs import subject_names

    found = server_leaf(deployment)
    if found is None:
        return
    ref, pem, leaf = found
    if not subject_names(leaf.certificate):
        yield at_reference(ref, f"the KES server certificate {ref.describe()} has no DNS or IP name in its subject "
                                "alternative names: KES refuses to start")


@rule("CRT021", "endpoint-host-not-in-san", Severity.ERROR,
      "An endpoint host is not covered by the KES server certificate",
      rationale="""MinIO checks the host of every MINIO_KMS_KES_ENDPOINT URL (after ellipsis expansion)
      against the DNS and IP SANs of the certificate KES presents; the CN does not count, `*` covers exactly
      one left-most label, and an IP address must be listed as an IP SAN. A host that is not covered fails
      with 'certificate is valid for …, not HOST'.""",
      fix="""Re-issue the KES certificate with the missing host as a SAN (a wildcard such as
      *.example.net covers kes1.example.net, not a.kes.example.net), or use a covered host in the endpoint.""",
      examples=(deployment_example(True, endpoint="https://kes{1...3}.example.net:7373",
                                   server="!cert cn=kes dns=kes1.example.net,kes2.example.net"),
                deployment_example(False, endpoint="https://kes{1...3}.example.net:7373",
                                   server="!cert cn=kes dns=*.example.net")))
def endpoint_host_not_in_san(deployment):
    from ..certs import subject_names, host_covered

    found = server_leaf(deployment)
    if found is None:
        return
    ref, pem, leaf = found
    names = subject_names(leaf.certificate)
    for side in material(deployment).minio:
        if side.endpoint_entry is None:
            continue
        reported = set()
        for column, part, urls, _ in kes_endpoints(side.endpoint_entry):  # marked in the entry the host came from
            for endpoint in urls:
                if endpoint.host in reported or host_covered(endpoint.host, names):
                    continue
                reported.add(endpoint.host)
                yield at_line(side.env.source, side.endpoint_entry.line, column,
                              f"host '{endpoint.host}' of MINIO_KMS_KES_ENDPOINT is not covered by the KES server "
                              f"certificate {ref.describe()} (it names {names.describe()}): MinIO refuses the TLS "
                              f"connection ('certificate is valid for …, not {endpoint.host}')",
                              anchor=ENDPOINT, end_column=column + len(part))


@rule("CRT022", "server-cert-without-server-auth", Severity.ERROR,
      "The KES server certificate's extended key usage lacks serverAuth",
      rationale="""MinIO verifies the KES certificate for server authentication: a certificate with an
      extended key usage extension that does not include serverAuth (a client certificate reused as server
      certificate) fails verification ('certificate specifies an incompatible key usage').""",
      fix="Re-issue the KES certificate with extendedKeyUsage serverAuth (or without an EKU extension).",
      examples=(deployment_example(True, server="!cert cn=kes dns=kes.example.net eku=client"),
                deployment_example(False, server="!cert cn=kes dns=kes.example.net eku=server")))
def server_cert_without_server_auth(deployment):
    from ..certs import allows_usage

    found = server_leaf(deployment)
    if found is not None and not allows_usage(found[2].certificate, "serverAuth"):
        yield at_reference(found[0], f"the KES server certificate {found[0].describe()} has an extended key usage "
                                     "without serverAuth: MinIO's verification of it fails")


@rule("CRT023", "server-cert-not-trusted", Severity.ERROR,
      "MINIO_KMS_KES_CAPATH does not verify the KES server certificate",
      rationale="""MinIO verifies KES against the CA certificates in MINIO_KMS_KES_CAPATH. When none of them
      issued the KES certificate (or its chain), every connection fails with 'certificate signed by unknown
      authority'. A typical cause is a CAPATH still holding the old self-signed certificate after KES's was
      regenerated. Go also refuses a chain through a CA that breaks its own constraints: an intermediate
      without CA:TRUE (a version 1 certificate), more intermediates below a CA than its path length allows, a
      name outside a CA's name constraints, a CA whose extended key usage lacks serverAuth, or a critical
      extension Go does not handle (such as name constraints on directory names).""",
      fix="""Put the CA that issued the KES certificate (or, for a self-signed one, the KES certificate itself)
      into the file or directory MINIO_KMS_KES_CAPATH names.""",
      examples=(deployment_example(True, env_extra="MINIO_KMS_KES_CAPATH=other-ca.crt\n",
                                   files=(("other-ca.crt", "!cert cn=OtherCA ca"),)),
                deployment_example(False, env_extra="MINIO_KMS_KES_CAPATH=ca.crt\n",
                                   server="!cert cn=kes dns=kes.example.net issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca"),
                                          ("server.crt", "!cert cn=kes dns=kes.example.net issuer=ca.crt")))))
def server_cert_not_trusted(deployment):
    from ..certs import chain_to

    found = server_leaf(deployment)
    if found is None:
        return
    ref, pem, leaf = found
    for side in material(deployment).minio:
        if side.capath is None:
            continue
        capath = pem_of(deployment, side.capath)
        if not capath.ok or not capath.certificates:
            continue
        result = chain_to(leaf.certificate, [c.certificate for c in pem.certificates[1:]],
                          [c.certificate for c in capath.certificates], "serverAuth")
        if not result.trusted:
            yield at_reference(side.capath, f"the CA in MINIO_KMS_KES_CAPATH {side.capath.describe()} does not verify "
                                            f"the KES server certificate {ref.describe()}: {result.reason}; MinIO "
                                            f"fails with 'x509: {result.go_error}'")


def _certs_dir_verdict(deployment, side: MinioSide, found):
    """Whether the certificates of `<certs-dir>/CAs` verify the KES server certificate (a `ChainResult`), when
    MinIO will use that directory and it can be read here; None otherwise."""
    from ..certs import chain_to

    if side.certs_cas is None:
        return None
    cas = pem_of(deployment, side.certs_cas)
    if not cas.ok or not cas.certificates:
        return None
    _, pem, leaf = found
    return chain_to(leaf.certificate, [c.certificate for c in pem.certificates if c is not leaf],
                    [c.certificate for c in cas.certificates], "serverAuth")


def _without_capath(deployment):
    """(side, KES server certificate, `<certs-dir>/CAs` verdict) for env files that leave MINIO_KMS_KES_CAPATH
    unset, so that MinIO verifies KES against the system roots and its certs/CAs directory."""
    found = server_leaf(deployment)
    if found is None:
        return
    for side in material(deployment).minio:
        if side.capath is None and not side.env.defined("MINIO_KMS_KES_CAPATH") and side.endpoints:
            yield side, found, _certs_dir_verdict(deployment, side, found)


def _certs_dir_words(side: MinioSide) -> str:
    if side.certs_cas is None:
        return "its certs/CAs directory (${HOME}/.minio/certs/CAs unless --certs-dir says otherwise)"
    return f"{side.certs_cas.describe()} ({side.certs_cas.setting})"


CERTS_DIR_OPTS = 'MINIO_OPTS="--certs-dir certs"\n'


@rule("CRT024", "server-cert-self-signed-without-capath", Severity.ERROR,
      "The KES server certificate is self-signed and neither MINIO_KMS_KES_CAPATH nor certs/CAs holds it",
      rationale="""Without MINIO_KMS_KES_CAPATH MinIO trusts only its certs/CAs directory and the system
      roots. A self-signed KES certificate is never among the system roots, so unless it was copied into
      certs/CAs MinIO fails with 'certificate signed by unknown authority'. When MINIO_OPTS names the
      certs directory (--certs-dir or -S, as the standard systemd unit passes it) and that directory is
      here, kescheck checks its CAs; a stale copy of an older KES certificate does not count.""",
      fix="""Set MINIO_KMS_KES_CAPATH to the KES certificate (the path as MinIO sees it), or copy the current
      KES certificate into MinIO's certs/CAs directory.""",
      examples=(deployment_example(True, env_extra=""),
                deployment_example(True, env_extra=CERTS_DIR_OPTS,
                                   files=(("certs/CAs/kes-old.crt", "!cert cn=kes dns=kes.example.net"),),
                                   note="certs/CAs holds an older KES certificate with another key"),
                deployment_example(False),
                deployment_example(False, env_extra=CERTS_DIR_OPTS,
                                   files=(("certs/CAs/kes.crt", "!copy of=server.crt"),),
                                   note="the KES certificate is in certs/CAs")))
def server_cert_self_signed_without_capath(deployment):
    from ..certs import is_self_signed

    for side, (ref, _, leaf), certs_dir in _without_capath(deployment):
        if not is_self_signed(leaf.certificate) or (certs_dir is not None and certs_dir.trusted):
            continue
        fix = f"Add MINIO_KMS_KES_CAPATH={ref.text} (the path as MinIO sees it)."
        if certs_dir is not None:
            yield at_side(side, f"the KES server certificate {ref.describe()} is self-signed and "
                                f"MINIO_KMS_KES_CAPATH is not set: MinIO trusts only the system roots and "
                                f"{_certs_dir_words(side)}, whose certificates do not verify it ({certs_dir.reason}), "
                                "so it rejects KES", fix=fix)
        else:
            yield at_side(side, f"the KES server certificate {ref.describe()} is self-signed and "
                                "MINIO_KMS_KES_CAPATH is not set: MinIO trusts only the system roots and "
                                f"{_certs_dir_words(side)}, so it rejects KES unless the certificate was copied "
                                "there", fix=fix)


@rule("CRT025", "server-cert-needs-system-trust", Severity.NOTE,
      "Without MINIO_KMS_KES_CAPATH, the system roots must trust the KES certificate",
      rationale="""Without MINIO_KMS_KES_CAPATH MinIO verifies KES against its certs/CAs directory and the
      host's system roots, which kescheck cannot see; the issuer of the KES certificate must be there. When
      MINIO_OPTS names the certs directory and its CAs here verify the KES certificate, there is nothing to
      note.""",
      fix="Set MINIO_KMS_KES_CAPATH to the issuing CA, or make sure the system trust store holds it.",
      examples=(deployment_example(True, env_extra="", server="!cert cn=kes dns=kes.example.net issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca"),)),
                deployment_example(False),
                deployment_example(False, env_extra=CERTS_DIR_OPTS.replace("--certs-dir ", "-S="),
                                   server="!cert cn=kes dns=kes.example.net issuer=certs/CAs/ca.crt",
                                   files=(("certs/CAs/ca.crt", "!cert cn=ExampleCA ca"),),
                                   note="the issuing CA is in certs/CAs")))
def server_cert_needs_system_trust(deployment):
    from ..certs import is_self_signed, issuer_text

    for side, (ref, _, leaf), certs_dir in _without_capath(deployment):
        if is_self_signed(leaf.certificate) or (certs_dir is not None and certs_dir.trusted):
            continue
        yield at_side(side, f"MINIO_KMS_KES_CAPATH is not set: the system roots or {_certs_dir_words(side)} "
                            f"must trust '{issuer_text(leaf.certificate)}', the issuer of the KES server "
                            f"certificate {ref.describe()}")


# --- MinIO's client certificate seen from KES ------------------------------------------------------------

"""KES v0.22.0 to 2023-09-28 verify client certificates against `tls.ca` unless started with --auth=off."""


def _verified_clients(deployment):
    """(side, reference, PEM file, leaf, verification) for MinIO client certificates that KES verifies.

    Where verification is only KES's default for `--auth` (KES <= 2023-09-28), self-signed certificates are
    CRT034's: such deployments usually run with `--auth=off`, so one warning says it all."""
    from ..certs import is_self_signed

    verification = material(deployment).client_verification
    if verification is None:
        return
    for side in material(deployment).minio:
        chain = minio_client_chain(deployment, side)
        if chain is None:
            continue
        leaf = client_leaf(deployment, chain[1].certificates)
        if leaf is not None and not (verification.assumed and is_self_signed(leaf.certificate)):
            yield side, chain[0], chain[1], leaf, verification


_AUTH_OFF_FIX = (" If KES runs with `kes server --auth=off`, lint the systemd unit that starts it with the configs, or "
                 "tell kescheck with --kes-auth off (or kes-auth = \"off\" in the settings).")


def _verification_fix(verification, fix: str) -> str | None:
    """The rule's fix, plus how to say that KES runs with --auth=off when kescheck only assumed it does not."""
    return fix + _AUTH_OFF_FIX if verification.assumed else None


@rule("CRT030", "client-cert-not-trusted", Severity.ERROR, "KES's tls.ca does not verify MinIO's client certificate",
      rationale="""When KES verifies client certificates it checks them against `tls.ca` (and the system roots)
      and ends the handshake for one it cannot verify ('failed to verify client certificate: certificate
      signed by unknown authority'). Current KES verifies with `tls.auth: on`; KES v0.22.0 to 2023-09-28
      verify by default, unless started with `kes server --auth=off` (tell kescheck with --kes-auth off).
      As for CRT023, a chain through a CA that breaks its path length or name constraints, or whose extended
      key usage lacks clientAuth, does not verify either.""",
      fix="""Issue MinIO's client certificate from the CA in `tls.ca` (or add its issuer there), or set
      `tls.auth: off` and rely on identities alone.""",
      examples=(deployment_example(True, tls_extra=AUTH_ON, client="!cert cn=minio issuer=other-ca.crt",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"), ("other-ca.crt", "!cert cn=OtherCA ca"))),
                deployment_example(True, tls_extra=OLDER_KES_CA, client="!cert cn=minio issuer=other-ca.crt",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"), ("other-ca.crt", "!cert cn=OtherCA ca")),
                                   options=OLDER_KES, note="KES 0.22 verifies by default"),
                deployment_example(False, tls_extra=AUTH_ON, client="!cert cn=minio issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),)),
                deployment_example(False, tls_extra=OLDER_KES_CA, client="!cert cn=minio issuer=other-ca.crt",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"), ("other-ca.crt", "!cert cn=OtherCA ca")),
                                   options=OLDER_KES + (("kes_auth", False),), note="KES 0.22 run with --auth=off")))
def client_cert_not_trusted(deployment):
    from ..certs import chain_to

    for side, ref, pem, leaf, verification in _verified_clients(deployment):
        ca = pem_of(deployment, verification.ca) if verification.ca is not None else None
        if ca is None or not ca.ok or not ca.certificates:
            continue  # the system roots alone: kescheck cannot see them
        others = [c.certificate for c in pem.certificates if c is not leaf]
        result = chain_to(leaf.certificate, others, [c.certificate for c in ca.certificates], "clientAuth")
        if not result.trusted:
            yield at_reference(ref, f"KES verifies client certificates ({verification.because}) and its tls.ca "
                                    f"{verification.ca.describe()} does not verify MinIO's client certificate "
                                    f"{ref.describe()}: {result.reason}; KES ends the handshake "
                                    f"('x509: {result.go_error}')",
                               fix=_verification_fix(verification, "Issue MinIO's client certificate from the CA in "
                                                                   "`tls.ca`, or add its issuer there."))


@rule("CRT031", "self-signed-client-with-verification", Severity.ERROR,
      "MinIO authenticates with a self-signed certificate or an API key while KES verifies clients",
      rationale="""With `tls.auth: on` (or KES <= 2023-09-28 that --kes-auth says runs with `--auth=on`) a
      client certificate must chain to `tls.ca` or the system roots. A self-signed certificate (such as `kes
      identity new` makes) cannot unless it is in `tls.ca`, and the certificate MinIO derives from an API key
      never can: the documentation requires `tls.auth: off` for both. Where kescheck only knows that an
      older KES verifies by default, CRT034 says so instead.""",
      fix="""Set `tls.auth: off` (KES then relies on the policy identity), or give MinIO a certificate
      issued by the CA in `tls.ca`.""",
      examples=(deployment_example(True, tls_extra="\n  auth: on"), deployment_example(False)))
def self_signed_client_with_verification(deployment):
    from ..certs import is_self_signed

    found = material(deployment)
    verification = found.client_verification
    if verification is None or verification.assumed:
        return  # CRT034: an older KES that verifies unless run with --auth=off
    for side in found.minio:
        if side.api_key is not None:
            yield at_entry(side.env, side.api_key,
                           f"MinIO authenticates with MINIO_KMS_KES_API_KEY, but KES verifies client certificates "
                           f"({verification.because}): the self-signed certificate MinIO makes from an API key never "
                           "verifies", on_value=False)
    if verification.ca is not None:
        return  # CRT030 judges the chain against tls.ca
    for side, ref, pem, leaf, _ in _verified_clients(deployment):
        if is_self_signed(leaf.certificate):
            yield at_reference(ref, f"MinIO's client certificate {ref.describe()} is self-signed, but KES verifies "
                                    f"client certificates ({verification.because}) and has no tls.ca it reads: KES ends "
                                    "the handshake")


@rule("CRT034", "client-verified-by-older-kes", Severity.WARNING,
      "An older KES verifies MinIO's self-signed client certificate unless it runs with --auth=off",
      rationale="""KES releases up to 2023-09-28 (config generations G0 and G1) require and verify client
      certificates by default, against the system roots (and `tls.ca` from v0.22.0); only `kes server
      --auth=off` on the command line turns verification off. kescheck does not see that command line unless
      --kes-auth (or `kes-auth` in the settings) tells it. A self-signed certificate (such as `kes identity
      new` makes) and the certificate MinIO derives from an API key never verify, so without that flag KES
      ends every handshake with 'failed to verify client certificate: certificate signed by unknown
      authority'. KES 2023-10-24 and later ignore `--auth`: there `tls.auth` decides, and it defaults to
      off. A certificate from a CA that `tls.ca` does not hold, or without the clientAuth usage, is CRT030's
      and CRT032's.""",
      fix="""Make sure the KES service starts with `kes server --auth=off` (the MinIO tutorials do) and tell
      kescheck with --kes-auth off, or give MinIO a certificate issued by a CA that KES trusts. Upgrading KES
      and writing `tls.auth: off` makes the setting visible in the config.""",
      examples=(deployment_example(True, options=OLDER_KES),
                deployment_example(False, options=OLDER_KES, client="!cert cn=minio issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),),
                                   note="a CA-issued client certificate"),
                deployment_example(False, options=OLDER_KES + (("kes_auth", False),),
                                   note="KES run with --auth=off (--kes-auth off)"),
                deployment_example(False, note="KES 2023-10-24 and later: tls.auth decides")))
def client_verified_by_older_kes(deployment):
    from ..certs import chain_to, is_self_signed

    found = material(deployment)
    verification = found.client_verification
    if verification is None or not verification.assumed:
        return  # tls.auth or --kes-auth says how KES runs: CRT030 to CRT032 judge the certificate
    ca = pem_of(deployment, verification.ca) if verification.ca is not None else None
    anchors = [c.certificate for c in ca.certificates] if ca is not None and ca.ok else []
    flag = f"{verification.release} verifies client certificates unless it runs with `kes server --auth=off`"
    fix = "Make sure KES starts with `kes server --auth=off`, and tell kescheck with --kes-auth off."
    for side in found.minio:
        if side.api_key is not None:
            yield at_entry(side.env, side.api_key, f"MinIO authenticates with MINIO_KMS_KES_API_KEY, and {flag}: the "
                                                   "self-signed certificate MinIO makes from an API key never verifies",
                           on_value=False, fix=fix)
            continue
        chain = minio_client_chain(deployment, side)
        leaf = client_leaf(deployment, chain[1].certificates) if chain is not None else None
        if leaf is None or not is_self_signed(leaf.certificate):
            continue
        if anchors and chain_to(leaf.certificate, [], anchors, "clientAuth").trusted:
            continue  # itself in tls.ca: a certificate of the trust set is trusted as it is
        yield at_reference(chain[0], f"MinIO's client certificate {chain[0].describe()} is self-signed, and {flag}: "
                                     "without that flag KES ends every handshake", fix=fix)


@rule("CRT032", "client-cert-without-client-auth", Severity.ERROR,
      "MinIO's client certificate's extended key usage lacks clientAuth",
      rationale="""When KES verifies client certificates (`tls.auth: on`; by default on KES up to 2023-09-28,
      unless started with `kes server --auth=off`), a certificate with an extended key usage extension that
      does not include clientAuth (a server certificate reused as client certificate) fails.""",
      fix="Issue MinIO's client certificate with extendedKeyUsage clientAuth (or without an EKU extension).",
      examples=(deployment_example(True, tls_extra=AUTH_ON, client="!cert cn=minio issuer=ca.crt eku=server",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),)),
                deployment_example(True, tls_extra=OLDER_KES_CA, client="!cert cn=minio issuer=ca.crt eku=server",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),), options=OLDER_KES,
                                   note="KES 0.22 verifies by default"),
                deployment_example(False, tls_extra=AUTH_ON, client="!cert cn=minio issuer=ca.crt eku=client",
                                   files=(("ca.crt", "!cert cn=ClientCA ca"),))))
def client_cert_without_client_auth(deployment):
    from ..certs import allows_usage

    for side, ref, pem, leaf, verification in _verified_clients(deployment):
        if not allows_usage(leaf.certificate, "clientAuth"):
            yield at_reference(ref, f"MinIO's client certificate {ref.describe()} has an extended key usage without "
                                    f"clientAuth, and KES verifies client certificates ({verification.because}): KES "
                                    "ends the handshake",
                               fix=_verification_fix(verification, "Issue MinIO's client certificate with "
                                                                   "extendedKeyUsage clientAuth."))


@rule("CRT033", "client-chain-leaf-count", Severity.ERROR,
      "MinIO's client certificate file does not hold exactly one non-CA certificate",
      rationale="""KES takes the client identity from the one certificate of the chain that is not a CA. With
      two such certificates it refuses the client ('received more than one client certificate'); with only
      CA:TRUE certificates (a plain `openssl req -x509` with the stock v3_ca extensions) KES >= 2023-10-24
      answers 'client certificate is required' although the identity is in a policy.""",
      fix="""Keep MinIO's own certificate (CA:FALSE) first in the file, followed only by CA certificates;
      re-issue a CA:TRUE client certificate with basicConstraints CA:FALSE.""",
      examples=(deployment_example(True, client="!cert cn=minio ca"), deployment_example(False)))
def client_chain_leaf_count(deployment):
    for side in material(deployment).minio:
        chain = minio_client_chain(deployment, side)
        if chain is None:
            continue
        ref, pem = chain
        non_ca = leaves(pem.certificates)
        if len(non_ca) > 1:
            yield at_reference(ref, f"MinIO's client certificate file {ref.describe()} holds {len(non_ca)} non-CA "
                                    "certificates: KES refuses the client ('received more than one client "
                                    "certificate')")
        elif not non_ca and (deployment.kes is None or deployment.kes.generation is Generation.G2):
            yield at_reference(ref, f"every certificate in MinIO's client certificate file {ref.describe()} is a CA "
                                    "(CA:TRUE): KES skips CA certificates and answers 'client certificate is "
                                    "required'")


# --- strength, lab certificates, key file permissions -----------------------------------------------------

@rule("CRT040", "weak-key", Severity.WARNING, "A certificate has a weak public key",
      rationale="""RSA keys below 2048 bits and elliptic curves below P-256 are breakable or refused by
      current TLS stacks; the key protects access to every encryption key in KES.""",
      fix="Re-issue the certificate with an RSA 2048+ (3072 recommended), ECDSA P-256/P-384 or Ed25519 key.",
      examples=(deployment_example(True, client="!cert cn=minio key-kind=rsa1024"), deployment_example(False)))
def weak_key(deployment):
    from ..certs import key_weakness

    for ref, pem, loaded in _all_certificates(deployment):
        try:
            weakness = key_weakness(loaded.certificate.public_key())
        except ValueError:
            continue
        if weakness and not (ref.role.is_certificate and loaded.index == 0 and _unsupported_leaf_key(pem)):  # CRT004
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} has {weakness}")


@rule("CRT041", "weak-signature", Severity.ERROR, "A certificate is signed with SHA-1 or MD5",
      rationale="""Go's certificate verification (MinIO, KES) refuses SHA-1 and MD5 signatures ('insecure
      algorithm SHA1-RSA'), so a chain with one fails; the signature of a trusted CA (a certificate of
      MINIO_KMS_KES_CAPATH, `tls.ca` or a keystore CA file) is never checked, whoever signed it.""",
      fix="Re-issue the certificate with a SHA-256 (or stronger) signature.",
      examples=(deployment_example(True, env_extra="MINIO_KMS_KES_CAPATH=ca.crt\n",
                                   server="!cert cn=kes dns=kes.example.net issuer=ca.crt sig=sha1",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca key-kind=rsa2048"),)),
                deployment_example(False, env_extra="MINIO_KMS_KES_CAPATH=ca.crt\n",
                                   server="!cert cn=kes dns=kes.example.net issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca key-kind=rsa2048"),))))
def weak_signature(deployment):
    from ..certs import weak_signature_hash

    for ref, pem, loaded in _all_certificates(deployment):
        algorithm = weak_signature_hash(loaded.certificate)
        # A trusted CA's own signature is never checked: Go trusts the certificates of its pool as they are.
        if algorithm and loaded.certificate.subject != loaded.certificate.issuer and not ref.role.is_ca:
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} is signed with "
                                    f"{algorithm}, which Go's certificate verification refuses")


@rule("CRT042", "negative-serial", Severity.WARNING, "A certificate has a negative serial number",
      rationale="""RFC 5280 requires a positive serial number; some old tools wrote negative ones. Go 1.23 and later
      refuse to parse such a certificate (`x509: negative serial number`) in a program built for Go 1.23 or later
      (the `go` line of its go.mod; GODEBUG x509negativeserial=1 lifts it): KES built so cannot load its
      certificate, and MinIO built so cannot load its client certificate and passes over such a CA in
      MINIO_KMS_KES_CAPATH. Whether a given release is built so is not known here, so this is a warning that a KES or
      MinIO upgrade may turn into an outage.""",
      fix="Re-issue the certificate with a positive serial number (any current CA or `openssl x509 -req` does).",
      examples=(deployment_example(True, env_extra="MINIO_KMS_KES_CAPATH=ca.crt\n",
                                   server="!cert cn=kes dns=kes.example.net issuer=ca.crt serial=negative",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca"),)),
                deployment_example(False, env_extra="MINIO_KMS_KES_CAPATH=ca.crt\n",
                                   server="!cert cn=kes dns=kes.example.net issuer=ca.crt",
                                   files=(("ca.crt", "!cert cn=ExampleCA ca"),))))
def negative_serial(deployment):
    for ref, pem, loaded in _all_certificates(deployment):
        if loaded.negative_serial:
            yield at_reference(ref, f"{certificate_label(ref, loaded, pem)} has a negative serial "
                                    "number, which Go 1.23 and later refuse to parse in a KES or MinIO built for them "
                                    "(`x509: negative serial number`)")


@rule("CRT050", "lab-certificate", Severity.WARNING, "A lab certificate is used in a deployment with real hosts",
      rationale="""`kes identity new` and the tutorials make self-signed certificates for localhost/127.0.0.1
      that live 30 days: fine on a laptop, an outage a month later in production.""",
      fix="""Issue certificates from your CA (or at least self-signed ones with the real host names and a
      longer lifetime) and automate their renewal.""",
      examples=(deployment_example(True, server="!cert cn=kes dns=kes.example.net days=30",
                                   note="a 30-day self-signed server certificate"),
                deployment_example(False)))
def lab_certificate(deployment):
    from ..certs import is_loopback_host, is_self_signed, lifetime_days, loopback_only, subject_names

    found = material(deployment)
    hosts = {e.host for side in found.minio for e in side.endpoints}
    if not any(not is_loopback_host(host) for host in hosts):
        return
    candidates = []
    server = server_leaf(deployment)
    if server is not None:
        candidates.append((server[0], server[2]))
    for side in found.minio:
        chain = minio_client_chain(deployment, side)
        leaf = client_leaf(deployment, chain[1].certificates) if chain else None
        if leaf is not None:
            candidates.append((chain[0], leaf))
    for ref, loaded in candidates:
        certificate = loaded.certificate
        if not is_self_signed(certificate):
            continue
        marks = []
        if loopback_only(subject_names(certificate)):
            marks.append("names only loopback hosts")
        if lifetime_days(certificate) <= 31:
            marks.append(f"lives {lifetime_days(certificate):.0f} days")
        if marks:
            yield at_reference(ref, f"{ref.role.value} {ref.describe()} is a lab certificate (self-signed, "
                                    f"{', '.join(marks)}) in a deployment whose endpoints are "
                                    f"{', '.join(sorted(h for h in hosts if not is_loopback_host(h)))}")


@rule("CRT060", "private-key-readable-by-others", Severity.WARNING,
      "A private key file is readable by group or others",
      rationale="""Whoever reads KES's or MinIO's private key can act as that identity and, with MinIO's, ask
      KES to decrypt every data key MinIO may use.""",
      fix="Restrict the file to its service user: `chmod 600 FILE` (and `chown` it to that user).",
      examples=(deployment_example(True, files=(("client.key", "!key of=client.crt mode=0644"),)),
                deployment_example(False)))
def private_key_readable_by_others(deployment):
    for ref, pem in loaded_references(deployment, lambda r: r.role.is_key):
        if pem.mode is not None and pem.mode & 0o044:
            who = " and ".join(w for bit, w in ((0o040, "group"), (0o004, "others")) if pem.mode & bit)
            yield at_reference(ref, f"{ref.role.value} {ref.describe()} has mode {pem.mode:04o}: readable by {who}")
