"""The block-YAML scanner against ruamel: the same tree and problems whenever it accepts a text.

`scan_block_yaml` is only a shortcut; `parse_yaml_with_ruamel` is the reference. A text the scanner
declines (None) costs speed, never correctness, so these tests hold the scanner to exact equality
whenever it answers, and check that it does answer for the configs kescheck mostly reads.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kescheck.load import yamldoc
from kescheck.load.source import SourceFile, decode
from kescheck.load.yamldoc import YMap, YScalar, YSeq, parse_yaml, parse_yaml_with_ruamel, scan_block_yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import generate  # noqa: E402  (bench/generate.py: the configs of the batch benchmark)


def everything(node) -> tuple:
    """Every attribute of every node, recursively: two trees are the same exactly when these are equal."""
    common = (type(node).__name__, node.line, node.column, node.end_line, node.end_column, node.path)
    if isinstance(node, YScalar):
        return common + (node.text, node.tag, node.quoted, node.is_key)
    if isinstance(node, YSeq):
        return common + (tuple(everything(item) for item in node.items),)
    if isinstance(node, YMap):
        return common + (tuple((everything(key), everything(value)) for key, value in node.entries),)
    raise AssertionError(f"unexpected node {node!r}")


def problems_of(problems) -> list[tuple]:
    return [(p.message, p.line, p.column, p.kind) for p in problems]


def scanned_matches_ruamel(text: str) -> bool:
    """True when the scanner accepted `text` (and then gave exactly ruamel's answer); False when it declined."""
    scanned = scan_block_yaml(text)
    if scanned is None:
        return False
    reference = parse_yaml_with_ruamel(SourceFile(Path("t.yaml"), text))
    assert reference.root is not None, f"ruamel refused what the scanner accepted: {reference.problems}\n{text}"
    root, problems = scanned
    assert everything(root) == everything(reference.root), text
    assert problems_of(problems) == problems_of(reference.problems), text
    return True


def yaml_files() -> list[Path]:
    found = [p for folder in ("fixtures", "tests") for p in (REPO / folder).rglob("*") if p.suffix in (".yaml", ".yml")]
    return sorted(p for p in found if p.is_file())


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_of_the_repository(path):
    source = decode(path, path.read_bytes())
    scanned_matches_ruamel(source.text)


def test_the_example_configs_take_the_fast_path():
    examples = sorted((REPO / "fixtures" / "examples").rglob("*.yaml"))
    assert examples
    kes_configs = [p for p in examples if "kes" in p.name]
    assert kes_configs
    for path in kes_configs:
        assert scanned_matches_ruamel(decode(path, path.read_bytes()).text), path


def test_the_batch_benchmark_configs(tmp_path):
    generate.generate(tmp_path, 1000)
    configs = sorted(tmp_path.glob("*/kes-config.yaml"))
    assert len(configs) == 1000
    for path in configs:
        assert scanned_matches_ruamel(path.read_text()), path


def test_parse_yaml_takes_the_scanner_and_falls_back(monkeypatch):
    calls = []
    monkeypatch.setattr(yamldoc, "parse_yaml_with_ruamel", lambda source: calls.append(source) or "ruamel")
    assert parse_yaml(SourceFile(Path("a.yaml"), "a: 1\n")).root.get("a").text == "1"
    assert calls == []
    assert parse_yaml(SourceFile(Path("b.yaml"), "a: [1]\n")) == "ruamel"
    assert len(calls) == 1


# What the scanner must decline: each text is outside its subset, though most are valid YAML.
DECLINED = {
    "merge key (ruamel's route merges)": "a: 1\n<<:\n  b: 1\n  b: 2\nc: 3\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab after a value": "a: 1\t\n",
    "flow sequence": "a: [1, 2]\n",
    "flow mapping": "a: {b: 1}\n",
    "flow at the root": "[1, 2]\n",
    "anchor": "a: &x 1\nb: 2\n",
    "alias": "a: 1\nb: *a\n",
    "anchored key": "&k a: 1\n",
    "tag": "a: !!str 1\n",
    "local tag": "a: !env X\n",
    "literal block scalar": "a: |\n  text\n",
    "folded block scalar": "a: >-\n  text\n",
    "plain continuation line": "a: one\n  two\nb: 3\n",
    "plain continuation in a sequence": "- one\n  two\n",
    "single-quoted over two lines": "a: 'one\n  two'\n",
    "double-quoted over two lines": 'a: "one\n  two"\n',
    "double-quoted escape": 'a: "x\\ty"\n',
    "complex key": "? a\n: 1\n",
    "directive": "%YAML 1.2\n---\na: 1\n",
    "document start": "---\na: 1\n",
    "document end": "a: 1\n...\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "NEL": "a: 1\x85b: 2\n",
    "line separator": "a: x\u2028y\n",
    "paragraph separator": "a: x\u2029y\n",
    "CR line ends": "a: 1\rb: 2\r",
    "CRLF line ends": "a: 1\r\nb: 2\r\n",
    "byte order mark": "\ufeffa: 1\n",
    "control character": "a: x\x07y\n",
    "scalar at the root": "just text\n",
    "scalar value on its own line": "a:\n  text\n",
    "nested sequence on one line": "- - a\n",
    "mapping value in a value": "a: b: c\n",
    "value ending in a colon": "a: b:\n",
    "value starting with a colon": "a: :b\n",
    "value starting with a question mark": "a: ?b\n",
    "reserved indicator @": "a: @b\n",
    "reserved indicator backtick": "a: `b`\n",
    "dash with nothing after at the value": "a: -\n",
    "comment without a space before it": "a: 'x'#c\n",
    "text after a quoted scalar": "a: 'x' y\n",
    "deeper line after a value": "a: 1\n  b: 2\n",
    "shallower key than its siblings": "a:\n    b: 1\n  c: 2\n",
    "sequence after a mapping entry": "a: 1\n- b\n",
    "key after a sequence": "- a\nb: 1\n",
    "key beside a nested sequence": "a:\n  - x\n  b: 1\n",
    "line after the root": "  a: 1\nb: 2\n",
    "duplicate colon key": "a: 1\n: 2\n",
    "very long key": "k" * 1100 + ": 1\n",
    "only comments and blank lines": "# a\n\n  # b\n",
    "empty text": "",
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_declines_what_it_does_not_read_exactly(text):
    assert scan_block_yaml(text) is None


def test_unscannable_characters_are_those_libyaml_does_not_print_plus_tab_and_breaks():
    """The scanner's character class, checked over every code point against libyaml's printable set
    (line feed, `#x20-#x7E`, `#xA0-#xD7FF` without the line and paragraph separators, `#xE000-#xFFFD` without
    the BOM, `#x10000-#x10FFFF`)."""
    def scannable(point: int) -> bool:
        return (point == 0x0A or 0x20 <= point <= 0x7E or 0xA0 <= point <= 0xD7FF and point not in (0x2028, 0x2029)
                or 0xE000 <= point <= 0xFFFD and point != 0xFEFF or 0x10000 <= point <= 0x10FFFF)

    every_character = "".join(map(chr, range(0x110000)))
    unscannable = {ord(found) for found in yamldoc._UNSCANNABLE_CHAR.findall(every_character)}
    assert unscannable == {point for point in range(0x110000) if not scannable(point)}


def test_declines_trees_at_the_limits(monkeypatch):
    monkeypatch.setattr(yamldoc, "MAX_DEPTH", 3)
    assert scan_block_yaml("a:\n b:\n  c:\n   d: 1\n") is None
    assert scanned_matches_ruamel("a:\n b: 1\n")
    monkeypatch.setattr(yamldoc, "MAX_NODES", 10)
    assert scan_block_yaml("".join(f"k{i}: {i}\n" for i in range(5))) is None
    assert scanned_matches_ruamel("".join(f"k{i}: {i}\n" for i in range(2)))


ACCEPTED = {
    "no final line break": "a: 1",
    "trailing spaces and comments": "a: 1   \nb: x y  # c\n\n# end\n   ",
    "empty values": "a:\nb:\n  c:\nd:\n- \n-\n",
    "indentless sequence": "a:\n- x\n-\n- y: 1\n  z:\nb: 2\n",
    "entry on the next line": "-\n  a: 1\n- # note\n  - b\n",
    "nested collections end before comments": "a:\n  b:\n    - 1\n    # inner\n# outer\n\nc: 2\n",
    "duplicate keys": "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n'a': 4\n",
    "a quoted << is an ordinary key": "a: 1\n'<<': 4\n",
    "quoted scalars": "'k''s': 'it''s'\n\"d\": \"x # y: z\"\n'': ''\n",
    "colons and hashes": "address: 0.0.0.0:7373\nurl: https://h:8200/p#f\nk:x: y\na : b\n",
    "unicode": "name: caf\u00e9 \u4e2d\n\U0001F600: \u00a0x\n",
    "tags": "i: -1\nf: 1.5\nb: true\nn: ~\ns: 'true'\no: 0o17\nh: 0x1F\nx: .inf\nnull: Null\n",
    "root sequence indented": "  - a\n  - b: 1\n    c: 2\n",
    "root mapping indented": "   a: 1\n   b:\n    - x\n",
    "dash words": "- -1\n- -x\n- a-b\n- -: z\n",
    "deep collections closed by a short last line": "a:\n    b:\n        c: 1\n      # end",
    "a trailing space line closes only what is deeper": "- a:\n    - b\n  ",
    "nested sequences on their own lines": "-\n - a\n -\n   - b\n",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepts_and_matches(text):
    assert scanned_matches_ruamel(text)


# Random block documents: structure the scanner reads, with words and layout that probe its edges.
COMMON_WORDS = ["a", "b", "key", "name", "~", "null", "Null", "true", "False", "yes", "off", "0", "-1", "+7", "0x1F",
                "0o17", "1_000", "1.5", ".5", "-.inf", ".NaN", "1e3", "5m0s", "v1", "0.0.0.0:7373", "https://h:8200",
                "a:b", "a::", "a #b", "a#b", "-a", "a - b", "a  b", "a ", "it's", 'say "hi"', "a\\b", "caf\u00e9", "",
                "x]", "x,y", "a{b}", "--", "a: b"]
ODD_WORDS = ["<<", ":a", "#a", "-", "---", "...", "- a", "x:", "?x", "? x", "@x", "%x", "&x", "*x", "!x", "|", ">",
             "[x]", "{x", " ", " a", "\t", "x\ty", "\u2028", "\ufeff"]


@st.composite
def word(draw) -> str:
    pick = draw(st.integers(0, 24))
    if pick == 0:
        return draw(st.sampled_from(ODD_WORDS))
    if pick == 1:
        return draw(st.text(alphabet="ab01-:#' \".~", min_size=1, max_size=6))
    return draw(st.sampled_from(COMMON_WORDS))


@st.composite
def scalar(draw) -> str:
    text = draw(word())
    style = draw(st.sampled_from(["plain", "plain", "plain", "single", "double"]))
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text + '"'
    return text


@st.composite
def key(draw) -> str:
    return draw(st.one_of(scalar(), st.sampled_from(["a", "a", "b", "'<<'", "'a'", '"b"'])))


def comment(draw, tight: bool = True) -> str:
    """A trailing comment; `tight` ones (no space before the `#`) belong to a plain scalar before them."""
    return draw(st.sampled_from([""] * 12 + [" # note", "  #", " #: - x", "   "] + ["#tight"] * tight))


def spaces(draw, least: int, most: int) -> str:
    return " " * draw(st.sampled_from([least] * 4 + list(range(least, most + 1))))


@st.composite
def block(draw, column: int, depth: int, kind: str | None = None) -> list[str]:
    """Lines of a block mapping or sequence whose entries stand at `column`."""
    kind = kind or draw(st.sampled_from(["map", "seq"]))
    nesting = ["scalar", "scalar", "empty", "nested", "nested", "indentless"] if depth < 3 else ["scalar", "empty"]
    pad = " " * column
    lines: list[str] = []
    for entry in range(draw(st.integers(1, 4))):
        if entry and draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "#", "# x", " " * draw(st.integers(0, 8)) + "# c"])))
        if kind == "map":
            head = f"{pad}{draw(key())}{draw(st.sampled_from([':'] * 5 + [' :']))}"
            shape = draw(st.sampled_from(nesting))
            if shape == "scalar":
                lines.append(f"{head}{spaces(draw, 1, 3)}{draw(scalar())}{comment(draw)}")
                continue
            lines.append(head + comment(draw, tight=False))
            if shape == "nested":
                lines.extend(draw(block(column + draw(st.integers(1, 4)), depth + 1)))
            elif shape == "indentless":
                lines.extend(draw(block(column, depth + 1, "seq")))
            continue
        dash = f"{pad}-{spaces(draw, 1, 3)}"
        shape = draw(st.sampled_from(nesting))
        if shape == "scalar":
            lines.append(f"{dash}{draw(scalar())}{comment(draw)}")
        elif shape == "empty":
            lines.append(dash.rstrip() + comment(draw, tight=False))
        elif shape == "nested":
            lines.append(dash.rstrip() + comment(draw, tight=False))
            lines.extend(draw(block(column + draw(st.integers(1, 4)), depth + 1)))
        else:  # `- key: ...`, a mapping whose first key follows the dash
            inner = draw(block(len(dash), depth + 1, "map"))
            lines.append(dash + inner[0][len(dash):])
            lines.extend(inner[1:])
    return lines


