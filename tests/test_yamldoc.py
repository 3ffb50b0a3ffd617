"""The positioned YAML tree: tags as YAML 1.2 resolves them, positions, both parser paths."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kescheck.load import yamldoc
from kescheck.load.source import SourceFile
from kescheck.load.yamldoc import YMap, YScalar, YSeq, parse_yaml, walk

RUAMEL_TAGS = {"tag:yaml.org,2002:str": "str", "tag:yaml.org,2002:int": "int", "tag:yaml.org,2002:float": "float",
               "tag:yaml.org,2002:bool": "bool", "tag:yaml.org,2002:null": "null"}
plain_words = st.one_of(
    st.sampled_from(["~", "null", "Null", "NULL", "true", "True", "FALSE", "yes", "on", "off", "0", "-1", "+7", "0x1F",
                     "0o17", "1_000", "1.5", "-.5", ".inf", "-.Inf", ".nan", "1e3", "1.5e-3", "300", "5m", "1d",
                     "0.0.0.0:7373", "v1", "1.", "0b101", "12:30", "2024-01-01", "INFO+2", "+", "-", "."]),
    st.from_regex(r"\A[-+]?[0-9_.eExXoOb]{1,8}\Z"),
)


@settings(max_examples=300, deadline=None)
@given(plain_words)
def test_plain_scalar_tags_match_ruamel_yaml_1_2(word):
    text = f"key: {word}\n"
    try:
        node = YAML(typ="safe", pure=True).compose(text)
    except Exception:
        assume(False)
    assume(node.value[0][1].__class__.__name__ == "ScalarNode")
    expected = RUAMEL_TAGS.get(node.value[0][1].tag, "other")
    ours = parse_yaml(SourceFile(Path("t.yaml"), text)).root.get("key").tag
    assert ours == expected or expected == "other", (word, ours, expected)


def shape(node):
    if isinstance(node, YMap):
        return ("map", node.line, node.column, [(k.text, shape(v)) for k, v in node.entries])
    if isinstance(node, YSeq):
        return ("seq", node.line, node.column, [shape(i) for i in node.items])
    return ("scalar", node.line, node.column, node.end_line, node.end_column, node.text, node.tag, node.quoted)


def test_c_and_pure_python_parsers_build_the_same_tree(monkeypatch):
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "g2" / "kes-config.yaml"
    text = fixture.read_text() + 'extra: [1, "two", 3.0, ~, true, {a: b}]\nblock: |\n  line one\n  line two\n'
    fast = shape(parse_yaml(SourceFile(fixture, text)).root)
    monkeypatch.setattr(yamldoc, "_compose", YAML(typ="safe", pure=True).compose)
    slow = shape(parse_yaml(SourceFile(fixture, text)).root)
    assert fast == slow


def test_positions_and_paths(tmp_path):
    text = "policy:\n  minio:\n    allow:\n    - /v1/status\n    - '/v1/key/generate/*'\n"
    doc = parse_yaml(SourceFile(Path("k.yaml"), text))
    allow = doc.find("policy.minio.allow")
    second = allow.items[1]
    assert (second.path, second.line, second.column, second.end_column, second.quoted) == (
        "policy.minio.allow[1]", 5, 7, 27, True)
    keys = [n.text for n in walk(doc.root) if isinstance(n, YScalar) and n.is_key]
    assert keys == ["policy", "minio", "allow"]


@pytest.mark.parametrize("odd_break", ["\x85", "\u2028", "\u2029"])
def test_positions_follow_the_lines_a_user_sees_when_yaml_breaks_lines_elsewhere(odd_break):
    """YAML parsers break lines at NEL, LS and PS; editors do not, and neither do kescheck's line numbers."""
    text = f'a: "one{odd_break}two"\nb: 1 # note{odd_break}d: 2\nc: [1, 2]\n'
    doc = parse_yaml(SourceFile(Path("k.yaml"), text))
    assert doc.problems == [] and len(doc.source.lines) == 3
    c = doc.root.get("c")
    assert (c.line, c.column) == (3, 4)
    assert doc.root.key_node("c").line == 3
    d = doc.root.key_node("d")  # a key to YAML, in the middle of line 2 to an editor
    assert (d.line, d.column) == (2, len("b: 1 # note") + 2)


@pytest.mark.parametrize("odd_break", ["\x85", "\u2028"])
def test_syntax_error_after_a_yaml_only_line_break_is_on_a_real_line(odd_break):
    text = f"a: 1 # x{odd_break}# y{odd_break}# z{odd_break}\nb: [\n"
    doc = parse_yaml(SourceFile(Path("k.yaml"), text))
    assert doc.root is None and doc.problems
    assert 1 <= doc.problems[0].line <= len(doc.source.lines) + 1


