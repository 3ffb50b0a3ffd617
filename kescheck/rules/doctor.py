"""DOC001-DOC199: what `kescheck doctor` finds by probing a running deployment.

These rules have no `check()` for the lint engine: the doctor's probes produce their findings.
Declaring them here lets the reporters, SARIF and the rule catalogue describe them.
"""
from __future__ import annotations

from ..findings import Severity
from ..minio_names import CAPATH, CERT_FILE, ENDPOINT, KEY_FILE, KEY_NAME
from .base import DoctorScenario, declare

E, W = Severity.ERROR, Severity.WARNING

# The documented scenarios: a small PKI, MinIO's env file and a KES config, varied one thing at a time.
_PKI = {
    "ca.crt": "!cert cn=kes-ca ca",
    "kes.crt": "!cert cn=kes dns=localhost ip=127.0.0.1 issuer=ca.crt eku=server",
    "minio.crt": "!cert cn=minio issuer=ca.crt eku=client",
}
_MINIO_ENV = {ENDPOINT: "https://127.0.0.1:${port}", KEY_NAME: "minio-default-key", CERT_FILE: "minio.crt",
              KEY_FILE: "minio.key", CAPATH: "ca.crt"}
_KES_CONFIG = {"address": "127.0.0.1:${port}", "cert": "kes.crt", "key": "kes.key"}


def _env(**changes: str | None) -> str:
    """MinIO's env file of a healthy deployment with some variables changed (None: left out)."""
    values = {**_MINIO_ENV, **changes}
    return "".join(f"{name}={value}\n" for name, value in values.items() if value is not None)


def _kes_config(**changes: str) -> str:
    values = {**_KES_CONFIG, **changes}
    return (f"address: {values['address']}\nadmin:\n  identity: disabled\ntls:\n  key: {values['key']}\n"
            f"  cert: {values['cert']}\nkeystore:\n  fs:\n    path: /var/lib/kes/keys\n")


def _scenario(fails: bool, note: str = "", *, env: str | None = None, kes_config: str | None = None,
              server: str = "kes", files: dict[str, str | None] | None = None, options: dict | None = None,
              not_runnable: str = "") -> DoctorScenario:
    """Without `env` or `kes_config`, MinIO's env file of a healthy deployment; `files` change the PKI."""
    texts: dict[str, str | None] = {}
    if env is not None or kes_config is None:
        texts["minio.env"] = env if env is not None else _env()
    if kes_config is not None:
        texts["kes-config.yaml"] = kes_config
    texts.update({name: text for name, text in _PKI.items() if name != "minio.crt" or "minio.env" in texts})
    texts.update(files or {})
    return DoctorScenario(tuple((name, text) for name, text in texts.items() if text is not None), fails, note,
                          tuple((options or {}).items()), server=server, not_runnable=not_runnable)


def _passes(note: str = "a healthy deployment", **changes) -> DoctorScenario:
    return _scenario(False, note, **changes)


_CORRUPT_SERVER = ("KES seals data keys with AES-256-GCM: it gives back the sealed plaintext or refuses the "
                   "ciphertext (400). A wrong plaintext with 200 needs a corrupt server or proxy that no configuration "
                   "sets up, and the test stand-in is faithful to KES.")


_PROXY_IN_FRONT = ("The identity KES sees differs from MinIO's only when something between them ends TLS and connects "
                   "with its own certificate; the test stand-in is KES itself, so tests/test_doctor.py runs a stand-in "
                   "that answers with another identity instead.")


def _host_passes(note: str = "KES runs with this config", **changes) -> DoctorScenario:
    return _scenario(False, note, kes_config=_kes_config(), **changes)

# MinIO's own KMS settings, as the doctor reads them
SETTINGS_INCOMPLETE = declare(
    "DOC001", "minio-kes-settings-incomplete", E, "MinIO's KES settings are incomplete",
    rationale="""MinIO refuses to start, or starts without a KMS, when MINIO_KMS_KES_ENDPOINT, MINIO_KMS_KES_KEY_NAME
    or an authentication method (an API key, or a client certificate and key) is missing.""",
    fix="""Set MINIO_KMS_KES_ENDPOINT, MINIO_KMS_KES_KEY_NAME and either MINIO_KMS_KES_API_KEY or
    MINIO_KMS_KES_CERT_FILE plus MINIO_KMS_KES_KEY_FILE in the environment MinIO starts with.""",
    examples=(_scenario(True, "no MINIO_KMS_KES_KEY_NAME", env=_env(MINIO_KMS_KES_KEY_NAME=None)), _passes()))
