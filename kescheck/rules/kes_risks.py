"""KES200-KES229: what KES accepts without complaint but is wrong or risky."""
from __future__ import annotations

import difflib
import posixpath
import re

from ..findings import Severity
from ..identity import PLAY_IDENTITY, is_identity_hash, is_valid_name
from ..load.kesconfig import (GO_DURATION, Generation, KesConfig, env_reference, is_policy_identity_path, is_secret_path,
                              names_token_file, reads_key, release_date, predates, semantic_version, TLS_AUTH_SINCE)
from ..load.yamldoc import YMap, YNode, YScalar
from ..material import HIDDEN, kes_value, shown_value, substitution_note
from ..placeholders import EXAMPLE_PATH, PLACEHOLDER_WORDS, SUBSTITUTION
from ..routes import READ_ONLY_ROUTES, ROUTES, is_sensitive
from .base import Example, at_file, at_node, rule
from .kes_refusals import ID_A, admin_identity, policy_identities, proxy_identities
from .kes_schema import instance_of

_BASE = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
_VAULT = ("keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n"
          "    approle: {id: '${APPROLE_ID}', secret: '${APPROLE_SECRET}'}\n")


def _identities(config: KesConfig):
    """(role, node) for every identity the file names; role says where it sits."""
    admin = admin_identity(config)
    if admin is not None:
        yield "admin", admin
    for proxy in proxy_identities(config):
        yield "TLS proxy", proxy
    for policy, identity in policy_identities(config):
        yield f"policy `{policy}`", identity


ADMIN_OFF = ("disabled", "_")
"""Admin (or `root`) values that switch the admin off: `disabled` by KES's own rule, `_` because it is no
public key's identity (the spelling of root-era configs)."""


@rule("KES200", "identity-not-a-hash", Severity.WARNING, "An identity that is not 64 hex characters",
      rationale="""A KES identity is the lower-case hex SHA-256 of a client's public key (`kes identity of`):
      64 characters. KES accepts any text, but a placeholder such as `MINIO_API_KEY_HASH`, an upper-case or
      truncated hash can never match a client, so the policy silently grants nothing. `disabled` is the
      documented way to switch the admin off and is fine there, and so is `_`, the off switch of the
      `root:` era (it matches no client, which is the point).""",
      fix="Replace the value with the output of `kes identity of <client certificate or API key>`.",
      examples=(Example.kes(_BASE + "policy:\n  minio:\n    allow: [/v1/status]\n    identities: [MINIO_API_KEY_HASH]\n" + _VAULT, True),
                Example.kes(_BASE + f"policy:\n  minio:\n    allow: [/v1/status]\n    identities: [{ID_A}]\n" + _VAULT, False),
                Example.kes("root: _\ntls: {key: /k, cert: /c}\nkeys: {fs: {path: /var/kes}}\n", False,
                            note="`root: _`, the off switch of old configs")))
def identity_not_a_hash(deployment):
    config = deployment.kes
    if config is None:
        return
    for role, node in _identities(config):
        value = kes_value(deployment, node)
        if value is None or is_identity_hash(value) or (role == "admin" and value in ADMIN_OFF):
            continue  # not set, or a reference whose value is unknown (KES213) or empty (KES108)
        if role.startswith("policy") and config.generation is Generation.G2 and not is_valid_name(value):
            continue  # KES012 reports it: KES refuses the name outright
        if re.fullmatch(r"[0-9a-fA-F]{64}", value):
            why = "is upper-case hex; KES identities are lower-case, so it matches no client"
        elif re.fullmatch(r"[0-9a-fA-F]+", value):
            why = f"has {len(value)} hex characters instead of 64, so it matches no client"
        elif role == "admin":
            why = ("is not an identity (64 hex characters), so it matches no client and KES runs without an admin; "
                   "write `disabled`, the documented off switch, if that is the intent")
        else:
            why = "is not an identity (64 hex characters) but looks like a placeholder, so it matches no client"
        yield at_node(config.source, node, f"{role} identity {shown_value(node, value)}{substitution_note(node)} {why}")


@rule("KES201", "play-identity", Severity.WARNING, "The public KES Play identity is trusted",
      rationale="""The private key of the KES Play sandbox (play.min.io) is published in the KES repository:
      anyone holds it. A config that trusts its identity lets anybody act as that client.""",
      fix="Create your own client key pair (`kes identity new`) and use its identity.",
      security_severity=9.0,
      examples=(Example.kes(f"admin: {{identity: {PLAY_IDENTITY}}}\ntls: {{key: /k, cert: /c}}\n" + _VAULT, True),
                Example.kes(_BASE + _VAULT, False)))
def play_identity(deployment):
    config = deployment.kes
    if config is None:
        return
    for role, node in _identities(config):
        if kes_value(deployment, node) == PLAY_IDENTITY:  # written out, or the value of its `${VAR}`
            yield at_node(config.source, node, f"{role} identity is the public KES Play identity, whose private key "
                          "anyone can download: anybody can act as this client")


