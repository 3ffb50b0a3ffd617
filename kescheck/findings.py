"""The vocabulary shared by loaders, rules, the engine and reporters."""
from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from pathlib import Path


class Severity(enum.IntEnum):
    """Ordered so that a threshold comparison (`>=`) reads naturally."""

    NOTE = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use error, warning or note)") from None

    @functools.cached_property
    def label(self) -> str:
        """Cached: reports ask twice per finding, and an enum's `name` is a slow descriptor."""
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a file; `end_*` point just past the marked text."""

    path: Path
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Finding:
    """One thing a user must look at.

    A rule fills `location`, `message` and, where it knows better than its generic text,
    `fix`. The engine stamps `code` and `severity` from the rule's metadata. `anchor` is
    the line-independent address of the finding (a YAML path such as
    `policy.minio.allow[2]` or an env variable name); baselines key on it.
    """

    location: Location
    message: str
    fix: str | None = None
    anchor: str = ""
    code: str = ""
    severity: Severity = Severity.ERROR
    suppressed_by: str | None = None
    related: tuple[Location, ...] = field(default=())

    def stamped(self, code: str, severity: Severity) -> "Finding":
        # Spelt out rather than dataclasses.replace, which inspects the fields anew for each of a batch's findings.
        return Finding(self.location, self.message, self.fix, self.anchor, code, severity, self.suppressed_by,
                       self.related)

    def sort_key(self) -> tuple:
        loc = self.location
        return (str(loc.path), loc.line, loc.column, self.code, self.message)
