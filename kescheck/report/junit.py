"""JUnit XML, which most CI systems show as a test report: one test suite per file.

A finding at or above `--fail-on` is a failed test case; a lower one passes and says so in
`system-out`; a suppressed one (with `--show-suppressed`) is skipped with its reason.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..engine import LintResult
from . import ReportContext
from .common import message_with_fix, shown_findings

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def render(result: LintResult, context: ReportContext) -> str:
    by_code = {r.code: r for r in result.rules}
    root = ET.Element("testsuites", name="kescheck")
    by_file: dict[str, list] = {f.source.path.as_posix(): [] for f in result.files}
    for finding in shown_findings(result, context.show_suppressed):
        by_file.setdefault(finding.location.path.as_posix(), []).append(finding)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path, findings in sorted(by_file.items()):
        suite = ET.SubElement(root, "testsuite", name=_clean(path))
        counts = {"tests": max(1, len(findings)), "failures": 0, "errors": 0, "skipped": 0}
        if not findings:
            ET.SubElement(suite, "testcase", name="kescheck", classname=_clean(path))
        for finding in findings:
            rule = by_code.get(finding.code)
            loc = finding.location
            case = ET.SubElement(suite, "testcase", classname=_clean(path), file=_clean(path), line=str(loc.line),
                                 name=_clean(f"{finding.code} {rule.name if rule else ''} at {loc.line}:{loc.column}"))
            text = _clean(f"{loc}: {finding.severity.label}: {message_with_fix(finding, rule)}")
            if finding.suppressed_by is not None:
                ET.SubElement(case, "skipped", message=_clean(f"suppressed: {finding.suppressed_by}"))
                counts["skipped"] += 1
            elif context.fail_on is not None and finding.severity >= context.fail_on:
                failure = ET.SubElement(case, "failure", message=_clean(finding.message), type=finding.code)
                failure.text = text
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = text
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    if result.input_errors:
        suite = ET.SubElement(root, "testsuite", name="inputs", tests=str(len(result.input_errors)), failures="0",
                              errors=str(len(result.input_errors)), skipped="0")
        for error in result.input_errors:
            case = ET.SubElement(suite, "testcase", classname="inputs", name=_clean(error.path.as_posix()))
            ET.SubElement(case, "error", message=_clean(error.reason), type="input")
            totals["tests"] += 1
            totals["errors"] += 1
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
