"""GitHub Actions: workflow-command annotations on the changed lines, and a job summary.

GitHub shows at most 10 error and 10 warning annotations per step, so the summary
(markdown for `$GITHUB_STEP_SUMMARY`, requested with `extra={"part": "step-summary"}`)
lists every finding.
"""
from __future__ import annotations

from collections import Counter

from ..engine import LintResult
from ..findings import Severity
from . import ReportContext
from .common import message_with_fix, printable, shown_findings, summary_line

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
STEP_SUMMARY = "step-summary"


def escape_data(text: str) -> str:
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def annotations(result: LintResult, context: ReportContext) -> list[str]:
    by_code = {r.code: r for r in result.rules}
    lines = [command("error", error.reason, file=error.path.as_posix(), title="kescheck: input not read")
             for error in result.input_errors]
    for finding in shown_findings(result, False):
        rule = by_code.get(finding.code)
        loc = finding.location
        same_line = loc.end_line == loc.line and loc.end_column
        lines.append(command(
            _COMMAND[finding.severity], message_with_fix(finding, rule),
            file=loc.path.as_posix(), line=loc.line, col=loc.column,
            endLine=loc.end_line if loc.end_line and loc.end_line != loc.line else None,
            endColumn=loc.end_column if same_line else None,
            title=f"{finding.code} {rule.name if rule else ''}".strip()))
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def step_summary(result: LintResult, context: ReportContext) -> str:
    by_code = {r.code: r for r in result.rules}
    shown = shown_findings(result, context.show_suppressed)
    verdict = "failed" if result.exit_status(context.fail_on) else "passed"
    out = [f"### kescheck {verdict}", "", f"Found {summary_line(result)}.", ""]
    if shown:
        tally = Counter(f.code for f in result.active())
        if tally:
            out += ["| Rule | Findings |", "|---|---|"]
            out += [f"| {code} {by_code[code].name if code in by_code else ''} | {count} |"
                    for code, count in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))]
            out.append("")
        out += ["| Severity | Location | Rule | Message |", "|---|---|---|---|"]
        for finding in shown:
            rule = by_code.get(finding.code)
            label = finding.severity.label + (" (suppressed)" if finding.suppressed_by else "")
            out.append(f"| {label} | `{_cell(str(finding.location))}` | {finding.code} "
                       f"{rule.name if rule else ''} | {_cell(message_with_fix(finding, rule))} |")
        out.append("")
    for error in result.input_errors:
        out.append(f"- could not read `{_cell(str(error.path))}`: {_cell(error.reason)}")
    return "\n".join(out).rstrip("\n") + "\n"


def render(result: LintResult, context: ReportContext) -> str:
    if context.extra.get("part") == STEP_SUMMARY:
        return step_summary(result, context)
    lines = annotations(result, context)
    lines.append(f"kescheck: found {summary_line(result)}.")
    return "\n".join(lines) + "\n"