@st.composite
def document(draw) -> str:
    lines = draw(block(draw(st.sampled_from([0, 0, 0, 1, 2])), 0))
    if draw(st.integers(0, 4)) == 0:  # jolt one line's indentation
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = " " * draw(st.integers(0, 3)) + lines[at][draw(st.integers(0, 1)):]
    if draw(st.integers(0, 6)) == 0:
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["  more words", "- x", "x: y", "  # c", "---", "\tx: 1", "a: [1]"])))
    ending = draw(st.sampled_from(["\n", "\n", "", "\n\n", "\n# end", "\n  ", "\n" + " " * 9, "\n     # end"]))
    return "\n".join(lines) + ending


@settings(max_examples=max(1500, int(os.environ.get("KESCHECK_FUZZ_EXAMPLES", "0"))), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document())
def test_random_block_documents_match_ruamel(text):
    """bench/fuzz_long.py raises the budget with KESCHECK_FUZZ_EXAMPLES, as for tests/test_fuzz.py."""
    scanned_matches_ruamel(text)


def test_random_documents_are_mostly_accepted():
    """Guards the test above from going vacuous: most generated documents must reach the comparison."""
    accepted = []

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(document())
    def probe(text):
        accepted.append(scanned_matches_ruamel(text))

    probe()
    assert sum(accepted) > len(accepted) / 4, f"{sum(accepted)} of {len(accepted)} accepted"
