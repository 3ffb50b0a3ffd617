"""Suppressions: `# kescheck:` comments in the linted files and `suppressions` entries in settings.

Comments are found in the raw source lines by a small scanner that knows where YAML (and
MinIO's env reader) really starts a comment: never inside a quoted value, never inside a
block scalar, and only after whitespace. The YAML parser itself throws comments away, and a
regular expression over the line would mistake `value: "a # kescheck: ..."` for a comment.

Forms (the reason follows ` -- ` and runs to the end of the line, `#` and quotes included):

    key: value  # kescheck: ignore[KES201] -- reason          the findings on this line
    # kescheck: ignore[KES201,ENV010] -- reason               the next line with content
    # kescheck: ignore-file[KES201] -- reason                 the whole file
    # kescheck: ignore[KES201] expires=2026-06-30 -- reason   stops working after that day

MinIO's env reader has no trailing comments (`KEY=v # x` sets `v # x`), so in env files the
own-line form above the variable is the one to use.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from .findings import Finding, Location
from .load.source import SourceFile, display_path
from .settings import path_matches

DIRECTIVE_MARK = re.compile(r"#\s*kescheck\s*:", re.IGNORECASE)
_DIRECTIVE = re.compile(
    r"#\s*kescheck\s*:\s*(?P<kind>[A-Za-z-]+)\s*(?:\[(?P<codes>[^\]]*)\])?(?P<options>(?:\s+[a-z-]+=\S*)*)"
    r"\s*(?:--(?P<reason>.*))?$", re.IGNORECASE)
_KINDS = {"ignore": "line", "ignore-file": "file"}
_BLOCK_START = re.compile(r"(?:^\s*|:\s+|(?:^|\s)[-?]\s+)(?:[!&]\S*\s+)*[|>][0-9+-]*$")

UNUSED = "KSC001"
EXPIRED = "KSC002"


@dataclass(frozen=True)
class Directive:
    """One `# kescheck:` comment, understood or not (`problem` says why not)."""

    path: Path
    line: int
    column: int
    end_column: int
    scope: str
    """`line` or `file`."""
    target_line: int | None
    codes: tuple[str, ...]
    reason: str
    expires: dt.date | None = None
    problem: str | None = None

    def location(self) -> Location:
        return Location(self.path, self.line, self.column, self.line, self.end_column)

    def covers(self, finding: Finding) -> bool:
        if finding.location.path != self.path:
            return False
        return self.scope == "file" or finding.location.line == self.target_line

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


# --- finding comments in raw lines -------------------------------------------------------

def _block_parent_indent(text: str) -> int:
    """Indentation a block scalar's content must exceed: its key's column, or its dash's."""
    lead = len(text) - len(text.lstrip(" "))
    rest = text.lstrip(" ")
    while rest.startswith("- ") and not _BLOCK_START.match(rest[1:]):
        stripped = rest[1:].lstrip(" ")
        lead += len(rest) - len(stripped)
        rest = stripped
    return lead


def _yaml_comment_columns(lines: list[str]) -> list[int | None]:
    """For each line, the 0-based index of the `#` that starts a YAML comment, or None."""
    found: list[int | None] = []
    quote = ""  # an open quoted scalar carried over from the line before
    block_indent: int | None = None  # inside a block scalar whose parent is indented this much
    for text in lines:
        if block_indent is not None:
            if not text.strip() or len(text) - len(text.lstrip(" ")) > block_indent:
                found.append(None)
                continue
            block_indent = None
        comment = None
        scalar_may_start = not quote  # a quote opens a scalar only where a scalar can begin
        flow = 0
        i = 0
        while i < len(text):
            char = text[i]
            if quote == '"':
                if char == "\\":
                    i += 1
                elif char == '"':
                    quote = ""
            elif quote == "'":
                if char == "'" and text[i + 1:i + 2] == "'":
                    i += 1
                elif char == "'":
                    quote = ""
            elif char in " \t":
                if i + 1 < len(text) and text[i + 1] == "#":
                    comment = i + 1
                    break
            elif char == "#" and i == 0:
                comment = 0
                break
            elif char in "\"'" and scalar_may_start:
                quote = char
            elif char == ":" and (i + 1 == len(text) or text[i + 1] in " \t" or flow):
                scalar_may_start = True
                i += 1
                continue
            elif char in "-?" and scalar_may_start and (i + 1 == len(text) or text[i + 1] in " \t"):
                pass
            elif char in "[{" and scalar_may_start:
                flow += 1
            elif char in ",]}" and flow:
                flow -= char != ","
                scalar_may_start = True
                i += 1
                continue
            elif char in "!&*" and scalar_may_start:
                # a tag or anchor: the scalar may still start after it
                while i + 1 < len(text) and text[i + 1] not in " \t":
                    i += 1
            else:
                scalar_may_start = False
            i += 1
        found.append(comment)
        content = (text[:comment] if comment is not None else text).rstrip()
        if not quote and _BLOCK_START.search(content):
            block_indent = _block_parent_indent(content)
    return found


