"""ENV050-ENV199: MinIO's KMS variables (reference §5, field failures Part D).

ENV050-ENV099 are the conditions on which MinIO refuses to start (their messages quote what
MinIO prints); ENV100 and up are settings MinIO accepts but that do not do what they seem to.
"Present" means set, even to an empty value, exactly as MinIO checks it.
"""
from __future__ import annotations

import base64
import binascii
import difflib
from functools import lru_cache

from dataclasses import replace

from ..endpoints import MAX_EXPANSION, EndpointError, expand_ellipsis, parse_url, split_endpoint_list
from ..findings import Location, Severity
from ..identity import ApiKeyError, api_key_seed, is_valid_name
from ..load.envfile import EnvEntry, EnvFile
from ..load.kesconfig import Generation, predates
from ..material import minio_opts, server_option
from ..minio_names import (API_KEY, AUTO_ENCRYPTION, CAPATH, CERT_FILE, CONFIG_ENV_FILE, ENCLAVE, ENDPOINT, KEY_FILE,
                           KEY_NAME, KEY_PASSWORD, ROOT_ACCESS, ROOT_CREDENTIALS, ROOT_PASSWORD, ROOT_USER,
                           SECRET_KEY, SECRET_KEY_FILE)
from ..placeholders import ANY_PLACEHOLDER
from ..policy import key_route
from .base import Example, at_entry, at_environment, at_line, rule


KES_SET = (ENDPOINT, KEY_NAME, API_KEY, CERT_FILE, KEY_FILE, KEY_PASSWORD, CAPATH)
MINIO_KMS_SET = ("MINIO_KMS_SERVER", "MINIO_KMS_ENCLAVE", "MINIO_KMS_SSE_KEY", "MINIO_KMS_API_KEY")
STATIC_SET = (SECRET_KEY, SECRET_KEY_FILE)
KNOWN = frozenset(KES_SET + MINIO_KMS_SET + STATIC_SET + (AUTO_ENCRYPTION, ENCLAVE, "MINIO_KMS_REPLICATE_KEYID"))
FILE_VARIABLES = (CERT_FILE, KEY_FILE, CAPATH, SECRET_KEY_FILE)

# Names that were real once, or that people keep writing: what to use instead, and why.
RENAMED = {
    "MINIO_KMS_KES_CA_PATH": (CAPATH, "dead since RELEASE.2021-05-11, MinIO ignores it"),
    "MINIO_KMS_MASTER_KEY": (SECRET_KEY, "the old name of the static key, not read by current MinIO"),
    "MINIO_KMS_KES_KEY": (KEY_FILE, "MinIO reads the client key from a file"),
    "MINIO_KMS_KES_CERT": (CERT_FILE, "MinIO reads the client certificate from a file"),
    "MINIO_KMS_KES_ENDPOINTS": (ENDPOINT, "one variable holds the comma-separated list"),
    "MINIO_KMS_KES_CA": (CAPATH, ""),
    "MINIO_KMS_KES_CA_FILE": (CAPATH, ""),
    "MINIO_KMS_KES_DEFAULT_KEY": (KEY_NAME, ""),
}
_VAULT_PREFIXES = ("MINIO_KMS_VAULT_", "MINIO_SSE_VAULT_")
_TRUE = {"1", "t", "T", "true", "TRUE", "True", "on", "ON", "On"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False", "off", "OFF", "Off"}
_PLAY_HOSTS = {"play.min.io", "play.minio.io"}
def _set_present(env: EnvFile, names) -> list[EnvEntry]:
    return [e for e in (env.present(n) for n in names) if e is not None]


def static_key_present(env: EnvFile) -> list[EnvEntry]:
    """MinIO treats an empty static-key variable as absent."""
    return [e for e in _set_present(env, STATIC_SET) if e.value]


def kms_sets(env: EnvFile) -> dict[str, list[EnvEntry]]:
    """The KMS configurations present in the file, each with its variables, in MinIO's naming."""
    return env.memo("kms sets", lambda: _kms_sets(env))


def _kms_sets(env: EnvFile) -> dict[str, list[EnvEntry]]:
    found = {"MinIO KMS": _set_present(env, MINIO_KMS_SET), "MinIO KES": _set_present(env, KES_SET),
             "static KMS key": static_key_present(env)}
    return {name: entries for name, entries in found.items() if entries}


def _valued(deployment, name: str):
    """(env file, entry) for each env file of the deployment that sets `name` to a non-empty value."""
    for env in deployment.envs:
        entry = env.get(name)
        if entry is not None and entry.value:
            yield env, entry


def _refusal(text: str) -> str:
    return f"MinIO refuses to start: `FATAL Invalid KMS configuration specified: {text}`"


def _near_miss(env: EnvFile, name: str) -> EnvEntry | None:
    """An assignment that meant `name` but that MinIO does not read as it (`NAME =`, lower case, ...)."""
    return next((e for e in env.present_entries() if e.name != name and e.key.upper() == name), None)


def kes_endpoints(entry: EnvEntry):
    """(column, list entry text, expanded URLs or the error) for each non-blank entry of the endpoint list."""
    for offset, part, urls, err in _endpoint_list(entry.value):
        yield entry.column_at(offset), part, list(urls), err


@lru_cache(maxsize=8)
def _endpoint_list(value: str) -> tuple:
    """(offset in the value, list entry text, endpoints, error) per entry. Five rules ask for each deployment, one
    after the other: a few values suffice, and a hostile list of thousands of endpoints is not kept for long."""
    found = []
    offset = total = 0
    for _, part in split_endpoint_list(value):
        offset = value.index(part, offset)
        start = offset
        offset += len(part)
        try:
            expanded = expand_ellipsis(part)
            total += len(expanded)
            if total > MAX_EXPANSION:  # each entry is capped, their sum is not: check the first endpoints only
                break
            found.append((start, part, tuple(parse_url(url, 0) for url in expanded), None))
        except EndpointError as err:
            found.append((start, part, (), err.with_traceback(None)))  # kept: no frames held with it
    return tuple(found)


@rule("ENV050", "kms-config-conflict", Severity.ERROR, "More than one KMS configuration is present",
      rationale="""MinIO uses exactly one of MinIO KES (`MINIO_KMS_KES_*`), MinIO KMS (`MINIO_KMS_SERVER` ...)
      or the static key (`MINIO_KMS_SECRET_KEY[_FILE]`) and refuses to start when variables of two are
      present, even with empty values. A static key left over from a test next to a KES setup is the usual
      cause.""",
      fix="Delete the variables of the configuration you do not use.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                            "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n"
                            "MINIO_KMS_SECRET_KEY=my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n", True),
                Example.env("MINIO_KMS_SECRET_KEY=my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n", False)))
