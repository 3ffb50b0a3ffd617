"""MinIO env files, read as both of their consumers read them.

* MinIO's own reader (`MINIO_CONFIG_ENV_FILE`, reference §5): line by line, no escapes, no
  inline comments, `export` stripped even when glued to the name, a line without `=` is fatal.
  `EnvFile.entries` is this reading; every entry keeps the line and columns of its name and value.
* systemd's `EnvironmentFile=`: a small state machine with shell-like quoting, backslash escapes,
  line continuations and quoted values that may span lines; it knows no `export` and silently
  drops lines without `=` and assignments whose name is not a valid variable name.
  `EnvFile.systemd` is this reading, so rules can say where the two disagree.

The loader never raises on content: odd lines become `unparsable` entries or entries that the
env rules explain.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .source import MINIO_LINE_BREAK, REDACTED, SourceFile, in_tree_of

_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE_KEY|API_?KEY|ACCESS_KEY|MASTER_KEY")
"""Anywhere in the name: a misspelt or retired variable (`MINIO_KMS_SECRET_KEYS`, `MINIO_KMS_MASTER_KEY`) still
holds the secret, and a code frame must not show it."""
_NOT_SECRET_SUFFIX = ("_FILE", "_PATH", "_DIR")
"""Names of files that hold a secret: the path is not one."""
_VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Go's strings.TrimSpace removes Unicode white space; Python's str.strip() would also remove \x1c-\x1f.
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_LOOKS_LIKE_CREDENTIAL = re.compile(r"kes:v1:|-----BEGIN|^[A-Za-z0-9+/=_:.-]{24,}$")


def is_secret_variable(name: str) -> bool:
    upper = name.strip().upper()
    return bool(_SECRET_NAME.search(upper)) and not upper.endswith(_NOT_SECRET_SUFFIX)


SECRET_VALUE_PREFIXES = ("hvs.", "hvb.", "hvr.", "kes:v1:")
"""Vault service, batch and recovery tokens, and KES API keys: secrets wherever they are written."""


def is_secret_value(value: str) -> bool:
    """A Vault token or a KES API key by its form, whatever the name it is assigned to."""
    return value.strip().strip("\"'").startswith(SECRET_VALUE_PREFIXES) or "kes:v1:" in value


def quotable_value(name: str, value: str) -> bool:
    """Whether messages may quote `value`, which the variable `name` holds: not a secret by its name or form, and no
    URL with a password."""
    return not is_secret_variable(name) and not is_secret_value(value) and not url_passwords(value)


def is_valid_variable_name(name: str) -> bool:
    """What systemd (and a POSIX shell) accepts as a variable name."""
    return bool(_VALID_NAME.match(name))


def go_trim(text: str) -> str:
    return text.strip(_GO_SPACE)


@dataclass
class EnvEntry:
    """One assignment as MinIO's own reader sees it."""

    name: str
    """The variable name as MinIO reads it (a space before `=` stays part of it)."""
    value: str
    """The value MinIO's KMS code uses: one level of matching quotes removed, then trimmed."""
    line: int
    name_column: int
    value_column: int
    value_end_column: int
    raw: str
    had_export: bool = False
    quote: str = ""
    """The quote character MinIO removed, if any."""
    env_value: str = ""
    """The exact text MinIO puts into its environment (not trimmed: `KEY= x` gives ` x`)."""

    @property
    def is_secret(self) -> bool:
        return is_secret_variable(self.name)

    @property
    def key(self) -> str:
        """The name without surrounding white space: the variable the author meant to set."""
        return self.name.strip(_GO_SPACE)

    def column_at(self, offset: int) -> int:
        """Column of character `offset` of `value` on its line."""
        lead = len(self.env_value) - len(self.env_value.lstrip(_GO_SPACE))
        return self.value_column + len(self.quote) + lead + offset

    def value_text(self) -> str:
        """For messages: the value in backticks, or a note that it is secret and not shown."""
        return "(secret value not shown)" if self.is_secret else f"`{self.value}`"


@dataclass
class EnvLineProblem:
    line: int
    column: int
    raw: str
    message: str


@dataclass(frozen=True)
class SystemdAssignment:
    """One assignment as systemd's `EnvironmentFile=` reads it (before name validation)."""

    name: str
    value: str
    line: int
    """Line where the assignment starts."""
    end_line: int
    """Line where its value ends (a continuation or a quoted value may span lines)."""

    @property
    def valid(self) -> bool:
        return is_valid_variable_name(self.name)