def api_routes(deployment):
    """The `api` entries of the KES config, unless the release kescheck checks for predates `api` and ignores it
    (KES220 says so)."""
    config = deployment.kes
    api = config.find("api") if reads_key("api", deployment.options.kes_version) else None
    if isinstance(api, YMap):
        for key, body in api.entries:
            yield key, body


def skip_auth_set(body) -> YScalar | None:
    """The `skip_auth` node when it is true (an unresolved `${VAR}` counts as not known to be true)."""
    node = body.get("skip_auth") if isinstance(body, YMap) else None
    if not isinstance(node, YScalar) or env_reference(node) is not None:
        return None
    value = instance_of(node)
    return node if value is True or value in _TRUE_WORDS else None


_TRUE_WORDS = frozenset({"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"})
"""Text KES's YAML decoder (yaml.v3) turns into `true` for a boolean setting: YAML 1.1's words, exactly as written.
Other text, quoted `"true"` included, it refuses to decode (KES012 reports it)."""


@rule("KES202", "skip-auth-sensitive-route", Severity.ERROR, "`skip_auth` on a key, policy, identity or log route",
      rationale="""`api.<route>.skip_auth: true` serves that route to anyone who can reach KES, without a
      client certificate. On `/v1/key/...` routes that means anyone can create keys, or decrypt and
      generate data keys; on policy, identity and log routes it exposes the configuration and audit trail.""",
      fix="Remove `skip_auth` from the route (and grant the client access through a policy instead).",
      security_severity=9.5,
      examples=(Example.kes(_BASE + "api:\n  /v1/key/decrypt/:\n    skip_auth: true\n" + _VAULT, True),
                Example.kes(_BASE + "api:\n  /v1/key/decrypt/:\n    timeout: 15s\n" + _VAULT, False),
                Example.kes(_BASE + "api:\n  /v1/key/decrypt/:\n    skip_auth: true\n" + _VAULT, False,
                            "KES 0.22 ignores `api` (KES220 says so)", options=(("kes_version", "0.22"),))))
def skip_auth_sensitive(deployment):
    config = deployment.kes
    if config is None:
        return
    for key, body in api_routes(deployment):
        node = skip_auth_set(body)
        if node is not None and key.text in ROUTES and is_sensitive(key.text):
            yield at_node(config.source, node, f"`skip_auth` on `{key.text}` lets anyone who can reach KES call it "
                          "without a client certificate")


@rule("KES203", "skip-auth-route", Severity.WARNING, "`skip_auth` on a route that is not read-only",
      rationale="""Only `/v1/ready`, `/v1/status`, `/v1/metrics` and `/v1/api` are harmless without
      authentication; other routes (such as `/version`) tell an unauthenticated caller more than needed.""",
      fix="Remove `skip_auth`, or keep it only on /v1/ready, /v1/status, /v1/metrics or /v1/api.",
      security_severity=4.0,
      examples=(Example.kes(_BASE + "api:\n  /version:\n    skip_auth: true\n" + _VAULT, True),
                Example.kes(_BASE + "api:\n  /v1/ready:\n    skip_auth: true\n" + _VAULT, False)))
def skip_auth_route(deployment):
    config = deployment.kes
    if config is None:
        return
    for key, body in api_routes(deployment):
        node = skip_auth_set(body)
        if node is not None and key.text in ROUTES and not is_sensitive(key.text) and key.text not in READ_ONLY_ROUTES:
            yield at_node(config.source, node, f"`skip_auth` on `{key.text}` serves it without authentication")


@rule("KES204", "skip-auth-relaxes-tls", Severity.NOTE, "`skip_auth` stops KES from requiring client certificates",
      rationale="""When any `api.<route>.skip_auth` is true, KES no longer requires a client certificate in the
      TLS handshake, for every route. Routes that need authentication then answer with HTTP errors instead
      of failing the handshake, and with `tls.auth: on` certificates are verified only when a client sends one.""",
      fix="Accept this knowingly, or drop `skip_auth` and give monitoring a client certificate and a policy "
          "that allows /v1/status and /v1/metrics.",
      examples=(Example.kes(_BASE + "api:\n  /v1/metrics:\n    skip_auth: true\n" + _VAULT, True),
                Example.kes(_BASE + "api:\n  /v1/metrics:\n    skip_auth: false\n" + _VAULT, False)))
def skip_auth_relaxes_tls(deployment):
    config = deployment.kes
    if config is None:
        return
    for key, body in api_routes(deployment):
        node = skip_auth_set(body)
        if node is not None and key.text in ROUTES:
            yield at_node(config.source, node, f"`skip_auth` on `{key.text}` makes KES stop requiring a client certificate "
                          "in the TLS handshake for all routes")
            return