def kms_config_conflict(deployment):
    for env in deployment.envs:
        sets = kms_sets(env)
        names = list(sets)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                later = min(sets[second], key=lambda e: e.line)
                earlier = min(sets[first], key=lambda e: e.line)
                if later.line < earlier.line:
                    later, earlier = earlier, later
                message = _refusal(f"kms: configuration for {first} and {second} is present") + \
                    f" ({later.key} here, {earlier.key} at line {earlier.line})"
                yield at_entry(env, later, message, on_value=False)


@rule("ENV051", "kms-config-incomplete", Severity.ERROR, "A required KMS variable is missing",
      rationale="""With any `MINIO_KMS_KES_*` variable present, MinIO requires `MINIO_KMS_KES_ENDPOINT` and
      `MINIO_KMS_KES_KEY_NAME` (the default key); MinIO KMS requires all four of its variables. Otherwise
      MinIO refuses to start. A misspelt or mis-spaced name counts as missing.""",
      fix="Add the missing variable (or correct the name of the line that was meant to set it).",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\n"
                            "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                            "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n", False)))
def kms_config_incomplete(deployment):
    for env in deployment.envs:
        sets = kms_sets(env)
        required = {"MinIO KES": (ENDPOINT, KEY_NAME), "MinIO KMS": MINIO_KMS_SET}
        for set_name, names in required.items():
            if set_name not in sets:
                continue
            for name in names:
                if env.defined(name):
                    continue
                message = _refusal(f"kms: incomplete configuration for {set_name}: missing '{name}'")
                near = _near_miss(env, name)
                if near is not None:
                    yield at_entry(env, near, f"{message}; this line sets `{near.name}`, which is not {name}",
                                   on_value=False)
                else:
                    yield at_environment(env, message, anchor=name)


def _auth_conflict(env: EnvFile) -> tuple[EnvEntry, list[EnvEntry]] | None:
    """(the API key, the certificate variables beside it) when MinIO finds both ways to authenticate, which it
    refuses (an empty value counts as present); None otherwise."""
    api_key = env.present(API_KEY)
    others = _set_present(env, (CERT_FILE, KEY_FILE, KEY_PASSWORD)) if api_key is not None else []
    return (api_key, others) if others else None


@rule("ENV052", "kes-auth-conflict", Severity.ERROR, "API key and client certificate are both configured",
      rationale="""MinIO authenticates to KES either with `MINIO_KMS_KES_API_KEY` or with a client certificate
      (`MINIO_KMS_KES_CERT_FILE` + `MINIO_KMS_KES_KEY_FILE`, optional `MINIO_KMS_KES_KEY_PASSWORD`), never
      both: it refuses to start when the API key and any certificate variable are present, even empty
      (a Helm chart rendering `MINIO_KMS_KES_API_KEY=""` next to certificate files does exactly that).""",
      fix="Delete the API key, or the certificate variables: keep one authentication method.",
      examples=(Example.env("MINIO_KMS_KES_API_KEY=\nMINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\n"
                            "MINIO_KMS_KES_KEY_FILE=/etc/minio/client.key\n", True),
                Example.env("MINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\n"
                            "MINIO_KMS_KES_KEY_FILE=/etc/minio/client.key\n", False)))
def kes_auth_conflict(deployment):
    for env in deployment.envs:
        conflict = _auth_conflict(env)
        if conflict is None:
            continue
        api_key, others = conflict
        empty = " (an empty value counts as present)" if api_key is env.get(API_KEY) and not api_key.value else ""
        listed = ", ".join(f"{e.key} at line {e.line}" for e in others)
        yield at_entry(env, api_key, _refusal(f"kms: invalid configuration for MinIO KES: '{API_KEY}' and client "
                                              f"certificate is present") + f"{empty}; also set: {listed}",
                       on_value=False)


@rule("ENV053", "kes-auth-missing", Severity.ERROR, "MinIO has no complete way to authenticate to KES",
      rationale="""For KES, MinIO needs an API key or both a client certificate and its private key. A
      certificate without its key, a key without its certificate, a lone key password, or none of them
      make MinIO refuse to start.""",
      fix="""Set `MINIO_KMS_KES_CERT_FILE` and `MINIO_KMS_KES_KEY_FILE` to MinIO's client certificate and key,
      or set `MINIO_KMS_KES_API_KEY`.""",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                            "MINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                            "MINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\n"
                            "MINIO_KMS_KES_KEY_FILE=/etc/minio/client.key\n", False)))
