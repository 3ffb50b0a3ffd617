"""The evaluator agrees with independent reference semantics of both KES matchers.

The oracles here are written from the specification, not from kescheck.policy: Go's
`path.Match` grammar as one possessive regular expression (validity) plus a translation of
the glob to a Python regex (matching); the prefix matcher straight from its definition.
"""
from __future__ import annotations

import re

from hypothesis import assume, example, given, settings, strategies as st

from kescheck.load.kesconfig import Generation
from kescheck.policy import (ROUTES, BadPattern, Decision, Effect, Policy, PolicyPattern, can_match, covers,
                             glob_match, glob_tokens, pattern_matches, prefix_match, tokens_for, witness)
from kescheck.load.yamldoc import YScalar

# ---- oracle: Go path.Match --------------------------------------------------------------------

_ENDPOINT = r"(?:\\.|[^\\\-\]])"
_RANGE = _ENDPOINT + r"(?:-" + _ENDPOINT + r")?"
_CLASS = r"\[\^?+(?:" + _RANGE + r")+\]"
_ATOM = r"(?:\*|\?|\\.|" + _CLASS + r"|[^\\\[*?])"
_VALID_GLOB = re.compile(r"(?:" + _ATOM + r")*+", re.DOTALL)


def oracle_valid(pattern: str) -> bool:
    return _VALID_GLOB.fullmatch(pattern) is not None


def _oracle_class(body: str) -> str:
    negated = body.startswith("^")
    if negated:
        body = body[1:]
    chars = re.findall(r"\\.|.", body, re.DOTALL)
    ends = [c[-1] for c in chars]
    ranges, i = [], 0
    while i < len(ends):
        if i + 2 < len(ends) and chars[i + 1] == "-":
            ranges.append((ends[i], ends[i + 2]))
            i += 3
        else:
            ranges.append((ends[i], ends[i]))
            i += 1
    usable = "".join(f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in ranges if lo <= hi)
    if negated:
        return f"[^{usable}]" if usable else r"[\s\S]"
    return f"[{usable}]" if usable else "(?!)"


def oracle_glob(pattern: str, name: str) -> bool:
    if not oracle_valid(pattern):
        return False
    parts = []
    for match in re.finditer(_CLASS + r"|\\.|.", pattern, re.DOTALL):
        token = match.group(0)
        if token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        elif token.startswith("\\"):
            parts.append(re.escape(token[1]))
        elif token.startswith("[") and len(token) > 1:
            parts.append(_oracle_class(token[1:-1]))
        else:
            parts.append(re.escape(token))
    return re.fullmatch("".join(parts), name, re.DOTALL) is not None


def oracle_prefix(pattern: str, path: str) -> bool:
    """Definition: a final `*` makes the rest of the pattern a prefix; otherwise the strings are equal."""
    if pattern[-1:] == "*":
        head = pattern[:-1]
        return len(path) >= len(head) and all(path[i] == head[i] for i in range(len(head)))
    return pattern == path


# ---- strategies -------------------------------------------------------------------------------

GLOB_ALPHABET = list("/*?[]^-\\ab") + ["a", "b", "/", "*", "z", "é"]
NAME_ALPHABET = list("/ab-z*?[]^\\é")
SEGMENTS = ["v1", "key", "generate", "decrypt", "*", "minio-*", "?", "[a-m]*", "[^x]", "min?o-*", "\\*", "k[", "*-*"]

raw_patterns = st.text(alphabet=GLOB_ALPHABET, max_size=10)
raw_names = st.text(alphabet=NAME_ALPHABET, max_size=10)
structured_patterns = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5).map(lambda s: "/" + "/".join(s))
resources = st.text(alphabet="abkmino-_xy0", min_size=1, max_size=8)


@st.composite
def api_paths(draw):
    route = draw(st.sampled_from(ROUTES))
    return route.path_for(*[draw(resources) for _ in route.resources])


# ---- glob ---------------------------------------------------------------------------------------

@settings(max_examples=600, deadline=None)
@given(raw_patterns, raw_names)
@example("[^a]", "/")  # a class may match `/` in Go
@example("[]a]", "]")  # `]` cannot open a class: malformed
@example("[^]", "^")
@example("a\\", "a")
@example("[z-a]", "m")
@example("*", "a/b")
def test_glob_agrees_with_oracle_on_arbitrary_text(pattern, name):
    assert glob_match(pattern, name) == oracle_glob(pattern, name)


@settings(max_examples=400, deadline=None)
@given(structured_patterns, api_paths())
def test_glob_agrees_with_oracle_on_api_paths(pattern, path):
    assert glob_match(pattern, path) == oracle_glob(pattern, path)


