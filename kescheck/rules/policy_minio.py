"""POL020-POL029: MinIO's policy grants exactly what MinIO needs for its key (reference §4).

MinIO's identity comes from its API key or client certificate (kescheck.material), its key
from MINIO_KMS_KES_KEY_NAME in the same env file. Whether that identity is bound to a policy
at all, or is the admin (to whom no policy applies), is the business of the identity rules
(DEP100, DEP101); these rules look inside the policy.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..findings import Finding, Location, Severity
from ..identity import is_valid_name
from ..load.envfile import EnvEntry, EnvFile
from ..load.kesconfig import Generation, env_reference
from ..load.yamldoc import YMap, YSeq
from ..load.pem import FileState
from ..material import MinioIdentity, env_value_unknown, kes_admin_identity, material, minio_identities, pem_of
from ..policy import (MINIO_REQUIRED, ROUTES, Policy, PolicyPattern, Resource, Route, key_route,
                      minimal_minio_patterns, policies, policies_of_identity, tokens_for, witness)
from .base import Example, at_entry, at_node, rule

KEY = "minio-default-key"
_HEAD = "admin:\n  identity: disabled\nkeystore:\n  fs:\n    path: /var/kes\n"
_DOCUMENTED = ("/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*",
               "/v1/key/list/*", "/v1/status", "/v1/metrics", "/v1/api")


def _minio(*allow: str, deny: tuple[str, ...] = (), key: str = KEY, keys: tuple[str, ...] = (),
           head: str = _HEAD) -> tuple[tuple[str, str], ...]:
    """An example deployment: a KES config whose policy `minio` names MinIO's generated API key."""
    kes = head + "policy:\n  minio:\n    allow:\n" + "".join(f"      - {p}\n" for p in allow)
    if deny:
        kes += "    deny:\n" + "".join(f"      - {p}\n" for p in deny)
    kes += "    identities:\n      - ${identity:minio.apikey}\n"
    if keys:
        kes += "keys:\n" + "".join(f"  - name: {k}\n" for k in keys)
    env = ("MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:7373\nMINIO_KMS_KES_API_KEY=${apikey:minio.apikey}\n"
           f"MINIO_KMS_KES_KEY_NAME={key}\n")
    return (("kes-config.yaml", kes), ("minio.apikey", "!apikey"), ("minio.env", env))


@dataclass(frozen=True)
class MinioView:
    """MinIO as KES sees it: its identity, the policy bound to it, and the key it encrypts with."""

    identity: MinioIdentity
    policy: Policy
    key_name: str
    key_entry: EnvEntry
    generation: Generation

    def allows(self, operation: str, key: str) -> bool:
        return self.policy.allows(key_route(operation).path_for(key), self.generation)

    def usable(self, key: str) -> bool:
        return all(self.allows(op, key) for op in MINIO_REQUIRED)


@dataclass(frozen=True)
class Skipped:
    env: EnvFile
    entry: EnvEntry
    reason: str
    fix: str


def _kes_env(deployment) -> dict[str, str | None] | None:
    return dict(deployment.options.kes_env) if deployment.options.kes_env is not None else None


def _uncomputable_fix(variable: str) -> str:
    if variable == "MINIO_KMS_KES_API_KEY":
        return ("Set MINIO_KMS_KES_API_KEY to the key `kes identity new` printed (`kes:v1:` and base64); the env "
                "findings on that line say what is wrong with the value.")
    return (f"Run kescheck where the certificate {variable} names is readable (on the MinIO host, or with the file "
            "beside the env file), or fix the certificate the certificate findings name.")


def _why_uncomputable(deployment, env: EnvFile, credential: EnvEntry) -> str:
    if credential.name == "MINIO_KMS_KES_API_KEY":
        return "not a valid API key"
    side = next((s for s in material(deployment).minio if s.env is env), None)
    cert = side.pair.cert if side is not None and side.pair is not None else None
    if cert is not None and pem_of(deployment, cert).state is FileState.ABSENT:
        return "the certificate it names is not here"
    return "the certificate cannot be read or holds no usable client certificate"


