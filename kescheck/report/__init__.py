"""Reporters turn a lint result into text. They know rules only by their metadata."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from ..engine import LintResult
from ..findings import Severity
from ..load.source import REDACTED, InputError

# format name -> module in this package that defines `render(result, context) -> str`
FORMATS = {
    "rich": "text",
    "plain": "text",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
    "gitlab": "gitlab",
}


@dataclass(frozen=True)
class ReportContext:
    format: str = "plain"
    color: bool = False
    fail_on: Severity | None = Severity.ERROR
    exit_zero: bool = False
    show_suppressed: bool = False
    statistics: bool = False
    width: int = 100
    extra: dict = field(default_factory=dict)


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{4,}")


_SCAN_ONCE_ABOVE = 200
"""Secrets above which one pass over the text beats one `str.replace` per secret (~0.05 ms vs ~0.8 ms per
secret and megabyte here)."""


def redact(text: str, secrets: set[str]) -> str:
    """Last line of defence for the text formats: no value a loader marked secret survives into their output."""
    return _masked(text, secrets_in(text, secrets))


def redacted(result: LintResult) -> LintResult:
    """The result with every secret masked in the texts its findings and input errors carry, before any format
    encodes them: an encoded secret (`%25` in a GitHub annotation, `&amp;` in XML, `\\` in JSON) no longer matches
    the secret in the finished text, and masking the finished text of a structured format could hit its syntax (a
    password `null` would turn JSON's `null` into `********`)."""
    texts = "\n".join([text for finding in result.findings for text in _finding_texts(finding) if text]
                      + [error.reason for error in result.input_errors])
    present = secrets_in(texts, result.secrets)
    if not present:
        return result
    findings = []
    for finding in result.findings:
        message, fix, anchor, suppressed_by = (_masked(text, present) if text else text
                                               for text in _finding_texts(finding))
        if (message, fix, anchor, suppressed_by) != _finding_texts(finding):
            finding = replace(finding, message=message, fix=fix, anchor=anchor, suppressed_by=suppressed_by)
        findings.append(finding)
    errors = [InputError(error.path, _masked(error.reason, present)) for error in result.input_errors]
    return replace(result, findings=findings, input_errors=errors)


def redacted_strings(value, secrets: set[str]):
    """A JSON-like value with every secret masked in each of its strings (keys too), before it is encoded."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redacted_strings(key, secrets): redacted_strings(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted_strings(item, secrets) for item in value]
    return value


def _finding_texts(finding) -> tuple:
    return finding.message, finding.fix, finding.anchor, finding.suppressed_by


def secrets_in(text: str, secrets) -> list[str]:
    """The secrets that occur in `text`, longest first (so a secret inside a longer one does not cut it up);
    secrets under 4 characters are too short to tell from ordinary text."""
    candidates = [secret for secret in secrets if len(secret) >= 4]
    if len(candidates) > _SCAN_ONCE_ABOVE:
        candidates = _present(text, candidates)
    return sorted((secret for secret in candidates if secret in text), key=len, reverse=True)


def _masked(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _present(text: str, secrets) -> list[str]:
    """The secrets (of at least 4 characters) that may occur in `text`, found without scanning the whole
    text once per secret: a batch report holds megabytes of text and may hold thousands of secrets.

    A secret that occurs in the text has its longest run of ASCII letters and digits inside one such run
    of the text; so a secret whose run is in none of the text's distinct runs cannot occur. (Secrets
    without a run of 4 are always kept.)"""
    distinct: set[str] = set()
    start = 0
    while start < len(text):  # in slices cut at line ends, so the list of runs stays small
        end = text.find("\n", start + 262_144)
        end = len(text) if end < 0 else end
        distinct.update(_ALNUM_RUN.findall(text, start, end))
        start = end
    runs = "\n".join(distinct)
    found = []
    for secret in secrets:
        if len(secret) < 4:
            continue
        core = max(_ALNUM_RUN.findall(secret), key=len, default="")
        if not core or core in runs:
            found.append(secret)
    return found


def renderer(name: str) -> Callable[[LintResult, ReportContext], str]:
    module = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    return module.render


TEXT_FORMATS = frozenset({"rich", "plain"})
"""Formats with no syntax that masking the finished text could break; it is masked once more as a whole (their code
frames quote the files' lines)."""


def render(result: LintResult, context: ReportContext) -> str:
    result = redacted(result)
    text = renderer(context.format)(result, context)
    return redact(text, result.secrets) if context.format in TEXT_FORMATS else text
