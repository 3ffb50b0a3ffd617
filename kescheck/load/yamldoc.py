"""YAML to a small tree of nodes that know their position and their path in the document.

ruamel.yaml composes the nodes (with its C parser when installed); this module turns them
into `YMap`/`YSeq`/`YScalar` with 1-based positions, and records what KES's own YAML
decoder refuses (duplicate keys, several documents) as problems instead of raising.

Most KES configs use only a plain subset of block YAML; `scan_block_yaml` builds the same tree
for that subset without ruamel, and declines anything else, which then goes through ruamel.
"""
from __future__ import annotations

import bisect
import collections
import contextlib
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Iterator

from .source import LINE_BREAK, SourceFile

MAX_NODES = 100_000
"""Bound on nodes after alias expansion: a 'billion laughs' document stops here."""
MAX_DEPTH = 64
"""KES configs nest six levels deep; anything near this limit is hostile or broken."""
MAX_FLOW_DEPTH = 200


@dataclass(eq=False, slots=True)
class YNode:
    line: int
    column: int
    end_line: int
    end_column: int
    path: str

    def location_parts(self) -> tuple[int, int, int, int]:
        return self.line, self.column, self.end_line, self.end_column


@dataclass(eq=False, slots=True)
class YScalar(YNode):
    text: str = ""
    tag: str = "str"
    """`str`, `int`, `float`, `bool`, `null` or the explicit tag given in the file."""
    quoted: bool = False
    is_key: bool = False

    @property
    def is_null(self) -> bool:
        return self.tag == "null"


@dataclass(eq=False, slots=True)
class YSeq(YNode):
    items: list[YNode] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class YMap(YNode):
    entries: list[tuple[YScalar, YNode]] = field(default_factory=list)

    def get(self, key: str) -> YNode | None:
        found = None
        for name, value in self.entries:
            if name.text == key:
                found = value  # the last one wins, as in a decoder that allows duplicates
        return found

    def key_node(self, key: str) -> YScalar | None:
        for name, _ in self.entries:
            if name.text == key:
                return name
        return None

    def keys(self) -> list[str]:
        return [name.text for name, _ in self.entries]


@dataclass
class YamlProblem:
    message: str
    line: int
    column: int
    kind: str = "syntax"
    """`syntax`, `duplicate-key`, `documents`, `limit` or `empty`."""


@dataclass
class YamlDocument:
    source: SourceFile
    root: YNode | None
    problems: list[YamlProblem] = field(default_factory=list)
    _nodes: list[YNode] | None = field(default=None, repr=False, compare=False)
    _values: list[YScalar] | None = field(default=None, repr=False, compare=False)
    _found: dict[str, YNode | None] = field(default_factory=dict, repr=False, compare=False)

    def nodes(self) -> list[YNode]:
        """`walk(root)` as a list, built once: several loaders and rules scan every node."""
        if self._nodes is None:
            self._nodes = list(walk(self.root))
        return self._nodes

    def values(self) -> list[YScalar]:
        """The scalars that are values, not keys and not null, in document order, built once: most rules that
        scan the whole document look at these only."""
        if self._values is None:
            self._values = [n for n in self.nodes() if isinstance(n, YScalar) and not n.is_key and not n.is_null]
        return self._values

    def find(self, dotted: str) -> YNode | None:
        """The node at `a.b.c` through mappings only; None when any step is missing. Remembered per path: every
        deployment's rules ask for the same few dozen paths, many of them several times."""
        try:
            return self._found[dotted]
        except KeyError:
            pass
        node = self.root
        for part in dotted.split("."):
            if not isinstance(node, YMap):
                node = None
                break
            node = node.get(part)
        self._found[dotted] = node
        return node

    def release(self) -> None:
        """Drop the tree and everything derived from it."""
        self.root = None
        self._nodes = self._values = None
        self._found = {}


_SHORT_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
    "tag:yaml.org,2002:binary": "binary",
}
_PLAIN = "tag:kescheck:plain"
"""Stand-in tag for plain scalars: resolved by `_plain_tag` only when the tree is built."""

# YAML 1.2 plain-scalar resolution, as ruamel.yaml applies it (tests/test_yamldoc.py compares the two).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT = re.compile(r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
                    r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_INT = re.compile(r"^(?:[-+]?0b[01_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")


