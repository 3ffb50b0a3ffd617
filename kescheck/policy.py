"""KES policies as KES evaluates them, and the catalogue of KES API paths they are written against.

A request passes a policy iff no `deny` pattern matches its URL path and at least one `allow`
pattern does; the admin identity bypasses policies; an identity in no policy gets 403
(reference §4). What "matches" means depends on the generation:

* G0/G1 (KES <= 2023-09-28): Go's `path.Match` glob. `*` is any run of non-`/` characters,
  `?` one non-`/` character, `[...]` a class (`^` negates, `a-z` ranges, `\\` escapes; a
  class may match `/`), `\\c` is the literal `c`. A malformed pattern matches nothing.
* G2 (KES >= 0.23): a pattern ending in `*` matches every path that starts with the pattern
  minus that `*`; any other pattern matches only the identical path.

Besides the evaluator this module answers questions about patterns, not paths: can a pattern
match any request of a given API route (`can_match`), and does one pattern cover another
(`covers`). Both work on `Route` templates, so the rules never guess at KES's routing.
"""
from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .load.kesconfig import Generation, KesConfig, env_reference, identities_key, predates
from .load.yamldoc import YMap, YNode, YScalar, YSeq

# ---------------------------------------------------------------------------------------------
# Matching one pattern against one path


class BadPattern(ValueError):
    """A glob that Go's `path.Match` rejects; KES <= 0.17 refused to start, later ones never match it."""


def _class_bound(pattern: str, i: int) -> tuple[str, int]:
    """One end of a class range at `pattern[i]`: the character and the index after it."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise BadPattern(pattern)
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise BadPattern(pattern)
    if i + 1 >= len(pattern):  # a class must still be closed after this character
        raise BadPattern(pattern)
    return pattern[i], i + 1


def _parse_class(pattern: str, i: int) -> tuple[bool, tuple[tuple[str, str], ...], int]:
    """The class starting after `[` at index `i`: (negated, ranges, index after `]`)."""
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    ranges: list[tuple[str, str]] = []
    while True:
        if ranges and i < len(pattern) and pattern[i] == "]":
            return negated, tuple(ranges), i + 1
        low, i = _class_bound(pattern, i)
        high = low
        if pattern[i] == "-":
            high, i = _class_bound(pattern, i + 1)
        ranges.append((low, high))


class TokenKind(enum.Enum):
    LITERAL = "literal"
    ANY = "any"
    """`?`: one character other than `/`."""
    CLASS = "class"
    STAR = "star"
    """Glob `*`: any run of characters other than `/`."""
    REST = "rest"
    """The trailing `*` of a G2 pattern: anything at all, `/` included."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    char: str = ""
    negated: bool = False
    ranges: tuple[tuple[str, str], ...] = ()

    def accepts(self, char: str) -> bool:
        if self.kind is TokenKind.LITERAL:
            return char == self.char
        if self.kind is TokenKind.CLASS:
            inside = any(low <= char <= high for low, high in self.ranges)
            return inside != self.negated
        if self.kind is TokenKind.REST:
            return True
        return char != "/"

    def sample(self, avoid_slash: bool) -> str | None:
        """A character this token accepts (not `/` when `avoid_slash`), or None when there is none."""
        if self.kind is TokenKind.LITERAL:
            return None if avoid_slash and self.char == "/" else self.char
        if self.kind is TokenKind.CLASS:
            candidates = [low for low, high in self.ranges if low <= high] + list("xa0Z_-")
            if not self.negated:
                candidates += [chr(ord(low) + 1) for low, high in self.ranges if low < high]
            for char in candidates:
                if self.accepts(char) and not (avoid_slash and char == "/"):
                    return char
            return None
        if self.kind is TokenKind.REST:
            return "x"
        return "x"


def glob_tokens(pattern: str) -> tuple[Token, ...]:
    """The pattern as Go's `path.Match` reads it; raises BadPattern where Go reports ErrBadPattern."""
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if not tokens or tokens[-1].kind is not TokenKind.STAR:
                tokens.append(Token(TokenKind.STAR))
            i += 1
        elif char == "?":
            tokens.append(Token(TokenKind.ANY))
            i += 1
        elif char == "[":
            negated, ranges, i = _parse_class(pattern, i + 1)
            tokens.append(Token(TokenKind.CLASS, negated=negated, ranges=ranges))
        elif char == "\\":
            if i + 1 >= len(pattern):
                raise BadPattern(pattern)
            tokens.append(Token(TokenKind.LITERAL, pattern[i + 1]))
            i += 2
        else:
            tokens.append(Token(TokenKind.LITERAL, char))
            i += 1
    return tuple(tokens)