@rule("KES205", "api-unknown-route", Severity.WARNING, "An `api` entry for a path that is not a KES route",
      rationale="""KES ignores `api` entries whose name is not one of its routes. Routes that take a resource
      are named with a trailing slash (`/v1/key/decrypt/`), so `/v1/key/decrypt` silently configures nothing.""",
      fix="Use the route name exactly: `/v1/status`, `/v1/metrics`, `/v1/key/generate/`, ...",
      examples=(Example.kes(_BASE + "api:\n  /v1/key/decrypt:\n    timeout: 15s\n" + _VAULT, True),
                Example.kes(_BASE + "api:\n  /v1/key/decrypt/:\n    timeout: 15s\n" + _VAULT, False)))
def api_unknown_route(deployment):
    config = deployment.kes
    if config is None:
        return
    for key, _ in api_routes(deployment):
        route = key.text
        if route in ROUTES:
            continue
        if route + "/" in ROUTES:
            hint = f" (routes that take a resource end with `/`: `{route}/`)"
        else:
            close = difflib.get_close_matches(route, sorted(ROUTES), n=1, cutoff=0.7)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
        yield at_node(config.source, key, f"`{route}` is not a KES route, so KES ignores this `api` entry{hint}")


_PLACEHOLDERS = (
    (PLACEHOLDER_WORDS, "an upper-case documentation stand-in"),
    (SUBSTITUTION, "a |name| substitution"),
    (EXAMPLE_PATH, "an example /path/to/ path"),
    (re.compile(r"<[^<>\n]+>"), "a <...> placeholder"),
)


_ANY_OF_THE_PLACEHOLDERS = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _PLACEHOLDERS))
"""One search that finds nothing where none of them would (most values): then the four need not run."""


def _placeholder(text: str) -> tuple[re.Match, str] | None:
    """The first documentation placeholder in `text`, with what kind it is."""
    if _ANY_OF_THE_PLACEHOLDERS.search(text) is None:
        return None
    for pattern, label in _PLACEHOLDERS:
        match = pattern.search(text)
        if match:
            return match, label
    return None


_INDEX_SUFFIX = re.compile(r"\[\d+\]$")
"""Compiled once: a rule tests every scalar's path of every config with it (re's own cache costs a lookup per call)."""


def _is_identity(path: str) -> bool:
    return path in ("root", "admin.identity") or path.startswith(("tls.proxy.identities", "proxy.identities")) \
        or is_policy_identity_path(path)


@rule("KES206", "doc-placeholder", Severity.WARNING, "A value left from the documentation",
      rationale="""The KES and MinIO documentation write placeholders such as `HOSTNAME`, `REGION`, `VAULTAPPID`,
      `/path/to/engine`, `|kescertpath|` or `<key-name>` for values you must fill in. Left in a config they point KES at
      nothing or grant the wrong thing. (Placeholder identities are KES200's.)""",
      fix="Replace the placeholder with the real value.",
      examples=(Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: https://HOSTNAME:8200\n"
                            "    approle: {id: '${APPROLE_ID}', secret: '${APPROLE_SECRET}'}\n", True),
                Example.kes(_BASE + _VAULT, False)))
def doc_placeholder(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in config.doc.values():
        if _is_identity(node.path):
            continue
        if env_reference(node) is not None:  # `${AWSACCESSKEY}` names a variable; KES substitutes its value
            continue
        found = _placeholder(node.text)
        if found is not None:
            match, label = found
            shown = "" if is_secret_path(node.path) else f" `{match[0]}`"
            yield at_node(config.source, node, f"`{node.path}` still holds the documentation placeholder{shown}"
                          + ("" if shown else f" ({label})"))


_ENDPOINT_KEYS = ("endpoint", "base_url", "auth_url")


@rule("KES207", "keystore-plain-http", Severity.WARNING, "A keystore endpoint without TLS (`http://`)",
      rationale="""KES sends its keys to the keystore and authenticates to it over this connection. Over plain
      HTTP, the keys and the login travel unencrypted.""",
      fix="Use the keystore's `https://` URL (and `tls.ca` when it has a private CA).",
      security_severity=7.5,
      examples=(Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: http://vault.example.net:8200\n"
                            "    approle: {id: '${APPROLE_ID}', secret: '${APPROLE_SECRET}'}\n", True),
                Example.kes(_BASE + _VAULT, False)))