def _plain_tag(text: str) -> str:
    first = text[:1]
    if first in "tTfF" and first and _BOOL.match(text):
        return "bool"
    if first and first in "-+0123456789.":
        if _FLOAT.match(text):
            return "float"
        if first != "." and _INT.match(text):
            return "int"
    if _NULL.match(text):
        return "null"
    return "str"


_compose = None
_SHARED_TAGS: dict[int, str] = {}
"""The composer's pre-built scalar tags by identity (`Node.ctag`): `Node.tag` formats its Tag as text on every read."""


def _composer():
    """A function text -> root node; ruamel's C parser with tag resolution deferred, when installed.

    ruamel resolves every scalar's tag in Python while composing; kescheck resolves the few it
    needs itself, which makes composing several times faster than ruamel's own loader.
    """
    global _compose
    if _compose is not None:
        return _compose
    try:
        from ruamel.yaml.clib._ruamel_yaml import CParser
        from ruamel.yaml.nodes import MappingNode, ScalarNode
        from ruamel.yaml.tag import Tag

        def shared_tag(name: str) -> Tag:
            tag = Tag(suffix=name)
            str(tag)  # decode once here: a fresh Tag per node would decode its URI again for every scalar
            return tag

        plain, text, mapping, sequence = (shared_tag(name) for name in (
            _PLAIN, "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"))
        _SHARED_TAGS.update({id(plain): _PLAIN, id(text): "tag:yaml.org,2002:str"})

        class DeferredResolution(CParser):
            def resolve(self, kind, value, implicit):
                if kind is ScalarNode:
                    return plain if implicit[0] else text
                return mapping if kind is MappingNode else sequence

            def descend_resolver(self, current_node, current_index):
                pass

            def ascend_resolver(self):
                pass

        def compose(text: str):
            parser = DeferredResolution(text)
            try:
                return parser.get_single_node()
            finally:
                parser.dispose()

    except ImportError:  # no C extension: ruamel's pure-Python loader gives the same nodes, slower
        from ruamel.yaml import YAML

        compose = YAML(typ="safe", pure=True).compose
    _compose = compose
    return compose


@contextlib.contextmanager
def without_anchor_warnings():
    """ruamel warns on stderr about an anchor defined twice, which YAML allows (an alias takes the latest
    definition): kescheck prints nothing but its report."""
    from ruamel.yaml.error import ReusedAnchorWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReusedAnchorWarning)
        yield


