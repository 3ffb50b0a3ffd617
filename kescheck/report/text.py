"""The terminal report: findings grouped by file, each with a code frame and its fix.

One layout for both styles: a list of (text, style) segments, printed through rich when
colour is on and joined as plain text otherwise (rich is not even imported then).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..engine import LintResult
from ..findings import Finding, Severity
from . import ReportContext
from .common import printable, shown_findings, summary_line

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
Segment = tuple[str, str]


def _frame(finding: Finding, sources) -> list[Segment]:
    source = sources.get(finding.location.path)
    if source is None or not source.lines:
        return []
    loc = finding.location
    out: list[Segment] = []
    first, last = max(1, loc.line - 1), min(len(source.lines), loc.line + 1)
    width = len(str(last))
    for number in range(first, last + 1):
        text = source.display_line(number).replace("\t", "→")
        marker = ">" if number == loc.line else " "
        out.append((f"      {marker} {number:>{width}} | ", "dim"))
        out.append((text + "\n", "" if number != loc.line else "bold"))
        if number == loc.line:
            start = source.display_column(number, loc.column)
            end = (source.display_column(number, loc.end_column, end=True)
                   if loc.end_line == loc.line and loc.end_column and loc.end_column > loc.column else start + 1)
            end = min(end, max(len(text) + 1, start + 1))
            out.append((f"        {' ' * width} | " + " " * (start - 1), "dim"))
            out.append(("^" * max(1, end - start) + "\n", _SEVERITY_STYLE[finding.severity]))
    return out


def segments(result: LintResult, context: ReportContext) -> list[Segment]:
    sources = {f.source.path: f.shown for f in result.files} | {d.path: d for f in result.files for d in f.drop_ins}
    by_code = {r.code: r for r in result.rules}
    notes = result.file_notes()
    shown = shown_findings(result, context.show_suppressed)
    out: list[Segment] = []
    for error in result.input_errors:
        out.append(("error ", "bold red"))
        out.append((f"{error.path}: {error.reason}\n", ""))
    by_file: dict[Path, list[Finding]] = {}
    for finding in shown:
        by_file.setdefault(finding.location.path, []).append(finding)
    for path in sorted(by_file, key=str):
        out.append((f"\n{path}\n", "bold underline"))
        for note in notes.get(path, []):
            out.append((f"  ({note})\n", "dim"))
        for finding in by_file[path]:
            rule = by_code.get(finding.code)
            loc = finding.location
            out.append((f"  {loc.line}:{loc.column}".ljust(10), "dim"))
            out.append((f"{finding.severity.label:<8}", _SEVERITY_STYLE[finding.severity]))
            out.append((f"{finding.code} {rule.name if rule else ''}".ljust(33) + " ", "bold"))
            if finding.suppressed_by:
                out.append(("[suppressed] ", "magenta"))
            out.append((finding.message + "\n", ""))
            out.extend(_frame(finding, sources))
            for other in finding.related:
                out.append(("        see also: ", "dim"))
                out.append((f"{other}\n", ""))
            fix = finding.fix or (rule.fix if rule else "")
            if fix:
                out.append(("        fix: ", "green"))
                out.append((fix + "\n", ""))
            if finding.suppressed_by:
                out.append(("        suppressed: ", "magenta"))
                out.append((finding.suppressed_by + "\n", ""))
    if context.statistics:
        out.append(("\n", ""))
        tally = Counter((f.code, by_code[f.code].name if f.code in by_code else "") for f in result.active())
        for (code, name), count in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append((f"{count:>5}  {code}  {name}\n", ""))
    out.append(("\n" if out else "", ""))
    verdict_style = "bold red" if result.exit_status(context.fail_on) else "bold green"
    out.append(("Found " + summary_line(result) + ".\n", verdict_style))
    return out


def render(result: LintResult, context: ReportContext) -> str:
    return join_segments(segments(result, context), context.color, context.width)


def join_segments(parts: list[Segment], color: bool, width: int = 100) -> str:
    """Plain text, or ANSI-styled through rich (imported only then)."""
    if not color:
        return printable("".join(text for text, _ in parts))
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=max(width, 60),
                      highlight=False, emoji=False, soft_wrap=True)
    text = Text()
    for chunk, style in parts:
        text.append(printable(chunk), style=style or None)
    console.print(text, end="")
    return buffer.getvalue()