def minio_views(deployment) -> tuple[list[MinioView], list[Skipped]]:
    """Per MinIO env file: the view to check, or why the policy cannot be checked (said once)."""

    def compute():
        views: list[MinioView] = []
        skipped: list[Skipped] = []
        if deployment.kes is None:
            return views, skipped
        found = policies(deployment)
        identities = {id(m.env): m for m in minio_identities(deployment)}
        admin = kes_admin_identity(deployment)
        env_map = _kes_env(deployment)
        for env in deployment.envs:
            key_entry = env.get("MINIO_KMS_KES_KEY_NAME")
            variable = getattr(env, "identity_variable", None)
            if variable is not None:  # the identity is `${variable}` in KES's environment, whatever its value
                operator_view = _view_by_variable(deployment, found, env, key_entry, variable)
                if operator_view is not None:
                    views.append(operator_view)
                continue
            credential = env.get("MINIO_KMS_KES_API_KEY") or env.get("MINIO_KMS_KES_CERT_FILE")
            if key_entry is None or not key_entry.value or credential is None or not credential.value:
                continue  # not a MinIO that talks to KES, or one the env rules already reject
            minio = identities.get(id(env))
            if minio is None:
                skipped.append(Skipped(env, credential, "kescheck cannot compute MinIO's KES identity from "
                                                        f"{credential.name} ({_why_uncomputable(deployment, env, credential)}), "
                                                        "so its policy was not checked",
                                       _uncomputable_fix(credential.name)))
                continue
            if minio.identity == admin:
                continue  # no policy applies to the admin: DEP101 is the one finding about this MinIO
            bound = policies_of_identity(found, minio.identity, env_map)
            if len(bound) == 1:
                views.append(MinioView(minio, bound[0], key_entry.value, key_entry, deployment.kes.generation))
            elif not bound and any(env_reference(n) is not None and env_value_unknown(env_map, env_reference(n))
                                   for p in found for n in p.identities):
                skipped.append(Skipped(env, minio.entry, "policy identities are given as ${VAR} whose values "
                                                         "kescheck does not know, so it cannot tell which "
                                                         "policy applies to MinIO (pass --kes-env FILE)",
                                       "Pass the environment KES starts with to kescheck (`--kes-env FILE`, e.g. the "
                                       "EnvironmentFile of KES's systemd unit)."))
        return views, skipped

    return deployment.memo("minio-policy-views", compute)


def _view_by_variable(deployment, found: list, env, key_entry, variable: str) -> MinioView | None:
    """MinIO whose identity is whatever `${variable}` holds in KES's environment: the policy that names `${variable}`
    is MinIO's (none when MinIO is the admin that way, when no or several policies name it, or without a key)."""
    admin = deployment.kes.admin_node
    if key_entry is None or not key_entry.value or admin is not None and env_reference(admin) == variable:
        return None
    bound = [policy for policy in found if any(env_reference(node) == variable for node in policy.identities)]
    if len(bound) != 1:
        return None
    identity = MinioIdentity(f"${{{variable}}}", "variable", env, key_entry, f"the identity in {variable}")
    return MinioView(identity, bound[0], key_entry.value, key_entry, deployment.kes.generation)


def _at_policy(deployment, view: MinioView, message: str, fix: str | None, suffix: str) -> Finding:
    policy = view.policy
    node = policy.node.get("allow") if isinstance(policy.node, YMap) else None
    target = node if isinstance(node, YSeq) and node.items else policy.key
    finding = at_node(deployment.kes.source, target, message, fix=fix, anchor=f"policy.{policy.name}.allow:{suffix}")
    key_at = Location(view.identity.env.source.path, view.key_entry.line, view.key_entry.value_column)
    return Finding(finding.location, message, fix, finding.anchor, related=(key_at,))


