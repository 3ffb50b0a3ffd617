"""Hostile and random input: no exception escapes, statuses stay 0/1/2, positions stay valid.

The budgets here keep CI fast; `bench/fuzz_long.py` runs the same properties for as long as
you like.
"""
from __future__ import annotations

import os
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kescheck.engine import lint
from kescheck.findings import Severity
from kescheck.load.envfile import parse_env
from kescheck.load.kesconfig import load_kes_config
from kescheck.load.source import SourceFile, decode
from kescheck.load.yamldoc import parse_yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEEDS = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".env", ""))
CI_BUDGET = settings(max_examples=int(os.environ.get("KESCHECK_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])

KES_KEYS = ["version", "address", "admin", "identity", "tls", "key", "cert", "ca", "auth", "password", "policy",
            "allow", "deny", "identities", "cache", "expiry", "any", "unused", "offline", "api", "/v1/status",
            "skip_auth", "timeout", "log", "error", "audit", "keys", "name", "keystore", "fs", "path", "vault",
            "endpoint", "engine", "approle", "id", "secret", "kubernetes", "jwt", "proxy", "root", "aws",
            "secretsmanager", "region", "credentials", "azure", "keyvault", "managed_identity", "entrust"]
scalars = st.one_of(st.sampled_from(["on", "off", "v1", "v2", "5m", "1d", "-1s", "0.0.0.0:7373", "localhost",
                                     "${X}", "disabled", "/v1/key/*", "", "true", "INFO+2", "https://x:7373"]),
                    st.integers(-5, 10**6), st.booleans(), st.none(), st.text(max_size=20))
kes_trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KES_KEYS), children, max_size=6)), max_leaves=40)


def to_yaml(value, indent=0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "\n" + "".join(f"{pad}{k!s}: {to_yaml(v, indent + 1)}\n".replace("\n\n", "\n") for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return "[]"
        return "\n" + "".join(f"{pad}- {to_yaml(v, indent + 1).lstrip()}\n".replace("\n\n", "\n") for v in value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if value else '""'
    return str(value)


def assert_sane(result, files: list[Path]) -> None:
    assert result.exit_status(Severity.NOTE) in (0, 1, 2)
    line_counts = {f.source.path: len(f.source.lines) for f in result.files}
    for finding in result.findings:
        loc = finding.location
        assert loc.line >= 1 and loc.column >= 1, finding
        assert loc.line <= line_counts.get(loc.path, loc.line) + 1, finding
        assert finding.code and finding.message
        if loc.end_line is not None:
            assert loc.end_line >= loc.line


@CI_BUDGET
@given(st.binary(max_size=2048))
def test_loaders_survive_random_bytes(data):
    source = decode(Path("fuzz"), data)
    doc = parse_yaml(source)
    load_kes_config(source, None, doc)
    parse_env(source)


@CI_BUDGET
@given(kes_trees)
def test_lint_survives_kes_shaped_trees(tmp_path_factory, tree):
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "kes-config.yaml"
    path.write_text(to_yaml(tree if isinstance(tree, dict) else {"keystore": tree}).lstrip("\n"), encoding="utf-8")
    assert_sane(lint([path]), [path])


@CI_BUDGET
@given(st.sampled_from(SEEDS) if SEEDS else st.nothing(), st.data())
def test_lint_survives_mutated_fixtures(tmp_path_factory, seed, data):
    text = seed.read_bytes()
    position = data.draw(st.integers(0, max(0, len(text) - 1)))
    insert = data.draw(st.binary(max_size=8) | st.sampled_from([b"\t", b"\n", b": ", b"- ", b"${", b"{", b"&a", b"*a", b"=", b"#"]))
    cut = data.draw(st.integers(0, 8))
    mutated = text[:position] + insert + text[position + cut:]
    directory = tmp_path_factory.mktemp("mut")
    path = directory / seed.name
    path.write_bytes(mutated)
    result = lint([path])
    assert_sane(result, [path])


@CI_BUDGET
@given(st.lists(st.text(alphabet=string.printable + "\x00\u00e9\u2028", max_size=60), max_size=30))
def test_env_loader_survives_garbage_lines(lines):
    env = parse_env(SourceFile(Path("fuzz.env"), "\n".join(lines)))
    for entry in env.entries:
        assert entry.line >= 1 and entry.name_column >= 1 and entry.value_column >= 1