def kes_auth_missing(deployment):
    for env in deployment.envs:
        if "MinIO KES" not in kms_sets(env) or env.defined(API_KEY):
            continue
        cert, key, password = env.present(CERT_FILE), env.present(KEY_FILE), env.present(KEY_PASSWORD)
        if cert is None and key is None and password is None:
            yield at_environment(env, _refusal("kms: incomplete configuration for MinIO KES: missing authentication "
                                               "method") + " (neither an API key nor a client certificate is set)",
                          anchor="kes-authentication")
            continue
        for present, missing in ((cert or password, KEY_FILE), (key or password, CERT_FILE)):
            if present is not None and not env.defined(missing):
                yield at_entry(env, present, _refusal(f"kms: incomplete configuration for MinIO KES: missing "
                                                      f"'{missing}'"), on_value=False)


@rule("ENV054", "empty-kms-variable", Severity.ERROR, "A KMS variable is set to an empty value",
      rationale="""An empty value still counts as set. An empty `MINIO_KMS_KES_ENDPOINT` makes MinIO refuse to
      start; an empty API key, certificate or key file passes MinIO's configuration check (unless the API key and
      certificate variables are both set, which it refuses) and then fails when MinIO opens the file ''; an empty
      `MINIO_KMS_KES_CAPATH` replaces the certs/CAs directory MinIO would otherwise use with a path it cannot open,
      which it ignores, so only the system roots verify KES; an empty static key is treated as absent, so MinIO runs
      without the KMS the author meant to configure.""",
      fix="Give the variable its value, or delete the line.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=\nMINIO_KMS_KES_KEY_NAME=minio-key\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                            "MINIO_KMS_KES_API_KEY=kes:v1:ACBqs7Kf+P5l4pLtOtQ55JX26LHRaYXkPRs9DHmPT9CK\n"
                            "MINIO_KMS_KES_CAPATH=\n", True, "an empty CAPATH: not certs/CAs, only the system roots"),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def empty_kms_variable(deployment):
    for env in deployment.envs:
        both_ways = _auth_conflict(env) is not None
        for name in (ENDPOINT, API_KEY, CERT_FILE, KEY_FILE, CAPATH) + STATIC_SET + MINIO_KMS_SET:
            entry = env.get(name)
            if entry is None or entry.value:
                continue
            if name == ENDPOINT:
                why = "MinIO refuses to start: `FATAL Failed to connect to KMS: kms: no KES server endpoint provided`"
            elif name == CAPATH:
                why = ("MinIO then looks for the CA at '' instead of its certs/CAs directory, ignores the file it "
                       "cannot open without a word and verifies KES against the system roots alone: a KES certificate "
                       "from a private CA fails (`x509: certificate signed by unknown authority`)")
            elif both_ways and name in (API_KEY, CERT_FILE, KEY_FILE):
                why = ("it counts as set, so MinIO finds both an API key and client certificate variables and refuses "
                       "to start (ENV052)")
            elif name in STATIC_SET:
                why = "MinIO treats an empty static key as absent and starts without it"
            elif name in MINIO_KMS_SET:
                why = "it counts as set, but MinIO KMS cannot work without its value"
            else:
                why = ("it counts as set, so MinIO's configuration check passes and start-up then fails: "
                       "`Unable to load KES client certificate as specified by the shell environment: "
                       "open : no such file or directory`")
            yield at_entry(env, entry, f"{name} is set but empty: {why}", on_value=False)


@rule("ENV055", "endpoint-invalid", Severity.ERROR, "MINIO_KMS_KES_ENDPOINT holds something MinIO cannot use",
      rationale="""Each comma-separated entry must be a URL with scheme and host, e.g.
      `https://kes1.example.net:7373`; MinIO expands ellipsis ranges written `{N...M}` (three dots, decimal or
      lower-case hex) and refuses to start on a malformed one. Without a scheme the request fails
      (`unsupported protocol scheme`); a list of only commas yields no endpoint at all.""",
      fix="Write each endpoint as `https://HOST:7373`; for several servers use `https://kes{1...3}.example.net:7373`.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes{1..3}.example.net:7373\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=kes.example.net:7373\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes{1...3}.example.net:7373\n", False)))