def _resource_part(pattern: PolicyPattern, route: Route) -> str | None:
    """The part after `/v1/key/<op>/` of a pattern written for one key API."""
    return pattern.text[len(route.base):] if pattern.text.startswith(route.base) else None


def _suggested_pattern(view: MinioView, operation: str) -> str:
    """The pattern to add for `operation`: mirror how the policy already names MinIO's key, else the key itself."""
    target = key_route(operation)
    for pattern in view.policy.allow:
        for sibling in ("generate", "decrypt", "create", "describe"):
            route = key_route(sibling)
            resource = _resource_part(pattern, route)
            if resource and "/" not in resource and pattern.matches(route.path_for(view.key_name), view.generation):
                candidate = target.base + resource
                if tokens_for(candidate, view.generation) is not None:
                    return candidate
    return target.path_for(view.key_name)


def _grants_elsewhere(view: MinioView, operation: str) -> list[PolicyPattern]:
    """Allow patterns that grant `operation` on some key (a request the policy really lets through)."""
    route = key_route(operation)
    granting = []
    for pattern in view.policy.allow:
        for path in _candidate_paths(view, route, pattern):
            if pattern.matches(path, view.generation) and view.policy.allows(path, view.generation):
                granting.append(pattern)
                break
    return granting


def _candidate_paths(view: MinioView, route: Route, pattern: PolicyPattern) -> list[str]:
    """Requests of `route` worth asking the policy about: what the pattern itself matches, and a few names."""
    found = []
    tokens = tokens_for(pattern.text, view.generation)
    if tokens is not None:
        example = witness(tokens, route)
        if example is not None:
            # Also with a character more: the shortest match of `minio-*` (`minio-`) is no name KES accepts.
            found += [example, example + "x"] if route.takes_resource else [example]
    if route.takes_resource:
        names = (view.key_name, "kescheck-other-key", "x", "zz-9")
        found += [route.path_for(*([name] * len(route.resources))) for name in names]
    else:
        found.append(route.base)
    return [path for path in found if _accepted(route, path, view)]


def _accepted(route: Route, path: str, view: MinioView) -> bool:
    """A request KES answers: since 2023-10-24 (prefix matching) each key, policy or identity name in the path follows
    KES's name rule, so a pattern that only matches other names (`/v1/key/delete/minio-?`, `?` taken literally)
    grants nothing."""
    if view.generation.glob_policies or not route.takes_resource:
        return True
    names = path[len(route.base):].split("/")
    return all(kind is Resource.PATTERN or is_valid_name(name) for kind, name in zip(route.resources, names))


def _minimal_text(view: MinioView) -> str:
    prefix = _minio_prefix(view)
    patterns = minimal_minio_patterns(view.key_name, prefix)
    return (f"The minimal MinIO policy for key `{view.key_name}` allows only: " + ", ".join(f"`{p}`" for p in patterns)
            + f" (`kescheck policy minimal --key-name {view.key_name}"
            + (f" --prefix {prefix}" if prefix else "") + "` prints it as YAML).")


def _minio_prefix(view: MinioView) -> str | None:
    """The key-name prefix the policy already grants generate with, when it is a plain `PREFIX*`."""
    route = key_route("generate")
    for pattern in view.policy.allow:
        resource = _resource_part(pattern, route)
        if (resource and resource.endswith("*") and not any(c in resource[:-1] for c in "*?[\\/")
                and view.key_name.startswith(resource[:-1]) and resource[:-1]):
            return resource[:-1]
    return None


def _required_problems(view: MinioView):
    """(operation, kind, deny pattern or granting patterns) for each required operation MinIO lacks on its key."""
    for operation in MINIO_REQUIRED:
        decision = view.policy.evaluate(key_route(operation).path_for(view.key_name), view.generation)
        if decision.allowed:
            continue
        if decision.reason == "denied":
            yield operation, "denied", [decision.pattern]
            continue
        elsewhere = _grants_elsewhere(view, operation)
        yield operation, ("prefix" if elsewhere else "missing"), elsewhere


