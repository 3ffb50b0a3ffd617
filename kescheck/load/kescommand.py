"""The `kes server` command line, wherever it is written: a systemd unit's `ExecStart=` (`load.systemd`), or the
command of a container (`load.containers`: a Compose service, a Kubernetes workload).

`kes server` parses its flags with a Go flag parser (the `pflag` package in the current sources, Go's standard
`flag` package in v0.17, as minio/kes#173's `flag provided but not defined: -root` shows): `--name=value` or
`--name value` for a flag that takes a value, `--` ends the flags, and words that are no flags may stand between
them (as `pflag` allows). A single dash (`-config`) is recorded like two: the standard parser reads it so, `pflag`
would not.

Nothing here raises on content: what KES (or whatever splits the command into words) would refuse becomes a
`CommandProblem` with its position, which a rule reports.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .source import SourceFile

VALUE_FLAGS = frozenset({"config", "addr", "auth", "key", "cert", "root"})
"""`kes server` flags that take a value in some release (field-failures E2); every other flag is a switch."""
_UNEXPANDED = re.compile(r"\$|%[a-zA-Z%]")
"""`$VAR`, `${VAR}`, `$(VAR)` (systemd, Compose and Kubernetes substitute variables) and systemd's `%h`-style
specifiers."""


@dataclass(frozen=True)
class Word:
    """One word of a command line after quote removal, with where it starts and ends in the file."""

    text: str
    line: int
    column: int
    end_line: int
    end_column: int
    """Just past its last character."""
    quoted: bool = False
    source: SourceFile | None = field(default=None, compare=False, repr=False)
    """The file the word stands in when that is not its launcher's own: a drop-in of a systemd unit."""

    @property
    def unexpanded(self) -> bool:
        """Holds a variable or specifier that is replaced before KES sees the word: its value is not known here."""
        return _UNEXPANDED.search(self.text) is not None

    @property
    def names_known_path(self) -> bool:
        """A path kescheck can resolve as written: not empty, nothing replaced."""
        return bool(self.text.strip()) and not self.unexpanded


@dataclass(frozen=True)
class ServerFlag:
    """One flag of `kes server` as KES's flag parser reads it."""

    name: str
    """Without dashes: `auth`, `config`, `mlock`."""
    word: Word
    """The word that names the flag (`--auth=off` whole, or `--auth` of `--auth off`)."""
    value: Word | None = None
    """The value: the part after `=`, or the next word for a flag that takes one; None for a switch."""

    @property
    def written(self) -> str:
        return self.word.text if self.value is None or "=" in self.word.text else f"{self.word.text} {self.value.text}"


@dataclass(frozen=True)
class CommandProblem:
    line: int
    column: int
    message: str
    end_column: int | None = None
    source: SourceFile | None = field(default=None, compare=False, repr=False)
    """The file the problem stands in when that is not its launcher's own (a unit's drop-in)."""


@dataclass(frozen=True)
class ServerCommand:
    """A command line that runs `kes server`."""

    line: int
    column: int
    """Where the command is set: the `ExecStart=` key, or a container's `command:` or `args:` key."""
    executable: Word
    flags: tuple[ServerFlag, ...]
    arguments: tuple[Word, ...]
    """Words that are no flags (current `kes server` refuses them: `too many arguments`)."""
    source: SourceFile | None = field(default=None, compare=False, repr=False)
    """The file the command stands in when that is not its launcher's own (a unit's drop-in)."""


@dataclass
class KesLauncher:
    """Something that starts KES with a `kes server` command line: a systemd unit or a container."""

    source: SourceFile
    command: ServerCommand | None = None
    problems: list[CommandProblem] = field(default_factory=list)
    """What makes the command line fail before KES reads its config."""
    label: str = ""
    """What it is, without the file: `the unit`, `the Compose service 'kes'`, `container 'kes' of Deployment 'kes'`."""

    @property
    def flags(self) -> tuple[ServerFlag, ...]:
        return self.command.flags if self.command else ()

    def flag(self, name: str) -> ServerFlag | None:
        """The flag's last occurrence: Go's flag parsers keep the last value given."""
        found = [f for f in self.flags if f.name == name]
        return found[-1] if found else None

    @property
    def config(self) -> Word | None:
        flag = self.flag("config")
        return flag.value if flag is not None else None

    @property
    def auth(self) -> bool | None:
        """`--auth=on|off` (as KES <= 2023-09-28 reads it): True verifies client certificates, False does not;
        None without the flag or with a value KES refuses or that is not known here."""
        flag = self.flag("auth")
        if flag is None or flag.value is None or flag.value.unexpanded:
            return None
        return {"on": True, "off": False}.get(flag.value.text.strip().lower())

    def describe(self) -> str:
        """What starts KES, with its file, for messages."""
        return f"{self.label} in {self.source.path}"


