"""Build schemas/kes-config-g{0,1,2}.schema.json from one description of every KES config key.

Run `python tools/build_schemas.py` after changing this file; tests/test_kes_schema.py fails
while the committed schemas differ from what this script writes.

Conventions the schemas follow (kescheck's schema rules rely on them):
* `${NAME}` references pass every scalar type: KES substitutes them before it decodes a value
  (policy allow/deny patterns excepted), so each typed value also accepts `#/$defs/envReference`.
* A string field in KES accepts any YAML scalar (KES's decoder turns `123` or `true` into text),
  so `text` allows numbers, booleans and null (= empty). Durations do not: yaml.v3 refuses an
  integer there.
* `x-kes-refusal` (an annotation editors ignore) holds why KES refuses to start when the value
  breaks the schema there; kescheck's messages quote it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
sys.path.insert(0, str(REPO))

from kescheck.load.kesconfig import GO_DURATION  # noqa: E402 (after the path set-up above)

ENV = r"\$\{[\s\S]*\}"
NAME = r"(?!_$)(?!-)[0-9A-Za-z_-]{1,80}(?<!-)"
DURATION = rf"^(?:[-+]?{GO_DURATION}|{ENV})?$"
NON_NEGATIVE_DURATION = rf"^(?:\+?{GO_DURATION}|-0|{ENV})?$"
_LEVEL = r"(?:[dD][eE][bB][uU][gG]|[iI][nN][fF][oO]|[wW][aA][rR][nN]|[eE][rR][rR][oO][rR])"
_ON_OFF = r"(?:[oO][nN]|[oO][fF][fF])"
# KES trims the level's name before its `+` (`INFO +2`), but not the number after it.
LOG_LEVEL = rf"^\s*(?:{_ON_OFF}|{_LEVEL}(?:\s*\+[-+]?[0-9]+)?|[-+]?[0-9]+|{ENV})?\s*$"
LOG_ON_OFF = rf"^\s*(?:{_ON_OFF}|{ENV})?\s*$"

SCALAR_TYPES = ["string", "number", "boolean", "null"]


def text(description: str, refusal: str | None = None, **extra) -> dict:
    """A value KES reads as text."""
    schema = {"type": SCALAR_TYPES, "description": description, **extra}
    if refusal:
        schema["x-kes-refusal"] = refusal
    return schema


def required_text(description: str, refusal: str) -> dict:
    """Text that must not be empty: KES refuses to start without it."""
    return {"type": ["string", "number", "boolean"], "minLength": 1, "description": description,
            "x-kes-refusal": refusal}


def duration(description: str, refusal: str | None = None, non_negative: bool = False) -> dict:
    schema = {"type": ["string", "null"], "pattern": NON_NEGATIVE_DURATION if non_negative else DURATION,
              "description": description + " A Go duration such as `30s`, `5m0s` or `1.5h` (units ns, us, ms, "
                                           "s, m, h; no `d`; a bare number is refused).",
              "examples": ["30s", "5m0s", "1h"]}
    generic = "a duration must be Go syntax such as `5m0s` (no `d` unit, no bare number)"
    schema["x-kes-refusal"] = f"{generic} and not negative: {refusal}" if refusal else generic
    return schema


def obj(description: str, properties: dict, required: list[str] | None = None, refusal: str | None = None,
        nullable: bool = True, **extra) -> dict:
    """A mapping with a fixed key set. `nullable`: an empty value (`key:`) is the same as leaving it out."""
    schema = {"type": ["object", "null"] if nullable else "object", "description": description,
              "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    if refusal:
        schema["x-kes-refusal"] = refusal
    return schema


def text_list(description: str, items: dict) -> dict:
    return {"type": ["array", "null"], "description": description, "items": items}


# ---------------------------------------------------------------------------------------------
# Pieces shared by generations; `g` is 0, 1 or 2.

def prefix(g: int) -> str:
    return {0: "", 1: "", 2: "kesconf: "}[g]


def tls_ca(what: str) -> dict:
    return text(f"Path of the CA certificate(s) that verify {what}. Empty: the system roots.")


def vault(g: int) -> dict:
    p = prefix(g) + "invalid vault keystore: " if g == 2 else ""
    retry = {} if g == 2 else {"retry": duration("How long KES waits before retrying a failed login (removed in KES 2023-04-03).")}
    approle = {
        "engine": text("Path of the AppRole auth engine. Empty: `approle`."),
        "id": (required_text("The AppRole role ID.", f"the approle has no role ID (`{p}invalid approle config: no approle ID specified`)")
               if g == 2 else text("The AppRole role ID.")),
        "secret": (required_text("The AppRole secret ID. Keep it out of the file: `${VAR}`.",
                                 f"the approle has no secret ID (`{p}invalid approle config: no approle secret specified`)")
                   if g == 2 else text("The AppRole secret ID. Keep it out of the file: `${VAR}`.")),
        **retry,
    }
    kubernetes = {
        "engine": text("Path of the Kubernetes auth engine. Empty: `kubernetes`."),
        "role": text("The Vault role KES logs in as."),
        "jwt": (required_text("The service account JWT, or the path of a file holding it (a value with `/` is a path).",
                              f"the kubernetes login has no JWT (`{p}invalid kubernetes config: no JWT specified`)")
                if g == 2 else text("The service account JWT, or the path of a file holding it (a value with `/` is a path).")),
        **retry,
    }
    if g == 2:
        approle = {"namespace": text("Vault namespace to log in to (KES >= 2024-01-11). Empty: the keystore namespace; `/`: the root namespace."), **approle}
        kubernetes = {"namespace": text("Vault namespace to log in to (KES >= 2024-01-11). Empty: the keystore namespace; `/`: the root namespace."), **kubernetes}
    properties = {
        "endpoint": (required_text("URL of the Vault server, e.g. `https://vault.example.net:8200`.",
                                   f"the vault keystore has no endpoint (`{p}no endpoint specified`)")
                     if g == 2 else text("URL of the Vault server, e.g. `https://vault.example.net:8200`.")),
        "engine": text("Path of the K/V secrets engine. Empty: `kv`."),
        "version": {"anyOf": [{"enum": ["", "v1", "v2", None]}, {"type": "string", "pattern": f"^{ENV}$"}],
                    "description": "K/V engine version: `v1` or `v2` (empty: v1). It must match the engine mounted in Vault.",
                    "x-kes-refusal": "Vault's K/V version must be empty, `v1` or `v2` (`vault: invalid engine API version`)"},
        "namespace": text("Vault Enterprise namespace. Empty: none."),
        "prefix": text("Directory inside the K/V engine where KES stores keys."),
        "approle": obj("Log in with AppRole (exactly one of approle and kubernetes).", approle,
                       required=["id", "secret"] if g == 2 else None),
        "kubernetes": obj("Log in with a Kubernetes service account (exactly one of approle and kubernetes).", kubernetes,
                          required=["jwt"] if g == 2 else None),
        "tls": obj("TLS towards Vault.", {
            "key": text("Client private key for mTLS to Vault; needs `cert`.",
                        f"`tls.cert` without `tls.key` (`{p}invalid tls config: no TLS private key provided`)" if g == 2 else None),
            "cert": text("Client certificate for mTLS to Vault; needs `key`.",
                         f"`tls.key` without `tls.cert` (`{p}invalid tls config: no TLS certificate provided`)" if g == 2 else None),
            "ca": tls_ca("the Vault server certificate"),
        }, **({"dependentRequired": {"key": ["cert"], "cert": ["key"]}} if g == 2 else {})),
        "status": obj("Vault health checks.", {"ping": duration("How often KES checks Vault's health. Default 10s.")}),
    }
    if g == 2:
        properties["transit"] = obj("Encrypt stored keys with a Vault transit key as well (KES >= 2023-10-24).", {
            "engine": text("Path of the transit engine. Empty: `transit`."),
            "key": required_text("Name of the transit key.", f"transit has no key name (`{p}invalid transit config: no key name specified`)"),
        }, required=["key"])
    return obj("HashiCorp Vault (K/V engine).", properties, required=["endpoint"] if g == 2 else None)


def keystores(g: int) -> dict:
    r = g == 2
    pk = prefix(g)
    stores = {
        "fs": obj("Keys as files in a local directory. For development only: keys are stored unencrypted.",
                  {"path": required_text("Directory of the key files (created if missing).", f"fs without a path (`{pk}invalid fs keystore: no path specified`)")
                   if r else text("Directory of the key files (created if missing).")},
                  required=["path"] if r else None),
        "vault": vault(g),
        "fortanix": obj("Fortanix.", {"sdkms": obj("Fortanix SDKMS / Data Security Manager.", {
            "endpoint": required_text("URL of the SDKMS API.", f"`{pk}invalid fortanix SDKMS keystore: no endpoint specified`") if r else text("URL of the SDKMS API."),
            "group_id": text("SDKMS group the keys are created in."),
            "credentials": obj("SDKMS login.", {
                "key": required_text("SDKMS API key. Keep it out of the file: `${VAR}`.", f"`{pk}invalid fortanix SDKMS keystore: no API key specified`")
                if r else text("SDKMS API key. Keep it out of the file: `${VAR}`."),
            }, required=["key"] if r else None, nullable=not r,
                refusal=f"`{pk}invalid fortanix SDKMS keystore: no API key specified`" if r else None),
            "tls": obj("TLS towards SDKMS.", {"ca": tls_ca("the SDKMS server certificate")}),
        }, required=["endpoint", "credentials"] if r else None)}),
        "gemalto": obj("Thales (Gemalto) CipherTrust Manager / KeySecure.", {"keysecure": obj("KeySecure.", {
            "endpoint": required_text("URL of the KeySecure API.", f"`{pk}invalid gemalto keysecure keystore: no endpoint specified`") if r else text("URL of the KeySecure API."),
            "credentials": obj("KeySecure login.", {
                "token": required_text("KeySecure refresh token. Keep it out of the file: `${VAR}`.", f"`{pk}invalid gemalto keysecure keystore: no token specified`")
                if r else text("KeySecure refresh token. Keep it out of the file: `${VAR}`."),
                "domain": text("KeySecure domain. Empty: the root domain."),
                **({} if r else {"retry": duration("How long KES waits before retrying a failed login (removed in KES 2023-04-03).")}),
            }, required=["token"] if r else None, nullable=not r,
                refusal=f"`{pk}invalid gemalto keysecure keystore: no token specified`" if r else None),
            "tls": obj("TLS towards KeySecure.", {"ca": tls_ca("the KeySecure server certificate")}),
        }, required=["endpoint", "credentials"] if r else None)}),
        "gcp": obj("Google Cloud.", {"secretmanager": obj("GCP Secret Manager.", {
            "project_id": required_text("GCP project that holds the secrets.", f"`{pk}invalid GCP secretmanager keystore: no project ID specified`") if r else text("GCP project that holds the secrets."),
            "endpoint": text("Secret Manager endpoint. Empty: the default."),
            **({"scopes": text_list("OAuth scopes (KES >= 0.20). Empty: the default scope.", text("An OAuth scope URL."))} if g >= 1 else {}),
            "credentials": obj("Service account credentials. Empty: the default credentials of the host.", {
                "client_email": text("Service account e-mail."),
                "client_id": text("Service account client ID."),
                "private_key_id": text("Service account key ID."),
                "private_key": text("Service account private key (PEM). Keep it out of the file: `${VAR}`."),
            }),
        }, required=["project_id"] if r else None)}),
        "aws": obj("Amazon Web Services.", {"secretsmanager": obj("AWS Secrets Manager.", {
            "endpoint": required_text("Secrets Manager endpoint, e.g. `secretsmanager.us-east-2.amazonaws.com`.", f"`{pk}invalid AWS secretsmanager keystore: no endpoint specified`")
            if r else text("Secrets Manager endpoint, e.g. `secretsmanager.us-east-2.amazonaws.com`."),
            "region": required_text("AWS region, e.g. `us-east-2`.", f"`{pk}invalid AWS secretsmanager keystore: no region specified`") if r else text("AWS region, e.g. `us-east-2`."),
            "kmskey": text("AWS KMS key that encrypts the secrets. Empty: the account default."),
            "credentials": obj("Static AWS credentials. Empty: the instance or environment credentials.", {
                "accesskey": text("AWS access key ID. Keep it out of the file: `${VAR}`."),
                "secretkey": text("AWS secret access key. Keep it out of the file: `${VAR}`."),
                "token": text("AWS session token. Keep it out of the file: `${VAR}`."),
            }),
        }, required=["endpoint", "region"] if r else None)}),
        "azure": obj("Microsoft Azure.", {"keyvault": obj("Azure Key Vault.", {
            "endpoint": required_text("Key Vault URL, e.g. `https://my-vault.vault.azure.net`.", f"`{pk}invalid Azure keyvault keystore: no endpoint specified`")
            if r else text("Key Vault URL, e.g. `https://my-vault.vault.azure.net`."),
            "credentials": obj("Log in with a client secret (not together with managed_identity).", {
                "tenant_id": required_text("Azure tenant ID.", f"incomplete Azure credentials (`{pk}invalid Azure keyvault keystore: no tenant ID specified`)") if r else text("Azure tenant ID."),
                "client_id": required_text("Azure client (application) ID.", f"incomplete Azure credentials (`{pk}invalid Azure keyvault keystore: no client ID specified`)") if r else text("Azure client (application) ID."),
                "client_secret": required_text("Azure client secret. Keep it out of the file: `${VAR}`.", f"incomplete Azure credentials (`{pk}invalid Azure keyvault keystore: no client secret specified`)")
                if r else text("Azure client secret. Keep it out of the file: `${VAR}`."),
            }, required=["tenant_id", "client_id", "client_secret"] if r else None),
            **({"managed_identity": obj("Log in with a managed identity (KES >= 0.17.3; not together with credentials).", {
                "client_id": required_text("Client ID of the managed identity.", f"`{pk}invalid Azure keyvault keystore: no client ID specified`") if r else text("Client ID of the managed identity."),
            }, required=["client_id"] if r else None)} if g >= 1 else {}),
        }, required=["endpoint"] if r else None)}),
    }
    if g <= 1:
        stores["generic"] = obj("A KMS plugin speaking the KES plugin protocol (removed in KES 2023-04-03).", {
            "endpoint": text("URL of the plugin."),
            "tls": obj("TLS towards the plugin.", {"key": text("Client private key."), "cert": text("Client certificate."),
                                                   "ca": tls_ca("the plugin's certificate")}),
        })
    if g == 1:
        stores["kes"] = obj("Another KES server as keystore (KES 2023-02-15 ... 2023-10-27; current KES ignores it).", {
            "endpoint": text_list("KES server URLs.", text("A KES server URL.")),
            "enclave": text("KES enclave."),
            "tls": obj("TLS towards the KES server.", {"key": text("Client private key."), "cert": text("Client certificate."),
                                                       "ca": tls_ca("the KES server certificate")}),
        })
    if g == 1:
        stores["openstack"] = obj("OpenStack (some 2023 KES releases).", {"barbican": obj("OpenStack Barbican.", {
            "auth_url": text("Keystone authentication URL."),
            "credentials": obj("Keystone login.", {k: text(f"Keystone `{k}`." + (" Keep it out of the file: `${VAR}`." if k == "password" else ""))
                                                   for k in ("user_domain", "username", "password", "project_domain", "project_name",
                                                             "service_type", "service_name", "region")}),
        })})
    if g >= 1:
        # Entrust arrived in KES 2023-07-26, among the last glob-era (G1) releases.
        def entrust_text(description: str, missing: str) -> dict:
            return required_text(description, f"`{pk}invalid Entrust KeyControl keystore: no {missing} specified`") if r else text(description)

        stores["entrust"] = obj("Entrust.", {"keycontrol": obj("Entrust KeyControl (KES >= 2023-07-26).", {
            "endpoint": entrust_text("URL of KeyControl.", "endpoint"),
            "vault_id": entrust_text("KeyControl vault ID.", "vault ID"),
            "box_id": entrust_text("KeyControl box ID or name.", "box ID"),
            "credentials": obj("KeyControl login.", {
                "username": entrust_text("KeyControl user.", "username"),
                "password": entrust_text("KeyControl password. Keep it out of the file: `${VAR}`.", "password"),
            }, required=["username", "password"] if r else None, nullable=not r,
                refusal="without `credentials` KES crashes at start (nil dereference)" if r else None),
            "tls": obj("TLS towards KeyControl.", {"ca": tls_ca("the KeyControl server certificate")}),
        }, required=["endpoint", "vault_id", "box_id", "credentials"] if r else None)})
    if g == 2:
        stores["encryptedfs"] = obj("Keys as encrypted files in a local directory (KES releases after v0.24.0).", {
            "masterKeyPath": required_text("File holding the master key.", f"`{pk}invalid encryptedfs keystore: no master key path specified`"),
            "masterKeyCipher": required_text("Cipher of the master key.", f"`{pk}invalid encryptedfs keystore: no master key cipher specified`"),
            "path": required_text("Directory of the key files.", f"`{pk}invalid encryptedfs keystore: no path specified`"),
        }, required=["masterKeyPath", "masterKeyCipher", "path"])
    if g >= 1:
        stores["credhub"] = obj("Cloud Foundry CredHub (some KES releases of 2023 and after v0.24.0).", {
            "base_url": text("URL of CredHub."),
            "enable_mutual_tls": {"type": ["boolean", "string", "null"], "description": "Authenticate to CredHub with a client certificate."},
            "client_cert_file_path": text("Client certificate for mTLS."),
            "client_key_file_path": text("Client private key for mTLS."),
            "server_insecure_skip_verify": {"type": ["boolean", "string", "null"], "description": "Do not verify CredHub's certificate (never in production)."},
            "server_ca_cert_file_path": tls_ca("CredHub's certificate"),
            "namespace": text("CredHub path prefix for the keys."),
            "force_base64_values_encoding": {"type": ["boolean", "string", "null"], "description": "Store values base64-encoded."},
        })
    return stores


def identity(description: str, g: int, *, named: bool) -> dict:
    """A KES identity: 64 hex characters (SHA-256 of a public key) in practice."""
    schema = text(description)
    if g == 2 and named:
        schema["pattern"] = f"^(?:{NAME}|{ENV})$"
        schema["x-kes-refusal"] = ("an identity assigned to a policy must be 1-80 characters of 0-9 A-Z a-z _ -, not `_` and "
                                   "without a leading or trailing `-` (`kes: identity '<id>' is empty, too long or contains invalid characters`)")
    return schema


def policy(g: int) -> dict:
    properties = {
        "allow": text_list("API path patterns this policy allows. Never `${VAR}`-substituted.", text("An API path pattern, e.g. `/v1/key/generate/minio-*`.")),
        "deny": text_list("API path patterns this policy denies; deny wins over allow. Never `${VAR}`-substituted.", text("An API path pattern.")),
        "identities": text_list("Identities (SHA-256 of a client's public key, `kes identity of`) bound to this policy.",
                                identity("A client identity: 64 hex characters.", g, named=True)),
    }
    if g == 0:
        properties["paths"] = text_list("The pre-0.15 name of `allow`.", text("An API path glob."))
    # `policy:` with every policy commented out is null, which KES reads as no policy at all.
    schema = {"type": ["object", "null"], "description": "Policies by name: which API paths the bound identities may call.",
              "additionalProperties": obj("A policy.", properties)}
    if g == 2:
        schema["propertyNames"] = {"pattern": f"^{NAME}$"}
        schema["x-kes-refusal"] = ("a policy name must be 1-80 characters of 0-9 A-Z a-z _ -, not `_` and without a leading or "
                                   "trailing `-` (`kes: policy name '<p>' is empty, too long or contains invalid characters`)")
    return schema


def keys_list(g: int) -> dict:
    name = required_text("Key name.", "an empty key name") if g < 2 else text("Key name.")
    if g == 2:
        name = {"type": ["string", "number", "boolean"], "pattern": f"^(?:{NAME}|{ENV})$",
                "description": "Key name: 1-80 characters of 0-9 A-Z a-z _ -.",
                "x-kes-refusal": "KES creates the keys under `keys` at start and exits when that fails: a key name must be 1-80 "
                                 "characters of 0-9 A-Z a-z _ -, not `_`, without a leading or trailing `-`"}
    return {"type": ["array", "null"], "description": "Keys KES creates at start when they do not exist.",
            "items": obj("A key KES creates at start.", {"name": name})}


def schema(g: int) -> dict:
    refuse = prefix(g)
    admin_refusal = {0: "no root identity has been specified", 1: "no admin identity specified",
                     2: "kesconf: invalid admin identity: no admin identity"}[g]
    properties: dict = {}
    if g >= 1:
        properties["version"] = {"enum": ["v1"], "description": "Config format version: only `v1` exists (KES >= 0.22.3).",
                                 "x-kes-refusal": "the config version must be `v1` (`edge: invalid server config version '<v>'`)"}
    properties["address"] = text("Interface and port KES listens on: an IP literal or empty host with a port (`0.0.0.0:7373`, `:7373`, `[::]:7373`). Default `0.0.0.0:7373`.")
    if g == 0:
        properties["root"] = required_text("Identity of the all-powerful root client (`disabled` switches it off). Renamed `admin.identity` in KES 0.17.2.", f"`{admin_refusal}`")
    else:
        properties["admin"] = obj("The admin client, which bypasses every policy.", {
            "identity": required_text("Identity of the admin (64 hex characters, or `disabled` to switch the admin off).",
                                      f"there is no admin identity (`{admin_refusal}`); write `disabled` to switch the admin off"),
        }, required=["identity"], nullable=False, refusal=f"there is no admin identity (`{admin_refusal}`); write `disabled` to switch the admin off")
    proxy = obj("TLS proxies in front of KES that forward client certificates.", {
        "identities": text_list("Identities of the proxies.", identity("A proxy identity.", g, named=False)),
        "header": obj("How proxies forward the client certificate.", {"cert": text("HTTP header carrying the client certificate, e.g. `X-Tls-Client-Cert`.")}),
    })
    tls = {
        "key": required_text("Path of the KES server's private key (PEM).", f"there is no TLS private key (`{refuse}invalid tls config: no private key`)" if g == 2 else "no TLS private key specified"),
        "cert": required_text("Path of the KES server's certificate (PEM); it needs a DNS or IP SAN.", f"there is no TLS certificate (`{refuse}invalid tls config: no certificate`)" if g == 2 else "no TLS certificate specified"),
    }
    if g >= 1:
        tls["password"] = text("Password of an encrypted private key. Keep it out of the file: `${VAR}`.")
        tls["ca"] = tls_ca("client certificates (KES >= 0.22; used only with `auth: on` on current KES)")
    # The root-era releases read `tls.proxy`; only 0.17.0 to 0.17.2 read a top-level `proxy` (below).
    tls["proxy"] = proxy
    if g == 2:
        tls["auth"] = {"anyOf": [{"type": "string", "pattern": f"^(?:|{_ON_OFF}|{ENV})$"}, {"type": "null"}],
                       "description": "Client certificate verification: `off` (default; identities alone decide) or `on` (verify against `ca` and the system roots).",
                       "examples": ["off", "on"],
                       "x-kes-refusal": "`tls.auth` must be empty, `on` or `off` (`kesconf: invalid tls config: invalid auth '<v>'`); quote `\"on\"`/`\"off\"`, YAML `true`/`yes` arrive as other text"}
    properties["tls"] = obj("The KES server's TLS settings.", tls, required=["key", "cert"], nullable=False,
                            refusal=f"there is no TLS key and certificate (`{refuse}invalid tls config: no private key`)" if g == 2 else "no TLS private key specified")
    if g == 0:
        properties["proxy"] = proxy
    properties["policy"] = policy(g)
    expiry = {
        "any": duration("How long KES keeps any key in its cache.", f"`{refuse}invalid cache expiry '<d>'`" if g == 2 else None, non_negative=g == 2),
        "unused": duration("How long KES keeps a key nobody used in its cache.", f"`{refuse}invalid cache unused expiry '<d>'`" if g == 2 else None, non_negative=g == 2),
    }
    if g >= 1:
        expiry["offline"] = duration("How long cached keys stay usable while the keystore is unreachable; 0 disables that (KES >= 0.17.3).",
                                     f"`{refuse}invalid offline cache expiry '<d>'`" if g == 2 else None, non_negative=g == 2)
    properties["cache"] = obj("The key cache.", {"expiry": obj("When cached keys expire.", expiry)})
    if g >= 1:
        since = "" if g == 2 else " (KES >= 2023-04-03)"
        properties["api"] = {"type": ["object", "null"], "description": f"Per-route settings by KES route name (`/v1/status`, `/v1/key/decrypt/`, ...){since}.",
                             "additionalProperties": obj("Settings of one API route.", {
                                 # Text KES's YAML decoder turns into a boolean (yaml.v3 keeps YAML 1.1's words for a
                                 # typed boolean); quoted `"true"` is text it refuses to decode into one.
                                 "skip_auth": {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": f"^(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|{ENV})$"}, {"type": "null"}],
                                               "description": "Serve this route without authentication. Any `true` also stops KES from requiring client certificates in the TLS handshake.",
                                               "x-kes-refusal": "`skip_auth` must be a boolean"},
                                 "timeout": duration("Time after which the route answers with a timeout error.", f"`{refuse}invalid timeout '<d>' for API '<path>'`" if g == 2 else None, non_negative=g == 2),
                             })}
    level_refusal = ("a log level must be empty, `on`, `off`, DEBUG, INFO, WARN, ERROR (optionally `+N`) or an integer "
                     f"(`{refuse}invalid log level '<v>'`)") if g == 2 else "a log setting must be `on` or `off`"
    level = {"type": ["string", "integer", "null"], "pattern": LOG_LEVEL if g == 2 else LOG_ON_OFF, "x-kes-refusal": level_refusal}
    log = {
        "error": dict(level, description="Error log: " + ("`on`/`off` or a level (`DEBUG`, `INFO`, `WARN`, `ERROR`, `INFO+2`, an integer)." if g == 2 else "`on` or `off`.")),
        "audit": dict(level, description="Audit log: " + ("`on`/`off` or a level (`DEBUG`, `INFO`, `WARN`, `ERROR`, `INFO+2`, an integer)." if g == 2 else "`on` or `off`.")),
    }
    if g == 2:
        log["format"] = text("Log output format (KES releases after v0.24.0), e.g. `JSON`.")
    properties["log"] = obj("Logging.", log)
    stores = keystores(g)
    keystore = obj("The root KMS where KES stores keys: exactly one.", stores,
                   refusal=f"there is no keystore (`{refuse}no keystore specified`)" if g == 2 else None)
    defs = {"envReference": {"type": "string", "pattern": f"^{ENV}$",
                             "description": "An environment variable KES substitutes at start: `${NAME}`."}}
    if g == 0:
        defs["keystore"] = keystore
        properties["keys"] = {"anyOf": [keys_list(g), {"$ref": "#/$defs/keystore", "description": "Before KES 0.13.6 the keystore was configured under `keys`."}],
                              "description": "Keys KES creates at start (a list), or, before KES 0.13.6, the keystore."}
        properties["keystore"] = {"$ref": "#/$defs/keystore", "description": keystore["description"]}
    else:
        properties["keys"] = keys_list(g)
        properties["keystore"] = keystore
    required = ["admin", "tls", "keystore"] if g == 2 else (["admin", "tls"] if g == 1 else ["root", "tls"])
    labels = {0: "G0 (KES <= 0.17.1)", 1: "G1 (KES 0.17.2 - 0.22 and releases up to 2023-10)", 2: "G2 (KES >= 0.23, current)"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:kescheck:schema:kes-config-g{g}",
        "title": f"KES server config, generation {labels[g]}",
        "description": f"The YAML file given to `kes server --config`, as KES of generation {labels[g]} reads it. "
                       "`${NAME}` values are environment variables KES substitutes at start. Generated by kescheck "
                       "(tools/build_schemas.py).",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "$defs": defs,
    }


def render(g: int) -> str:
    return json.dumps(schema(g), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMAS.mkdir(exist_ok=True)
    for g in (0, 1, 2):
        (SCHEMAS / f"kes-config-g{g}.schema.json").write_text(render(g), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
