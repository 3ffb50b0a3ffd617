"""Small facts about a result that several reporters state the same way."""
from __future__ import annotations

import re
from collections import Counter

from ..engine import LintResult
from ..findings import Finding, Severity


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Control characters (from a hostile file or server) shown as `\\xNN`, never sent to a terminal or log
    viewer that would obey them, and so are the Unicode line separators and the marks that turn text right to left
    (a code frame could show a line that reads otherwise than it is); newlines and tabs stay."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}" if ord(match[0]) < 256 else f"\\u{ord(match[0]):04x}",
                        text)


def counts(findings: list[Finding]) -> Counter:
    return Counter(f.severity.label for f in findings)


def summary_line(result: LintResult) -> str:
    active = result.active()
    tally = counts(active)
    parts = [f"{tally.get(s.label, 0)} {s.label}{'s' if tally.get(s.label, 0) != 1 else ''}"
             for s in (Severity.ERROR, Severity.WARNING, Severity.NOTE)]
    files = len(result.files)
    text = f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''}"
    suppressed = len(result.findings) - len(active)
    if suppressed:
        text += f" ({suppressed} suppressed)"
    if result.input_errors:
        text += f"; {len(result.input_errors)} input{'s' if len(result.input_errors) != 1 else ''} could not be read"
    return text


def message_with_fix(finding: Finding, rule) -> str:
    """The finding's one sentence, then how to fix it (the finding's own advice before the rule's)."""
    fix = finding.fix or (rule.fix if rule else "")
    return f"{finding.message.rstrip('.')}. Fix: {fix}" if fix else finding.message


def shown_findings(result: LintResult, show_suppressed: bool) -> list[Finding]:
    return [f for f in result.findings if f.suppressed_by is None or show_suppressed]


def json_text(value, expand_depth: int) -> str:
    """JSON with the outer `expand_depth` levels of containers indented and everything deeper on one line.

    A report with thousands of findings then reads as one finding per line, and most of it is encoded by
    json's C encoder: with `indent`, json falls back to its pure-Python encoder, which is several times
    slower and holds the whole output as a million small strings before joining them.
    """
    import json

    parts: list[str] = []
    encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps would build an encoder for every call

    def emit(item, depth: int, pad: str) -> None:
        if depth >= expand_depth or not isinstance(item, (dict, list)) or not item:
            parts.append(encode(item))
            return
        inner = pad + "  "
        parts.append("{\n" if isinstance(item, dict) else "[\n")
        pairs = item.items() if isinstance(item, dict) else ((None, value) for value in item)
        for index, (key, value) in enumerate(pairs):
            parts.append(",\n" + inner if index else inner)
            if key is not None:
                parts.append(encode(key) + ": ")
            emit(value, depth + 1, inner)
        parts.append("\n" + pad + ("}" if isinstance(item, dict) else "]"))

    emit(value, 0, "")
    parts.append("\n")
    return "".join(parts)
