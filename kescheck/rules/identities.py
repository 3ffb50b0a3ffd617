"""DEP100-DEP199: MinIO's identity against the KES config, and KES identities against the certificates.

The same identity in two policies, or a policy identity equal to the admin or a proxy, is a
KES start refusal judged by the KES rules; these rules compare the config with the files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..findings import Severity
from ..load.kesconfig import env_reference, identities_key
from ..load.yamldoc import YMap, YScalar, YSeq
from ..material import MinioIdentity, Role, kes_admin_identity, kes_value, known_certificates, minio_identities
from .base import at_entry, at_node, rule
from .certificates import KES_CONFIG, MINIO_ENV, deployment_example

_FINGERPRINT_TEXT = re.compile(r"^(?:sha256\s*fingerprint\s*=\s*)?([0-9A-Fa-f]{2}(?::?[0-9A-Fa-f]{2}){31})$",
                               re.IGNORECASE)


@dataclass(frozen=True)
class PolicyIdentity:
    policy: str
    node: YScalar
    value: str | None
    """As KES will see it; None for an unresolved `${VAR}`."""


def policy_identities(deployment) -> list[PolicyIdentity]:
    kes = deployment.kes
    policies = kes.find("policy") if kes else None
    found = []
    if not isinstance(policies, YMap):
        return found
    for name_node, body in policies.entries:
        identities = body.get(identities_key(kes.target_version)) if isinstance(body, YMap) else None
        items = identities.items if isinstance(identities, YSeq) else [identities]
        for item in items:
            if isinstance(item, YScalar) and not item.is_null:
                found.append(PolicyIdentity(name_node.text, item, kes_value(deployment, item)))
    return found


def normalized_hex(text: str) -> str | None:
    """A SHA-256 hex value however a tool printed it (colons, upper case, 'SHA256 Fingerprint=')."""
    match = _FINGERPRINT_TEXT.match(text.strip())
    return match[1].replace(":", "").lower() if match else None


def _guess_policy(deployment) -> tuple[str | None, YMap | None]:
    """The policy MinIO's identity most likely belongs in."""
    policies = deployment.kes.find("policy")
    if not isinstance(policies, YMap) or not policies.entries:
        return None, None
    entries = [(n.text, b) for n, b in policies.entries if isinstance(b, YMap)]
    if len(entries) == 1:
        return entries[0]
    for name, body in entries:
        if "minio" in name.lower():
            return name, body
    for name, body in entries:
        allow = body.get("allow")
        patterns = [i.text for i in allow.items if isinstance(i, YScalar)] if isinstance(allow, YSeq) else []
        if any("/key/generate" in p or "/key/decrypt" in p for p in patterns):
            return name, body
    return None, None


def _line_to_add(deployment, identity: str) -> tuple[str, str]:
    """(where, YAML text) for binding `identity`: the exact line(s) to add."""
    name, body = _guess_policy(deployment)
    source = deployment.kes.source
    if body is None:
        return (f"add a policy for MinIO to {source.path}",
                f"policy:\n  minio:\n    allow:\n      - /v1/key/create/*\n      - /v1/key/generate/*\n"
                f"      - /v1/key/decrypt/*\n    identities:\n      - {identity}")
    identities = body.get("identities")
    if isinstance(identities, YSeq) and identities.items and not _is_flow(source, identities):
        indent = " " * (identities.items[0].column - 3)
        return (f"add it to policy '{name}' under `identities:` (line {identities.line} of {source.path})",
                f"{indent}- {identity}")
    if isinstance(identities, YSeq) and identities.items:
        text = source.lines[identities.end_line - 1]
        close = identities.end_column - 2  # the flow sequence's own `]`, not one in a comment after it
        return (f"change line {identities.end_line} of {source.path} (policy '{name}') to",
                text[:close].rstrip() + f", {identity}" + text[close:])
    key_column = body.entries[0][0].column if body.entries else 5
    indent = " " * (key_column - 1)
    return (f"add it to policy '{name}' (line {body.line} of {source.path})",
            f"{indent}identities:\n{indent}  - {identity}")


def _is_flow(source, seq: YSeq) -> bool:
    line = source.lines[seq.line - 1] if 0 < seq.line <= len(source.lines) else ""
    return line[seq.column - 1: seq.column] == "["


def _identity_origin(found: MinioIdentity) -> str:
    return "MinIO's API key (MINIO_KMS_KES_API_KEY)" if found.origin == "api-key" else \
        f"MinIO's client certificate '{found.described_as}'"


def _at_identity(found: MinioIdentity, message: str, fix: str | None = None):
    # An API key's value is a secret: point at the variable name, never at the value.
    return at_entry(found.env, found.entry, message, fix=fix, on_value=found.origin != "api-key")