@dataclass
class SystemdReading:
    assignments: list[SystemdAssignment] = field(default_factory=list)
    dropped_lines: list[int] = field(default_factory=list)
    """Lines systemd skips silently because they hold no `=`."""
    continued_comments: list[int] = field(default_factory=list)
    """Comment lines ending in a backslash (systemd < 254 also skipped the following line)."""

    _by_line: tuple[dict[int, SystemdAssignment], dict[int, SystemdAssignment]] | None = field(
        default=None, repr=False, compare=False)
    """(first assignment starting on each line, first assignment spanning each line), built on first use: rules
    ask about every line of the file."""

    def _lines(self) -> tuple[dict[int, SystemdAssignment], dict[int, SystemdAssignment]]:
        if self._by_line is None:
            starting: dict[int, SystemdAssignment] = {}
            spanning: dict[int, SystemdAssignment] = {}
            for assignment in self.assignments:
                starting.setdefault(assignment.line, assignment)
                for number in range(assignment.line, assignment.end_line + 1):
                    spanning.setdefault(number, assignment)
            self._by_line = starting, spanning
        return self._by_line

    def starting_at(self, line: int) -> SystemdAssignment | None:
        return self._lines()[0].get(line)

    def covering(self, line: int) -> SystemdAssignment | None:
        return self._lines()[1].get(line)


@dataclass
class EnvReading:
    """Everything the two readers make of one env file."""

    entries: list[EnvEntry] = field(default_factory=list)
    last_by_name: dict[str, EnvEntry] = field(default_factory=dict)
    """The entry MinIO uses for each name: rules ask for the same few variables many times per file."""
    unparsable: list[EnvLineProblem] = field(default_factory=list)
    """Lines without `=`: MinIO refuses to start on the first one."""
    systemd: SystemdReading = field(default_factory=SystemdReading)
    crlf_lines: list[int] = field(default_factory=list)
    nul_lines: list[int] = field(default_factory=list)
    derived: dict = field(default_factory=dict)
    """What rules derive from the entries (`EnvFile.memo`)."""


class EnvFile:
    """A MinIO env file. It is read on first use, and `release()` drops the reading again (a later use
    reads the file's text anew): a batch of thousands of files then holds only their text."""

    source_kind = "env"
    """The kind of file its source is (`LoadedFile.kind`): how comments in it are read."""
    holder = "this env file"
    """What holds the variables, for messages."""
    position: tuple[int, int] | None = None
    """(line, column) where the variables start when they are part of a larger file; None: the whole file."""
    declared_in: SourceFile | None = None
    """Another file that makes this one MinIO's environment (a Compose file whose service reads it), if any."""

    def __init__(self, source: SourceFile, systemd_may_read: bool = True):
        source.number_lines_as(MINIO_LINE_BREAK)  # the rules number lines as MinIO's reader does
        self.source = source
        self.systemd_may_read = systemd_may_read
        """False for a value of a Kubernetes Secret or ConfigMap: MinIO reads it where it is mounted (the MinIO
        Operator points `MINIO_CONFIG_ENV_FILE` at it) and no systemd ever does."""
        self._reading: EnvReading | None = None

    @property
    def reading(self) -> EnvReading:
        if self._reading is None:
            self._reading = _read(self.source)
        return self._reading

    @property
    def entries(self) -> list[EnvEntry]:
        return self.reading.entries

    @property
    def unparsable(self) -> list[EnvLineProblem]:
        return self.reading.unparsable

    @property
    def systemd(self) -> SystemdReading:
        return self.reading.systemd

    @property
    def crlf_lines(self) -> list[int]:
        return self.reading.crlf_lines

    @property
    def nul_lines(self) -> list[int]:
        return self.reading.nul_lines

    def release(self) -> None:
        if self._reading is None:
            _read(self.source)  # the reading marks the secret values that reports must mask
        self._reading = None

    def get(self, name: str) -> EnvEntry | None:
        """The entry MinIO uses: the last assignment wins."""
        return (self._reading or self.reading).last_by_name.get(name)

    def memo(self, key, compute):
        """`compute()`, once per reading of the file: for what rules derive from the entries (kept no longer than
        the reading, see `release`)."""
        derived = (self._reading or self.reading).derived
        try:
            return derived[key]
        except KeyError:
            value = derived[key] = compute()
            return value

    def present(self, name: str) -> EnvEntry | None:
        """The entry of a variable that is set, whether or not kescheck knows its value (a container's environment
        may take it from elsewhere: `MinioEnvironment`); in a file, every value is known."""
        return self.get(name)

    def present_entries(self) -> list[EnvEntry]:
        """Every assignment, whether or not kescheck knows its value (see `present`)."""
        return self.entries

    def defined(self, name: str) -> bool:
        return self.present(name) is not None

    def on_host(self, path: str) -> Path | None:
        """Where a path MinIO opens is on this host when a container mounts it from here; a file mounts nothing."""
        return None

    def value(self, name: str) -> str | None:
        entry = self.get(name)
        return entry.value if entry else None

    def names(self) -> list[str]:
        return list(dict.fromkeys(entry.name for entry in self.entries))

    def sets_any(self, prefix: str) -> bool:
        """Whether a variable whose name starts with `prefix` is assigned (`MINIO_KMS_`: MinIO's KMS settings)."""
        return any(entry.name.startswith(prefix) for entry in self.entries)

    def kes_key_name(self) -> EnvEntry | None:
        """MinIO's default key (`MINIO_KMS_KES_KEY_NAME`): the key MinIO creates, describes and uses."""
        return self.get("MINIO_KMS_KES_KEY_NAME")


