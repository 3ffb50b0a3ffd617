"""Small facts about a result that several reporters state the same way."""
from __future__ import annotations

import re
from collections import Counter

from ..engine import LintResult
from ..findings import Finding, Severity


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters (from a hostile file or server) shown as `\\xNN`, never sent to a terminal or log
    viewer that would obey them; newlines and tabs stay."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


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


def rule_names(result: LintResult) -> dict[str, str]:
    return {r.code: r.name for r in result.rules}


def rule_titles(result: LintResult) -> dict[str, str]:
    return {r.code: r.title for r in result.rules}


def message_with_fix(finding: Finding, rule) -> str:
    """The finding's one sentence, then how to fix it (the finding's own advice before the rule's)."""
    fix = finding.fix or (rule.fix if rule else "")
    return f"{finding.message.rstrip('.')}. Fix: {fix}" if fix else finding.message


def shown_findings(result: LintResult, show_suppressed: bool) -> list[Finding]:
    return [f for f in result.findings if f.suppressed_by is None or show_suppressed]