@settings(max_examples=300, deadline=None)
@given(raw_patterns)
def test_malformed_exactly_when_go_grammar_rejects(pattern):
    try:
        glob_tokens(pattern)
        parsed = True
    except BadPattern:
        parsed = False
    assert parsed == oracle_valid(pattern)
    if not parsed:
        assert not glob_match(pattern, pattern)


def test_known_glob_facts():
    assert not glob_match("/v1/key/*", "/v1/key/create/k1")  # reference §4
    assert glob_match("/v1/key/*/*", "/v1/key/create/k1")
    assert glob_match("/v1/key/*/minio-*", "/v1/key/generate/minio-default")
    assert glob_match("/v1/key/generate/minio-[a-c]?", "/v1/key/generate/minio-bz")
    assert not glob_match("/v1/key/generate/minio-[^a-c]*", "/v1/key/generate/minio-b")
    assert glob_match("/v1/key/generate/\\*", "/v1/key/generate/*")
    assert not glob_match("/v1/key/generate/[", "/v1/key/generate/[")


# ---- prefix -------------------------------------------------------------------------------------

@settings(max_examples=600, deadline=None)
@given(st.one_of(raw_patterns, structured_patterns), st.one_of(raw_names, api_paths()))
def test_prefix_agrees_with_definition(pattern, path):
    assert prefix_match(pattern, path) == oracle_prefix(pattern, path)
    assert pattern_matches(pattern, path, Generation.G2) == oracle_prefix(pattern, path)
    assert pattern_matches(pattern, path, Generation.G1) == oracle_glob(pattern, path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/abk*-", max_size=8), st.text(alphabet="/abk-", max_size=8))
def test_prefix_pattern_is_a_prefix(head, tail):
    assert prefix_match(head + "*", head + tail)


def test_known_prefix_facts():
    assert prefix_match("/v1/key/*", "/v1/key/create/k1")
    assert not prefix_match("/v1/key/*/minio-*", "/v1/key/generate/minio-x")
    assert prefix_match("/v1/key/*/minio-*", "/v1/key/*/minio-x")  # the inner `*` is a literal character
    assert not prefix_match("/v1/key/list", "/v1/key/list/*")
    assert prefix_match("*", "/anything/at/all")


# ---- questions about patterns ------------------------------------------------------------------

def _route_regex(route) -> re.Pattern:
    return re.compile(re.escape(route.base) + "/".join("[^/]+" for _ in route.resources))


@settings(max_examples=300, deadline=None)
@given(st.one_of(structured_patterns, raw_patterns), st.sampled_from(ROUTES),
       st.sampled_from([Generation.G1, Generation.G2]), st.lists(resources, min_size=2, max_size=2))
def test_witness_is_sound_and_complete_on_samples(pattern, route, generation, names):
    tokens = tokens_for(pattern, generation)
    found = witness(tokens, route) if tokens is not None else None
    if found is not None:
        assert _route_regex(route).fullmatch(found), found
        assert pattern_matches(pattern, found, generation)
    sample = route.path_for(*names[:len(route.resources)])
    if pattern_matches(pattern, sample, generation):
        assert found is not None


@settings(max_examples=400, deadline=None)
@given(structured_patterns, structured_patterns, st.sampled_from([Generation.G1, Generation.G2]), api_paths())
def test_covers_is_sound(wide, narrow, generation, path):
    if covers(wide, narrow, generation) and pattern_matches(narrow, path, generation):
        assert pattern_matches(wide, path, generation)


@settings(max_examples=200, deadline=None)
@given(resources)
def test_covers_recognises_prefix_narrowing(name):
    for generation in (Generation.G1, Generation.G2):
        assert covers("/v1/key/generate/*", f"/v1/key/generate/{name}*", generation)
        assert not covers(f"/v1/key/generate/{name}*", "/v1/key/generate/*", generation)


# ---- policy evaluation --------------------------------------------------------------------------

def _policy(allow: list[str], deny: list[str]) -> Policy:
    node = YScalar(1, 1, 1, 1, "p")
    make = lambda text, effect: PolicyPattern(text, effect, "p", node, "kes.yaml")  # noqa: E731
    return Policy("p", node, node, [make(t, Effect.ALLOW) for t in allow], [make(t, Effect.DENY) for t in deny])


@settings(max_examples=300, deadline=None)
@given(st.lists(structured_patterns, max_size=3), st.lists(structured_patterns, max_size=3), api_paths(),
       st.sampled_from([Generation.G1, Generation.G2]))
def test_deny_wins_and_an_allow_is_needed(allow, deny, path, generation):
    oracle = oracle_glob if generation.glob_policies else oracle_prefix
    expected = not any(oracle(p, path) for p in deny) and any(oracle(p, path) for p in allow)
    decision = _policy(allow, deny).evaluate(path, generation)
    assert decision.allowed == expected
    if decision.pattern is not None:
        assert decision.pattern.effect is (Effect.ALLOW if expected else Effect.DENY)
    assume(allow or deny)