def _env_comment_columns(lines: list[str]) -> list[int | None]:
    """Comment lines, and `#` after whitespace outside a quoted value (MinIO keeps those in the value)."""
    found: list[int | None] = []
    for text in lines:
        stripped = text.lstrip()
        if stripped.startswith("#"):
            found.append(len(text) - len(stripped))
            continue
        name, equals, value = text.partition("=")
        if not equals:
            found.append(None)
            continue
        start = len(name) + 1
        body = value.lstrip()
        offset = start + len(value) - len(body)
        if body[:1] in ("'", '"') and body.find(body[0], 1) > 0:
            offset += body.find(body[0], 1) + 1
            body = body[body.find(body[0], 1) + 1:]
        match = re.search(r"(^|[ \t])#", body)
        found.append(None if match is None else offset + match.start() + len(match.group(1)))
    return found


def comment_columns(source: SourceFile, kind: str) -> list[int | None]:
    lines = [line.rstrip("\r") for line in source.lines]
    if kind == "unit":  # systemd: only whole-line comments; a `#` after a value is part of it
        return [len(line) - len(line.lstrip()) if line.lstrip().startswith("#") else None for line in lines]
    return _env_comment_columns(lines) if kind == "env" else _yaml_comment_columns(lines)


def _next_content_line(lines: list[str], columns: list[int | None], after: int) -> int | None:
    for number in range(after + 1, len(lines) + 1):
        text = lines[number - 1]
        column = columns[number - 1]
        if text.strip() and not (column is not None and not text[:column].strip()):
            return number
    return None


def _parse(path: Path, number: int, column: int, comment: str, lines, columns) -> Directive:
    end = column + len(comment.rstrip()) + 1
    base = dict(path=path, line=number, column=column + 1, end_column=end)
    match = _DIRECTIVE.match(comment.rstrip())
    if match is None or match["kind"].lower() not in _KINDS:
        return Directive(**base, scope="line", target_line=None, codes=(), reason="",
                         problem="not a kescheck directive: write `# kescheck: ignore[CODE] -- reason`")
    scope = _KINDS[match["kind"].lower()]
    codes = tuple(c.strip() for c in (match["codes"] or "").split(",") if c.strip())
    reason = (match["reason"] or "").strip()
    problem, expires = None, None
    if not codes:
        problem = f"`{match['kind']}` needs the rule codes in brackets, e.g. `{match['kind']}[KES201]`"
    for option in (match["options"] or "").split():
        key, _, value = option.partition("=")
        if key.lower() != "expires":
            problem = f"unknown option `{key}` (only `expires=YYYY-MM-DD`)"
            continue
        try:
            expires = dt.date.fromisoformat(value)
        except ValueError:
            problem = f"`expires={value}` is not a date (YYYY-MM-DD)"
    is_own_line = not lines[number - 1][:column].strip()
    target = number
    if scope == "line" and is_own_line:
        target = _next_content_line(lines, columns, number)
        if target is None and problem is None:
            problem = "nothing follows this directive for it to apply to"
    if scope == "file" and not is_own_line and problem is None:
        problem = "`ignore-file` must stand on its own comment line"
    return Directive(**base, scope=scope, target_line=target if scope == "line" else None, codes=codes,
                     reason=reason, expires=expires, problem=problem)


def scan(source: SourceFile, kind: str) -> list[Directive]:
    """Every `# kescheck:` comment in a file; `kind` is `kes` (YAML), `env` or `unit` (systemd)."""
    if not DIRECTIVE_MARK.search(source.text):
        return []
    lines = [line.rstrip("\r") for line in source.lines]
    columns = comment_columns(source, kind)
    directives = []
    for number, (text, column) in enumerate(zip(lines, columns), start=1):
        if column is not None and DIRECTIVE_MARK.match(text, column):
            directives.append(_parse(source.path, number, column, text[column:], lines, columns))
    return directives


# --- applying suppressions ---------------------------------------------------------------

def _selects(selector: str, code: str, name: str) -> bool:
    return selector.upper() == code.upper() or selector.lower() == name