def _minio_line(env: EnvReading, source: SourceFile, number: int, raw: str) -> None:
    """MinIO's reading of one line (bufio line scanning has already dropped the `\\n` and one `\\r`)."""
    line = raw[:-1] if raw.endswith("\r") else raw
    stripped = go_trim(line)
    if not stripped or stripped.startswith("#"):
        return
    offset = len(line) - len(line.lstrip(_GO_SPACE))
    body = stripped
    had_export = body.startswith("export")
    if had_export:
        # MinIO strips the word even when no space follows it (`exportMINIO_X=1` sets MINIO_X).
        rest = body[len("export"):]
        offset += len("export") + len(rest) - len(rest.lstrip(_GO_SPACE))
        body = go_trim(rest)
    if "=" not in body:
        env.unparsable.append(EnvLineProblem(number, offset + 1, raw, "the line has no `=`"))
        if _LOOKS_LIKE_CREDENTIAL.search(body):
            source.mark_secret(number, offset + 1, offset + 1 + len(body), "")
        return
    name, _, env_value = body.partition("=")
    value_start = offset + len(name) + 1
    quote = ""
    unquoted = env_value
    if len(env_value) >= 2 and env_value[0] in "\"'" and env_value[-1] == env_value[0]:
        quote = env_value[0]
        unquoted = env_value[1:-1]
    value = go_trim(unquoted)
    entry = EnvEntry(name=name, value=value, line=number, name_column=offset + 1, value_column=value_start + 1,
                     value_end_column=value_start + 1 + len(env_value), raw=raw, had_export=had_export,
                     quote=quote, env_value=unquoted)
    env.entries.append(entry)
    env.last_by_name[entry.name] = entry
    if not is_valid_variable_name(entry.key) and _LOOKS_LIKE_CREDENTIAL.search(name):
        _mark_secret_text(source, number, entry.name_column, entry.name_column + len(name), name)
    if (entry.is_secret or is_secret_value(unquoted)) and env_value:  # an API key or token under any name
        _mark_secret_text(source, number, entry.value_column, entry.value_end_column, unquoted)
        return
    source.secret_values.update(url_passwords(env_value))  # reports quote URLs: never with their password
    # `Environment=VAULT_TOKEN=...` (a unit's line) or a line systemd appends to the one before: an assignment of a
    # secret inside this value, which messages may quote as the value of some other name.
    embedded = embedded_secret(env_value)
    if embedded is not None:
        _mark_secret_text(source, number, entry.value_column + embedded, entry.value_end_column, env_value[embedded:])


_EMBEDDED_ASSIGNMENT = re.compile(r"""(?<![^\s"'=])([A-Za-z_][A-Za-z0-9_]*)=(?=\S)""")


def foreign_credentials(path: Path, anchor: Path, values: Iterable[str]) -> list[str]:
    """The values that the env file at `path`, named by the file `anchor`, gives and that reports must mask because
    the file is not the inputs' own (`source.in_tree_of`: it may be any file of the machine kescheck runs on, a CI
    runner's proxy settings, say): each one that is neither short, nor an absolute path (messages name the files a
    value points at), nor a plain lower-case word (`disabled` masked everywhere would garble every report). None when
    the file is the inputs' own, whose secrets are masked by their names."""
    if in_tree_of(path, anchor):
        return []
    return [value for value in values
            if len(value) >= 8 and not value.startswith("/") and not _PLAIN_WORD.fullmatch(value)]


