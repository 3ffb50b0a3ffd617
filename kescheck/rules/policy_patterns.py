"""POL001-POL019: every policy pattern must mean, under the target KES generation, what its author thinks.

KES never complains about a policy pattern: one that matches nothing is silently useless, and
glob patterns carried over an upgrade to KES >= 0.23 (prefix matching) stop matching without
a word. These rules evaluate each pattern against the catalogue of KES API paths with the
matcher of the target generation (kescheck.policy).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

from ..findings import Finding, Location, Severity
from ..load.kesconfig import Generation, reads_singular_identity
from ..load.yamldoc import YMap, YScalar, YSeq
from ..policy import (REWRITE, ROUTES, Policy, PolicyPattern, Route, can_match, covers, policies, routes_for,
                      tokens_for)
from .base import Example, at_node, rule

_HEAD = "admin:\n  identity: disabled\nkeystore:\n  fs:\n    path: /var/kes\n"


def _kes(policy_yaml: str, head: str = _HEAD) -> str:
    return head + "policy:\n" + policy_yaml


GLOB_HEAD = "root: disabled\nkeystore:\n  fs:\n    path: /var/kes\n"
"""A G0 config (`root:` decides it): glob matching."""

IDENTITY = "9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b"


def _one_policy(*allow: str, deny: tuple[str, ...] = (), identities: tuple[str, ...] = (IDENTITY,)) -> str:
    text = "  app:\n    allow:\n" + "".join(f"      - {p}\n" for p in allow)
    if deny:
        text += "    deny:\n" + "".join(f"      - {p}\n" for p in deny)
    if identities:
        text += "    identities:\n" + "".join(f"      - {i}\n" for i in identities)
    return text


class Problem(enum.Enum):
    NOT_ABSOLUTE = "not-absolute"
    MALFORMED = "malformed"
    MID_STAR = "mid-star"
    LITERAL_GLOB = "literal-glob"
    NO_RESOURCE = "no-resource"
    OTHER_VERSION = "other-version"
    NO_API = "no-api"


@dataclass(frozen=True)
class Diagnosis:
    problem: Problem
    routes: tuple[Route, ...] = ()
    """For OTHER_VERSION and NO_RESOURCE: the routes concerned."""


@lru_cache(maxsize=4096)
def diagnose(text: str, generation: Generation, kes_version: str | None = None) -> Diagnosis | None:
    """The one thing wrong with a pattern under `generation` (and the release `kes_version` names, whose routes may
    not include one a later release of the generation added), or None when it can match a request.

    Cached per process: a batch of deployments repeats the same patterns, and the answer depends
    on the text, the generation and the release only.
    """
    prefix = not generation.glob_policies
    if not text.startswith("/") and not (prefix and text == "*"):
        return Diagnosis(Problem.NOT_ABSOLUTE)
    tokens = tokens_for(text, generation)
    if tokens is None:
        return Diagnosis(Problem.MALFORMED)
    if prefix and "*" in text[:-1]:
        return Diagnosis(Problem.MID_STAR)
    if prefix and ("?" in text or "[" in text):
        return Diagnosis(Problem.LITERAL_GLOB)
    bare = [r for r in ROUTES if r.takes_resource and text in (r.base, r.base.rstrip("/"))]
    if bare:
        current = [r for r in bare if r.exists_for(generation, kes_version)]
        return Diagnosis(Problem.NO_RESOURCE, tuple(current)) if current else Diagnosis(Problem.OTHER_VERSION, tuple(bare))
    matched = [r for r in ROUTES if can_match(tokens, r)]
    if any(r.exists_for(generation, kes_version) for r in matched):
        return None
    if matched:
        return Diagnosis(Problem.OTHER_VERSION, tuple(matched))
    return Diagnosis(Problem.NO_API)


def diagnoses(deployment) -> dict[int, Diagnosis]:
    """Per pattern (by id), memoised: each pattern gets at most one of the problem findings."""

    def compute() -> dict[int, Diagnosis]:
        found = {}
        for policy in policies(deployment):
            for pattern in policy.patterns:
                diagnosis = diagnose(pattern.text, deployment.kes.generation, deployment.options.kes_version)
                if diagnosis is not None:
                    found[id(pattern)] = diagnosis
        return found

    return deployment.memo("policy-diagnoses", compute)


def _patterns_with(deployment, problem: Problem):
    if deployment.kes is None:
        return
    found = diagnoses(deployment)
    for policy in policies(deployment):
        for pattern in policy.patterns:
            diagnosis = found.get(id(pattern))
            if diagnosis is not None and diagnosis.problem is problem:
                yield policy, pattern, diagnosis


def _at(deployment, pattern: PolicyPattern, message: str, fix: str | None = None,
        related: tuple[Location, ...] = ()) -> Finding:
    finding = at_node(deployment.kes.source, pattern.node, message, fix=fix)
    return Finding(finding.location, finding.message, finding.fix, finding.anchor, related=related)


def _matching(generation: Generation) -> str:
    return ("glob matching (KES <= 2023-09-28: `*` stays inside one path segment)" if generation.glob_policies
            else "prefix matching (KES >= 0.23: only a final `*` is a wildcard)")


def _role(pattern: PolicyPattern) -> str:
    return f"{pattern.effect.value} pattern `{pattern.text}` of policy `{pattern.policy}`"


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def closest_path(text: str, generation: Generation) -> str | None:
    """A pattern close to `text` that does match an API of `generation` (typos, a `*` that must not cross `/`)."""
    if generation.glob_policies and text.endswith("*"):
        widened = text + "/*"
        if any(can_match(tokens_for(widened, generation), r) for r in routes_for(generation)):
            return widened
    segments = text.split("/")
    best: tuple[int, str] | None = None
    for route in routes_for(generation):
        fixed = route.base.rstrip("/")
        if route.takes_resource:
            count = len(fixed.split("/"))
            compared = "/".join(segments[:count])
            rest = "/".join(segments[count:]) or "*"
            suggestion = route.base + rest
        else:
            compared, suggestion = text.rstrip("*"), route.base
        distance = _edit_distance(compared, fixed)
        if distance <= max(2, len(fixed) // 5) and (best is None or distance < best[0]):
            if can_match(tokens_for(suggestion, generation), route):
                best = (distance, suggestion)
    return best[1] if best else None


@rule("POL001", "pattern-not-absolute", Severity.ERROR, "A policy pattern does not start with `/`",
      rationale="""KES compares policy patterns with the URL path of each request, which always starts with
      `/`. A pattern such as `v1/key/create/*` or `key/generate/*` therefore matches nothing, and KES says
      nothing about it: the identities of the policy get 403. KES never substitutes `${VAR}` in patterns.""",
      fix="Write the full API path starting with `/`, e.g. `/v1/key/generate/minio-*`.",
      examples=(Example.kes(_kes(_one_policy("v1/key/generate/minio-*")), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/minio-*")), False)))
def pattern_not_absolute(deployment):
    for _, pattern, _ in _patterns_with(deployment, Problem.NOT_ABSOLUTE):
        if pattern.text.startswith("${"):
            why = "KES does not substitute environment variables in policy patterns, so it is compared literally"
            fix = "Write the API path itself in the config (KES reads patterns literally)."
        else:
            why = "request paths always start with `/`, so it matches nothing"
            fix = f"Write `/{pattern.text}`." if pattern.text.startswith(("v1/", "version")) else None
        shown = pattern.text or "(empty)"
        yield _at(deployment, pattern, f"{pattern.effect.value} pattern `{shown}` of policy `{pattern.policy}` "
                                       f"does not start with `/`: {why}", fix)


@rule("POL002", "pattern-matches-no-api", Severity.ERROR, "A policy pattern matches no KES API path",
      rationale="""A pattern that can match no API path of the target KES version is a typo or a
      misunderstanding of the matcher (for example `/v1/key/*` under glob matching, where `*` does not cross
      `/`). An allow that matches nothing grants nothing; a deny that matches nothing gives a false sense of
      safety. KES accepts both silently.""",
      fix="Correct the pattern to a real API path; the message suggests the closest one.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generte/*")), True),
                Example.kes(_kes(_one_policy("/v1/key/*"), GLOB_HEAD), True, "glob: * does not cross /"),
                Example.kes(_kes(_one_policy("/v1/key/*/*"), GLOB_HEAD), False),
                Example.kes(_kes(_one_policy("/v1/key/generate/*")), False)))
def pattern_matches_no_api(deployment):
    generation = deployment.kes.generation if deployment.kes else None
    for _, pattern, _ in _patterns_with(deployment, Problem.NO_API):
        suggestion = closest_path(pattern.text, generation)
        hint = f"; did you mean `{suggestion}`?" if suggestion else ""
        yield _at(deployment, pattern, f"{_role(pattern)} matches no KES API path under {_matching(generation)}{hint}",
                  f"Replace it with `{suggestion}`." if suggestion else None)


def _per_api(text: str, route: Route) -> str:
    """What a glob matched on one API, written as a pattern with its only wildcard at the end."""
    if not route.takes_resource:
        return route.base
    parts = text.split("/")
    count = len(route.base.rstrip("/").split("/"))
    resource = "/".join(parts[count:]) if len(parts) > count else "*"
    cut = min([resource.find(c) for c in "*?[\\" if c in resource] or [len(resource)])
    return route.base + (resource[:cut] + "*" if cut < len(resource) else resource)


def _glob_era_meaning(text: str) -> tuple[list[str], list[tuple[str, Route]]]:
    """What a glob pattern matched under KES <= 0.22, one pattern per API: (APIs current KES still has,
    (pattern, route) for the APIs of any glob-era release that current KES no longer has: policy
    write/show/delete, identity assign/forget/delete, secrets, enclaves, log traces)."""
    tokens = tokens_for(text, Generation.G1)
    if tokens is None:
        return [], []
    current, removed = [], []
    for route in ROUTES:
        if not (route.exists_in(Generation.G0) or route.exists_in(Generation.G1)) or not can_match(tokens, route):
            continue
        if route.exists_in(Generation.G2):
            current.append(_per_api(text, route))
        else:
            removed.append((_per_api(text, route), route))
    return list(dict.fromkeys(current)), list({p: (p, r) for p, r in removed}.values())


def _g2_fix(pattern: PolicyPattern) -> tuple[str, str | None]:
    current, removed = _glob_era_meaning(pattern.text)
    if not current and not removed:
        return "it matched no API path under glob matching either", None
    listed = ", ".join(f"`{p}`" for p in current)
    gone = ", ".join(f"`{p}`" for p, _ in removed) + f" (removed by the {REWRITE} rewrite at the latest)"
    if not current:
        return (f"under KES <= 0.22 it matched only APIs current KES no longer has: {gone}",
                "Remove the pattern: every API it matched was removed from KES.")
    meaning = f"under KES <= 0.22 it meant {listed}"
    fix = f"Replace it with one {pattern.effect.value} pattern per API: {listed}."
    if removed:
        meaning += f", and also APIs current KES no longer has: {gone}"
        fix += " Current KES has no API that replaces the removed ones, so they need no pattern."
    return meaning, fix


@rule("POL003", "wildcard-not-at-end", Severity.ERROR, "A `*` before the end of a pattern under prefix matching",
      rationale="""Since KES 0.23 (2023-11-09) a policy pattern is a plain string, or a prefix when its last
      character is `*`. A `*` anywhere else is a literal character, so a glob such as `/v1/key/*/minio-*`,
      valid and common before 0.23, matches no request at all: after an upgrade MinIO gets 403 (or a deny
      silently stops denying).""",
      fix="Write one pattern per API with the wildcard only at the end, e.g. `/v1/key/generate/minio-*`.",
      examples=(Example.kes("version: v1\n" + _kes(_one_policy("/v1/key/*/minio-*")), True),
                Example.kes("version: v1\n" + _kes(_one_policy("/v1/key/generate/minio-*")), False),
                Example.kes(_kes(_one_policy("/v1/key/*/minio-*"), GLOB_HEAD), False, "glob era: valid")))
def wildcard_not_at_end(deployment):
    yield from _taken_literally(deployment, Problem.MID_STAR, "has a `*` before its end, which")


def _taken_literally(deployment, problem: Problem, what: str):
    for _, pattern, _ in _patterns_with(deployment, problem):
        before, fix = _g2_fix(pattern)
        yield _at(deployment, pattern, f"{_role(pattern)} {what} {_matching(deployment.kes.generation)} takes "
                                       f"literally, so the pattern matches nothing ({before})", fix)


@rule("POL004", "glob-character-literal", Severity.ERROR, "`?` or `[` in a pattern under prefix matching",
      rationale="""KES >= 0.23 does not understand glob syntax: `?` and `[...]` are literal characters. No
      request path KES accepts contains them (key, policy and identity names allow only `0-9A-Za-z_-`), so
      the pattern matches nothing.""",
      fix="Use a prefix with a final `*` instead, e.g. `/v1/key/generate/minio-*`.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/minio-?")), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/minio-?"), GLOB_HEAD), False)))
def glob_character_literal(deployment):
    yield from _taken_literally(deployment, Problem.LITERAL_GLOB, "uses glob syntax (`?` or `[`) that")


@rule("POL005", "malformed-glob", Severity.ERROR, "A policy pattern is not a valid glob",
      rationale="""Before KES 0.23 patterns are Go `path.Match` globs. A malformed glob (an unclosed `[`, an
      empty class, a trailing `\\`) made KES <= 0.17 refuse to start; later versions accept it and it
      never matches anything.""",
      fix="Close the character class or escape the special character with `\\`.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/minio-[ab"), GLOB_HEAD), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/minio-[ab]*"), GLOB_HEAD), False)))
def malformed_glob(deployment):
    for _, pattern, _ in _patterns_with(deployment, Problem.MALFORMED):
        yield _at(deployment, pattern, f"{_role(pattern)} is not a valid glob (unclosed or empty `[...]`, or a "
                                       f"trailing `\\`): it matches nothing, and KES <= 0.17 refuses to start")


@rule("POL006", "api-not-in-version", Severity.NOTE, "A policy pattern names an API the target KES version does not have",
      rationale="""KES removed several APIs in its 2023-10-24 rewrite (`/v1/key/bulk/decrypt`, `/v1/policy/write`,
      `/v1/identity/assign`, the `/v1/secret` and `/v1/enclave` families, the `/trace` log routes) and added
      others later (`/v1/key/hmac` in 2024-02). Such patterns are dead weight copied from old documentation:
      harmless, but they suggest the policy was written for another KES version.""",
      fix="Remove the pattern (or check which KES version the config is really for: `--kes-version`).",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/*", "/v1/key/bulk/decrypt")), True),
                Example.kes(_kes(_one_policy("/v1/key/bulk/decrypt/*"), GLOB_HEAD), False)))
def api_not_in_version(deployment):
    for _, pattern, diagnosis in _patterns_with(deployment, Problem.OTHER_VERSION):
        history = "; ".join(dict.fromkeys(f"`{r.display}` {r.history}" for r in diagnosis.routes))
        version = deployment.options.kes_version
        target = f"KES {version.strip()}" if version else f"the target KES version ({deployment.kes.generation.label})"
        yield _at(deployment, pattern, f"{_role(pattern)} only names APIs that {target} does not have: {history}")


@rule("POL007", "api-without-resource", Severity.ERROR, "A pattern names an API without its resource",
      rationale="""APIs that act on a key, policy or identity, and the list APIs, carry that resource as the
      last path segment: a list request is `/v1/key/list/*` (or a name pattern), a generate request
      `/v1/key/generate/NAME`. A pattern without the resource, such as `/v1/key/list`, matches none of them
      (MinIO docs before 2023-08 had this mistake).""",
      fix="Append the resource or a final `*`, e.g. `/v1/key/list/*`.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/list")), True),
                Example.kes(_kes(_one_policy("/v1/key/list/*")), False)))
def api_without_resource(deployment):
    for _, pattern, diagnosis in _patterns_with(deployment, Problem.NO_RESOURCE):
        route = diagnosis.routes[0]
        wanted = route.base + "*"
        yield _at(deployment, pattern, f"{_role(pattern)} names the API without its {route.resources[0].value}: "
                                       f"requests look like `{route.display}`, so it matches none of them",
                  f"Write `{wanted}`.")


def _clean(deployment, pattern: PolicyPattern) -> bool:
    return id(pattern) not in diagnoses(deployment)


@rule("POL008", "duplicate-pattern", Severity.NOTE, "The same pattern twice in one list",
      rationale="""A repeated pattern changes nothing; it is usually a copy-and-paste slip where a different
      key name or API was meant.""",
      fix="Remove the repetition, or correct it to the pattern that was meant.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/a-*", "/v1/key/generate/a-*")), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/a-*", "/v1/key/decrypt/a-*")), False)))
def duplicate_pattern(deployment):
    if deployment.kes is None:
        return
    for policy in policies(deployment):
        for group in (policy.allow, policy.deny):
            seen: dict[str, PolicyPattern] = {}
            for pattern in group:
                first = seen.setdefault(pattern.text, pattern)
                if first is not pattern:
                    yield _at(deployment, pattern, f"{_role(pattern)} repeats the one at line {first.line}",
                              related=(_location(deployment, first),))


def _location(deployment, pattern: PolicyPattern) -> Location:
    return at_node(deployment.kes.source, pattern.node, "").location


@rule("POL009", "subsumed-pattern", Severity.NOTE, "A pattern is covered by a wider one in the same list",
      rationale="""When a wider pattern already matches everything a narrower one does, the narrower one
      restricts nothing. A reader may believe the policy is limited to the narrow pattern (say one key
      prefix) while the wider one grants more.""",
      fix="Remove the narrower pattern, or narrow the wider one if the restriction was intended.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/*", "/v1/key/generate/minio-*")), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/app-*", "/v1/key/generate/minio-*")), False)))
def subsumed_pattern(deployment):
    if deployment.kes is None:
        return
    generation = deployment.kes.generation
    for policy in policies(deployment):
        for group in (policy.allow, policy.deny):
            clean = [p for p in group if _clean(deployment, p)]
            firsts = {}
            for pattern in clean:
                firsts.setdefault(pattern.text, pattern)
            for narrow in clean:
                if firsts[narrow.text] is not narrow:
                    continue  # a repetition: duplicate-pattern reports it
                wider = next((w for w in clean if w.text != narrow.text and covers(w.text, narrow.text, generation)), None)
                if wider is not None:
                    yield _at(deployment, narrow, f"{_role(narrow)} is already covered by `{wider.text}` "
                                                  f"(line {wider.line}), so it restricts nothing",
                              related=(_location(deployment, wider),))


@rule("POL010", "allow-dead-by-deny", Severity.WARNING, "A deny pattern cancels an allow pattern entirely",
      rationale="""Deny wins over allow. When a deny pattern matches every path an allow pattern matches,
      the allow can never take effect: either the allow is a leftover, or the deny is far wider than
      intended and blocks what the policy means to grant.""",
      fix="Remove the dead allow pattern, or narrow the deny pattern so it only blocks what it should.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/minio-*", deny=("/v1/key/generate/*",))), True),
                Example.kes(_kes(_one_policy("/v1/key/generate/*", deny=("/v1/key/generate/admin-*",))), False)))
def allow_dead_by_deny(deployment):
    if deployment.kes is None:
        return
    generation = deployment.kes.generation
    for policy in policies(deployment):
        for allow in policy.allow:
            if not _clean(deployment, allow):
                continue
            deny = next((d for d in policy.deny if covers(d.text, allow.text, generation)), None)
            if deny is not None:
                yield _at(deployment, allow, f"{_role(allow)} can never take effect: deny pattern `{deny.text}` "
                                             f"(line {deny.line}) matches every path it matches",
                          related=(_location(deployment, deny),))


def _policy_finding(deployment, policy: Policy, message: str, fix: str | None = None) -> Finding:
    return at_node(deployment.kes.source, policy.key, message, fix=fix, anchor=f"policy.{policy.name}")


@rule("POL011", "empty-policy", Severity.WARNING, "A policy allows nothing",
      rationale="""A policy without allow patterns grants nothing: every request of its identities gets 403.
      Old configs used `paths:` (KES <= 0.14), which KES >= 0.17.3 ignores.""",
      fix="List the API paths the identities need under `allow:`.",
      examples=(Example.kes(_kes(f"  app:\n    identities:\n      - {IDENTITY}\n"), True),
                Example.kes(_kes(_one_policy("/v1/status")), False)))
def empty_policy(deployment):
    if deployment.kes is None:
        return
    for policy in policies(deployment):
        if policy.allow:
            continue
        if policy.legacy_paths is not None:
            yield _policy_finding(deployment, policy, f"policy `{policy.name}` has no `allow:` list, only `paths:`, "
                                                      "which KES >= 0.17.3 ignores: it allows nothing",
                                  "Rename `paths:` to `allow:`.")
        else:
            yield _policy_finding(deployment, policy, f"policy `{policy.name}` has no allow patterns: every request "
                                                      "of its identities gets 403")


@rule("POL012", "policy-without-identity", Severity.WARNING, "A policy is bound to no identity",
      rationale="""A policy applies only to the identities listed under its `identities:`. Without any, it
      grants nothing to anyone: usually the identity was forgotten, or written as `identity:` (singular),
      which only KES 0.17.3 - 0.17.5 read.""",
      fix="List the client identities (`kes identity of CERT`) under `identities:`.",
      examples=(Example.kes(_kes(_one_policy("/v1/status", identities=())), True),
                Example.kes(_kes(_one_policy("/v1/status")), False)))
def policy_without_identity(deployment):
    if deployment.kes is None:
        return
    for policy in policies(deployment):
        if policy.identities or _mistyped_identities(policy):
            continue
        if reads_singular_identity(deployment.options.kes_version) and isinstance(policy.node, YMap) \
                and policy.node.key_node("identities") is not None:
            continue  # KES223: the target release ignores `identities`
        if policy.singular_identity is not None:
            yield _policy_finding(deployment, policy, f"policy `{policy.name}` has `identity:` (singular), which only "
                                                      "KES 0.17.3 - 0.17.5 read: it applies to no identity",
                                  "Rename `identity:` to `identities:` and make it a list.")
        else:
            yield _policy_finding(deployment, policy, f"policy `{policy.name}` lists no identities: it applies to "
                                                      "no client")


def _mistyped_identities(policy: Policy) -> bool:
    """`identities: x` (not a list), a mapping, or a list holding lists or mappings (`- {{name}}` from a
    template): type errors the schema rules report; do not add a second finding."""
    value = policy.node.get("identities") if isinstance(policy.node, YMap) else None
    if isinstance(value, YSeq):
        return any(not isinstance(item, YScalar) for item in value.items)
    return isinstance(value, YMap) or isinstance(value, YScalar) and not value.is_null


BROKEN_MATCHER_RELEASES = ("2023-10-24", "2023-10-27")


@rule("POL013", "broken-matcher-release", Severity.ERROR, "The target KES release cannot match patterns ending in `*`",
      rationale="""The KES releases of 2023-10-24 and 2023-10-27 shipped a prefix matcher with its arguments
      swapped: every pattern ending in `*` matches nothing there, only exact paths work. With those releases
      MinIO gets 403 for every key operation granted by a `.../minio-*` style pattern. Fixed on 2023-11-09.""",
      fix="Upgrade KES to 2023-11-09 (v0.23.0) or later.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/generate/minio-*")), True,
                            options=(("kes_version", "2023-10-24T16-46-23Z"),)),
                Example.kes(_kes(_one_policy("/v1/key/generate/minio-*")), False,
                            options=(("kes_version", "2023-11-09T17-35-47Z"),))))
def broken_matcher_release(deployment):
    version = (deployment.options.kes_version or "").strip().removeprefix("RELEASE.")
    if deployment.kes is None or not version.startswith(BROKEN_MATCHER_RELEASES):
        return
    for policy in policies(deployment):
        starred = [p for p in policy.allow + policy.deny if p.text.endswith("*")]
        if starred:
            yield _at(deployment, starred[0], f"KES {version[:10]} matches no pattern ending in `*`: "
                                              f"{len(starred)} pattern(s) of policy `{policy.name}`, starting with "
                                              f"`{starred[0].text}`, match nothing on that release")


def _routes_matched(text: str, generation: Generation) -> frozenset[Route]:
    """The APIs both matcher eras know that `text` can match under `generation`'s matcher."""
    tokens = tokens_for(text, generation)
    return frozenset(r for r in ROUTES if r.exists_in(Generation.G1) and r.exists_in(Generation.G2)
                     and can_match(tokens, r))