def _flow_depth(text: str) -> int:
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0  # cannot nest deeper than the limit
    depth = deepest = 0
    for char in re.sub(r"#[^\n]*|\"[^\"\n]*\"|'[^'\n]*'", "", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


class _Budget(Exception):
    def __init__(self, message: str, line: int, column: int):
        self.message, self.line, self.column = message, line, column


_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


class _Positions:
    """1-based (line, column) of a ruamel mark in kescheck's numbering of the file's lines.

    ruamel, like libyaml and Go's yaml.v3, also breaks lines at NEL, LS and PS; editors, CI annotations and
    `SourceFile.lines` break only at LF, CR and CRLF. In a text holding one of those three, a mark's line
    is recomputed from its character index, so findings point at the line a user sees."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in LINE_BREAK.finditer(text)] if _YAML_ONLY_BREAKS.search(text) else None

    def __call__(self, mark) -> tuple[int, int]:
        if self.starts is None:
            return mark.line + 1, mark.column + 1
        number = bisect.bisect_right(self.starts, mark.index) - 1
        return number + 1, mark.index - self.starts[number] + 1


def _anchor_events(text: str):
    """The events of `text` that define an anchor or are an alias, in document order: composing shares the anchored
    node and forgets where its aliases stand (and the C composer does not always keep the anchor's name)."""
    from ruamel.yaml.events import NodeEvent, StreamEndEvent

    try:
        from ruamel.yaml.clib._ruamel_yaml import CParser
    except ImportError:
        from ruamel.yaml import YAML

        yield from (e for e in YAML(typ="safe", pure=True).parse(text) if isinstance(e, NodeEvent) and e.anchor)
        return
    parser = CParser(text)
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, StreamEndEvent):
                return
            if isinstance(event, NodeEvent) and event.anchor:  # an alias event is a node event too
                yield event
    finally:
        parser.dispose()


class _Converter:
    def __init__(self, positions: _Positions, text: str) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.mapping_node, self.scalar_node, self.sequence_node = MappingNode, ScalarNode, SequenceNode
        self.position = positions
        self.remap = positions.starts is not None
        self.count = 0
        self.problems: list[YamlProblem] = []
        self.text = text
        self.seen: set[int] = set()
        self.expanding = 0
        self.aliases: dict[str, collections.deque] | None = None
        self.anchors: dict[int, str] = {}
        """The anchor defined at each text index, by the index where its node starts."""

    def convert(self, node, path: str, depth: int) -> YNode:
        """The tree of `node`; a node met again outside an alias's expansion is an alias, whose tree stands where the
        alias is written (its inner nodes where the anchored ones are): findings and suppressions follow the alias."""
        if self.expanding or id(node) not in self.seen:
            if not self.expanding:
                self.seen.add(id(node))
            return self._convert(node, path, depth)
        self.expanding += 1
        try:
            converted = self._convert(node, path, depth)
        finally:
            self.expanding -= 1
        position = self._alias_position(node)
        if position is not None:
            converted.line, converted.column, converted.end_line, converted.end_column = position
        return converted

    def _alias_position(self, node) -> tuple[int, int, int, int] | None:
        """Where the next alias to `node`'s anchor stands (consumed), once the text's alias events are read."""
        from ruamel.yaml.events import AliasEvent

        if self.aliases is None:
            self.aliases = collections.defaultdict(collections.deque)
            for event in _anchor_events(self.text):
                if isinstance(event, AliasEvent):
                    where = (*self.position(event.start_mark), *self.position(event.end_mark))
                    self.aliases[event.anchor].append(where)
                else:
                    self.anchors[event.start_mark.index] = event.anchor
        found = self.aliases.get(self.anchors.get(node.start_mark.index))
        return found.popleft() if found else None

    def _skip_aliases(self, node) -> None:
        """A value not converted (`<<: *base`, `<<: [*a, *b]`): its aliases are used up all the same."""
        for item in node.value if isinstance(node, self.sequence_node) else [node]:
            if id(item) in self.seen:
                self._alias_position(item)

    def _convert(self, node, path: str, depth: int) -> YNode:
        self.count += 1
        start, end = node.start_mark, node.end_mark
        if self.remap:
            (line, column), (end_line, end_column) = self.position(start), self.position(end)
        else:  # the common case, inline: this runs for every node of every file
            line, column, end_line, end_column = start.line + 1, start.column + 1, end.line + 1, end.column + 1
        if self.count > MAX_NODES:
            raise _Budget(f"more than {MAX_NODES} YAML nodes (alias expansion bomb?)", line, column)
        if depth > MAX_DEPTH:
            raise _Budget(f"nesting deeper than {MAX_DEPTH} levels", line, column)
        if isinstance(node, self.scalar_node):
            text = str(node.value)
            if len(text) <= 80:
                text = sys.intern(text)
            full_tag = _SHARED_TAGS.get(id(getattr(node, "ctag", None))) or node.tag
            tag = _plain_tag(text) if full_tag == _PLAIN else _SHORT_TAGS.get(full_tag, full_tag)
            return YScalar(line, column, end_line, end_column, path, text, tag, node.style in ("'", '"'))
        if isinstance(node, self.sequence_node):
            seq = YSeq(line, column, end_line, end_column, path)
            seq.items = [self.convert(item, sys.intern(f"{path}[{i}]"), depth + 1) for i, item in enumerate(node.value)]
            return seq
        if isinstance(node, self.mapping_node):
            mapping = YMap(line, column, end_line, end_column, path)
            seen: dict[str, int] = {}
            merged: list[tuple[YScalar, YNode]] = []
            for key_node, value_node in node.value:
                if not isinstance(key_node, self.scalar_node):
                    self.problems.append(YamlProblem("a mapping key must be a plain value, not a list or mapping",
                                                     *self.position(key_node.start_mark)))
                    continue
                key = sys.intern(str(key_node.value))
                if key == "<<" and key_node.style not in ("'", '"'):
                    line_of_key = self.position(key_node.start_mark)
                    if "<<" in seen:  # KES's decoder refuses a second merge key as any key written twice
                        self.problems.append(YamlProblem(f'mapping key "<<" already defined at line {seen["<<"]}',
                                                         *line_of_key, kind="duplicate-key"))
                    seen.setdefault("<<", line_of_key[0])
                    merged.extend(self._merged(key_node, value_node, path, depth))
                    continue
                # Interned: a batch of configs repeats the same keys and paths thousands of times.
                child_path = sys.intern(f"{path}.{key}") if path else key
                key_scalar = self.convert(key_node, child_path, depth + 1)
                key_scalar.is_key = True
                if key in seen:
                    self.problems.append(YamlProblem(
                        f'mapping key "{key}" already defined at line {seen[key]}',
                        key_scalar.line, key_scalar.column, kind="duplicate-key"))
                else:
                    seen[key] = key_scalar.line
                mapping.entries.append((key_scalar, self.convert(value_node, child_path, depth + 1)))
            for key_scalar, value in merged:  # a key of the mapping itself wins, then the earlier merged mapping
                if key_scalar.text not in seen:
                    seen[key_scalar.text] = key_scalar.line
                    mapping.entries.append((key_scalar, value))
            return mapping
        raise _Budget("unsupported YAML node", line, column)

    def _merged(self, key_node, value_node, path: str, depth: int) -> list[tuple[YScalar, YNode]]:
        """The entries a merge key (`<<: *base`, `<<: [*a, *b]`) brings, as KES's YAML decoder merges them: those of the
        mappings it names, in order; their positions stay where the merged entries are written."""
        items = value_node.value if isinstance(value_node, self.sequence_node) else [value_node]
        if not all(isinstance(item, self.mapping_node) for item in items):
            self.problems.append(YamlProblem("a merge key (<<) needs a mapping or a list of mappings as its value",
                                             *self.position(key_node.start_mark)))
            if not self.expanding:
                self._skip_aliases(value_node)
            return []
        return [entry for item in items for entry in self.convert(item, path, depth).entries]


def _mark_of(err, source: SourceFile) -> tuple[int, int]:
    """Where a YAML error stands; where the content begins when the error does not say."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return source.first_line, source.first_column
    return _Positions(source.text)(mark)


def _describe(err) -> str:
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    text = problem or str(err).splitlines()[0]
    if context and problem and "scanning" not in context:
        text = f"{context}: {problem}"
    if "cannot start any token" in text:
        text += " (a tab character? YAML indentation must use spaces)"
    return text


# The block-YAML fast path. Every line of a text it accepts is blank, a comment, or one of
#   KEY:[ VALUE]    - [VALUE]    - KEY:[ VALUE]
# where KEY and VALUE are one-line plain or quoted scalars; anything else (flow collections,
# anchors, tags, block scalars, continuation lines, escapes, tabs, other line breaks, document
# markers, odd indentation, errors) is declined, and ruamel reads that text instead.
# Positions follow libyaml's marks, which ruamel's nodes carry: a scalar ends just after its last
# character (a plain one before its trailing spaces); a block collection ends where the next token
# left of its column starts, blank and comment lines skipped. At the end of the text that is where
# the text ends, unless the last line has no line break and reaches the collection's column: libyaml
# then breaks that line first, and the collection ends at the start of the line after it.

_PLAIN_WORD_REST = r"[^ :\n]*+(?::(?=[^ \n])[^ :\n]*+)*+"
"""A `:` belongs to a plain scalar unless a space or the end of the line follows it."""
_PLAIN_SCALAR = (r"(?:[^-?:,\[\]{}#&*!|>'\"%@` \n]|-(?=[^ \n]))" + _PLAIN_WORD_REST
                 + r"(?: +(?=[^ #\n])(?!:(?: |$))" + _PLAIN_WORD_REST + r")*+")
"""One-line plain scalar: no indicator first (a `-` only before a non-space), words joined by spaces,
stopped by `: `, a final `:`, or ` #`. `?x` and `:x` may start plain scalars too; they are declined."""
_SCALAR = rf"""(?>{_PLAIN_SCALAR}|'(?:[^'\n]|'')*+'|"[^"\\\n]*+")"""
"""Atomic: libyaml takes the longest scalar and never a shorter one that would fit the line better.
(The possessive quantifiers match what greedy ones would; they only spare the regex engine backtracking.)"""
_BLOCK_LINES = re.compile(
    r"^ *+(?:#.*)?$"
    r"|^(?!---|\.\.\.)(?P<indent> *+)(?P<dash>-(?: ++|$))?"
    rf"(?:(?P<key>{_SCALAR})(?P<before_colon> *+):(?= |$))?"
    rf"(?P<before_value> *+)(?P<value>{_SCALAR})?"
    r" *+(?:(?<= )#.*)?$"
    r"|(?P<other>.+)$", re.MULTILINE)