_PLAIN_WORD = re.compile(r"[a-z_-]+")


_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@")


def without_url_passwords(text: str) -> str:
    """`text` with the password of each URL in it masked, for what is shown before the reports' redaction runs."""
    return _URL_PASSWORD.sub(lambda match: match[0].replace(match[1], REDACTED), text) if "@" in text else text


def url_passwords(text: str) -> list[str]:
    """The passwords of the URLs in `text` that carry one (`https://minio:PASSWORD@kes:7373`)."""
    return [match[1] for match in _URL_PASSWORD.finditer(text)] if "@" in text else []


def embedded_secret(text: str) -> int | None:
    """Where the value of a secret's `NAME=value` inside `text` starts (`Environment=VAULT_TOKEN=...`, a line
    systemd appends to the one before, a unit read as something else); None when there is none."""
    for inner in _EMBEDDED_ASSIGNMENT.finditer(text):
        if is_secret_variable(inner[1]):
            return inner.end()
    return None


def _mark_secret_text(source: SourceFile, line: int, column: int, end_column: int, value: str,
                      words: bool = True) -> None:
    """Mask the span, and redact the value plus the parts a message could plausibly isolate
    (`kes:v1:... # prod` must not leak its key part); `words=False` for multi-line values,
    whose words may be ordinary variable names swallowed by an open quote."""
    source.mark_secret(line, column, end_column, value)
    parts = {go_trim(value), go_trim(value.split("#", 1)[0])} | (set(value.split()) if words else set())
    source.secret_values.update(part for part in parts if len(part) >= 8)


_NEWLINE = "\n\r"
_WHITESPACE = " \t\n\r"


# A line without quotes, backslashes or carriage returns cannot start anything that spans lines.
_PLAIN_LINE = re.compile(r"[^\\'\"\r\n]*")
# `NAME="value"` with nothing to unescape, the other common line: the state machine takes the quoted text as it is.
_QUOTED_LINE = re.compile(r"""[ \t]*([^ \t\r\n#;\\'"][^=\r\n\\'"]*)=[ \t]*"([^"\\\r\n]*)"[ \t]*(?=\n|\Z)""")


def _plain_line(reading: SystemdReading, body: str, line: int) -> None:
    """What the state machine makes of a plain line (see _PLAIN_LINE) that starts in the `pre-key` state."""
    body = body.lstrip(" \t")
    if not body or body[0] in "#;":
        return
    rest, equals, value = body[1:].partition("=")  # the first character is part of the name, even `=`
    if equals:
        reading.assignments.append(SystemdAssignment((body[0] + rest).rstrip(" \t"), value.strip(" \t"), line, line))
    else:
        reading.dropped_lines.append(line)


def read_systemd(text: str, shortcut: bool = True) -> SystemdReading:
    """systemd's `EnvironmentFile=` parser (v254 and later), as a character state machine.

    With `shortcut`, plain lines and `NAME="value"` lines without escapes (most of a typical file) are read
    whole with string methods and a regex; the result is the same (tests/test_fast_paths.py compares both)."""
    reading = SystemdReading()
    state = "pre-key"
    line = start_line = 1
    key: list[str] = []
    value: list[str] = []
    key_ws: int | None = None
    value_ws: int | None = None

    def push(end: int) -> None:
        name = "".join(key[:key_ws] if key_ws is not None else key)
        reading.assignments.append(SystemdAssignment(name, "".join(value), start_line, end))

    i = 0
    while i < len(text):
        if shortcut and state == "pre-key" and (i == 0 or text[i - 1] == "\n"):
            end = _PLAIN_LINE.match(text, i).end()
            if end == len(text) or text[end] == "\n":
                _plain_line(reading, text[i:end], line)
            else:
                quoted = _QUOTED_LINE.match(text, i)
                if quoted is not None:
                    reading.assignments.append(SystemdAssignment(quoted[1].rstrip(" \t"), quoted[2], line, line))
                    end = quoted.end()
            if end == len(text) or text[end] == "\n":
                if end == len(text):
                    break
                i, line = end + 1, line + 1
                continue
        c = text[i]
        i += 1
        if state == "pre-key":
            if c in "#;":
                state = "comment"
            elif c not in _WHITESPACE:
                state, key, key_ws, start_line = "key", [c], None, line
        elif state == "key":
            if c in _NEWLINE:
                reading.dropped_lines.append(start_line)
                state = "pre-key"
            elif c == "=":
                state, value, value_ws = "pre-value", [], None
            else:
                if c not in _WHITESPACE:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key.append(c)
        elif state == "pre-value":
            if c in _NEWLINE:
                push(line)
                state = "pre-key"
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value-escape"
            elif c not in _WHITESPACE:
                state = "value"
                value.append(c)
        elif state == "value":
            if c in _NEWLINE:
                if value_ws is not None:
                    del value[value_ws:]
                push(line)
                state = "pre-key"
            elif c == "\\":
                state, value_ws = "value-escape", None
            else:
                if c not in _WHITESPACE:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value.append(c)
        elif state == "value-escape":
            state = "value"
            if c not in _NEWLINE:
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre-value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre-value"
            elif c == "\\":
                state = "double-escape"
            else:
                value.append(c)
        elif state == "double-escape":
            state = "double"
            if c in '"\\`$':
                value.append(c)
            elif c not in _NEWLINE:
                value.extend(("\\", c))
        elif state == "comment":
            if c == "\\":
                state = "comment-escape"
            elif c in _NEWLINE:
                state = "pre-key"
        elif state == "comment-escape":
            if c in _NEWLINE:
                reading.continued_comments.append(line)
                state = "pre-key"
            else:
                state = "comment"
        if c == "\n":  # numbered like MinIO's lines, so both readings can be compared line by line
            line += 1
    if state == "key":
        reading.dropped_lines.append(start_line)
    elif state != "pre-key" and not state.startswith("comment"):
        if state == "value" and value_ws is not None:
            del value[value_ws:]
        push(line)
    return reading