INVALID_ENDPOINT = declare(
    "DOC002", "invalid-endpoint", E, "An entry of MINIO_KMS_KES_ENDPOINT is not a usable URL",
    rationale="MinIO refuses a malformed ellipsis range and cannot connect to an entry that is not a URL with a host.",
    fix="Write each endpoint as https://HOST:7373, with MinIO ellipsis ranges such as https://kes{1...3}.example.net:7373.",
    examples=(_scenario(True, "two dots in the range", env=_env(MINIO_KMS_KES_ENDPOINT="https://kes{1..3}.example.net:7373"),
                      server="none"), _passes()))
CREDENTIALS_UNUSABLE = declare(
    "DOC003", "client-credentials-unusable", E, "MinIO's KES client credentials cannot be loaded",
    rationale="""MinIO authenticates to KES with its client certificate or API key; if the files cannot be read or the
    key does not match the certificate, MinIO refuses to start.""",
    fix="""Point MINIO_KMS_KES_CERT_FILE and MINIO_KMS_KES_KEY_FILE at a readable PEM certificate and its unencrypted
    private key (or give MINIO_KMS_KES_KEY_PASSWORD), or use a valid MINIO_KMS_KES_API_KEY.""",
    examples=(_scenario(True, "the key file holds a key of another certificate", files={"minio.key": "!key fresh"}), _passes()))
CAPATH_IGNORED = declare(
    "DOC004", "capath-ignored", W, "MINIO_KMS_KES_CAPATH does not exist or cannot be read",
    rationale="""MinIO silently ignores a CA path it cannot read and falls back to the system roots, so a private
    KES CA stops being trusted without any message.""",
    fix="Make the CA file (or directory) exist and be readable by the user MinIO runs as.",
    examples=(_scenario(True, "the CA file does not exist", env=_env(MINIO_KMS_KES_CAPATH="missing-ca.crt")), _passes()))
CAPATH_EMPTY = declare(
    "DOC005", "capath-without-certificates", E, "MINIO_KMS_KES_CAPATH holds no certificate",
    rationale="MinIO refuses to start when the CA file it is given contains no PEM certificate.",
    fix="Put the PEM certificate of the CA that issued the KES server certificate into that file.",
    examples=(_scenario(True, "the CA file holds no PEM block", env=_env(MINIO_KMS_KES_CAPATH="ca-bundle.pem"),
                      files={"ca-bundle.pem": "paste the KES CA here\n"}),
            _passes()))
_MINIO_UNIT = "[Service]\nUser=minio-user\n{}ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n"
SERVICE_WITHOUT_SETTINGS = declare(
    "DOC006", "minio-service-without-settings", E, "MinIO's systemd unit does not give MinIO the KMS settings",
    rationale="""Under systemd, MinIO's environment is what its unit gives it: `Environment=` lines and the files
    `EnvironmentFile=` names (or `MINIO_CONFIG_ENV_FILE`, which MinIO reads itself). Settings in an env file no line
    loads, or exported in the shell the doctor runs in, never reach the service: MinIO runs without KES, cannot encrypt
    (`Server side encryption specified but KMS is not configured`) and cannot decrypt what was encrypted before
    (field-failures FM-07; minio/minio#19781, minio/mc#4525). The doctor reads `minio.service` (or the unit
    --minio-unit names) with its drop-ins from the system unit directories (`SYSTEMD_UNIT_PATH` when set). It warns
    when the unit loads another file with KMS settings than the one the doctor checked.""",
    fix="""Load the env file in MinIO's unit (`EnvironmentFile=-/etc/default/minio`, or a drop-in made with
    `systemctl edit minio`), run `systemctl daemon-reload` and restart MinIO; or point the doctor at the file the unit
    loads with --minio-env.""",
    examples=(_scenario(True, "the unit loads no env file", files={"minio.service": _MINIO_UNIT.format("")}),
              _passes("the unit loads the env file",
                      files={"minio.service": _MINIO_UNIT.format("EnvironmentFile=-${dir}/minio.env\n")})))

# network
NOT_RESOLVABLE = declare(
    "DOC010", "endpoint-not-resolvable", E, "A KES endpoint host name does not resolve",
    rationale="MinIO cannot reach a KES server whose name does not resolve on the MinIO host.",
    fix="Fix the host name in MINIO_KMS_KES_ENDPOINT or add it to DNS (or /etc/hosts) on every MinIO node.",
    examples=(_scenario(True, "a name under .invalid never resolves",
                      env=_env(MINIO_KMS_KES_ENDPOINT="https://kes.invalid:${port}")),
            _passes("the certificate lists localhost", env=_env(MINIO_KMS_KES_ENDPOINT="https://localhost:${port}"))))