def keystore_plain_http(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in config.doc.values():
        if not node.path.startswith(("keystore.", "keys.")):
            continue
        last = _INDEX_SUFFIX.sub("", node.path).rsplit(".", 1)[-1]
        url = kes_value(deployment, node) if last in _ENDPOINT_KEYS else None
        if url is not None and url.lower().startswith("http://"):
            yield at_node(config.source, node, f"`{node.path}`{substitution_note(node, url)} is a plain `http://` URL: "
                                               "keys and credentials travel unencrypted")


@rule("KES208", "fs-keystore", Severity.WARNING, "The `fs` keystore (development only)",
      rationale="""The `fs` keystore writes keys unencrypted to a local directory: anyone who can read that
      directory or its backups holds every key, and they are lost with the disk. It is meant for development.""",
      fix="Use a real KMS keystore (Vault, a cloud KMS or an HSM) in production.",
      security_severity=5.0,
      examples=(Example.kes(_BASE + "keystore: {fs: {path: /var/kes}}\n", True), Example.kes(_BASE + _VAULT, False)))
def fs_keystore(deployment):
    config = deployment.kes
    if config is None:
        return
    for dotted in ("keystore", "keys"):
        parent = config.find(dotted)
        if isinstance(parent, YMap) and parent.key_node("fs") is not None:
            yield at_node(config.source, parent.key_node("fs"), "the `fs` keystore stores keys unencrypted on local disk: "
                          "for development only")


@rule("KES209", "plaintext-secret", Severity.WARNING, "A secret written into the config file",
      rationale="""Keystore credentials and the TLS key password in the file end up in version control,
      backups and support bundles. KES substitutes `${VAR}` from its environment, which keeps them out.""",
      fix="Replace the value with a `${VAR}` reference and set VAR in the environment KES starts with "
          "(systemd `EnvironmentFile=` with mode 0600, or a container secret).",
      security_severity=6.5,
      examples=(Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n"
                            "    approle: {id: my-role, secret: 7a8b9c0d-1e2f}\n", True),
                Example.kes(_BASE + _VAULT, False),
                Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n"
                            "    approle: {id: my-role, secret: <approle-secret-id>}\n", False,
                            note="a placeholder, which KES206 reports")))
def plaintext_secret(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in config.doc.values():
        if not node.text.strip():
            continue
        if not is_secret_path(node.path) or env_reference(node) is not None:
            continue
        if names_token_file(node):
            continue  # a path to the token file, not the token
        if _placeholder(node.text) is not None:
            continue  # not a secret yet: KES206 reports the placeholder
        yield at_node(config.source, node, f"`{node.path}` holds a secret in plain text (value not shown)")


_TLS_FILE_KEYS = ("key", "cert", "ca")


@rule("KES210", "relative-tls-path", Severity.WARNING, "A relative certificate or key path",
      rationale="""KES opens relative paths from its working directory, not from the directory of the config
      file. The same config then works from a shell in that directory and fails under systemd or in a
      container.""",
      fix="Write absolute paths, e.g. `/etc/kes/certs/kes-server.crt`.",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: ./server.key, cert: ./server.crt}\n" + _VAULT, True),
                Example.kes(_BASE + _VAULT, False),
                Example.kes("admin: {identity: disabled}\ntls:\n  key: /etc/kes/server.key\n  cert: |\n"
                            "    -----BEGIN CERTIFICATE-----\n    MIIBszCCAVmgAwIBAgIUQ\n    -----END CERTIFICATE-----\n"
                            + _VAULT, False, note="PEM text pasted in place of the file name is CRT004's")))
def relative_tls_path(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in config.doc.values():
        parts = node.path.split(".")
        if len(parts) < 2 or parts[-2] != "tls" or parts[-1] not in _TLS_FILE_KEYS:
            continue
        text = kes_value(deployment, node)
        if text is None or "-----BEGIN " in text:
            continue  # PEM pasted in place of a file name: CRT004 says so, and it is no path at all
        if not posixpath.isabs(text) and not text.startswith("~"):
            shown = shown_value(node, text)
            what = "a relative path" if shown == HIDDEN else f"the relative path {shown}"
            yield at_node(config.source, node, f"`{node.path}` is {what}{substitution_note(node)}: KES resolves it "
                                               "against its working directory, not the directory of this file")


@rule("KES211", "tls-ca-without-auth", Severity.WARNING, "`tls.ca` has no effect without `tls.auth: on`",
      rationale="""Current KES uses `tls.ca` only to verify client certificates, which it does only with
      `tls.auth: on`. With `off` (the default) the CA is ignored and identities alone decide.""",
      fix="Set `tls.auth: \"on\"` if client certificates must chain to that CA (not for self-signed clients or API "
          "keys), or remove `tls.ca`.",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, ca: /etc/kes/ca.crt}\n" + _VAULT, True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, ca: /etc/kes/ca.crt, auth: \"on\"}\n" + _VAULT, False)))
def tls_ca_without_auth(deployment):
    config = deployment.kes
    if config is None or config.generation is not Generation.G2:
        return
    ca = config.scalar("tls.ca")
    if ca is None or not ca.text.strip():
        return
    version = deployment.options.kes_version
    if predates(version, TLS_AUTH_SINCE):  # a release that knows no `tls.auth` (KES220)
        if not predates(version, "2023-10-24"):
            yield at_node(config.source, ca, f"`tls.ca` is set, but KES {version.strip()} never verifies client "
                                             "certificates (it requests them only), so it never uses this CA",
                          fix="Run KES 2023-11-09 or later with `tls.auth: \"on\"` if client certificates must chain "
                              "to that CA, or remove `tls.ca`.")
        return  # a glob-era release verifies against `tls.ca` unless it runs with `kes server --auth=off`
    auth = config.scalar("tls.auth")
    if auth is not None and (auth.text.strip().lower() == "on" or env_reference(auth) is not None):
        return
    yield at_node(config.source, ca, "`tls.ca` is set but `tls.auth` is not `on`, so KES never uses this CA")