def _settings_line(settings_path: Path | None, index: int) -> int:
    """Best effort: the line of the index-th suppressions table in the settings file."""
    if settings_path is None:
        return 1
    try:
        lines = settings_path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    headers = [n for n, text in enumerate(lines, start=1) if re.match(r"\s*\[\[(tool\.)?(kescheck\.)?suppressions\]\]", text)]
    return headers[index] if index < len(headers) else 1


def apply(findings: list[Finding], files: Iterable[tuple[SourceFile, str]], rules, settings, options) -> list[Finding]:
    """Mark suppressed findings and add a finding for each unused or expired suppression.

    `files` are (source, kind) pairs of every file in the run; `rules` are the rules that ran
    (a suppression of a rule that did not run is neither used nor unused).
    """
    names = {r.code: r.name for r in rules}
    resolve = {**{r.code.upper(): r.code for r in rules}, **{r.name: r.code for r in rules}}
    today = options.now().date()
    files = list(files)
    # A manifest and a value linted in place in it are scanned both: a comment in the value is one directive.
    directives = list({(d.path, d.line, d.column): d for source, kind in files for d in scan(source, kind)
                       if d.problem is None}.values()) if options.inline_ignores else []
    used: set[tuple[int, str]] = set()
    result = []
    for finding in findings:
        if finding.suppressed_by is None:
            finding = _suppress(finding, directives, settings, names, today, used)
        result.append(finding)

    def ran(selector: str) -> str | None:
        return resolve.get(selector.upper()) or resolve.get(selector.lower())

    def report(code: str, location: Location, message: str, fix: str, anchor: str) -> None:
        if code not in names or settings.ignored_for_path(code, names[code], location.path):
            return
        rule = next(r for r in rules if r.code == code)
        severity = settings.severity_for(code, rule.name, rule.severity)
        result.append(Finding(location, message, fix=fix, anchor=anchor, code=code, severity=severity))

    for index, directive in enumerate(directives):
        for selector in directive.codes:
            code = ran(selector)
            if code is None:
                continue
            where = "this file" if directive.scope == "file" else f"line {directive.target_line}"
            if directive.expired(today):
                report(EXPIRED, directive.location(),
                       f"this suppression of {code} expired on {directive.expires.isoformat()}, so the findings "
                       f"it covered on {where} are reported again",
                       "Fix the finding, or renew the suppression with a new `expires=` date and a current reason.",
                       f"expired:{code}")
            elif (index, code) not in used:
                report(UNUSED, directive.location(),
                       f"this suppression of {code} silences nothing: {code} reports no finding on {where}",
                       f"Remove `{selector}` from the comment; it would hide a future finding nobody has reviewed.",
                       f"unused:{code}")
    linted = [source.path for source, _ in files]
    for index, spec in enumerate(settings.suppressions):
        code = ran(spec.rule)
        if code is None:
            continue
        base = settings.path.parent if settings.path else None
        shown = display_path(settings.path) if settings.path else Path("<settings>")
        location = Location(shown, _settings_line(settings.path, index), 1)
        if spec.expires is not None and today > spec.expires:
            report(EXPIRED, location,
                   f"the settings suppression of {code} for `{spec.path}` expired on {spec.expires.isoformat()}, "
                   f"so the findings it covered are reported again",
                   "Fix the findings, or renew the entry with a new `expires` date and a current reason.",
                   f"expired:{code}:{spec.path}")
        elif ("settings", index, code) not in used and any(path_matches(spec.path, p, base) for p in linted):
            report(UNUSED, location,
                   f"the settings suppression of {code} for `{spec.path}` silences nothing in the linted files",
                   "Remove the entry from `suppressions` in the settings file.", f"unused:{code}:{spec.path}")
    return sorted(result, key=Finding.sort_key)


def _suppress(finding: Finding, directives: list[Directive], settings, names, today, used) -> Finding:
    name = names.get(finding.code, "")
    for index, directive in enumerate(directives):
        if directive.covers(finding) and not directive.expired(today) and any(
                _selects(selector, finding.code, name) for selector in directive.codes):
            used.add((index, finding.code))
            form = "inline" if directive.scope == "line" else "inline (whole file)"
            return replace(finding, suppressed_by=f"{form}: {directive.reason or 'no reason given'}")
    base = settings.path.parent if settings.path else None
    for index, spec in enumerate(settings.suppressions):
        if spec.expires is not None and today > spec.expires:
            continue
        if _selects(spec.rule, finding.code, name) and path_matches(spec.path, finding.location.path, base):
            used.add(("settings", index, finding.code))
            return replace(finding, suppressed_by=f"settings ({spec.origin}): {spec.reason}")
    return finding