def _shown(routes) -> str:
    return ", ".join(f"`{r.display}`" for r in sorted(routes, key=lambda r: r.display))


@rule("POL014", "glob-changes-on-upgrade", Severity.WARNING,
      "A glob pattern that means something else on current KES",
      rationale="""KES up to 2023-09-28 (G0 and G1 configs) reads policy patterns as globs; from 0.23 KES reads them
      as plain paths or, with a final `*`, prefixes. A pattern carried over an upgrade may then match nothing
      (`/v1/key/*/minio-*`, `/v1/key/generate/minio-?`): MinIO gets 403, or a deny silently stops denying; or
      it may match more than before (`/v1/*` covered only one-segment paths such as `/v1/status`, and as a
      prefix covers every API). KES says nothing either way.""",
      fix="Before upgrading KES, rewrite the pattern as the message suggests (one pattern per API, `*` only at the end), "
          "valid under both matchers.",
      examples=(Example.kes(_kes(_one_policy("/v1/key/*/minio-*"), GLOB_HEAD), True),
                Example.kes(_kes(_one_policy("/v1/*"), GLOB_HEAD), True, "widens to every API"),
                Example.kes(_kes(_one_policy("/v1/key/generate/minio-*"), GLOB_HEAD), False),
                Example.kes(_kes(_one_policy("/v1/key/*/minio-*")), False, "current KES: POL003's")))