CONNECTION_REFUSED = declare(
    "DOC011", "connection-refused", E, "Nothing listens on a KES endpoint's port",
    rationale="A refused connection means no process listens there: KES is down, or the URL has the wrong port.",
    fix="Start KES (check `systemctl status kes` and its log) or correct the port in MINIO_KMS_KES_ENDPOINT (KES's default is 7373).",
    examples=(_scenario(True, server="refused"), _passes()))
TIMED_OUT = declare(
    "DOC012", "endpoint-timed-out", E, "A KES endpoint did not answer in time",
    rationale="""A firewall that drops packets, a hung KES or a proxy that accepts connections but never answers makes
    MinIO wait on every request to that endpoint.""",
    fix="Check firewalls between MinIO and KES, and whether the KES process is responsive; raise --timeout only for slow links.",
    examples=(_scenario(True, server="silent", options={"timeout": 1.0}), _passes(options={"timeout": 1.0})))
UNREACHABLE = declare(
    "DOC013", "endpoint-unreachable", E, "The network path to a KES endpoint fails",
    rationale="Without a route to KES, MinIO cannot encrypt or decrypt anything.",
    fix="Check routing and firewalls between the MinIO host and the KES host.",
    examples=(_scenario(True, "Linux refuses TCP to a multicast address with ENETUNREACH, as when no route leads to a host",
                      env=_env(MINIO_KMS_KES_ENDPOINT="https://224.0.0.1:7373"), server="none"),
            _passes()))

# TLS
UNKNOWN_CA = declare(
    "DOC020", "kes-certificate-unknown-ca", E, "MinIO does not trust the KES server certificate",
    rationale="""MinIO verifies the KES certificate against MINIO_KMS_KES_CAPATH (or its certs/CAs directory and the
    system roots) and refuses KES with `x509: certificate signed by unknown authority`.""",
    fix="""Set MINIO_KMS_KES_CAPATH to the CA certificate that issued the KES server certificate (for a self-signed
    KES certificate, to that certificate itself) and restart MinIO.""", security_severity=5.0,
    examples=(_scenario(True, "MINIO_KMS_KES_CAPATH names another CA", env=_env(MINIO_KMS_KES_CAPATH="other-ca.crt"),
                      files={"other-ca.crt": "!cert cn=other-ca ca"}),
            _passes()))
HOST_NOT_IN_SAN = declare(
    "DOC021", "kes-host-not-in-san", E, "The KES certificate is not valid for the endpoint's host",
    rationale="MinIO checks the endpoint host against the certificate's DNS and IP SANs (never the CN) and refuses a mismatch.",
    fix="Issue the KES certificate with the endpoint's host name or IP as a SAN, or use a host name that the certificate lists.",
    examples=(_scenario(True, "the certificate names localhost, the endpoint is 127.0.0.1 (a DNS SAN never matches an IP)",
                      files={"kes.crt": "!cert cn=kes dns=localhost issuer=ca.crt eku=server"}),
            _passes("the endpoint uses a name the certificate lists",
                    env=_env(MINIO_KMS_KES_ENDPOINT="https://localhost:${port}"),
                    files={"kes.crt": "!cert cn=kes dns=localhost issuer=ca.crt eku=server"})))
CERT_EXPIRED = declare(
    "DOC022", "kes-certificate-expired", E, "The KES server certificate has expired (or is not valid yet)",
    rationale="An expired KES certificate stops every MinIO request: a sudden outage weeks after deployment.",
    fix="Renew the KES server certificate, install it as KES's tls.cert and restart KES.",
    examples=(_scenario(True, "expired ten days ago",
                      files={"kes.crt": "!cert cn=kes ip=127.0.0.1 issuer=ca.crt eku=server not-before-days=-40 days=30"}),
            _passes()))
CLIENT_CERT_REFUSED = declare(
    "DOC023", "client-certificate-refused", E, "KES refused MinIO's client certificate in the TLS handshake",
    rationale="""KES requires a client certificate (KES >= 2024-03-13 aborts the handshake without one) and, with
    `tls.auth: on`, verifies it against tls.ca; a missing or unverifiable certificate is an outage. Older KES releases
    let the handshake pass and answer 400 to every call that needs the caller's identity.""",
    fix="""Make MinIO present its client certificate (MINIO_KMS_KES_CERT_FILE/KEY_FILE or MINIO_KMS_KES_API_KEY); with
    `tls.auth: on` it must chain to KES's tls.ca and carry the clientAuth usage, else use `tls.auth: off`.""",
    examples=(_scenario(True, "MinIO has no client certificate", env=_env(MINIO_KMS_KES_CERT_FILE=None, MINIO_KMS_KES_KEY_FILE=None)),
            _passes()))