def endpoint_invalid(deployment):
    for env, entry in _valued(deployment, ENDPOINT):
        found = list(kes_endpoints(entry))
        if not found:
            yield at_entry(env, entry, f"{ENDPOINT} lists no endpoint (MinIO skips blank entries between commas): "
                           "MinIO starts and every KMS request fails")
        for column, part, _, error in found:
            if error is None:
                continue
            if "ellipsis" in str(error) or "{" in part:
                message = f"MinIO refuses to start: `kms: invalid endpoint '{part}'`: {error}"
            else:
                message = (f"{error}: MinIO cannot send a request to it (without `https://` Go reports "
                           "`unsupported protocol scheme`)")
            yield at_line(env.source, entry.line, column, message, anchor=ENDPOINT, end_column=column + len(part))


@rule("ENV056", "static-key-conflict", Severity.ERROR, "Both MINIO_KMS_SECRET_KEY and MINIO_KMS_SECRET_KEY_FILE",
      rationale="""The static key comes either from the variable or from a file (Docker secrets); MinIO refuses
      to start when both are set.""",
      fix="Keep one of the two variables.",
      examples=(Example.env("MINIO_KMS_SECRET_KEY=my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n"
                            "MINIO_KMS_SECRET_KEY_FILE=/run/secrets/kms-key\n", True),
                Example.env("MINIO_KMS_SECRET_KEY_FILE=/run/secrets/kms-key\n", False)))
def static_key_conflict(deployment):
    for env in deployment.envs:
        present = static_key_present(env)
        if len(present) == 2:
            later = max(present, key=lambda e: e.line)
            yield at_entry(env, later, _refusal(f"kms: invalid configuration for static KMS key: '{SECRET_KEY}' and "
                                                f"'{SECRET_KEY_FILE}' are present"), on_value=False)


@rule("ENV057", "api-key-invalid", Severity.ERROR, "MINIO_KMS_KES_API_KEY is not a KES API key",
      rationale="""A KES API key is `kes:v1:` (optional for MinIO) followed by standard base64 of 33 bytes: a
      type byte 0 (Ed25519) and a 32-byte seed. MinIO refuses to start on anything else
      (`kes: invalid API key: invalid length` / `unsupported type` / a base64 error).""",
      fix="Paste the API key exactly as `kes identity new` printed it (one line, no quotes inside, no comment).",
      examples=(Example.env("MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeT\n", True),
                Example.env("MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n", False)))
def api_key_invalid(deployment):
    for env, entry in _valued(deployment, API_KEY):
        try:
            api_key_seed(entry.value)
        except ApiKeyError as err:
            yield at_entry(env, entry, f"{API_KEY} is not a valid KES API key ({err}): MinIO refuses to start with "
                           "`kes: invalid API key: ...`")