def glob_changes_on_upgrade(deployment):
    config = deployment.kes
    if config is None or not config.generation.glob_policies:
        return
    found = diagnoses(deployment)
    for policy in policies(deployment):
        for pattern in policy.patterns:
            after_problem = diagnose(pattern.text, Generation.G2)
            after = frozenset() if after_problem is not None else _routes_matched(pattern.text, Generation.G2)
            if id(pattern) in found and not after:
                continue  # wrong on the target KES and on current KES alike: the other POL rules speak about it
            # A pattern that matches nothing now (POL001, POL002) but something on current KES widens too.
            before = frozenset() if id(pattern) in found else _routes_matched(pattern.text, config.generation)
            if "\\" in pattern.text and after_problem is None and after:
                meant, fix = _g2_fix(pattern)
                yield _at(deployment, pattern, f"{_role(pattern)} matches nothing on current KES (>= 0.23, prefix "
                                               "matching): a `\\` is a plain character there, not an escape, and no "
                                               f"name KES accepts holds one; {meant}", fix)
                continue
            if after == before and after_problem is None:
                continue
            meant, fix = _g2_fix(pattern)
            if after_problem is not None or not after:
                if after_problem is not None and after_problem.problem is Problem.OTHER_VERSION:
                    continue  # names only APIs current KES removed: KES221 / POL006 territory
                change = "matches nothing on current KES (>= 0.23, prefix matching)"
            elif not before:
                change = f"matches no API here, but on current KES (>= 0.23, prefix matching) matches {_shown(after)}"
            elif after > before:
                change = f"on current KES (>= 0.23, prefix matching) also matches {_shown(after - before)}"
            else:
                change = f"on current KES (>= 0.23, prefix matching) matches {_shown(after)} instead"
            yield _at(deployment, pattern, f"{_role(pattern)} {change}; {meant}", fix)