PLAIN_HTTP = declare(
    "DOC024", "plain-http-endpoint", E, "A KES endpoint speaks plain HTTP, not TLS",
    rationale="KES serves HTTPS only; a plain HTTP answer means the URL points at another service or a TLS-terminating proxy's backend port.",
    fix="Point MINIO_KMS_KES_ENDPOINT at KES's TLS port (its `address`, default 7373).",
    examples=(_scenario(True, server="plain-http"), _passes()))
HANDSHAKE_FAILED = declare(
    "DOC025", "tls-handshake-failed", E, "The TLS handshake with KES failed",
    rationale="MinIO cannot talk to KES when the TLS handshake fails.",
    fix="Compare the TLS settings of both sides: MinIO needs TLS 1.2 or later and a certificate it can verify.",
    examples=(_scenario(True, "the KES certificate allows client authentication only",
                      files={"kes.crt": "!cert cn=kes ip=127.0.0.1 issuer=ca.crt eku=client"}),
            _passes()))
CERT_EXPIRING = declare(
    "DOC026", "kes-certificate-expiring", W, "The KES server certificate expires soon",
    rationale="KES certificates made by `kes identity new` last 30 days; when one expires, MinIO stops.",
    fix="Renew the KES server certificate before it expires and automate the renewal.",
    examples=(_scenario(True, "ten days left", files={"kes.crt": "!cert cn=kes ip=127.0.0.1 issuer=ca.crt eku=server days=10"}),
            _passes()))
VERIFICATION_DISABLED = declare(
    "DOC027", "tls-verification-disabled", W, "The doctor ran with --insecure",
    rationale="With --insecure the doctor does not verify the KES certificate, so it cannot tell whether MinIO will trust it.",
    fix="Run the doctor without --insecure, with MINIO_KMS_KES_CAPATH set as MinIO has it.", security_severity=3.0,
    examples=(_scenario(True, "run with --insecure", options={"insecure": True}), _passes()))
HTTP_SCHEME = declare(
    "DOC028", "http-scheme-endpoint", E, "A KES endpoint is written with http://",
    rationale="KES only serves HTTPS; MinIO fails against a TLS listener with an http:// URL.",
    fix="Write the endpoint as https://HOST:PORT.",
    examples=(_scenario(True, env=_env(MINIO_KMS_KES_ENDPOINT="http://127.0.0.1:${port}")), _passes()))

# KES API
KEYSTORE_UNREACHABLE = declare(
    "DOC030", "keystore-unreachable", E, "KES cannot reach its keystore (the root KMS)",
    rationale="""When Vault or the cloud KMS behind KES is down or sealed, key operations fail (502) once KES's
    cache expires, and a restarting MinIO cannot start.""",
    fix="Check the keystore KES uses (Vault status and seal, network, credentials) and KES's error log.",
    examples=(_scenario(True, server="kes keystore=down"), _passes()))
UNEXPECTED_RESPONSE = declare(
    "DOC031", "unexpected-kes-response", E, "KES answered in a way MinIO cannot use",
    rationale="An answer that is not KES's documented response (wrong status, no JSON, a redirect) means something else answers, or KES is broken.",
    fix="Check that the endpoint reaches KES directly (no proxy rewriting requests) and read KES's log.",
    examples=(_scenario(True, "a web server that is not KES answers", server="web-server"), _passes()))
MINIO_IS_ADMIN = declare(
    "DOC032", "minio-is-kes-admin", W, "MinIO authenticates as the KES admin",
    rationale="""The admin identity bypasses every policy: anyone with MinIO's credentials can delete keys and read
    the whole KES configuration.""",
    fix="Give MinIO its own identity in a policy that allows only generate, decrypt (and create) on its keys; keep the admin identity for operators.",
    security_severity=6.0,
    examples=(_scenario(True, server="kes policy=admin"), _passes()))
OTHER_IDENTITY = declare(
    "DOC044", "kes-sees-another-identity", W, "KES sees another identity than MinIO's",
    rationale="""KES answers `/v1/identity/self/describe` with the identity it takes from the client certificate of the
    connection (releases before 0.23 for every client, later ones for the admin). When that is not the identity of
    MinIO's certificate or API key, KES authorizes someone else: a proxy or load balancer in front of KES that ends TLS
    presents its own certificate (field-failures FM-15), or MinIO sends another certificate than the one configured
    (FM-06). KES's policies for MinIO's identity then do not apply.""",
    fix="Let the proxy pass TLS through to KES (no TLS termination), or bind the policy to the identity KES sees if that "
        "is really the client; check which certificate MinIO's settings name.",
    security_severity=5.0,
    examples=(_scenario(True, "a proxy that ends TLS in front of KES", not_runnable=_PROXY_IN_FRONT), _passes()))