_CACHE_BUG_SINCE = ("2024-04-12", (0, 24, 0))
"""The first date-named release with the cache bug, and the first semver release after it (v0.23.0 is of
2023-11-10)."""


def _before_cache_bug(version: str | None) -> bool:
    released, semver = release_date(version), semantic_version(version)
    return (released is not None and released < _CACHE_BUG_SINCE[0]) or (
        semver is not None and semver < _CACHE_BUG_SINCE[1])


@rule("KES212", "cache-unused-unset", Severity.WARNING, "`cache.expiry.unused` is not set",
      rationale="""Since KES 2024-04-12, leaving `cache.expiry.unused` unset makes KES shorten `cache.expiry.any`
      to 30 seconds (a KES bug): keys are fetched from the keystore far more often than configured, and
      survive a keystore outage for only 30 s.""",
      fix="Set both `cache.expiry.any` and `cache.expiry.unused` (e.g. `any: 5m0s`, `unused: 30s`).",
      examples=(Example.kes(_BASE + "cache:\n  expiry:\n    any: 5m0s\n" + _VAULT, True),
                Example.kes(_BASE + "cache:\n  expiry:\n    any: 5m0s\n" + _VAULT, True,
                            options=(("kes_version", "2024-04-12T13-50-00Z"),)),
                Example.kes(_BASE + "cache:\n  expiry:\n    any: 5m0s\n    unused: 30s\n" + _VAULT, False),
                Example.kes(_BASE + "cache:\n  expiry:\n    any: 5m0s\n" + _VAULT, False,
                            options=(("kes_version", "2024-03-28T12-56-37Z"),), note="a release before the bug")))
def cache_unused_unset(deployment):
    config = deployment.kes
    if config is None or config.generation is not Generation.G2 or config.root is None:
        return
    if config.scalar("cache.expiry.unused") is not None or _before_cache_bug(deployment.options.kes_version):
        return
    message = "`cache.expiry.unused` is not set, so KES (>= 2024-04-12) shortens `cache.expiry.any` to 30s"
    cache = config.find("cache")
    expiry = cache.get("expiry") if isinstance(cache, YMap) else None
    # Point at the deepest part of `cache.expiry` the file has, and say what to add there.
    if isinstance(expiry, YMap) and expiry.key_node("unused") is not None:
        node, where = expiry.key_node("unused"), "give `unused:` a value (e.g. `unused: 30s`)"
    elif isinstance(expiry, YMap) and expiry.key_node("any") is not None:
        node, where = expiry.key_node("any"), "add `unused:` (e.g. `unused: 30s`) next to `any:`"
    elif isinstance(cache, YMap) and cache.key_node("expiry") is not None:
        node, where = cache.key_node("expiry"), "add `any:` and `unused:` (e.g. `any: 5m0s`, `unused: 30s`) under it"
    else:
        node = config.root.key_node("cache")
        where = ("add `expiry:` with `any:` and `unused:` under it" if node is not None else
                 "the file has no `cache` section: add one at the top level, e.g. "
                 "`cache: {expiry: {any: 5m0s, unused: 30s}}`")
    if node is None:
        yield at_file(config.source, f"{message}; {where}", anchor="cache.expiry.unused")
    else:
        yield at_node(config.source, node, f"{message}; {where}", anchor="cache.expiry.unused")


_KV_V2_NAME = re.compile(r"(?:^|[-_.])(?:kv|secrets?)[-_]?v2(?:$|[-_.])", re.IGNORECASE)
"""A mount path segment that names K/V v2: `kv-v2` (where `vault secrets enable kv-v2` mounts it), `kvv2`,
`kv_v2`, `secret-v2`, `team-kv-v2`. Not `kv2`, which may as well count mounts."""
_DEV_SERVER_KV_V2 = "secret"
"""Where every Vault dev server (`vault server -dev`) mounts K/V v2; old non-dev servers mounted K/V v1 there."""
_V2_API_SEGMENTS = ("data", "metadata")
"""The K/V v2 API's own path segments (`<mount>/data/<path>`), which KES adds itself when `version` is v2."""


def _vault_path(deployment, dotted: str) -> tuple[YScalar | None, list[str] | None]:
    """The node and the segments of a vault path setting; segments None when a `${VAR}` hides the value."""
    node = deployment.kes.scalar(dotted)
    if node is None:
        return None, []
    value = kes_value(deployment, node)
    if value is None:
        return node, None if env_reference(node) is not None else []
    return node, [segment for segment in value.split("/") if segment]