@rule("DEP100", "minio-identity-without-policy", Severity.ERROR,
      "MinIO's identity is bound to no KES policy",
      rationale="""KES authorises a client by its identity: the SHA-256 of the public key of its certificate
      (or of the key derived from its API key). An identity that is neither the admin nor listed in a
      policy's `identities` gets 403 'not authorized' for every request, so MinIO cannot create, generate
      or decrypt any key. It happens when the certificate or API key was re-issued, or the identity was
      computed from the wrong file.""",
      fix="""Add MinIO's identity (`kescheck identity CERT` or `kes identity of CERT`) to the `identities`
      of the policy that grants MinIO its key operations.""",
      examples=(deployment_example(True, files=(
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace("${identity:client.crt}",
                                                                                "${identity:server.crt}")),)),
                deployment_example(False),
                deployment_example(False, files=(
                    ("minio.apikey", "!apikey"),
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace("client.crt", "minio.apikey")),
                    ("minio.env", MINIO_ENV.format(endpoint="https://kes.example.net:7373", env_extra="").replace(
                        "MINIO_KMS_KES_CERT_FILE=client.crt\nMINIO_KMS_KES_KEY_FILE=client.key\n",
                        "MINIO_KMS_KES_API_KEY=${apikey:minio.apikey}\nMINIO_KMS_KES_CAPATH=server.crt\n"))),
                    note="with an API key")))
def minio_identity_without_policy(deployment):
    if deployment.kes is None or deployment.kes.root is None:
        return
    bound = policy_identities(deployment)
    if any(p.value is None and env_reference(p.node) is not None for p in bound):
        return  # a `${VAR}` kescheck cannot resolve may hold it (resolve with --kes-env)
    values = {p.value for p in bound if p.value}
    admin = kes_admin_identity(deployment)
    for found in minio_identities(deployment):
        if found.identity in values or found.identity == admin:
            continue
        near = [p for p in bound if p.value and normalized_hex(p.value) == found.identity]
        hint = ""
        if near:
            hint = (f"; policy '{near[0].policy}' lists it as '{near[0].value}' (line {near[0].node.line}), but KES "
                    "compares identities as exact lower-case hex")
        where, line = _line_to_add(deployment, found.identity)
        yield _at_identity(found, f"{_identity_origin(found)} has the KES identity {found.identity}, which is bound "
                                  f"to no policy in {deployment.kes.source.path} and is not the admin: KES refuses "
                                  f"every MinIO request with 403{hint}; {where}: `{line.strip()}`"
                                  if "\n" not in line else
                                  f"{_identity_origin(found)} has the KES identity {found.identity}, which is bound "
                                  f"to no policy in {deployment.kes.source.path} and is not the admin: KES refuses "
                                  f"every MinIO request with 403{hint}; {where} (see the fix)",
                           fix=f"In {deployment.kes.source.path}, {where}:\n{line}")


@rule("DEP101", "minio-identity-is-admin", Severity.WARNING, "MinIO authenticates as the KES admin",
      rationale="""The admin identity may do everything in KES, including deleting keys and changing
      policies, and bypasses every policy. MinIO needs a handful of key operations: a stolen MinIO client
      key should not be able to destroy every key. Because no policy applies to the admin, kescheck's
      checks of MinIO's policy (POL020-POL024) have nothing to look at for such a MinIO; this finding is
      the only one about it.""",
      fix="""Give KES a separate admin identity (or `disabled`), and bind MinIO's identity to a policy that
      allows only the key operations MinIO needs (`kescheck policy minimal --key-name KEY` prints one).""",
      examples=(deployment_example(True, files=(
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace("identity: disabled",
                                                                                "identity: ${identity:client.crt}")
                     .replace("identities: [${identity:client.crt}]", "identities: []")),)),
                deployment_example(False)))
def minio_identity_is_admin(deployment):
    admin = kes_admin_identity(deployment)
    if not admin:
        return
    for found in minio_identities(deployment):
        if found.identity == admin:
            yield _at_identity(found, f"{_identity_origin(found)} has the identity {found.identity}, which is the KES "
                                      f"admin in {deployment.kes.source.path}: MinIO holds every KES privilege and "
                                      "bypasses every policy, so kescheck has no MinIO policy to check")


@rule("DEP102", "identity-of-no-known-certificate", Severity.NOTE,
      "A policy identity belongs to no certificate or API key of the deployment",
      rationale="""Identities that match nothing kescheck can see are either other clients (fine) or stale
      entries left after a certificate was re-issued; a stale entry keeps granting access to whoever holds
      the old key.""",
      fix="Remove identities of retired certificates; keep a comment naming the owner of each identity.",
      examples=(deployment_example(True, files=(
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace(
                        "[${identity:client.crt}]", "[${identity:client.crt}, " + "ab" * 32 + "]")),)),
                deployment_example(False)))