KEY_MISSING = declare(
    "DOC033", "default-key-missing", E, "MINIO_KMS_KES_KEY_NAME does not exist on KES",
    rationale="""MinIO needs its default key for SSE and its encrypted configuration; if the key is missing and MinIO
    may not create it, SSE fails with `kms:KeyNotFound`.""",
    fix="Create the key as the KES admin (`kes key create NAME`), or allow MinIO /v1/key/create/NAME so it creates it at start.",
    examples=(_scenario(True, server="kes keys=none"), _passes()))
ACCESS_DENIED = declare(
    "DOC034", "kes-access-denied", E, "KES's policy does not let MinIO use its key",
    rationale="""KES answers 403 when MinIO's identity has no policy or the policy does not allow the call; MinIO
    may still start, and SSE, IAM and config then fail later.""",
    fix="""Add MinIO's identity to a policy in KES's config that allows /v1/key/generate/KEY and /v1/key/decrypt/KEY
    (a trailing * allows a prefix) and restart KES.""", security_severity=None,
    examples=(_scenario(True, "no policy names MinIO's identity", server="kes policy=none"), _passes()))
KEYSTORE_ERROR = declare(
    "DOC035", "keystore-error", E, "KES failed a key operation because of its keystore",
    rationale="A 502 from a key operation means KES could not reach the root KMS for a key that is not cached.",
    fix="Check the keystore KES uses (Vault status and seal, network, credentials) and KES's error log.",
    examples=(_scenario(True, "the key is not cached and the keystore is down", server="kes keystore=down"), _passes()))
ROUND_TRIP_MISMATCH = declare(
    "DOC036", "round-trip-mismatch", E, "Decrypting a fresh data key did not give it back",
    rationale="If KES cannot decrypt what it just generated, MinIO cannot read its own encrypted data.",
    fix="Check that every KES endpoint uses the same keystore and key; a KES behind a load balancer with diverging keystores causes this.",
    examples=(_scenario(True, "KES answers the decrypt with another plaintext", not_runnable=_CORRUPT_SERVER),
            _passes()))

# the KES host
NOT_LISTENING = declare(
    "DOC040", "kes-not-listening", E, "Nothing listens on KES's address",
    rationale="KES is not running, or it listens somewhere else than its config's `address`.",
    fix="Start KES with this config (`kes server --config FILE`) and read its log if it exits.",
    examples=(_scenario(True, "KES is not running", kes_config=_kes_config(), server="refused"), _host_passes()))
TLS_FILE_UNREADABLE = declare(
    "DOC041", "kes-tls-file-unreadable", E, "KES's certificate or key file cannot be read",
    rationale="KES refuses to start when it cannot read tls.cert or tls.key.",
    fix="Make the file exist and be readable by the user KES runs as (and by no one else for the key).",
    examples=(_scenario(True, "tls.cert names a file that does not exist", kes_config=_kes_config(cert="missing.crt")),
            _host_passes()))
PRIVATE_KEY_EXPOSED = declare(
    "DOC042", "kes-private-key-exposed", W, "KES's private key is readable by other users",
    rationale="Whoever can read KES's private key can impersonate the KES server to MinIO.",
    fix="chmod 600 the key file and chown it to the user KES runs as.", security_severity=5.5,
    examples=(_scenario(True, "the key file has mode 0644", kes_config=_kes_config(),
                      files={"kes.key": "!key of=kes.crt mode=0644"}),
            _host_passes("the key file has mode 0600", files={"kes.key": "!key of=kes.crt mode=0600"})))
CANNOT_MLOCK = declare(
    "DOC043", "kes-binary-cannot-mlock", W, "The kes binary lacks the cap_ipc_lock capability",
    rationale="""KES locks its memory so keys never reach swap; without root that needs cap_ipc_lock on the binary,
    else KES runs without memory locking.""",
    fix="Run `setcap cap_ipc_lock=+ep $(readlink -f $(which kes))` (again after every KES upgrade).",
    examples=(_scenario(True, kes_config=_kes_config(), server="kes kes-binary=plain"),
            _host_passes(server="kes kes-binary=cap_ipc_lock")))