@rule("POL020", "minio-operation-not-allowed", Severity.ERROR,
      "MinIO's policy does not allow `generate` or `decrypt` on its key",
      rationale="""Every SSE-S3/SSE-KMS upload asks KES to `generate` a data key with MINIO_KMS_KES_KEY_NAME,
      and every read (and MinIO's own encrypted IAM and config data) asks it to `decrypt`. Without either,
      MinIO gets `not authorized: insufficient permissions` from KES: encryption fails, and MinIO may not
      even finish starting.""",
      fix="Add the pattern the message names to the policy's `allow:` list (or remove the deny that blocks it).",
      examples=(Example(_minio("/v1/key/decrypt/minio-*", "/v1/key/create/minio-*"), True),
                Example(_minio(*_DOCUMENTED), False)))
def minio_operation_not_allowed(deployment):
    for view in minio_views(deployment)[0]:
        for operation, kind, patterns in _required_problems(view):
            path = key_route(operation).path_for(view.key_name)
            if kind == "denied":
                deny = patterns[0]
                yield _at_policy(deployment, view,
                                 f"MinIO's policy `{view.policy.name}` denies `{operation}` on key `{view.key_name}`: "
                                 f"deny pattern `{deny.text}` (line {deny.line}) matches `{path}`, so MinIO gets 403",
                                 f"Remove or narrow the deny pattern `{deny.text}` so that `{path}` is allowed.",
                                 operation)
            elif kind == "missing":
                wanted = _suggested_pattern(view, operation)
                yield _at_policy(deployment, view,
                                 f"MinIO's policy `{view.policy.name}` does not allow `{operation}` on key "
                                 f"`{view.key_name}` (MINIO_KMS_KES_KEY_NAME): KES answers `{path}` with 403, so "
                                 "server-side encryption fails",
                                 f"Add `- {wanted}` under `policy.{view.policy.name}.allow`.", operation)


@rule("POL021", "minio-prefix-misses-key", Severity.ERROR,
      "MinIO's allowed key prefix does not cover MINIO_KMS_KES_KEY_NAME",
      rationale="""Policies often restrict MinIO to a key-name prefix (`/v1/key/generate/minio-*`). When
      MINIO_KMS_KES_KEY_NAME does not start with that prefix, KES refuses MinIO's requests for its own key
      with 403 although the policy looks right at a glance.""",
      fix="Rename the key to match the prefix, or add the key's own patterns to the policy.",
      examples=(Example(_minio(*_DOCUMENTED, key="sse-key"), True),
                Example(_minio(*_DOCUMENTED, key="minio-sse-key"), False)))
def minio_prefix_misses_key(deployment):
    for view in minio_views(deployment)[0]:
        for operation, kind, patterns in _required_problems(view):
            if kind != "prefix":
                continue
            granted = ", ".join(f"`{p.text}`" for p in patterns)
            wanted = key_route(operation).path_for(view.key_name)
            yield _at_policy(deployment, view,
                             f"MinIO's policy `{view.policy.name}` allows `{operation}` only through {granted}, which "
                             f"does not cover key `{view.key_name}` (MINIO_KMS_KES_KEY_NAME): KES answers "
                             f"`{wanted}` with 403",
                             f"Add `- {wanted}` under `policy.{view.policy.name}.allow`, or rename the key so that "
                             "it matches the prefix.", operation)


def _listed_keys(deployment) -> set[str]:
    keys = deployment.kes.find("keys")
    if not isinstance(keys, YSeq):
        return set()
    names = set()
    for item in keys.items:
        name = item.get("name") if isinstance(item, YMap) else None
        if name is not None and hasattr(name, "text"):
            names.add(name.text.strip())
    return names