def _kv_version_signals(deployment, explicit_v1: bool):
    """(node, what the path shows) for each sign in `engine` and `prefix` that the mount is K/V v2. A name that
    says v2 counts whatever `version` says; the rest only while `version` is not set, since writing it down is
    how a user says which version the mount is."""
    engine_node, engine = _vault_path(deployment, "keystore.vault.engine")
    prefix_node, prefix = _vault_path(deployment, "keystore.vault.prefix")
    if engine:
        shown = shown_value(engine_node, "/".join(engine))
        if any(_KV_V2_NAME.search(segment) for segment in engine):
            yield engine_node, (f"`keystore.vault.engine` is {shown}, a K/V v2 mount by its name (`vault secrets "
                                "enable kv-v2` mounts one at `kv-v2/`)")
            return
        if explicit_v1:
            return
        if engine == [_DEV_SERVER_KV_V2]:
            yield engine_node, ("`keystore.vault.engine` is `secret`, where a Vault dev server mounts K/V v2 (old "
                                "Vault servers mounted v1 there: only the mount can tell)")
            return
        if len(engine) > 1 and engine[-1] in _V2_API_SEGMENTS:
            mount = shown_value(engine_node, "/".join(engine[:-1]))
            yield engine_node, (f"`keystore.vault.engine` {shown} ends in `{engine[-1]}`, a path segment of the K/V "
                                f"v2 API (`<mount>/{engine[-1]}/...`): the mount looks like {mount}, K/V v2")
            return
    if prefix and not explicit_v1 and prefix[0] in _V2_API_SEGMENTS:
        yield prefix_node, (f"`keystore.vault.prefix` starts with `{prefix[0]}/`, a path segment of the K/V v2 API "
                            "(`<mount>/data/...`): the mount looks like K/V v2")


_KV_VAULT = "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n{extra}" \
            "    approle: {{id: '${{APPROLE_ID}}', secret: '${{APPROLE_SECRET}}'}}\n"


@rule("KES219", "vault-kv-version", Severity.WARNING, "The Vault engine path points at K/V v2 while KES speaks v1",
      rationale="""KES talks to Vault's K/V engine with the API of `keystore.vault.version` and takes `v1` when
      it is not set. The two APIs differ (v2 reads and writes `<mount>/data/<path>` with a wrapped body), so on a
      K/V v2 mount every key create and read fails (`vault: entry exist but failed to read '...': invalid K/V v1
      format`): KES starts (unless it must create pre-defined `keys`), and MinIO fails at its first key. kescheck
      does not contact Vault, and KES's Vault policy normally has no right to read `sys/mounts`, so which version a
      mount is cannot be seen; kescheck warns only where the config itself points at v2: an `engine` whose name
      says v2 (`kv-v2`, `kvv2`, `secret-v2`; reported even with `version: v1`), and, while `version` is not set,
      `engine: secret` (K/V v2 on every Vault dev server, v1 on old production servers) or `data/`/`metadata/` in
      `engine` or `prefix` (segments of the v2 API that KES adds itself). A v2 mount at a neutral path (`kv`, the
      default, mounted with `-version=2`), or a v1 mount upgraded in place (`vault kv enable-versioning`), shows
      nothing in the config: setting `version` explicitly is the only safeguard there.""",
      fix="""Look the mount up with `vault secrets list -detailed` (its Options show `version:2` for K/V v2) and
      set `keystore.vault.version` to match (`v2` needs KES 0.15 or later). With v2, name only the mount in
      `engine` and leave `data/` and `metadata/` out of `engine` and `prefix`: KES adds them, and its Vault policy
      needs `<engine>/data/*` and `<engine>/metadata/*`.""",
      examples=(Example.kes(_BASE + _KV_VAULT.format(extra="    engine: kv-v2\n"), True),
                Example.kes(_BASE + _KV_VAULT.format(extra="    engine: secret\n"), True,
                            note="the dev server's K/V v2 mount, and no version"),
                Example.kes(_BASE + _KV_VAULT.format(extra="    engine: kv/data\n"), True,
                            note="the v2 API path written as the engine"),
                Example.kes(_BASE + _KV_VAULT.format(extra="    engine: kv-v2\n    version: v2\n"), False),
                Example.kes(_BASE + _KV_VAULT.format(extra="    engine: secret\n    version: v1\n"), False,
                            note="the version is written down"),
                Example.kes(_BASE + _KV_VAULT.format(extra=""), False,
                            note="the default `kv` mount says nothing about its version")))
def vault_kv_version(deployment):
    config = deployment.kes
    if config is None or not isinstance(config.find("keystore.vault"), YMap):
        return
    version_node = config.scalar("keystore.vault.version")
    version = kes_value(deployment, version_node) or ""
    if version_node is not None and env_reference(version_node) is not None and not version:
        return  # the version comes from the environment, which kescheck does not know
    if version not in ("", "v1"):
        return  # v2, or a value KES refuses (KES012 reports that)
    said = "`version` is `v1`, so" if version else "`version` is not set, so"
    for node, shows in _kv_version_signals(deployment, explicit_v1=bool(version)):
        yield at_node(config.source, node, f"{shows}; {said} KES speaks the K/V v1 API to it: on a v2 mount every "
                      "key create and read fails (`invalid K/V v1 format`), and so does MinIO's first key operation")