def identity_of_no_known_certificate(deployment):
    if deployment.kes is None or not minio_identities(deployment):
        return  # without MinIO's identity every entry would look unknown
    known = {k.identity for k in known_certificates(deployment)} | {m.identity for m in minio_identities(deployment)}
    fingerprints = _fingerprints(deployment)
    for entry in policy_identities(deployment):
        value = entry.value
        if value is None or not re.fullmatch(r"[0-9a-f]{64}", value) or value in known or value in fingerprints:
            continue
        yield at_node(deployment.kes.source, entry.node,
                      f"identity {value} of policy '{entry.policy}' belongs to no certificate or API key in this "
                      "deployment: another client's, or a stale entry from a re-issued certificate")


def _fingerprints(deployment) -> dict[str, object]:
    from ..certs import fingerprint_sha256

    return {fingerprint_sha256(k.loaded.certificate): k for k in known_certificates(deployment)}


@rule("DEP103", "identity-is-certificate-fingerprint", Severity.ERROR,
      "An identity is the SHA-256 fingerprint of a whole certificate",
      rationale="""`openssl x509 -fingerprint -sha256` and most certificate viewers print the SHA-256 of the
      whole certificate. KES identities are the SHA-256 of the public key (SubjectPublicKeyInfo) only, so
      such a value matches no client and grants nothing.""",
      fix="Replace the value with the output of `kescheck identity CERT` (or `kes identity of CERT`).",
      examples=(deployment_example(True, files=(
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace(
                        "[${identity:client.crt}]", "\n      - ${identity:client.crt}\n      - ${fingerprint:client.crt}")),)),
                deployment_example(False)))
def identity_is_certificate_fingerprint(deployment):
    if deployment.kes is None:
        return
    fingerprints = _fingerprints(deployment)
    candidates = [(e.node, e.value, f"policy '{e.policy}'") for e in policy_identities(deployment)]
    admin = deployment.kes.scalar("admin.identity")
    if admin is not None:
        candidates.append((admin, kes_value(deployment, admin), "admin.identity"))
    for node, value, owner in candidates:
        normalized = normalized_hex(value) if value else None
        known = fingerprints.get(normalized) if normalized else None
        if known is None:
            continue
        yield at_node(deployment.kes.source, node,
                      f"the identity in {owner} is the SHA-256 fingerprint of the whole certificate "
                      f"{known.reference.describe()} ({known.reference.setting}), not its KES identity: it matches "
                      f"no client; the right value is {known.identity}",
                      fix=f"Replace the value with {known.identity} (`kescheck identity {known.reference.text}`).")


@rule("DEP104", "identity-of-other-certificate", Severity.ERROR,
      "A policy identity is that of a certificate that is not a KES client",
      rationale="""The identity was computed from the wrong file: the KES server certificate, a CA
      certificate or the keystore's client certificate instead of MinIO's client certificate. The intended
      client does not get the policy, and the policy is granted to whoever holds that other key.""",
      fix="""Compute the identity from MinIO's client certificate (`kescheck identity CLIENT.crt`) and replace
      the value.""",
      examples=(deployment_example(True, files=(
                    ("kes-config.yaml", KES_CONFIG.format(tls_extra="").replace("${identity:client.crt}",
                                                                                "${identity:server.crt}")),)),
                deployment_example(False)))
def identity_of_other_certificate(deployment):
    if deployment.kes is None:
        return
    clients = {m.identity for m in minio_identities(deployment)}
    wrong = {}
    for known in known_certificates(deployment):
        if known.identity in clients or known.reference.role is Role.MINIO_CLIENT_CERT and (
                not known.loaded.is_ca or known.loaded.index == 0):
            continue  # MinIO's own certificate, even when it is wrongly marked CA (CRT033 says so)
        wrong.setdefault(known.identity, known)
    right = ", ".join(sorted(clients))
    for entry in policy_identities(deployment):
        known = wrong.get(entry.value or "")
        if known is None:
            continue
        what = "a CA certificate" if known.loaded.is_ca else known.reference.role.value
        fix_value = f" MinIO's identity is {right}." if right else ""
        yield at_node(deployment.kes.source, entry.node,
                      f"identity {entry.value} of policy '{entry.policy}' is that of {what} "
                      f"{known.reference.describe()} ({known.reference.setting}), not of a client: the policy "
                      f"grants nothing to MinIO and everything to whoever holds that key.{fix_value}",
                      fix=f"Replace it with the identity of MinIO's client certificate.{fix_value}")
