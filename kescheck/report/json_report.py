"""JSON: a stable structure described by schemas/kescheck-report.schema.json."""
from __future__ import annotations


from .. import __version__
from ..engine import LintResult, LoadedFile
from . import ReportContext
from .common import counts, json_text, shown_findings

FORMAT_VERSION = 1


def finding_record(finding, rule) -> dict:
    loc = finding.location
    return {
        "code": finding.code,
        "name": rule.name if rule else "",
        "severity": finding.severity.label,
        "title": rule.title if rule else "",
        "message": finding.message,
        "fix": finding.fix or (rule.fix if rule else ""),
        "path": loc.path.as_posix(),
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "anchor": finding.anchor,
        "suppressed": finding.suppressed_by,
        "related": [{"path": other.path.as_posix(), "line": other.line, "column": other.column}
                    for other in finding.related],
    }


def document(result: LintResult, context: ReportContext) -> dict:
    by_code = {r.code: r for r in result.rules}
    active = result.active()
    tally = counts(active)
    return {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "kescheck", "version": __version__},
        "files": [_file_record(f) for f in result.files],
        "findings": [finding_record(f, by_code.get(f.code)) for f in shown_findings(result, context.show_suppressed)],
        "errors": [{"path": e.path.as_posix(), "message": e.reason} for e in result.input_errors],
        "summary": {
            "error": tally.get("error", 0),
            "warning": tally.get("warning", 0),
            "note": tally.get("note", 0),
            "suppressed": len(result.findings) - len(active),
            "files": len(result.files),
            "exit_status": result.exit_status(context.fail_on, context.exit_zero),
        },
    }


def render(result: LintResult, context: ReportContext) -> str:
    return json_text(document(result, context), expand_depth=2)


def _file_record(loaded: LoadedFile) -> dict:
    record = {
        "path": loaded.source.path.as_posix(),
        "kind": loaded.kind,
        "generation": loaded.kes.generation.name if loaded.kes else None,
        "generation_reason": loaded.kes.generation_reason if loaded.kes else None,
    }
    if loaded.embedded:
        record["embedded_in"] = loaded.embedded.place()
    return record
