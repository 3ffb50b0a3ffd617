"""SARIF 2.1.0 as GitHub code scanning accepts it.

GitHub's extra demands (no offline validator checks them): every result's rule listed in
`tool.driver.rules` with a correct `ruleIndex`, `security-severity` as a string, a
`results` array even when empty, lines and columns >= 1, repo-relative URIs under
`%SRCROOT%`, and stable `partialFingerprints`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..engine import LintResult
from ..findings import Severity
from . import ReportContext
from .common import json_text, message_with_fix

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kescheck/kescheck"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _artifact(path: Path) -> dict:
    if path.is_absolute():
        return {"uri": path.as_uri()}
    # `#`, spaces and the brackets of `<stdin>` break a URI; a file name's bytes that are not UTF-8 are quoted as bytes
    return {"uri": quote(path.as_posix(), safe="/", errors="surrogateescape"), "uriBaseId": "%SRCROOT%"}


def rule_descriptor(rule) -> dict:
    descriptor = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.fix, "markdown": f"**Why:** {rule.rationale}\n\n**Fix:** {rule.fix}"},
        "helpUri": f"{INFORMATION_URI}/blob/main/docs/rules.md#{rule.code.lower()}",
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": [rule.family.lower()], "precision": "high"},
    }
    if rule.security_severity is not None:
        descriptor["properties"]["tags"].append("security")
        descriptor["properties"]["security-severity"] = f"{rule.security_severity:.1f}"
    return descriptor


def _region(loc) -> dict:
    region = {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)}
    if loc.end_line and loc.end_column and (loc.end_line, loc.end_column) > (loc.line, loc.column):
        region["endLine"] = loc.end_line
        region["endColumn"] = loc.end_column
    return region


def fingerprint(finding) -> str:
    material = "\x1f".join([finding.code, finding.location.path.as_posix(), finding.anchor or str(finding.location.line),
                            finding.message])
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def document(result: LintResult, context: ReportContext) -> dict:
    rules = sorted({r.code: r for r in result.rules}.values(), key=lambda r: r.code)
    index = {r.code: i for i, r in enumerate(rules)}
    by_code = {r.code: r for r in rules}
    results = []
    for finding in result.findings:
        if finding.code not in index:
            continue
        rule = by_code[finding.code]
        entry = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _LEVEL[finding.severity],
            "message": {"text": message_with_fix(finding, rule)},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(finding.location.path),
                                                "region": _region(finding.location)}}],
            "partialFingerprints": {"kescheckFindingHash/v1": fingerprint(finding)},
        }
        if finding.related:
            entry["relatedLocations"] = [
                {"id": number, "physicalLocation": {"artifactLocation": _artifact(other.path), "region": _region(other)}}
                for number, other in enumerate(finding.related, start=1)]
        if finding.suppressed_by is not None:
            kind = "inSource" if finding.suppressed_by.startswith("inline") else "external"
            entry["suppressions"] = [{"kind": kind, "justification": finding.suppressed_by}]
        results.append(entry)
    notifications = [
        {"level": "error", "message": {"text": f"{e.path}: {e.reason}"},
         "locations": [{"physicalLocation": {"artifactLocation": _artifact(e.path)}}]}
        for e in result.input_errors
    ]
    run = {
        "tool": {"driver": {"name": "kescheck", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": [rule_descriptor(r) for r in rules]}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": not result.input_errors,
                         "toolExecutionNotifications": notifications}],
        "columnKind": "unicodeCodePoints",
        "results": results,
        # Which KES config generation each file was checked as, and why (detected, --kes-version or assumed).
        "properties": {"checkedFiles": [
            {"path": f.source.path.as_posix(), "kind": f.kind,
             **({"generation": f.kes.generation.name, "generationReason": f.kes.generation_reason} if f.kes else {})}
            for f in result.files]},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(result: LintResult, context: ReportContext) -> str:
    return json_text(document(result, context), expand_depth=6)