@rule("POL022", "minio-key-must-preexist", Severity.NOTE,
      "MinIO may not create its key and KES does not create it either",
      rationale="""MinIO creates MINIO_KMS_KES_KEY_NAME at start when it is missing, but only if its policy
      allows `/v1/key/create/`; a refused create is not fatal. If KES's `keys:` list does not create the key
      either, it must already exist in the keystore, or every SSE request later fails with `key does not
      exist`.""",
      fix="""List the key under `keys:` in the KES config (KES creates it at start), allow
      `/v1/key/create/<key>` for MinIO, or create it once with `kes key create <key>`.""",
      examples=(Example(_minio("/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"), True),
                Example(_minio("/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*", keys=(KEY,)), False),
                Example(_minio(*_DOCUMENTED), False)))
def minio_key_must_preexist(deployment):
    for view in minio_views(deployment)[0]:
        if view.allows("create", view.key_name) or view.key_name in _listed_keys(deployment):
            continue
        yield _at_policy(deployment, view,
                         f"MinIO may not create its key `{view.key_name}` and KES's `keys:` does not list it: the key "
                         "must exist in the keystore before server-side encryption works",
                         f"Add `- name: {view.key_name}` under `keys:`, or allow "
                         f"`{key_route('create').path_for(view.key_name)}` for MinIO, or run "
                         f"`kes key create {view.key_name}` once.", "create")


@dataclass(frozen=True)
class OptionalApi:
    """A KES API MinIO calls although server-side encryption works without it."""

    operation: str
    """`list`, `status` or `describe`."""
    breaks: str
    """What stops working when KES refuses it."""

    def path(self, view: MinioView) -> str:
        if self.operation == "status":
            return "/v1/status"
        if self.operation == "list":
            return key_route("list").path_for("*")
        return key_route(self.operation).path_for(view.key_name)

    def pattern(self, view: MinioView) -> str:
        return _suggested_pattern(view, self.operation) if self.operation == "describe" else self.path(view)


MINIO_OPTIONAL = (
    OptionalApi("list", "`mc admin kms key list` and the Console's key list get 403"),
    OptionalApi("status", "MinIO cannot report the KMS status: `mc admin kms status`, the KMS part of server info"),
    OptionalApi("describe", "MinIO RELEASE.2024-04-18 and later describe the default key every 10 s to keep it "
                            "cached in KES; each poll is refused with 403 and the key is not kept warm"),
)


def _optional_missing(view: MinioView) -> list[OptionalApi]:
    """The optional APIs the policy neither allows nor deliberately denies (a deny is a choice, not an oversight)."""
    return [api for api in MINIO_OPTIONAL
            if view.policy.evaluate(api.path(view), view.generation).reason == "not-allowed"]


@rule("POL026", "minio-optional-apis-missing", Severity.NOTE,
      "MinIO's policy lacks the optional KES APIs MinIO calls",
      rationale="""Besides generate and decrypt (POL020), MinIO calls read-only KES APIs: `/v1/key/list/*` for
      `mc admin kms key list` and the Console, `/v1/status` for its KMS status, and, from RELEASE.2024-04-18,
      `/v1/key/describe/<key>` every 10 seconds to keep its default key cached in KES. Current MinIO starts
      without them and only those features fail with `not authorized: insufficient permissions`, but MinIO
      RELEASE.2023-02-17, which moved MinIO onto the KES SDK, stopped starting with policies that granted only
      create, generate and decrypt (minio/minio#16908, minio/docs#779). A deny pattern for one of them is taken as
      a deliberate choice and not reported, and configs for KES 0.17.1 or older (2021, before MinIO called these
      APIs) are not checked.""",
      fix="""Add the patterns the message names under MinIO's `allow:` list (`kescheck policy minimal` prints the
      whole policy).""",
      examples=(Example(_minio("/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"), True),
                Example(_minio(*_DOCUMENTED), True, note="the documented policy lacks describe"),
                Example(_minio(*_DOCUMENTED, "/v1/key/describe/minio-*"), False),
                Example(_minio("/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*",
                               deny=("/v1/key/list/*", "/v1/status", "/v1/key/describe/*")), False,
                        note="denied on purpose")))