def test_values_are_the_non_null_value_scalars_and_find_answers_the_same_when_asked_again():
    text = ("tls:\n  key: /etc/kes/key.pem\n  cert: ~\n  ca:\nkeystore:\n  vault:\n    endpoint: https://vault:8200\n"
            "    prefix: [a, b]\npolicy:\n  minio:\n    allow: ['/v1/key/create/*']\n")
    doc = parse_yaml(SourceFile(Path("kes.yaml"), text))
    assert [n.path for n in doc.values()] == ["tls.key", "keystore.vault.endpoint", "keystore.vault.prefix[0]",
                                              "keystore.vault.prefix[1]", "policy.minio.allow[0]"]
    endpoint = doc.find("keystore.vault.endpoint")
    assert endpoint.text == "https://vault:8200" and doc.find("keystore.vault.endpoint") is endpoint
    assert doc.find("tls.key.more") is None and doc.find("tls.key.more") is None
    assert doc.find("keystore.vault.prefix").items[1].text == "b"
    doc.release()
    assert doc.root is None and doc.nodes() == [] and doc.values() == [] and doc.find("keystore.vault.endpoint") is None


ALIASES = """\
base: &base
  key: &key /etc/kes/kes.key
  list: &list [a, b]
merged:
  <<: *base
tls:
  key: *key
  cert: *key
copy: *base
items:
  - *list
"""


@pytest.mark.parametrize("pure", [False, True])
def test_an_alias_stands_where_it_is_written(monkeypatch, pure):
    """Findings about `tls.key: *key` point at the alias (line 7), not at the anchored value (line 2), so that a
    suppression above the alias applies; the nodes inside an aliased collection stay where the anchored ones are."""
    if pure:
        monkeypatch.setattr(yamldoc, "_compose", YAML(typ="safe", pure=True).compose)
    doc = parse_yaml(SourceFile(Path("kes.yaml"), ALIASES))
    values = {node.path: node for node in walk(doc.root) if not getattr(node, "is_key", False)}
    where = {path: (values[path].line, values[path].column) for path in
             ("base.key", "tls.key", "tls.cert", "copy", "copy.key", "items[0]", "items[0][1]", "base.list")}
    assert where == {"base.key": (2, 8), "tls.key": (7, 8), "tls.cert": (8, 9), "copy": (9, 7), "copy.key": (2, 8),
                     "items[0]": (11, 5), "items[0][1]": (3, 19), "base.list": (3, 9)}
    assert values["tls.key"].end_column == 12


def test_a_suppression_above_an_alias_applies_to_it(tmp_path):
    from kescheck.engine import lint

    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: &p relative/keys}}\n"
                                       "tls:\n  # kescheck: ignore[KES210] -- a test of aliases\n  key: *p\n  cert: *p\n")
    relative = [(f.location.line, f.suppressed_by is not None) for f in lint([tmp_path]).findings if f.code == "KES210"]
    assert sorted(relative) == [(5, True), (6, False)]


@pytest.mark.parametrize("text", ["keystore: {vault: {endpoint: https://vault.example.net:8200, namespace: ns}}\n",
                                  "a:\n  - [http://x:80, y]\n"])
def test_a_url_in_a_flow_collection_is_read_as_kes_reads_it(text):
    """libyaml refuses `x:x` in a flow collection; KES's YAML parser since 0.22 reads it as one value."""
    doc = parse_yaml(SourceFile(Path("kes.yaml"), text))
    assert doc.root is not None
    assert [problem.kind for problem in doc.problems] == ["flow-colon"]
    assert any(isinstance(node, YScalar) and node.text in ("https://vault.example.net:8200", "http://x:80")
               for node in walk(doc.root))


def test_other_flow_errors_stay_syntax_errors():
    doc = parse_yaml(SourceFile(Path("kes.yaml"), "a: {b: [c, d}\n"))
    assert doc.root is None and [problem.kind for problem in doc.problems] == ["syntax"]


def _entries(node) -> dict:
    return {key.text: value for key, value in node.entries}


def test_merge_keys_merge_as_kes_decodes_them():
    """KES's YAML decoder merges `<<`: the mapping's own keys win, then the earlier merged mapping's."""
    text = ("base: &base {allow: [/v1/status], identities: [a]}\nmore: &more {allow: [/v1/metrics], deny: [/v1/x]}\n"
            "policy:\n  site:\n    <<: [*base, *more]\n    identities: [b]\n  quoted:\n    '<<': 1\n")
    doc = parse_yaml(SourceFile(Path("kes.yaml"), text))
    assert doc.problems == []
    site = _entries(_entries(_entries(doc.root)["policy"])["site"])
    assert sorted(site) == ["allow", "deny", "identities"]
    assert [item.text for item in site["identities"].items] == ["b"]
    assert [item.text for item in site["allow"].items] == ["/v1/status"]
    assert site["allow"].path == "policy.site.allow" and site["allow"].line == 1  # where the merged entry is written
    assert list(_entries(_entries(_entries(doc.root)["policy"])["quoted"])) == ["<<"]


@pytest.mark.parametrize("value", ["1", "[a, b]", "[{a: 1}, x]"])
def test_a_merge_key_needs_mappings(value):
    doc = parse_yaml(SourceFile(Path("kes.yaml"), f"a:\n  <<: {value}\n  b: 1\n"))
    assert [problem.message for problem in doc.problems] == ["a merge key (<<) needs a mapping or a list of "
                                                             "mappings as its value"]


def test_a_second_merge_key_in_one_mapping_is_a_duplicate_key():
    doc = parse_yaml(SourceFile(Path("kes.yaml"), "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n"))
    assert [(problem.kind, problem.line) for problem in doc.problems] == [("duplicate-key", 5)]
