"""MinIO env files, read the way MinIO's own `MINIO_CONFIG_ENV_FILE` reader reads them.

Each entry remembers where its name and value stand, so findings point at the exact
column. How systemd's `EnvironmentFile=` would read the same line differently is the
business of the env rules; this loader records MinIO's reading and the raw line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .source import SourceFile

_SECRET_NAME = re.compile(r"(_API_KEY|PASSWORD|SECRET|_TOKEN|SECRET_KEY|_ACCESS_KEY|_CREDENTIALS?)$|^MINIO_KMS_SECRET_KEY$")


def is_secret_variable(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.strip().upper())) and not name.strip().upper().endswith("_FILE")


@dataclass
class EnvEntry:
    name: str
    """The variable name as MinIO reads it (a space before `=` stays part of it)."""
    value: str
    """The value as MinIO reads it: trimmed, one level of matching quotes removed."""
    line: int
    name_column: int
    value_column: int
    value_end_column: int
    raw: str
    had_export: bool = False
    quote: str = ""

    @property
    def is_secret(self) -> bool:
        return is_secret_variable(self.name)


@dataclass
class EnvLineProblem:
    line: int
    column: int
    raw: str
    message: str


@dataclass
class EnvFile:
    source: SourceFile
    entries: list[EnvEntry] = field(default_factory=list)
    unparsable: list[EnvLineProblem] = field(default_factory=list)
    """Lines without `=`: MinIO refuses to start on the first one."""

    def get(self, name: str) -> EnvEntry | None:
        """The entry MinIO uses: the last assignment wins."""
        found = None
        for entry in self.entries:
            if entry.name == name:
                found = entry
        return found

    def defined(self, name: str) -> bool:
        return self.get(name) is not None

    def value(self, name: str) -> str | None:
        entry = self.get(name)
        return entry.value if entry else None

    def names(self) -> list[str]:
        return list(dict.fromkeys(entry.name for entry in self.entries))

    def first_line(self) -> int:
        return 1


def parse_env(source: SourceFile) -> EnvFile:
    env = EnvFile(source)
    for number, raw in enumerate(source.text.splitlines(), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        offset = len(line) - len(line.lstrip())
        body = stripped
        had_export = False
        if body.startswith("export"):
            # MinIO strips the word even when no space follows it (`exportMINIO_X=1` sets MINIO_X).
            body = body[len("export"):]
            had_export = True
            offset += len("export")
            lead = len(body) - len(body.lstrip())
            body = body.lstrip()
            offset += lead
        if "=" not in body:
            env.unparsable.append(EnvLineProblem(number, offset + 1, raw, "the line has no `=`"))
            continue
        name, _, rest = body.partition("=")
        value_start = offset + len(name) + 1
        lead = len(rest) - len(rest.lstrip())
        value = rest.strip()
        value_start += lead
        quote = ""
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote = value[0]
            value = value[1:-1]
        entry = EnvEntry(name=name, value=value, line=number, name_column=offset + 1,
                         value_column=value_start + 1, value_end_column=value_start + 1 + len(rest.strip()),
                         raw=raw, had_export=had_export, quote=quote)
        env.entries.append(entry)
        if entry.is_secret and value:
            source.mark_secret(number, entry.value_column, entry.value_end_column, value)
    return env


_ASSIGNMENT = re.compile(r"^\s*(?:export\s*)?(MINIO_[A-Z0-9_]*|KES_[A-Z0-9_]*)\s*=", re.MULTILINE)


def looks_like_minio_env(text: str) -> bool:
    """A MinIO env file sets MINIO_* variables; the file name does not matter."""
    return _ASSIGNMENT.search(text) is not None and bool(re.search(r"^\s*(?:export\s*)?MINIO_", text, re.MULTILINE))