def parse_env(source: SourceFile, systemd_may_read: bool = True) -> EnvFile:
    env = EnvFile(source, systemd_may_read)
    env.reading  # read now: marks the file's secret values before anything can show its lines
    return env


def _read(source: SourceFile) -> EnvReading:
    env = EnvReading()
    # MinIO splits at `\n` only (a lone `\r` stays inside the line), so line numbers follow `\n`.
    for number, raw in enumerate(source.text.split("\n"), start=1):
        if raw.endswith("\r"):
            env.crlf_lines.append(number)
        if "\x00" in raw:
            env.nul_lines.append(number)
        _minio_line(env, source, number, raw)
    env.systemd = read_systemd(source.text)
    lines = source.text.split("\n")
    for assignment in env.systemd.assignments:
        source.secret_values.update(url_passwords(assignment.value))  # systemd's reading of a URL may differ from MinIO's
        if is_secret_variable(assignment.name) and assignment.value:
            for number in range(assignment.line, min(assignment.end_line, len(lines)) + 1):
                text = lines[number - 1]
                start = text.find("=") + 2 if number == assignment.line else 1
                _mark_secret_text(source, number, max(start, 1), len(text) + 1, assignment.value,
                                  words=assignment.line == assignment.end_line)
    return env


_ASSIGNMENT_LINE = re.compile(r"^[ \t]*(?:export[ \t]*)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=", re.MULTILINE)
_MINIO_ASSIGNMENT = re.compile(r"^[ \t]*(?:export[ \t]*)?MINIO_[A-Za-z0-9_]*[ \t]*=", re.MULTILINE)
_YAML_KEY_LINE = re.compile(r"^[ \t]*(?:- )?[\w.\"'-]+:(?:[ \t]|$)", re.MULTILINE)


def mostly_assignments(text: str) -> bool:
    """Lines of assignments (continued or not), comments and blanks, with at most a few others (a stray line):
    what an env file found by a directory walk must be. A script or source file that sets a MINIO_* variable
    among its code is not an env file MinIO reads, and checking it as one would bury the real findings."""
    assignments = others = 0
    continued = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not continued:  # a continued line is the rest of a value (systemd's `\` at the end of a line)
            if not stripped or stripped.startswith("#"):
                continue
            if _ASSIGNMENT_LINE.match(line):
                assignments += 1
            else:
                others += 1
        continued = stripped.endswith("\\")
    return others <= max(2, assignments // 4)


def looks_like_minio_env(text: str) -> bool:
    """A MinIO env file sets MINIO_* variables; the file name does not matter.

    A YAML file that embeds such lines (a Kubernetes secret holding `config.env`) has more
    `key:` lines than assignments and is not taken for one.
    """
    if not sets_minio_variables(text):
        return False
    return len(_ASSIGNMENT_LINE.findall(text)) > len(_YAML_KEY_LINE.findall(text))


def sets_minio_variables(text: str) -> bool:
    """Some line of `text` assigns a MINIO_* variable (indented or after `export`, too)."""
    return _MINIO_ASSIGNMENT.search(text) is not None