"""One match per line: blank or comment (no group set), a line of the subset, or `other`. Every run of spaces is
possessive: no later part of a line can start with a space, and greedy runs side by side made a long run of spaces
before a character outside the subset cost cubic time (seconds for 1,000 spaces) before `other` matched."""
_UNSCANNABLE_CHAR = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
"""Tabs, CR, NEL, LS, PS, the BOM and what libyaml refuses as unprintable: the scanner leaves them to ruamel.
(Written as the characters it matches, not as the complement of what libyaml prints: compiling that negated class
of wide ranges took ~7 ms of every run's start-up.)"""
_LONGEST_SIMPLE_KEY = 1000
"""libyaml gives up on an implicit key longer than 1024 characters."""
_NODES_PER_ROW = 4
"""At most a sequence, a mapping, a key and a value start on one line (`- key: value`)."""
_RESOLVED: dict[str, tuple[str, str, bool]] = {}
"""Raw scalar -> (text, tag, quoted): a batch of configs repeats the same keys and values thousands of times."""


class _Unscannable(Exception):
    pass


def _resolve(raw: str) -> tuple[str, str, bool]:
    first = raw[0]
    if first == "'":
        text, tag, quoted = raw[1:-1].replace("''", "'"), "str", True
    elif first == '"':
        text, tag, quoted = raw[1:-1], "str", True
    else:
        text, tag, quoted = raw, _plain_tag(raw), False
    if len(text) > 80:
        return text, tag, quoted
    resolved = sys.intern(text), tag, quoted
    if len(_RESOLVED) >= 20_000:
        _RESOLVED.clear()
    _RESOLVED[raw] = resolved
    return resolved


