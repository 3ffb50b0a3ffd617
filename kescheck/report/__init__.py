"""Reporters turn a lint result into text. They know rules only by their metadata."""
from __future__ import annotations

import importlib
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


def redact(text: str, secrets: set[str]) -> str:
    """Last line of defence: no value a loader marked secret survives into any output."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def renderer(name: str) -> Callable[[LintResult, ReportContext], str]:
    module = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    return module.render


def render(result: LintResult, context: ReportContext) -> str:
    return redact(renderer(context.format)(result, context), result.secrets)