def minio_optional_apis_missing(deployment):
    for view in minio_views(deployment)[0]:
        if view.generation is Generation.G0:
            continue  # KES <= 0.17.1 (2021) predates the MinIO releases that call these APIs
        missing = _optional_missing(view)
        if not missing:
            continue
        parts = []
        for api in missing:
            hint = ""
            if api.operation == "list" and any(p.text == "/v1/key/list" for p in view.policy.allow):
                hint = "; `/v1/key/list` without `/*` matches no list request"
            parts.append(f"`{api.path(view)}` ({api.breaks}{hint})")
        patterns = "".join(f"`- {api.pattern(view)}`, " for api in missing)[:-2]
        yield _at_policy(deployment, view,
                         f"MinIO's policy `{view.policy.name}` does not allow the optional KES APIs MinIO calls: "
                         + "; ".join(parts),
                         f"Add {patterns} under `policy.{view.policy.name}.allow`.", "optional")


_UNNEEDED = {"policy": "the policy API", "identity": "the identity API", "log": "the log API",
             "secret": "the secret API", "enclave": "the enclave API"}
_UNNEEDED_KEY_OPS = {"delete": "key deletion", "import": "key import"}
_BLANKETS = {"*", "/*", "/v1/*", "/v1/key/*"}


def _unneeded(route: Route) -> str | None:
    if route.area == "key":
        return _UNNEEDED_KEY_OPS.get(route.operation)
    if route.operation == "self-describe":
        return None  # KES answers it for every client anyway
    return _UNNEEDED.get(route.area)


def _effective(view: MinioView, pattern: PolicyPattern, route: Route) -> bool:
    """True when `pattern` lets at least one request of `route` through the whole policy."""
    return any(pattern.matches(path, view.generation) and view.policy.allows(path, view.generation)
               for path in _candidate_paths(view, route, pattern))


@rule("POL023", "minio-policy-too-broad", Severity.WARNING,
      "MinIO's policy allows APIs MinIO never needs",
      rationale="""For server-side encryption MinIO needs generate and decrypt on its keys, create if it is
      to create them, and read-only status APIs. Key deletion and import, the policy, identity and log
      APIs are never needed: granting them means a stolen MinIO certificate or API key can delete every
      key (and so every encrypted object) or read KES's audit log. Blanket patterns such as `/v1/*` or,
      since KES 0.23, `/v1/key/*` grant all of these.""",
      fix="Replace the pattern with the patterns MinIO needs (see the minimal policy in the message).",
      security_severity=6.5,
      examples=(Example(_minio("/v1/*"), True),
                Example(_minio(*_DOCUMENTED, "/v1/key/delete/minio-*"), True),
                Example(_minio(*_DOCUMENTED), False),
                Example(_minio("/v1/*", deny=("/v1/key/delete/*", "/v1/key/import/*", "/v1/policy/*",
                                             "/v1/identity/*", "/v1/log/*")), False)))
def minio_policy_too_broad(deployment):
    for view in minio_views(deployment)[0]:
        for pattern in view.policy.allow:
            extras = [label for route in ROUTES if route.exists_in(view.generation)
                      and (label := _unneeded(route)) and _effective(view, pattern, route)]
            if not extras:
                continue
            extras = list(dict.fromkeys(extras))
            kind = "blanket pattern" if (pattern.text in _BLANKETS and not view.generation.glob_policies) else "pattern"
            finding = at_node(deployment.kes.source, pattern.node,
                              f"{kind} `{pattern.text}` of MinIO's policy `{view.policy.name}` grants "
                              f"{_join(extras)}, which MinIO never needs for server-side encryption",
                              fix=_minimal_text(view))
            yield finding


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_KEY_OPS_ON_OWN_KEYS = ("create", "describe", "generate", "decrypt", "encrypt", "hmac")