def prefix_tokens(pattern: str) -> tuple[Token, ...]:
    """A G2 pattern: literal characters, and a trailing `*` that matches any remainder."""
    if pattern.endswith("*"):
        return tuple(Token(TokenKind.LITERAL, c) for c in pattern[:-1]) + (Token(TokenKind.REST),)
    return tuple(Token(TokenKind.LITERAL, c) for c in pattern)


def glob_match(pattern: str, path: str) -> bool:
    """Go `path.Match(pattern, path)`, with a malformed pattern matching nothing."""
    try:
        tokens = glob_tokens(pattern)
    except BadPattern:
        return False
    return _match_tokens(tokens, path)


def _match_tokens(tokens: tuple[Token, ...], path: str) -> bool:
    """Simulates the pattern as an automaton (the set of token positions reachable so far), so
    no input makes it backtrack exponentially."""
    reachable = {0}
    for char in path:
        following: set[int] = set()
        for index in _close_stars(tokens, reachable):
            if index == len(tokens):
                continue
            token = tokens[index]
            if token.kind in (TokenKind.STAR, TokenKind.REST):
                if token.accepts(char):
                    following.add(index)
            elif token.accepts(char):
                following.add(index + 1)
        if not following:
            return False
        reachable = following
    return len(tokens) in _close_stars(tokens, reachable)


def _close_stars(tokens: tuple[Token, ...], states: set[int]) -> set[int]:
    closed = set(states)
    for index in sorted(states):
        while index < len(tokens) and tokens[index].kind in (TokenKind.STAR, TokenKind.REST):
            index += 1
            closed.add(index)
    return closed


def prefix_match(pattern: str, path: str) -> bool:
    """KES >= 0.23: a trailing `*` makes a prefix match, anything else must be identical."""
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def pattern_matches(pattern: str, path: str, generation: Generation) -> bool:
    return glob_match(pattern, path) if generation.glob_policies else prefix_match(pattern, path)


def tokens_for(pattern: str, generation: Generation) -> tuple[Token, ...] | None:
    """The pattern's tokens under `generation`; None for a glob KES cannot parse."""
    if not generation.glob_policies:
        return prefix_tokens(pattern)
    try:
        return glob_tokens(pattern)
    except BadPattern:
        return None


# ---------------------------------------------------------------------------------------------
# The catalogue of KES API paths


class Resource(enum.Enum):
    KEY = "key"
    PATTERN = "pattern"
    POLICY = "policy"
    IDENTITY = "identity"
    NAME = "name"


GLOB_ERA = frozenset({Generation.G0, Generation.G1})
PREFIX_ERA = frozenset({Generation.G2})
ALL_ERAS = GLOB_ERA | PREFIX_ERA
REWRITE = "KES 2023-10-24"
"""The server rewrite that removed the old routes (and brought prefix matching)."""


@dataclass(frozen=True)
class Route:
    """One KES API: the fixed part of its path and the resources after it (`/v1/key/create/` + key)."""

    base: str
    resources: tuple[Resource, ...] = ()
    area: str = ""
    """`key`, `policy`, `identity`, `log`, `secret`, `enclave` or `server`."""
    operation: str = ""
    generations: frozenset[Generation] = ALL_ERAS
    history: str = ""
    """When it existed, for routes that are not in every generation."""
    since: str = ""
    """The release that added it within its generations (`2024-02-29`), when that is not the generation's first."""

    @property
    def takes_resource(self) -> bool:
        return bool(self.resources)

    @property
    def display(self) -> str:
        return self.base + "/".join(r.value.upper() for r in self.resources)

    def path_for(self, *resources: str) -> str:
        return self.base + "/".join(resources)

    def template(self) -> tuple[str | None, ...]:
        """Characters of the path; None stands for one resource (one or more characters other than `/`)."""
        return self._template

    @cached_property
    def _template(self) -> tuple[str | None, ...]:
        parts: list[str | None] = list(self.base)
        for index, _ in enumerate(self.resources):
            if index:
                parts.append("/")
            parts.append(None)
        return tuple(parts)

    def exists_in(self, generation: Generation) -> bool:
        return generation in self.generations

    def exists_for(self, generation: Generation, kes_version: str | None) -> bool:
        """Whether the release `kes_version` (of `generation`; None: the newest) has it."""
        return self.exists_in(generation) and not (self.since and predates(kes_version, self.since))


