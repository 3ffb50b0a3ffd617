"""The doctor's result: a tree of checks that are ok, warn, fail or skip, and roll up."""
from __future__ import annotations

import enum
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..findings import Location
from ..rules.base import Rule


class Status(enum.IntEnum):
    """Ordered for roll-up: a parent is as bad as its worst child; only-skipped children give skip."""

    SKIP = 0
    OK = 1
    WARN = 2
    FAIL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Check:
    title: str
    status: Status = Status.SKIP
    summary: str = ""
    """One line: what was found (for a failure: the cause)."""
    advice: str = ""
    """What to do about it (failures and warnings)."""
    duration: float | None = None
    """Seconds the probe took; None for checks that probe nothing."""
    rule: Rule | None = None
    """The DOC rule a failure or warning is reported under."""
    anchor: str = ""
    """Where in the inputs the checked thing is defined (an env variable or a config path)."""
    details: list[str] = field(default_factory=list)
    children: list["Check"] = field(default_factory=list)
    at: Location | None = None
    """Where the checked thing stands when it is in no line of MinIO's settings or KES's config (MinIO's unit)."""

    def add(self, child: "Check") -> "Check":
        self.children.append(child)
        return child

    def set(self, status: Status, summary: str, rule: Rule | None = None, advice: str = "") -> "Check":
        self.status, self.summary = status, summary
        if rule is not None:
            self.rule = rule
            self.advice = advice or rule.fix
        elif advice:
            self.advice = advice
        return self

    def ok(self, summary: str) -> "Check":
        return self.set(Status.OK, summary)

    def skip(self, summary: str) -> "Check":
        return self.set(Status.SKIP, summary)

    def fail(self, rule: Rule, summary: str, advice: str = "") -> "Check":
        return self.set(Status.FAIL, summary, rule, advice)

    def warn(self, rule: Rule, summary: str, advice: str = "") -> "Check":
        return self.set(Status.WARN, summary, rule, advice)

    @property
    def cause(self) -> str:
        """Machine-readable cause of a failure or warning: the rule's name."""
        return self.rule.name if self.rule is not None and self.status >= Status.WARN else ""

    def rolled_up(self) -> Status:
        if not self.children:
            return self.status
        return max([self.status] + [c.rolled_up() for c in self.children])

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    @contextmanager
    def timed(self):
        start = time.monotonic()
        try:
            yield self
        finally:
            self.duration = time.monotonic() - start

    def to_dict(self) -> dict:
        record = {"title": self.title, "status": self.rolled_up().label, "summary": self.summary}
        if self.rule is not None and self.status >= Status.WARN:
            record.update(code=self.rule.code, cause=self.rule.name, advice=self.advice)
        if self.duration is not None:
            record["duration_ms"] = round(self.duration * 1000, 1)
        if self.details:
            record["details"] = list(self.details)
        if self.children:
            record["checks"] = [c.to_dict() for c in self.children]
        return record