def scan_block_yaml(text: str) -> tuple[YNode, list[YamlProblem]] | None:
    """The root and problems `parse_yaml_with_ruamel` gives for `text`, or None when the text is outside
    the block subset this scanner reads exactly (ruamel must read it then)."""
    if _UNSCANNABLE_CHAR.search(text):
        return None
    rows = []
    number = 0
    for number, (indent, dash, key, before_colon, before_value, value, other) in enumerate(_BLOCK_LINES.findall(text), 1):
        if dash or key or value:
            indent = len(indent)
            column = indent + len(dash)
            if key:
                colon = column + len(key) + len(before_colon)
                if colon - column > _LONGEST_SIMPLE_KEY:
                    return None
                rows.append((number, indent, dash, key, column, colon, value, colon + 1 + len(before_value)))
            else:
                rows.append((number, indent, dash, key, column, column, value, column + len(before_value)))
        elif other:
            return None
    if not rows or len(rows) * _NODES_PER_ROW > MAX_NODES:
        return None  # ruamel's route reports the limit, with what it found before it
    scanner = _BlockScanner(rows, number, len(text) - 1 - text.rfind("\n"))
    try:
        root, after = scanner.node_below(0, "", 0)
    except _Unscannable:
        return None
    if after != len(rows):
        return None
    return root, scanner.problems