_OFFLINE_CACHE_SINCE = (0, 17, 3)
"""The first KES release with `cache.expiry.offline` (every date-named release has it)."""
_SIGNED_GO_DURATION = re.compile(rf"^[+-]?{GO_DURATION}$")
_DURATION_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _duration_is_zero(text: str) -> bool | None:
    """True for a Go duration of zero (`0`, `0s`, `0h0m`), False for any other valid one, None when it is no
    Go duration (the schema rules report those)."""
    text = text.strip()
    if not _SIGNED_GO_DURATION.match(text):
        return None
    return all(float(number) == 0 for number in _DURATION_NUMBER.findall(text))


def _has_offline_cache(config: KesConfig, version: str | None) -> bool:
    """Whether the target KES reads `cache.expiry.offline` (v0.17.3 onward; G0 configs predate it)."""
    if config.generation is Generation.G0:
        return False
    release = semantic_version(version)
    return release is None or release >= _OFFLINE_CACHE_SINCE


_OFFLINE_ANY = "cache:\n  expiry:\n    any: 5m0s\n    unused: 20s\n"


@rule("KES224", "offline-cache-disabled", Severity.WARNING, "No offline cache: a keystore outage stops MinIO",
      rationale="""KES serves keys from its cache only until `cache.expiry.any` / `unused`; after that every
      generate and decrypt needs the keystore (Vault, a cloud KMS, an HSM). `cache.expiry.offline` keeps
      cached keys usable while the keystore is unreachable, and it is off unless set (unset or 0). Without
      it, a short outage of the root KMS is an outage of every encrypted bucket, and a MinIO that restarts
      during the outage cannot start, since MinIO needs its key from KES to boot. A warning, not an error:
      KES works as configured, the risk is an outage elsewhere turning into a storage outage; the trade-off
      is that keys stay in KES's memory for that long after the keystore went away. KES 0.17.3 and later
      read the setting (G0 configs predate it).""",
      fix="""Set `cache.expiry.offline` to how long KES may keep serving cached keys while the keystore is down,
      e.g. `offline: 6h` (longer than the keystore outage you must ride out, short enough for your key
      revocation needs).""",
      examples=(Example.kes(_BASE + _OFFLINE_ANY + _VAULT, True),
                Example.kes(_BASE + _OFFLINE_ANY + "    offline: 0s\n" + _VAULT, True, note="0 disables it"),
                Example.kes(_BASE + _OFFLINE_ANY + "    offline: 6h\n" + _VAULT, False),
                Example.kes(_BASE + _OFFLINE_ANY + _VAULT, False, options=(("kes_version", "0.17.2"),),
                            note="KES 0.17.2 has no offline cache")))
def offline_cache_disabled(deployment):
    config = deployment.kes
    if config is None or config.root is None or not _has_offline_cache(config, deployment.options.kes_version):
        return
    offline = config.find("cache.expiry.offline")
    if isinstance(offline, YScalar) and not offline.is_null:
        text, name = offline.text, env_reference(offline)
        if name is not None:
            env = deployment.options.kes_env
            if env is None or env.get(name) is None:
                return  # unknown value (KES213 / KES100 speak about the variable)
            text = env[name]
        if _duration_is_zero(text):
            yield at_node(config.source, offline, f"`cache.expiry.offline` is {shown_value(offline, text.strip())}"
                          f"{substitution_note(offline)}, which switches the offline cache off: when the keystore is unreachable, KES cannot serve "
                          "keys once they leave the cache, and a MinIO that restarts meanwhile cannot start")
        return
    if offline is not None and not isinstance(offline, YScalar):
        return  # a list or mapping: KES011 reports the type
    message = ("`cache.expiry.offline` is not set, so KES has no offline cache: when the keystore is unreachable, KES "
               "cannot serve keys once they leave the cache, and a MinIO that restarts meanwhile cannot start")
    expiry, cache = config.find("cache.expiry"), config.find("cache")
    if isinstance(expiry, YMap) and offline is not None:
        anchor_node = expiry.key_node("offline")  # `offline:` with no value
    elif isinstance(cache, YMap) and cache.key_node("expiry") is not None:
        anchor_node = cache.key_node("expiry")
    else:
        anchor_node = config.root.key_node("cache") or config.root.entries[0][0]
    yield at_node(config.source, anchor_node, message, anchor="cache.expiry.offline")


def _proxy_section(config: KesConfig) -> tuple[str, YMap] | None:
    """(dotted path, mapping) of the TLS proxy settings the config's generation reads."""
    dotted = "proxy" if config.generation is Generation.G0 else "tls.proxy"
    node = config.find(dotted)
    return (dotted, node) if isinstance(node, YMap) else None


def _set_in_env(node: YNode | None, env) -> bool:
    """A scalar with a value KES will see: text, or a `${VAR}` the KES environment (when known) sets non-empty."""
    if not isinstance(node, YScalar) or node.is_null or not node.text.strip():
        return False
    name = env_reference(node)
    if name is None or env is None:
        return True
    value = env.get(name, "")
    return value is None or bool(value.strip())  # None: set, to a value kescheck cannot know