def _key(op: str, **kw) -> Route:
    return Route(f"/v1/key/{op}/", (Resource.PATTERN if op == "list" else Resource.KEY,), "key", op, **kw)


_OLD = dict(generations=GLOB_ERA, history=f"existed up to KES 2023-09-28 (removed by the {REWRITE} rewrite)")
_OLDEST = dict(generations=frozenset({Generation.G0}), history="existed only in early KES releases")

ROUTES: tuple[Route, ...] = (
    Route("/version", area="server", operation="version"),
    Route("/v1/status", area="server", operation="status"),
    Route("/v1/ready", area="server", operation="ready"),
    Route("/v1/metrics", area="server", operation="metrics"),
    Route("/v1/api", area="server", operation="api"),
    _key("create"), _key("import"), _key("describe"), _key("delete"), _key("list"),
    _key("generate"), _key("encrypt"), _key("decrypt"),
    _key("hmac", generations=PREFIX_ERA, history="exists from KES 2024-02-29", since="2024-02-29"),
    Route("/v1/policy/describe/", (Resource.POLICY,), "policy", "describe"),
    Route("/v1/policy/read/", (Resource.POLICY,), "policy", "read"),
    Route("/v1/policy/list/", (Resource.PATTERN,), "policy", "list"),
    Route("/v1/identity/describe/", (Resource.IDENTITY,), "identity", "describe"),
    Route("/v1/identity/list/", (Resource.PATTERN,), "identity", "list"),
    Route("/v1/identity/self/describe", area="identity", operation="self-describe"),
    Route("/v1/log/error", area="log", operation="error"),
    Route("/v1/log/audit", area="log", operation="audit"),
    # Routes of the glob era that the 2023-10-24 rewrite removed.
    Route("/v1/key/bulk/decrypt/", (Resource.KEY,), "key", "bulk-decrypt", **_OLD),
    Route("/v1/policy/write/", (Resource.POLICY,), "policy", "write", **_OLD),
    Route("/v1/policy/delete/", (Resource.POLICY,), "policy", "delete", **_OLD),
    Route("/v1/identity/assign/", (Resource.POLICY, Resource.IDENTITY), "identity", "assign", **_OLD),
    Route("/v1/identity/delete/", (Resource.IDENTITY,), "identity", "delete", **_OLD),
    Route("/v1/log/error/trace", area="log", operation="error-trace", **_OLD),
    Route("/v1/log/audit/trace", area="log", operation="audit-trace", **_OLD),
    *(Route(f"/v1/secret/{op}/", (Resource.PATTERN if op == "list" else Resource.NAME,), "secret", op, **_OLD)
      for op in ("create", "describe", "read", "delete", "list")),
    *(Route(f"/v1/enclave/{op}/", (Resource.NAME,), "enclave", op, **_OLD) for op in ("create", "describe", "delete")),
    Route("/v1/policy/show/", (Resource.POLICY,), "policy", "show", **_OLDEST),
    Route("/v1/identity/forget/", (Resource.IDENTITY,), "identity", "forget", **_OLDEST),
)


def routes_for(generation: Generation) -> list[Route]:
    return [route for route in ROUTES if route.exists_in(generation)]


def key_route(operation: str) -> Route:
    return next(r for r in ROUTES if r.area == "key" and r.operation == operation)


# ---------------------------------------------------------------------------------------------
# Questions about patterns: can it match a route, which request would it match, does it cover another


def witness(tokens: tuple[Token, ...], route: Route) -> str | None:
    """A request path of `route` that the pattern matches, or None when there is none.

    Breadth-first search over pairs (position in the pattern, position in the route's
    template); a resource consumes one or more characters other than `/`.
    """
    # Literal pattern characters against literal path characters admit one step only: a mismatch
    # there ends the search at once (this rejects most routes after a few characters).
    for token, expected in zip(tokens, route.template()):
        if token.kind is not TokenKind.LITERAL or expected is None:
            break
        if token.char != expected:
            return None
    return search_witness(tokens, route)