class _BlockScanner:
    """Recursive descent over the rows of `scan_block_yaml`, building nodes in `_Converter`'s order.

    A row is (line, indent, dash, key, key column, colon column, value, value column), 0-based columns;
    dash, key and value are "" when absent."""

    __slots__ = ("rows", "last_line", "last_width", "problems")

    def __init__(self, rows: list, last_line: int, last_width: int) -> None:
        self.rows = rows
        self.last_line, self.last_width = last_line, last_width
        self.problems: list[YamlProblem] = []

    def node_below(self, index: int, path: str, depth: int) -> tuple[YNode, int]:
        """The collection starting on row `index`, on a line of its own."""
        row = self.rows[index]
        if row[2]:
            return self.sequence(index, row[1], False, path, depth)
        if row[3]:
            return self.mapping(index, row[1], path, depth)
        raise _Unscannable  # a scalar on its own line may continue on the next ones

    def _end(self, index: int, column: int) -> tuple[int, int]:
        """Where the collection at `column` whose last row is `index - 1` ends."""
        if index == len(self.rows):
            if column > self.last_width or not self.last_width:
                return self.last_line, self.last_width + 1
            return self.last_line + 1, 1
        row = self.rows[index]
        return row[0], row[1] + 1

    def mapping(self, index: int, column: int, path: str, depth: int) -> tuple[YMap, int]:
        """The block mapping whose first key is on row `index` at `column` (after a `- ` or not)."""
        if depth >= MAX_DEPTH:
            raise _Unscannable  # its entries would pass the limit: ruamel's route reports it
        rows, problems = self.rows, self.problems
        known = _RESOLVED.get
        count = len(rows)
        number, _, _, raw_key, _, colon, raw_value, value_column = rows[index]
        start_line = number
        entries: list[tuple[YScalar, YNode]] = []
        seen: dict[str, int] = {}
        while True:
            text, tag, quoted = known(raw_key) or _resolve(raw_key)
            key = sys.intern(text)
            child_path = sys.intern(f"{path}.{key}") if path else key
            if key == "<<" and not quoted:
                raise _Unscannable  # a merge key: ruamel's route merges the mappings it names
            key_scalar = YScalar(number, column + 1, number, column + 1 + len(raw_key), child_path, key, tag, quoted, True)
            if key in seen:
                problems.append(YamlProblem(f'mapping key "{key}" already defined at line {seen[key]}',
                                            number, column + 1, kind="duplicate-key"))
            else:
                seen[key] = number
            index += 1
            if raw_value:
                text, tag, quoted = known(raw_value) or _resolve(raw_value)
                value = YScalar(number, value_column + 1, number, value_column + 1 + len(raw_value), child_path,
                                text, tag, quoted)
            elif index < count and rows[index][1] > column:
                value, index = self.node_below(index, child_path, depth + 1)
            elif index < count and rows[index][1] == column and rows[index][2]:
                value, index = self.sequence(index, column, True, child_path, depth + 1)
            else:  # an empty value sits just after its colon
                value = YScalar(number, colon + 2, number, colon + 2, child_path, "", "null", False)
            entries.append((key_scalar, value))
            if index == count:
                break
            number, indent, dash, raw_key, _, colon, raw_value, value_column = rows[index]
            if indent < column:
                break
            if indent > column or dash or not raw_key:
                raise _Unscannable
        end_line, end_column = self._end(index, column)
        return YMap(start_line, column + 1, end_line, end_column, path, entries), index

    def sequence(self, index: int, column: int, indentless: bool, path: str, depth: int) -> tuple[YSeq, int]:
        """The block sequence whose first `-` is on row `index`; `indentless` when it is a mapping value
        whose dashes stand at the key's column."""
        if depth >= MAX_DEPTH:
            raise _Unscannable
        rows = self.rows
        count = len(rows)
        number, _, _, raw_key, content, _, raw_value, value_column = rows[index]
        start_line = number
        items: list[YNode] = []
        while True:
            item_path = sys.intern(f"{path}[{len(items)}]")
            if raw_key:
                item, index = self.mapping(index, content, item_path, depth + 1)
            elif raw_value:
                text, tag, quoted = _RESOLVED.get(raw_value) or _resolve(raw_value)
                item = YScalar(number, value_column + 1, number, value_column + 1 + len(raw_value), item_path,
                               text, tag, quoted)
                index += 1
            elif index + 1 < count and rows[index + 1][1] > column:
                item, index = self.node_below(index + 1, item_path, depth + 1)
            else:  # an empty entry sits just after its dash
                item = YScalar(number, column + 2, number, column + 2, item_path, "", "null", False)
                index += 1
            items.append(item)
            if index == count:
                break
            number, indent, dash, raw_key, content, _, raw_value, value_column = rows[index]
            if indent < column:
                break
            if indent == column:
                if dash:
                    continue
                if indentless and raw_key:
                    break  # the next key of the mapping this sequence is a value in
            raise _Unscannable
        end_line, end_column = self._end(index, column)
        return YSeq(start_line, column + 1, end_line, end_column, path, items), index


