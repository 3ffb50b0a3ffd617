"""GitLab code quality: the JSON array a job publishes with `artifacts:reports:codequality`."""
from __future__ import annotations


from ..engine import LintResult
from ..findings import Severity
from . import ReportContext
from .common import json_text, message_with_fix, shown_findings
from .sarif import fingerprint

_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}


def issues(result: LintResult, context: ReportContext) -> list[dict]:
    by_code = {r.code: r for r in result.rules}
    seen: dict[str, int] = {}
    found = []
    for finding in shown_findings(result, False):
        rule = by_code.get(finding.code)
        base = fingerprint(finding)
        # GitLab requires each fingerprint once per report; the same problem twice gets a counter.
        seen[base] = seen.get(base, 0) + 1
        severity = _SEVERITY[finding.severity]
        if finding.severity is Severity.ERROR and rule is not None and (rule.security_severity or 0) >= 9.0:
            severity = "critical"
        found.append({
            "type": "issue",
            "description": message_with_fix(finding, rule),
            "check_name": f"{finding.code} {rule.name}" if rule else finding.code,
            "fingerprint": base if seen[base] == 1 else f"{base}-{seen[base]}",
            "severity": severity,
            "categories": ["Security" if rule is not None and rule.security_severity is not None else "Bug Risk"],
            "location": {"path": finding.location.path.as_posix(), "lines": {"begin": finding.location.line}},
        })
    for error in result.input_errors:
        found.append({"type": "issue", "description": f"kescheck could not read this file: {error.reason}",
                      "check_name": "input", "fingerprint": fingerprint_of_error(error), "severity": "blocker",
                      "categories": ["Bug Risk"], "location": {"path": error.path.as_posix(), "lines": {"begin": 1}}})
    return found


def fingerprint_of_error(error) -> str:
    import hashlib

    return hashlib.sha256(f"input\x1f{error.path.as_posix()}\x1f{error.reason}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def render(result: LintResult, context: ReportContext) -> str:
    return json_text(issues(result, context), expand_depth=1)
