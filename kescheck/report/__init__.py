"""Reporters turn a lint result into text. They know rules only by their metadata."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Callable

from ..engine import LintResult
from ..findings import Severity
from ..load.source import REDACTED

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
    show_suppressed: bool = False
    statistics: bool = False
    width: int = 100
    extra: dict = field(default_factory=dict)


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{4,}")


_SCAN_ONCE_ABOVE = 200
"""Secrets above which one pass over the text beats one `str.replace` per secret (~0.05 ms vs ~0.8 ms per
secret and megabyte here)."""


def redact(text: str, secrets: set[str]) -> str:
    """Last line of defence: no value a loader marked secret survives into any output."""
    candidates = [secret for secret in secrets if len(secret) >= 4]
    if len(candidates) > _SCAN_ONCE_ABOVE:
        candidates = _present(text, candidates)
    for secret in sorted(candidates, key=len, reverse=True):
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


def render(result: LintResult, context: ReportContext) -> str:
    return redact(renderer(context.format)(result, context), result.secrets)