def is_kes_executable(text: str) -> bool:
    """`kes`, `/usr/local/bin/kes`, or the official image's entrypoint `/kes`."""
    return PurePosixPath(text).name == "kes"


_BLANKS = " \t\r\n"
"""What separates words: Compose splits a string command at line breaks too (a `command: >` block keeps its last one);
a systemd command line has none left once its continued lines are joined."""


def split_words(text: str, positions: list[tuple[int, int]], problems: list[CommandProblem], where: str,
                consequence: str) -> list[Word]:
    """`text` split into words at blanks, with single or double quotes and backslash escapes, as systemd and
    Compose split a command given as one string; `positions[i]` is where `text[i]` stands in the file. A quote
    that is never closed gives a problem (`where` has ...: `consequence`) and no words."""
    words: list[Word] = []
    i = 0
    while i < len(text):
        if text[i] in _BLANKS:
            i += 1
            continue
        start, chars, quoted = i, [], False
        while i < len(text) and text[i] not in _BLANKS:
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
            elif char in "\"'":
                close = _closing_quote(text, i + 1, char)
                if close is None:
                    line, column = positions[i]
                    problems.append(CommandProblem(line, column, f"{where} has a {_quote_name(char)} quote that is never "
                                                                 f"closed: {consequence}"))
                    return []
                chars.extend(text[i + 1:close].replace("\\" + char, char).replace("\\\\", "\\"))
                quoted = True
                i = close + 1
            else:
                chars.append(char)
                i += 1
        first, last = positions[start], positions[i - 1]
        words.append(Word("".join(chars), first[0], first[1], last[0], last[1] + 1, quoted))
    return words


def _closing_quote(text: str, start: int, quote: str) -> int | None:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return None


def _quote_name(char: str) -> str:
    return "double" if char == '"' else "single"


def server_flags(words: list[Word], problems: list[CommandProblem]) -> tuple[tuple[ServerFlag, ...], tuple[Word, ...]]:
    """The flags and the other words of what follows `kes server`, as KES's flag parser reads them."""
    flags: list[ServerFlag] = []
    arguments: list[Word] = []
    i = 0
    while i < len(words):
        word = words[i]
        text = word.text
        if text == "--":
            arguments.extend(words[i + 1:])
            break
        if len(text) < 2 or not text.startswith("-"):
            arguments.append(word)  # pflag reads flags after it too
            i += 1
            continue
        name = text[2:] if text.startswith("--") else text[1:]
        if not name or name.startswith("-") or name.startswith("="):
            problems.append(CommandProblem(word.line, word.column, f"`{text}` is no flag `kes server` can parse "
                                           f"(`bad flag syntax: {text}`): KES refuses to start", word.end_column))
            break
        name, equals, value_text = name.partition("=")
        value = None
        if equals:
            offset = len(text) - len(value_text)
            value = Word(value_text, word.end_line, word.column + offset if word.line == word.end_line else word.column,
                         word.end_line, word.end_column, word.quoted, word.source)
        elif name in VALUE_FLAGS:
            if i + 1 >= len(words):
                problems.append(CommandProblem(word.line, word.column, f"`{text}` needs a value and none follows "
                                               f"(`flag needs an argument: --{name}`): KES refuses to start",
                                               word.end_column))
                flags.append(ServerFlag(name, word))
                break
            i += 1
            value = words[i]
        flags.append(ServerFlag(name, word, value))
        i += 1
    return tuple(flags), tuple(arguments)