def _unreadable(source: SourceFile, message: str, kind: str = "syntax") -> YamlDocument:
    """A document without a tree, whose one problem is about the whole file: it stands where the content begins."""
    return YamlDocument(source, None, [YamlProblem(message, source.first_line, source.first_column, kind=kind)])


def parse_yaml(source: SourceFile) -> YamlDocument:
    text = source.text
    if not text.strip() or all(not l.strip() or l.lstrip().startswith("#") for l in text.splitlines()):
        return _unreadable(source, "the file is empty", "empty")
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        return _unreadable(source, f"brackets nested deeper than {MAX_FLOW_DEPTH} levels", "limit")
    scanned = scan_block_yaml(text)
    if scanned is not None:
        root, problems = scanned
        return YamlDocument(source, root, problems)
    return parse_yaml_with_ruamel(source)


def parse_yaml_with_ruamel(source: SourceFile) -> YamlDocument:
    """The general route, for any YAML: `parse_yaml` takes it when `scan_block_yaml` declines a text."""
    text = source.text
    from ruamel.yaml.error import YAMLError

    flow_colon: list[YamlProblem] = []
    try:
        try:
            node = _composer()(text)
        except YAMLError as err:
            if getattr(err, "problem", None) != FLOW_COLON or (node := _composed_without_flow_colon_check(text)) is None:
                raise
            flow_colon.append(YamlProblem("a `:` followed by more text inside an unquoted value of a flow collection "
                                          "(`{endpoint: https://...}`)", *_mark_of(err, source), kind="flow-colon"))
    except YAMLError as err:
        line, column = _mark_of(err, source)
        kind = "documents" if "single document" in str(err) else "syntax"
        message = "the file holds more than one YAML document; KES reads exactly one" if kind == "documents" else _describe(err)
        return YamlDocument(source, None, [YamlProblem(message, line, column, kind=kind)])
    except RecursionError:
        return _unreadable(source, "the YAML nests too deeply to read", "limit")
    except (ValueError, TypeError) as err:  # ruamel raises these for a few malformed inputs
        return _unreadable(source, f"unreadable YAML: {err}")
    if node is None:
        return _unreadable(source, "the file is empty", "empty")
    converter = _Converter(_Positions(text), text)
    try:
        root = converter.convert(node, "", 0)
    except _Budget as limit:
        return YamlDocument(source, None, converter.problems + [YamlProblem(limit.message, limit.line, limit.column, kind="limit")])
    except RecursionError:
        return _unreadable(source, "the YAML nests too deeply to read", "limit")
    return YamlDocument(source, root, converter.problems + flow_colon)


FLOW_COLON = "found unexpected ':'"
"""libyaml's refusal of a `:` followed by more text inside a plain scalar of a flow collection (`{url: https://x}`).
KES's YAML parser since 0.22 (yaml.v3) reads such a scalar; the one before it (yaml.v2, KES <= 0.21) refuses it too.
The problem kept for it (kind `flow-colon`) is a refusal only for those releases."""


def _composed_without_flow_colon_check(text: str):
    """The root node as a parser without libyaml's flow-context `:` check (ruamel's own) composes it; None when that
    parser refuses the text too."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with without_anchor_warnings():
            return YAML(typ="safe", pure=True).compose(text)
    except (YAMLError, RecursionError, ValueError, TypeError):
        return None


def walk(node: YNode | None) -> Iterator[YNode]:
    """Every node below `node`, keys included, depth first in document order."""
    if node is None:
        return
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, YMap):
            for key, value in reversed(current.entries):
                stack.append(value)
                stack.append(key)
        elif isinstance(current, YSeq):
            stack.extend(reversed(current.items))