def search_witness(tokens: tuple[Token, ...], route: Route) -> str | None:
    """`witness` by the search alone (tests compare the two)."""
    template = route.template()
    start = (0, 0, False)  # token index, template index, inside a resource with >= 1 char consumed
    previous: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        ti, ei, inside = state
        steps: list[tuple[tuple[int, int, bool], str]] = []
        if ti < len(tokens) and tokens[ti].kind in (TokenKind.STAR, TokenKind.REST):
            steps.append(((ti + 1, ei, inside), ""))
        if inside:
            steps.append(((ti, ei + 1, False), ""))
        if ti == len(tokens) and ei == len(template) and not inside:
            path, cursor = [], state
            while previous[cursor] is not None:
                cursor, char = previous[cursor]
                path.append(char)
            return "".join(reversed(path))
        if ti < len(tokens) and ei < len(template):
            token = tokens[ti]
            stays = token.kind in (TokenKind.STAR, TokenKind.REST)
            next_ti = ti if stays else ti + 1
            if template[ei] is None:
                char = token.sample(avoid_slash=True)
                if char is not None:
                    steps.append(((next_ti, ei, True), char))
            elif token.accepts(template[ei]):
                steps.append(((next_ti, ei + 1, False), template[ei]))
        for following, char in steps:
            if following not in previous:
                previous[following] = (state, char)
                queue.append(following)
    return None


def can_match(tokens: tuple[Token, ...] | None, route: Route) -> bool:
    return tokens is not None and witness(tokens, route) is not None


def covers(wide: str, narrow: str, generation: Generation) -> bool:
    """True when every path `narrow` matches is also matched by `wide` (sound: False when unsure)."""
    if wide == narrow:
        return True
    if not generation.glob_policies:
        if wide.endswith("*"):
            return narrow.startswith(wide[:-1])
        return False
    try:
        wide_tokens, narrow_tokens = glob_tokens(wide), glob_tokens(narrow)
    except BadPattern:
        return False
    if any(t.kind is TokenKind.CLASS for t in wide_tokens + narrow_tokens):
        return False
    wide_segments, narrow_segments = _segments(wide_tokens), _segments(narrow_tokens)
    if wide_segments is None or narrow_segments is None or len(wide_segments) != len(narrow_segments):
        return False
    return all(_segment_covers(w, n) for w, n in zip(wide_segments, narrow_segments))


def _segments(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]] | None:
    segments: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind is TokenKind.LITERAL and token.char == "/":
            segments.append([])
        else:
            segments[-1].append(token)
    return [tuple(s) for s in segments]


def _segment_covers(wide: tuple[Token, ...], narrow: tuple[Token, ...]) -> bool:
    """One path segment: `wide` is literal characters with at most one trailing `*`, or equal to `narrow`."""
    if wide == narrow:
        return True
    fixed = wide[:-1] if wide and wide[-1].kind is TokenKind.STAR else None
    if fixed is None or any(t.kind is not TokenKind.LITERAL for t in fixed):
        return False
    return len(narrow) >= len(fixed) and narrow[:len(fixed)] == fixed


# ---------------------------------------------------------------------------------------------
# Policies in a KES config


class Effect(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, eq=False)
class PolicyPattern:
    text: str
    effect: Effect
    policy: str
    node: YScalar
    """The list item in the YAML file: its position and its `.path` anchor."""
    source: Path

    @property
    def line(self) -> int:
        return self.node.line

    @property
    def where(self) -> str:
        return f"{self.source}:{self.node.line}"

    def matches(self, path: str, generation: Generation) -> bool:
        return pattern_matches(self.text, path, generation)


@dataclass(eq=False)
class Policy:
    name: str
    key: YScalar
    node: YNode
    allow: list[PolicyPattern] = field(default_factory=list)
    deny: list[PolicyPattern] = field(default_factory=list)
    identities: list[YScalar] = field(default_factory=list)
    legacy_paths: YNode | None = None
    """A `paths:` list (KES <= 0.14 syntax), ignored by KES >= 0.17.3."""
    singular_identity: YNode | None = None
    """An `identity:` key, read only by KES 0.17.3 - 0.17.5."""

    @property
    def patterns(self) -> list[PolicyPattern]:
        return self.allow + self.deny

    def identity_texts(self) -> list[str]:
        return [node.text.strip() for node in self.identities]

    def evaluate(self, path: str, generation: Generation) -> "Decision":
        for pattern in self.deny:
            if pattern.matches(path, generation):
                return Decision(False, "denied", self, pattern)
        for pattern in self.allow:
            if pattern.matches(path, generation):
                return Decision(True, "allowed", self, pattern)
        return Decision(False, "not-allowed", self)

    def allows(self, path: str, generation: Generation) -> bool:
        return self.evaluate(path, generation).allowed


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    """`admin`, `allowed`, `denied` (a deny pattern matched), `not-allowed` (no allow matched), `no-policy`."""
    policy: Policy | None = None
    pattern: PolicyPattern | None = None