@rule("POL024", "minio-policy-other-keys", Severity.WARNING,
      "MinIO's policy reaches keys MinIO cannot use",
      rationale="""MinIO can only use keys on which it may both generate and decrypt. A pattern that lets it
      create, describe, encrypt with or use other keys (for example `/v1/key/create/*` next to
      `/v1/key/generate/minio-*`) widens what a leaked MinIO credential can do without helping MinIO.""",
      fix="Restrict the pattern to the key names MinIO generates and decrypts with.",
      security_severity=4.0,
      examples=(Example(_minio("/v1/key/create/*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"), True),
                Example(_minio(*_DOCUMENTED), False),
                Example(_minio("/v1/key/create/*", "/v1/key/generate/*", "/v1/key/decrypt/*"), False)))
def minio_policy_other_keys(deployment):
    for view in minio_views(deployment)[0]:
        if not view.usable(view.key_name):
            continue  # the required-operation errors come first; everything would look "outside" here
        for pattern in view.policy.allow:
            reached = []
            for operation in _KEY_OPS_ON_OWN_KEYS:
                route = key_route(operation)
                if not route.exists_in(view.generation):
                    continue
                for path in _candidate_paths(view, route, pattern):
                    key = path[len(route.base):]
                    if (path.startswith(route.base) and "/" not in key and key
                            and pattern.matches(path, view.generation) and view.policy.allows(path, view.generation)
                            and not view.usable(key)):
                        reached.append((operation, key))
                        break
            if reached:
                ops = _join([f"`{op}`" for op, _ in reached])
                example = reached[0][1]
                yield at_node(deployment.kes.source, pattern.node,
                              f"pattern `{pattern.text}` of MinIO's policy `{view.policy.name}` allows {ops} on keys "
                              f"MinIO cannot generate and decrypt with (e.g. `{example}`), which widens what a leaked "
                              "MinIO credential can do", fix=_minimal_text(view))


@rule("POL025", "minio-policy-not-checked", Severity.NOTE,
      "kescheck could not check MinIO's KES policy",
      rationale="""The policy checks need MinIO's KES identity (from its API key or client certificate) and
      the policy bound to it. When the identity cannot be computed (a certificate kescheck cannot read, an
      invalid API key), or the policies name their identities as `${VAR}` and kescheck does not know their
      values (no KES environment, or a systemd unit that passes them from the service manager with
      `PassEnvironment=`), kescheck says so instead of guessing. (A MinIO that authenticates as the KES admin has no
      policy at all: DEP101 reports that.)""",
      fix="""Run kescheck where MinIO's client certificate is readable (or fix the certificate or API key the
      message names), and pass the environment KES starts with (`--kes-env FILE`) when policy identities
      are `${VAR}` references.""",
      examples=(Example((("kes-config.yaml", _HEAD + "policy:\n  minio:\n    allow:\n"
                                             "      - /v1/key/generate/minio-*\n      - /v1/key/decrypt/minio-*\n"
                                             "    identities:\n      - ${MINIO_IDENTITY}\n"),
                         ("minio.apikey", "!apikey"),
                         ("minio.env", "MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:7373\n"
                                       "MINIO_KMS_KES_API_KEY=${apikey:minio.apikey}\n"
                                       f"MINIO_KMS_KES_KEY_NAME={KEY}\n")), True,
                        note="policy identities from an unknown environment"),
                Example(_minio(*_DOCUMENTED), False)))
def minio_policy_not_checked(deployment):
    for skipped in minio_views(deployment)[1]:
        yield at_entry(skipped.env, skipped.entry, skipped.reason, fix=skipped.fix, on_value=False)