@rule("ENV058", "auto-encryption-without-kms", Severity.ERROR, "MINIO_KMS_AUTO_ENCRYPTION is on without a KMS",
      rationale="""Automatic encryption needs a KMS configuration; MinIO refuses to start with
      `MINIO_KMS_AUTO_ENCRYPTION requires a valid KMS configuration: no KMS configured` (older `mc` reports
      `Server side encryption specified but KMS is not configured`).""",
      fix="Add the KES variables (`MINIO_KMS_KES_ENDPOINT`, `MINIO_KMS_KES_KEY_NAME`, authentication) or remove "
          "`MINIO_KMS_AUTO_ENCRYPTION`.",
      examples=(Example.env("MINIO_KMS_AUTO_ENCRYPTION=on\n", True),
                Example.env("MINIO_KMS_AUTO_ENCRYPTION=on\nMINIO_KMS_KES_ENDPOINT=https://kes:7373\n"
                            "MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def auto_encryption_without_kms(deployment):
    for env in deployment.envs:
        entry = env.get(AUTO_ENCRYPTION)
        if entry is not None and (entry.value in _TRUE or entry.value.lower() == "enabled") and not kms_sets(env):
            yield at_entry(env, entry, "MinIO refuses to start: `FATAL MINIO_KMS_AUTO_ENCRYPTION requires a valid KMS "
                           "configuration: no KMS configured`")


@rule("ENV059", "auto-encryption-value", Severity.WARNING, "MINIO_KMS_AUTO_ENCRYPTION has a value MinIO reads as off",
      rationale="""MinIO reads `on/off`, `true/false`, `1/0` (and `enabled/disabled`); any other value is silently
      taken as off, so objects are stored unencrypted although the file seems to ask for encryption.""",
      fix="Write `MINIO_KMS_AUTO_ENCRYPTION=on` or `off`.",
      examples=(Example.env("MINIO_KMS_AUTO_ENCRYPTION=yes\n", True),
                Example.env("MINIO_KMS_AUTO_ENCRYPTION=on\n", False)))
def auto_encryption_value(deployment):
    for env in deployment.envs:
        entry = env.get(AUTO_ENCRYPTION)
        if entry is not None and entry.value not in _TRUE | _FALSE and entry.value.lower() not in ("enabled", "disabled"):
            yield at_entry(env, entry, f"MinIO does not read `{entry.value}` as a boolean and silently keeps automatic "
                           "encryption off")


@rule("ENV100", "unknown-kms-variable", Severity.ERROR, "A KMS variable name MinIO does not read",
      rationale="""MinIO ignores variables it does not know, so a misspelt or outdated KMS variable silently
      drops a setting: `MINIO_KMS_KES_CA_PATH` (dead since 2021, still emitted by old operator and
      third-party tooling) is the classic reason the KES CA is "ignored".""",
      fix="Use the name MinIO reads (see the suggestion), or delete the line.",
      examples=(Example.env("MINIO_KMS_KES_CA_PATH=/etc/minio/certs/kes-ca.crt\n", True),
                Example.env("MINIO_KMS_KES_CAPATH=/etc/minio/certs/kes-ca.crt\n", False)))
def unknown_kms_variable(deployment):
    for env in deployment.envs:
        for entry in env.present_entries():
            upper = entry.key.upper()
            if not upper.startswith(("MINIO_KMS_", "MINIO_KES_", "MINIO_SSE_VAULT_")) or entry.key in KNOWN:
                continue
            if upper in KNOWN:
                message = f"`{entry.key}` is not {upper}: variable names are case-sensitive"
            elif upper in RENAMED:
                better, why = RENAMED[upper]
                message = f"MinIO does not read `{entry.key}`{f' ({why})' if why else ''}: did you mean {better}?"
            elif upper.startswith(_VAULT_PREFIXES):
                message = (f"MinIO does not read `{entry.key}`: its direct Vault integration was removed in "
                           "RELEASE.2021-05-11; MinIO reaches Vault through KES (`MINIO_KMS_KES_*`)")
            else:
                guess = upper.replace("MINIO_KES_", "MINIO_KMS_KES_", 1)
                close = [guess] if guess in KNOWN else difflib.get_close_matches(upper, sorted(KNOWN), n=1, cutoff=0.75)
                hint = f": did you mean {close[0]}?" if close else ""
                message = f"MinIO does not read `{entry.key}`, so this setting has no effect{hint}"
            yield at_entry(env, entry, message, on_value=False)


@rule("ENV101", "enclave-ignored", Severity.WARNING, "MINIO_KMS_KES_ENCLAVE is ignored by current MinIO",
      rationale="""MinIO read `MINIO_KMS_KES_ENCLAVE` from RELEASE.2022-12-07 to RELEASE.2024-03-01 only; current
      MinIO ignores it. It survives in older documentation and examples.""",
      fix="Delete the line (for a KES enclave, put the enclave into the endpoint setup KES documents instead).",
      examples=(Example.env("MINIO_KMS_KES_ENCLAVE=minio\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def enclave_ignored(deployment):
    for env in deployment.envs:
        entry = env.get(ENCLAVE)
        if entry is not None:
            yield at_entry(env, entry, f"{ENCLAVE} is ignored by MinIO since RELEASE.2024-03-03", on_value=False)


@rule("ENV102", "play-sandbox-endpoint", Severity.ERROR, "MinIO uses the public KES sandbox at play.min.io",
      rationale="""play.min.io is MinIO's public KES playground: its root credentials are published in the KES
      repository, so anyone can read or destroy the keys stored there, and with them every object encrypted
      under them. It is for trying out KES, never for data that matters.""",
      fix="Point MINIO_KMS_KES_ENDPOINT at your own KES servers.",
      security_severity=9.1,
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://play.min.io:7373\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n", False)))
def play_sandbox_endpoint(deployment):
    for env in deployment.envs:
        entry = env.get(ENDPOINT)
        if entry is None:
            continue
        for column, part, urls, _ in kes_endpoints(entry):
            if any(url.host.lower().rstrip(".") in _PLAY_HOSTS for url in urls):
                yield at_line(env.source, entry.line, column, f"`{part}` is the public KES sandbox: anyone can read or "
                              "destroy the keys there (its credentials are published), so never use it for real data",
                              anchor=ENDPOINT, end_column=column + len(part))


@rule("ENV103", "static-key-format", Severity.ERROR, "MINIO_KMS_SECRET_KEY is not `<name>:<base64 of 32 bytes>`",
      rationale="""The static key is written as a key name, a colon, and the standard base64 encoding of exactly
      32 random bytes (`openssl rand -base64 32`). MinIO cannot use anything else.""",
      fix="Generate it as `my-minio-key:$(cat /dev/urandom | head -c 32 | base64 -)`.",
      examples=(Example.env("MINIO_KMS_SECRET_KEY=my-key:c2hvcnQ=\n", True),
                Example.env("MINIO_KMS_SECRET_KEY=my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n", False)))
def static_key_format(deployment):
    for env, entry in _valued(deployment, SECRET_KEY):
        name, colon, encoded = entry.value.partition(":")
        try:
            size = len(base64.b64decode(encoded, validate=True)) if colon else -1
        except (binascii.Error, ValueError):
            size = -2
        problem = None
        if not colon or not name:
            problem = "it has no `<name>:` in front of the key"
        elif size == -2:
            problem = "the part after the colon is not standard base64"
        elif size != 32:
            problem = f"the key decodes to {size} bytes, not 32"
        if problem:
            yield at_entry(env, entry, f"{SECRET_KEY} is not `<name>:<base64 of 32 bytes>` ({problem}): MinIO cannot "
                           "use it as its static key")


@rule("ENV104", "static-key-dev-only", Severity.WARNING, "The static KMS key is for development only",
      rationale="""With `MINIO_KMS_SECRET_KEY` MinIO encrypts everything under one key kept in plain text in its
      environment: no key rotation, no per-bucket keys, no audit, and whoever reads the environment can
      decrypt every object. MinIO documents it for development and testing only.""",
      fix="Use KES (`MINIO_KMS_KES_*`) with a real keystore in production.",
      examples=(Example.env("MINIO_KMS_SECRET_KEY_FILE=/run/secrets/kms-key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def static_key_dev_only(deployment):
    for env in deployment.envs:
        for entry in static_key_present(env):
            yield at_entry(env, entry, f"{entry.key} configures MinIO's static key: one plain-text key for every "
                           "object, meant for development only", on_value=False)
            break


@rule("ENV105", "invalid-key-name", Severity.ERROR, "MINIO_KMS_KES_KEY_NAME is not a valid KES key name",
      rationale="""MinIO creates, describes and uses the default key under exactly the text after `=` (after
      removing one pair of surrounding quotes). KES key names are 1-80 characters of `0-9 A-Z a-z _ -`, no
      hyphen first or last; KES answers any other name with `key name '<name>' is empty, too long or contains
      invalid characters`, so MinIO's start-up request for its default key fails. KES checks names so from
      2023-10-24 on; an older release accepts others (`minio.default`), except that its `fs` keystore refuses `/`,
      `\\` and `.`.""",
      fix="Set MINIO_KMS_KES_KEY_NAME to a plain key name such as `minio-default-key`, with nothing after it.",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio-key # default key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def invalid_key_name(deployment):
    config = deployment.kes
    older = config is not None and config.generation is not Generation.G2 \
        or predates(deployment.options.kes_version, "2023-10-24")
    fs_keystore = config is not None and config.find("keystore.fs") is not None
    for env in deployment.envs:
        entry = env.kes_key_name()
        if entry is None or is_valid_name(entry.value):
            continue
        if older and entry.value and not (fs_keystore and any(char in entry.value for char in "/\\.")):
            continue  # KES checks key names from 2023-10-24 on; before, only the fs keystore refused `/`, `\`, `.`
        if not entry.value:
            message = f"{KEY_NAME} is empty: KES has no key with an empty name, so MinIO's start-up request fails"
        else:
            comment = entry.value.find("#")
            intended = entry.value[:comment].strip() if comment > 0 else ""
            detail = (f", not `{intended}`: the `#` comment is part of the value" if intended else "")
            message = (f"MinIO uses the whole value `{entry.value}` as its default key name{detail}; that is not a "
                       "valid KES key name (1-80 of 0-9 A-Z a-z _ -, no hyphen first or last), so KES rejects "
                       "MinIO's start-up request for the key")
        yield at_entry(env, entry, message)


@rule("ENV106", "relative-file-path", Severity.WARNING, "A KMS file path is relative",
      rationale="""MinIO opens `MINIO_KMS_KES_CERT_FILE`, `_KEY_FILE`, `_CAPATH` and `MINIO_KMS_SECRET_KEY_FILE`
      relative to its own working directory (under systemd: the unit's `WorkingDirectory=`, `/` when unset), not
      relative to the env file, and it does not expand `~`. The same file then works from one directory and
      not from another; a CAPATH that cannot be found is ignored without a word.""",
      fix="Use an absolute path.",
      examples=(Example.env("MINIO_KMS_KES_CERT_FILE=certs/client.crt\n", True),
                Example.env("MINIO_KMS_KES_CERT_FILE=/etc/minio/certs/client.crt\n", False)))
def relative_file_path(deployment):
    for name in FILE_VARIABLES:
        for env, entry in _valued(deployment, name):
            if entry.value.startswith("/") or ANY_PLACEHOLDER.search(entry.value):
                continue  # a placeholder is ENV110's
            tilde = " (`~` is not expanded: no shell reads this file)" if entry.value.startswith("~") else ""
            checked = deployment.resolve(entry.value, env.source)
            yield at_entry(env, entry, f"`{entry.value}` is relative{tilde}: MinIO opens it relative to its working "
                           f"directory, not to this file (kescheck looked for it at {checked})")


def _endpoint_urls(deployment):
    for env in deployment.envs:
        entry = env.get(ENDPOINT)
        if entry is None:
            continue
        for column, part, urls, _ in kes_endpoints(entry):
            for url in urls:
                yield env, entry, column, part, url


@rule("ENV107", "endpoint-not-https", Severity.ERROR, "A KES endpoint does not use https",
      rationale="""KES serves its API only over TLS and MinIO authenticates to it with TLS client
      certificates; an `http://` endpoint (or any other scheme) fails on every request.""",
      fix="Write the endpoint as `https://HOST:7373`.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=http://kes.example.net:7373\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n", False)))
def endpoint_not_https(deployment):
    seen = set()
    for env, entry, column, part, url in _endpoint_urls(deployment):
        if url.scheme != "https" and (entry.line, column) not in seen:
            seen.add((entry.line, column))
            yield at_line(env.source, entry.line, column, f"`{part}` uses `{url.scheme}://`: KES serves only HTTPS, so "
                          "MinIO cannot talk to it", anchor=ENDPOINT, end_column=column + len(part))


@rule("ENV108", "endpoint-without-port", Severity.NOTE, "A KES endpoint has no port",
      rationale="""Without a port, `https://` means port 443, while KES listens on 7373 unless its `address`
      says otherwise. Fine behind a proxy on 443; otherwise every request goes to the wrong port. (When the
      KES config is part of the deployment, DEP001 compares the ports instead.)""",
      fix="Add the port KES listens on, e.g. `https://kes.example.net:7373`.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n", False)))
def endpoint_without_port(deployment):
    if deployment.kes is not None:
        return
    seen = set()
    for env, entry, column, part, url in _endpoint_urls(deployment):
        if url.port is None and url.scheme == "https" and (entry.line, column) not in seen:
            seen.add((entry.line, column))
            yield at_line(env.source, entry.line, column, f"`{part}` has no port: MinIO connects to 443, while KES "
                          "listens on 7373 by default", anchor=ENDPOINT, end_column=column + len(part))


@rule("ENV109", "endpoint-with-path", Severity.WARNING, "A KES endpoint has a path",
      rationale="""MinIO's KES client puts the endpoint's path in front of every API path
      (`https://kes:7373/kes` sends `/kes/v1/key/generate/...`). KES serves its API at the root, so every
      request fails unless a proxy strips the prefix. A trailing `/` alone is harmless.""",
      fix="Remove the path: `https://HOST:7373`.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373/kes\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373/\n", False)))
def endpoint_with_path(deployment):
    seen = set()
    for env, entry, column, part, url in _endpoint_urls(deployment):
        if url.path not in ("", "/") and (entry.line, column) not in seen:
            seen.add((entry.line, column))
            yield at_line(env.source, entry.line, column, f"`{part}` has the path `{url.path}`: MinIO prefixes every "
                          "KES API request with it, and KES answers such paths with an error",
                          anchor=ENDPOINT, end_column=column + len(part))


@rule("ENV110", "placeholder-value", Severity.ERROR, "A value still holds a documentation placeholder",
      rationale="""Values copied from the MinIO and KES documentation contain placeholders such as `HOSTNAME`,
      `ROOTUSER` or `|miniocertpath|` that must be replaced. Left in, they point MinIO at a host or file that
      does not exist, or leave a guessable credential.""",
      fix="Replace the placeholder with the real value for this deployment.",
      examples=(Example.env("MINIO_KMS_KES_ENDPOINT=https://HOSTNAME:7373\n", True),
                Example.env("MINIO_KMS_KES_CERT_FILE=|miniocertpath|/client.crt\n", True),
                Example.env("MINIO_KMS_KES_ENDPOINT=https://kes1.example.net:7373\n", False)))
def placeholder_value(deployment):
    for env in deployment.envs:
        for entry in env.entries:
            if not entry.key.startswith("MINIO_"):
                continue
            match = ANY_PLACEHOLDER.search(entry.value)
            if match is None:
                continue
            if entry.is_secret:
                yield at_entry(env, entry, f"{entry.key} holds a documentation placeholder instead of a real secret")
            else:
                column = entry.column_at(match.start())
                yield at_line(env.source, entry.line, column, f"`{match[0]}` in {entry.key} is a placeholder from the "
                              "documentation, not a real value", anchor=entry.key, end_column=column + len(match[0]))


_ROOT_HEAD = ("MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:7373\nMINIO_KMS_KES_API_KEY=${apikey:minio.apikey}\n"
              "MINIO_KMS_KES_KEY_NAME=minio-default-key\n")
_ROOT_KES = ("admin:\n  identity: disabled\nkeystore:\n  fs:\n    path: /var/kes\npolicy:\n  minio:\n    allow:\n"
             "      - /v1/key/create/minio-default-key\n      - /v1/key/generate/minio-default-key\n"
             "      - /v1/key/decrypt/minio-default-key\n{extra}    identities:\n      - ${{identity:minio.apikey}}\n")


def _root_example(env_extra: str, fails: bool, policy_extra: str = "", note: str = "") -> Example:
    return Example((("kes-config.yaml", _ROOT_KES.format(extra=policy_extra)), ("minio.apikey", "!apikey"),
                    ("minio.env", _ROOT_HEAD + env_extra)), fails, note)


def _root_credentials_elsewhere(deployment) -> bool:
    """True when an env file of the deployment sets root credentials, or names a place MinIO takes them from that
    kescheck does not read (MINIO_CONFIG_ENV_FILE, `minio server --config FILE`). Present counts, even empty: a
    file committed without its secrets is not evidence that the running MinIO lacks them."""
    for env in deployment.envs:
        if any(env.defined(name) for name in ROOT_CREDENTIALS + (CONFIG_ENV_FILE,)):
            return True
        opts = minio_opts(env)
        if opts and server_option(opts, ("config",)):
            return True
    return False


def _hmac_refusal(deployment):
    """(view, why) for the first MinIO whose KES policy refuses `/v1/key/hmac/<default key>`; None when every
    MinIO whose policy kescheck can check may compute it (or none can be checked)."""
    from .policy_minio import minio_views  # the policy rules build on this module's helpers
    route = key_route("hmac")
    for view in minio_views(deployment)[0]:
        path = route.path_for(view.key_name)
        if not route.exists_for(view.generation, deployment.options.kes_version):
            return view, (f"the KES this config is written for has no `{route.base}` API (it exists from KES "
                          "2024-02-29), so MinIO cannot derive them")
        decision = view.policy.evaluate(path, view.generation)
        if decision.allowed:
            continue
        if decision.reason == "denied":
            return view, (f"MinIO's policy `{view.policy.name}` denies `{path}` (deny pattern `{decision.pattern.text}`, "
                          f"line {decision.pattern.line})")
        return view, f"MinIO's policy `{view.policy.name}` does not allow `{path}`"
    return None


@rule("ENV111", "root-credentials-missing", Severity.NOTE, "MinIO has no root credentials and KES does not supply them",
      rationale="""KES does not replace MinIO's root credentials (MINIO_ROOT_USER and MINIO_ROOT_PASSWORD; the
      deprecated MINIO_ACCESS_KEY and MINIO_SECRET_KEY; their `_FILE` variants). MinIO RELEASE.2024-03-03 and later
      derive them from KES (`/v1/key/hmac/<MINIO_KMS_KES_KEY_NAME>`) only when none are set and
      MINIO_API_ROOT_ACCESS is exactly `off`; otherwise, and also when KES refuses that request, MinIO falls back to
      the published default `minioadmin:minioadmin`, and distributed nodes have been reported failing to start
      (minio/docs#1325). kescheck reads all env files of the deployment together, and takes any credential
      variable, even an empty one, MINIO_CONFIG_ENV_FILE or `minio server --config` as credentials handled. This is
      a note, not a warning: credentials are often injected from a secret store, a Kubernetes Secret or another
      EnvironmentFile that kescheck never sees, so their absence from the files is a hint, not proof.""",
      fix="""Set MINIO_ROOT_USER and MINIO_ROOT_PASSWORD (from a secret store, e.g. MINIO_ROOT_PASSWORD_FILE), or, on
      MinIO RELEASE.2024-03-03 or later with KES 2024-02-29 or later, set `MINIO_API_ROOT_ACCESS=off` and allow
      `/v1/key/hmac/<MINIO_KMS_KES_KEY_NAME>` in MinIO's KES policy.""",
      examples=(_root_example("", True),
                _root_example("MINIO_API_ROOT_ACCESS=off\n", True, note="root access off, but hmac not allowed"),
                _root_example("MINIO_ROOT_USER_FILE=minio-root-user\nMINIO_ROOT_PASSWORD_FILE=minio-root-password\n",
                              False),
                _root_example("MINIO_API_ROOT_ACCESS=off\n", False, "      - /v1/key/hmac/minio-default-key\n",
                              note="credentials derived from KES")))
def root_credentials_missing(deployment):
    kes_envs = [env for env in deployment.envs if "MinIO KES" in kms_sets(env)]
    if not kes_envs or _root_credentials_elsewhere(deployment):
        return
    if len(deployment.envs) > 1:  # env files by their paths; two services of one Compose file by their names
        named = dict.fromkeys(str(env.source.path) if env.holder == EnvFile.holder else env.holder
                              for env in deployment.envs)
        where = f"no environment of this deployment ({'; '.join(named)}) sets"
    else:
        where = f"{deployment.envs[0].holder} does not set"
    unset = f"{where} MinIO's root credentials ({ROOT_USER}/{ROOT_PASSWORD} or their variants)"
    access = [(env, env.get(ROOT_ACCESS)) for env in deployment.envs if env.get(ROOT_ACCESS) is not None]
    off = next(((env, entry) for env, entry in access if entry.value == "off"), None)
    if off is not None:
        refusal = _hmac_refusal(deployment)
        if refusal is None:
            return  # MinIO derives its root credentials from KES (or its policy cannot be checked: POL025)
        view, why = refusal
        env, entry = off
        message = (f"{ROOT_ACCESS}=off and {unset}, so MinIO (RELEASE.2024-03-03 and later) asks KES to derive them "
                   f"with `/v1/key/hmac/{view.key_name}`; but {why}: MinIO ignores that refusal and runs with the "
                   "default root credentials `minioadmin:minioadmin`")
        fix = (f"Add `- {key_route('hmac').path_for(view.key_name)}` under `policy.{view.policy.name}.allow` (KES "
               f"2024-02-29 or later), or set {ROOT_USER} and {ROOT_PASSWORD}.")
        finding = at_entry(env, entry, message, fix=fix, on_value=False)
        policy_at = Location(deployment.kes.source.path, view.policy.key.line, view.policy.key.column)
        yield replace(finding, related=(policy_at,))
        return
    env = kes_envs[0]
    entry = env.get(ENDPOINT) or min(kms_sets(env)["MinIO KES"], key=lambda e: e.line)
    detail = ""
    if access:
        other = access[-1][1]
        detail = (f" ({ROOT_ACCESS} is `{other.value}`, but MinIO derives root credentials from KES only when it is "
                  "exactly `off`)")
    message = (f"{unset}{detail}, and KES does not supply them: unless the MinIO process gets them from elsewhere (a "
               "secret store, a Kubernetes Secret, another EnvironmentFile), it runs with the default "
               f"`minioadmin:minioadmin`, and distributed nodes may fail to start")
    yield at_entry(env, entry, message, on_value=False)