def _pattern_nodes(value: YNode | None) -> list[YScalar]:
    if isinstance(value, YSeq):
        return [item for item in value.items if isinstance(item, YScalar)]
    return []


def load_policies(config: KesConfig) -> list[Policy]:
    section = config.find("policy")
    if not isinstance(section, YMap):
        return []
    found = []
    for key, body in section.entries:
        policy = Policy(key.text, key, body)
        if isinstance(body, YMap):
            for effect in Effect:
                nodes = _pattern_nodes(body.get(effect.value))
                if effect is Effect.ALLOW and body.get("allow") is None and config.generation is Generation.G0:
                    # Up to KES 0.14 `paths` was the allow list, and releases up to 0.17.2 still migrate it.
                    nodes = _pattern_nodes(body.get("paths"))
                for node in nodes:
                    text = "" if node.is_null else node.text
                    target = policy.allow if effect is Effect.ALLOW else policy.deny
                    target.append(PolicyPattern(text, effect, key.text, node, config.source.path))
            policy.identities = [n for n in _pattern_nodes(body.get(identities_key(config.target_version)))
                                 if not n.is_null]
            policy.legacy_paths = body.get("paths")
            policy.singular_identity = body.key_node("identity")
        found.append(policy)
    return found


def policies(deployment) -> list[Policy]:
    """The policies of the deployment's KES config, parsed once per deployment."""
    if deployment.kes is None:
        return []
    return deployment.memo("policies", lambda: load_policies(deployment.kes))


def admin_identity(config: KesConfig, env: dict[str, str] | None = None) -> str | None:
    """The admin identity as written; with `env` (KES's environment), a `${VAR}` as KES resolves it."""
    node = config.scalar("root") if config.generation is Generation.G0 else config.scalar("admin.identity")
    if node is None:
        node = config.admin_node
    if node is None:
        return None
    return resolve_identity(node, env) if env is not None else node.text.strip()


def resolve_identity(node: YScalar, env: dict[str, str] | None) -> str | None:
    """The identity text KES will see; None for a `${VAR}` whose value is unknown."""
    name = env_reference(node)
    if name is None:
        return node.text.strip()
    value = env.get(name) if env is not None else None
    return value.strip() if value is not None else None


def policies_of_identity(found: list[Policy], identity: str, env: dict[str, str] | None = None) -> list[Policy]:
    return [p for p in found if any(resolve_identity(node, env) == identity for node in p.identities)]


def authorize(config: KesConfig, found: list[Policy], identity: str, path: str, generation: Generation,
              env: dict[str, str] | None = None) -> Decision:
    """What KES answers `identity` for a request to `path` (`env`: KES's environment, for `${VAR}` identities)."""
    if identity == admin_identity(config, env):
        return Decision(True, "admin")
    bound = policies_of_identity(found, identity, env)
    if not bound:
        return Decision(False, "no-policy")
    return bound[0].evaluate(path, generation)


# ---------------------------------------------------------------------------------------------
# What MinIO needs


MINIO_REQUIRED = ("generate", "decrypt")
"""Key operations every SSE request (and MinIO's encrypted IAM/config) performs on its key."""
MINIO_KEY_OPERATIONS = ("create", "generate", "decrypt", "describe")
"""What the minimal policy grants on MinIO's keys: create (the default key, SSE-KMS bucket keys),
the two required operations, and describe (MinIO >= 2024-04-18 polls its default key)."""
MINIO_READ_ONLY = ("/v1/key/list/*", "/v1/status", "/v1/metrics", "/v1/api")


def minimal_minio_patterns(key_name: str, prefix: str | None = None) -> list[str]:
    """The allow list of the smallest useful MinIO policy (valid under glob and prefix matching)."""
    resource = f"{prefix}*" if prefix else key_name
    return [f"/v1/key/{op}/{resource}" for op in MINIO_KEY_OPERATIONS] + list(MINIO_READ_ONLY)


def minimal_minio_policy_yaml(key_name: str, prefix: str | None = None, policy_name: str = "minio",
                              identity: str | None = None) -> str:
    lines = ["policy:", f"  {policy_name}:", "    allow:"]
    lines += [f"      - {pattern}" for pattern in minimal_minio_patterns(key_name, prefix)]
    lines.append("    identities:")
    if identity:
        lines.append(f"      - {identity}")
    else:
        lines.append("      # - the identity of MinIO's certificate or API key (`kes identity of ...`)")
    return "\n".join(lines) + "\n"