def _proxy_parts(config: KesConfig, env) -> tuple[str, YMap, list[YScalar], YScalar | None] | None:
    found = _proxy_section(config)
    if found is None:
        return None
    dotted, section = found
    identities = [node for node in proxy_identities(config) if _set_in_env(node, env)]
    header = section.get("header")
    cert = header.get("cert") if isinstance(header, YMap) else None
    return dotted, section, identities, cert if _set_in_env(cert, env) else None


_PROXY_ID = "0c8a7e2b1f1e4d3c9b8a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a"
_G1_HEAD = "admin: {identity: disabled}\ntls:\n  key: /k\n  cert: /c\n"


@rule("KES217", "tls-proxy-incomplete", Severity.ERROR, "TLS proxies listed without the header of the client certificate",
      rationale="""KES up to 2023-09-28 (G0 and G1 configs) supports a TLS-terminating proxy in front of it: for a
      request from an identity listed in `tls.proxy.identities`, KES takes the client's certificate from the
      HTTP header named by `tls.proxy.header.cert` and authorizes the request as that client. With proxies
      listed but no header named, KES looks for a header with no name and refuses every request the proxy
      forwards (HTTP 400 `no client certificate is present`); clients that connect directly still work.
      (A header without listed proxies does nothing, which is harmless when no proxy is in front: KES's own
      sample config has it. KES 0.17.0 to 0.17.2 read these keys under a top-level `proxy`.)""",
      fix="""Name the header in which the proxy forwards the client's URL-escaped PEM certificate under
      `header.cert` (e.g. `X-Tls-Client-Cert`, as configured in the proxy). Without a TLS-terminating proxy,
      remove the proxy identities.""",
      examples=(Example.kes(_G1_HEAD + f"  proxy:\n    identities: [{_PROXY_ID}]\n" + _VAULT, True,
                            options=(("kes_version", "0.22"),)),
                Example.kes(_G1_HEAD + f"  proxy:\n    identities: [{_PROXY_ID}]\n    header: {{cert: X-Tls-Client-Cert}}\n"
                            + _VAULT, False, options=(("kes_version", "0.22"),)),
                Example.kes(_G1_HEAD + "  proxy:\n    identities: []\n    header: {cert: X-Tls-Client-Cert}\n" + _VAULT,
                            False, options=(("kes_version", "0.22"),), note="no proxy: the header does nothing")))
def tls_proxy_incomplete(deployment):
    config = deployment.kes
    if config is None or config.generation is Generation.G2:
        return
    parts = _proxy_parts(config, deployment.options.kes_env)
    if parts is None:
        return
    dotted, section, identities, cert = parts
    if identities and cert is None:
        header = section.get("header")
        node = (header.key_node("cert") if isinstance(header, YMap) and header.key_node("cert") else
                section.key_node("header") or section.key_node("identities"))
        yield at_node(config.source, node, f"`{dotted}.identities` lists {len(identities)} TLS prox"
                      f"{'y' if len(identities) == 1 else 'ies'} but `{dotted}.header.cert` names no header: KES finds "
                      "no forwarded client certificate and refuses every request the proxy forwards "
                      "(400 `no client certificate is present`)", anchor=f"{dotted}.header.cert")


@rule("KES218", "tls-proxy-unsupported", Severity.WARNING, "`tls.proxy` does nothing on current KES",
      rationale="""Since its 2023-10-24 rewrite KES no longer supports TLS-terminating proxies. It still reads
      `tls.proxy` (and refuses to start when a proxy identity is also the admin or in a policy) but never
      looks at the forwarded-certificate header: every request is authorized by the certificate of the TLS
      connection it arrives on. Behind a proxy that terminates TLS all requests therefore come from the
      proxy's identity, which cannot hold a policy while it is listed as a proxy: every client behind it
      gets 403.""",
      fix="""Put KES behind a load balancer that passes TLS through (TCP / layer-4 mode, or SNI routing without
      termination) so that MinIO's client certificate reaches KES, and remove `tls.proxy`.""",
      examples=(Example.kes(_G1_HEAD + f"  proxy:\n    identities: [{_PROXY_ID}]\n    header: {{cert: X-Tls-Client-Cert}}\n"
                            + _VAULT, True),
                Example.kes(_G1_HEAD + f"  proxy:\n    identities: [{_PROXY_ID}]\n    header: {{cert: X-Tls-Client-Cert}}\n"
                            + _VAULT, False, options=(("kes_version", "0.22"),), note="KES 0.22 supports TLS proxies")))
def tls_proxy_unsupported(deployment):
    config = deployment.kes
    if config is None or config.generation is not Generation.G2:
        return
    parts = _proxy_parts(config, deployment.options.kes_env)
    if parts is None:
        return
    dotted, section, identities, _ = parts
    if not identities:
        return  # a header alone (as in KES's sample config) does nothing either way
    tls = config.find("tls")
    node = tls.key_node("proxy") if isinstance(tls, YMap) else None
    yield at_node(config.source, node or section, "current KES (2023-10-24 and later) ignores `tls.proxy` apart from "
                  "identity checks: behind a TLS-terminating proxy every request is authorized as the proxy, which "
                  "has no policy, so every client behind it gets 403", anchor="tls.proxy")
