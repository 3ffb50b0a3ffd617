"""systemd unit files that start KES or MinIO: the `kes server` command line, and the environment each unit gives
the server it starts (`Environment=`, `EnvironmentFile=`).

A unit is read as systemd reads it (systemd.syntax(7), systemd.service(5)), as far as KES's command line
needs: `[Section]` headers; `Key=Value` assignments; whole-line comments starting with `#` or `;`; a line
ending in `\\` continued on the next (comment lines inside the continuation skipped); in `ExecStart=` the
prefixes `-`, `@`, `:`, `+`, `!`, `!!` and `|` before the executable (with `@` the next word is argv[0]),
words split at white space with single or double quotes and backslash escapes, and an empty `ExecStart=` or
`EnvironmentFile=` resetting the list (as drop-ins do). An `EnvironmentFile=` value is one path, quotes and
spaces included, as systemd takes it. The words after `kes server` are read as KES reads them
(`load.kescommand`).

The loader never raises on content: what systemd or KES would refuse becomes a `CommandProblem` with its
position, which a rule reports.
"""
from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from ..minio_names import CONFIG_ENV_FILE
from .containers import MinioEnvironment
from .envfile import (EnvEntry, foreign_credentials, is_secret_value, is_secret_variable, is_valid_variable_name,
                      parse_env, url_passwords)
from .kescommand import (CommandProblem, KesLauncher, ServerCommand, Word, is_kes_executable, server_flags,
                         split_words)
from .source import InputError, SourceFile, decode, read_bytes

_SECTION = re.compile(r"^[ \t]*\[([^\]\r\n]+)\]", re.MULTILINE)
"""A header line, or what its author meant as one (`[Service] # KES`, `[Service]]`: SYS020 says what systemd
makes of those)."""
_UNIT_SECTIONS = ("Unit", "Service", "Install", "Socket", "Timer", "Mount", "Path", "Slice", "Scope", "Automount",
                  "Swap", "Target")
_SECTION_NAMES = {name.lower(): name for name in _UNIT_SECTIONS}
_PREFIX_CHARS = "-@:+!|"
_GLOB = re.compile(r"[*?\[]")


def looks_like_unit(text: str) -> bool:
    """A systemd unit file (or drop-in): some `[Unit]`, `[Service]`, ... header, as its author meant it, and a
    `Key=` line."""
    return any(match[1].strip().lower() in _SECTION_NAMES for match in _SECTION.finditer(text)) \
        and re.search(r"^[ \t]*[A-Za-z][A-Za-z0-9]*[ \t]*=", text, re.MULTILINE) is not None


@dataclass(frozen=True)
class EnvironmentFileRef:
    path: Word
    optional: bool
    """Written with a leading `-`: systemd skips the file when it does not exist."""

    @property
    def ignored(self) -> bool:
        """Not an absolute path (a relative one, or one in quotes): systemd logs `EnvironmentFile= path is not
        absolute, ignoring` and reads nothing. A `%` specifier may expand to an absolute path."""
        return not self.path.text.startswith(("/", "%"))

    @property
    def resolvable(self) -> bool:
        """One file kescheck can open: a path systemd reads, known as written, and no glob (systemd would read
        every match)."""
        return not self.ignored and self.path.names_known_path and _GLOB.search(self.path.text) is None


@dataclass(frozen=True)
class IgnoredAssignments:
    at: Word
    """The `%` or the backslash that makes systemd ignore them."""
    names: tuple[str, ...]
    escape: bool
    """A backslash that starts no escape (systemd stops reading the line there), not a `%`."""


@dataclass
class ServiceSettings:
    """What a unit's `[Service]` section gives the process it starts, beyond its command line."""

    environment_files: list[EnvironmentFileRef] = field(default_factory=list)
    environment: list[tuple[str, Word]] = field(default_factory=list)
    """`Environment=` assignments in order, as (name, the whole `NAME=value` word); systemd skips words without `=`."""
    settings: list[tuple[str, str]] = field(default_factory=list)
    """Every `[Service]` assignment in order, as (key, value joined over continuation lines): the settings that make
    systemd set variables of its own (`User=`, `LoadCredential=`, `StateDirectory=`, ...)."""
    drop_ins: tuple[SourceFile, ...] | None = None
    """The drop-ins read with the unit (`<name>.d/*.conf`), in the order systemd applies them; None when they were not
    looked for, or one of them could not be read."""
    exec_start_keys: list[Word] = field(default_factory=list)
    """The `ExecStart` key of each command line the unit ends up with (an empty `ExecStart=` resets the list)."""
    ignored_environment: list[IgnoredAssignments] = field(default_factory=list)
    """`Environment=` assignments systemd ignores: one with a `%` that starts no specifier, or the rest of a line
    from a backslash that starts no escape on."""
    header_problems: list[CommandProblem] = field(default_factory=list)
    """Section headers of the unit and its drop-ins that systemd refuses or does not know. In the unit's own file
    kescheck reads the section the author meant (systemd refuses the unit anyway); in a drop-in it skips what
    systemd skips."""

    def unread_drop_ins(self) -> bool:
        """Whether drop-ins beside the unit (a `<name>.d/` directory) may change it without having been read with it."""
        path = self.source.path
        return self.drop_ins is None and path.with_name(f"{path.name}.d").is_dir()

    def lines_of(self, key: str) -> list[tuple[SourceFile, int]]:
        """(file, line number) of each `[Service]` line that assigns `key`, in the order systemd reads them (the unit,
        then its drop-ins); `settings` keep no positions."""
        return [(source, logical.key_line) for source in (self.source, *(self.drop_ins or ()))
                for section, logical in _logical_lines(source, [], drop_in=source is not self.source)
                if section == "Service" and logical.key == key]

    def setting(self, key: str) -> str:
        """The last `[Service]` assignment of `key` (systemd uses the last one), stripped; empty when there is none. A
        value systemd cannot parse for a sandbox setting (`ProtectHome=readonly`) it ignores, keeping the one before."""
        accepted = _ACCEPTED_VALUES.get(key)
        found = [value.strip() for k, value in self.settings
                 if k == key and (accepted is None or not value.strip() or accepted(value.strip()))]
        return found[-1] if found else ""

    def listed(self, key: str) -> list[str]:
        """The words of a list setting (`SupplementaryGroups=a b`), its lines adding up, an empty one resetting it."""
        return _listed(self.settings, key)

    def enabled(self, key: str) -> bool:
        """A boolean setting (`DynamicUser=yes`) as systemd reads it: its last assignment is a true value."""
        return _is_true(self.setting(key))

    def assigned(self, name: str) -> Word | None:
        """The last `Environment=` word that sets `name` (a later assignment wins)."""
        found = [word for variable, word in self.environment if variable == name]
        return found[-1] if found else None

    def assigned_value(self, name: str) -> str | None:
        """The value the last `Environment=` assignment of `name` gives it."""
        word = self.assigned(name)
        return word.text.partition("=")[2] if word is not None else None

    def refused_exec_starts(self) -> list[Word]:
        """The `ExecStart=` lines after the first when systemd refuses the unit for them: only a `Type=oneshot` service
        may have several (a drop-in that means to replace the command must first empty the list)."""
        return [] if self.setting("Type") == "oneshot" else self.exec_start_keys[1:]

    def hidden_by_sandbox(self, path: str) -> tuple[str, str] | None:
        """(the setting, why) when the unit's file-system sandbox (systemd.exec(5)) keeps the server from the file
        at the absolute `path` that the host holds: a private, empty /tmp and /var/tmp (`PrivateTmp=`, which
        `DynamicUser=` implies), inaccessible /home, /root and /run/user (`ProtectHome=yes`; `tmpfs` empties them,
        `read-only` still lets it read), an `InaccessiblePaths=` or `TemporaryFileSystem=` path. Below an inaccessible
        directory nothing shows the file again (systemd drops every mount below one); in an emptied one a
        `BindPaths=` or `BindReadOnlyPaths=` mount of the file or a directory above it does (`ReadOnlyPaths=` and the
        like only change how a path that is there is mounted). None when nothing hides it or that cannot be known
        here: `RootDirectory=` and `RootImage=` change the root, a mount lands on the hiding directory itself, or a
        path holds a `%` specifier systemd replaces."""
        if self.setting("RootDirectory") or self.setting("RootImage") or "%" in path:
            return None
        target = posixpath.normpath(path)
        binds = [_mount_target(word) for word in _listed(self.settings, *_BINDS)]
        for key, directory, why, inaccessible in self._hiding():
            if "%" in directory:
                return None
            if not _within(target, directory):
                continue
            if directory in binds or not inaccessible and any("%" in bind for bind in binds):
                return None
            if inaccessible or not any(_within(target, bind) and _within(bind, directory) for bind in binds):
                return key, why
        return None

    def _hiding(self):
        """(setting, directory, what it does, whether it is inaccessible rather than empty) for each directory the
        sandbox hides, in systemd's words. A private /tmp and a `TemporaryFileSystem=` start empty but writable: an
        `ExecStartPre=` command, which runs in the same sandbox, may put the file there, so with one they are not
        counted."""
        stays_empty = not self.setting("ExecStartPre")  # the last assignment: an empty one resets the list
        private_tmp = self.setting("PrivateTmp")
        set_private = _is_true(private_tmp) or private_tmp == "disconnected"
        # systemd forces a private /tmp on a dynamic user, whose files must not outlive it: `PrivateTmp=no` is overridden.
        if stays_empty and (set_private or self.enabled("DynamicUser")):
            key = "PrivateTmp" if set_private else "DynamicUser"
            overridden = f" (`PrivateTmp={self.setting('PrivateTmp')}` does not turn it off)" if private_tmp else ""
            said = f"`PrivateTmp={private_tmp}`" if set_private else \
                f"`DynamicUser={self.setting('DynamicUser')}` implies `PrivateTmp=yes`{overridden}, which"
            for directory in _TEMPORARY_DIRECTORIES:
                yield key, directory, f"{said} gives the service a private, empty {directory}", False
        protect_home = self.setting("ProtectHome")
        if _is_true(protect_home) or protect_home == "tmpfs":
            inaccessible = protect_home != "tmpfs"
            what = "inaccessible" if inaccessible else "empty (a read-only tmpfs)"
            for directory in _HOME_DIRECTORIES:
                yield ("ProtectHome", directory, f"`ProtectHome={protect_home}` makes {directory} {what} to the service",
                       inaccessible)
        for word in _listed(self.settings, "InaccessiblePaths"):
            directory = posixpath.normpath(word.lstrip("-+"))
            yield ("InaccessiblePaths", directory, f"`InaccessiblePaths=` makes {directory} inaccessible to the service",
                   True)
        for word in _listed(self.settings, "TemporaryFileSystem") if stays_empty else ():
            directory = posixpath.normpath(word.partition(":")[0])
            yield ("TemporaryFileSystem", directory,
                   f"`TemporaryFileSystem=` mounts an empty file system on {directory}", False)


@dataclass
class KesUnit(ServiceSettings, KesLauncher):
    """A systemd unit that starts KES (`command`: its `ExecStart=`)."""

    label: str = "the unit"

    def describe(self) -> str:
        return f"the unit {self.source.path}"


@dataclass
class MinioUnit(ServiceSettings):
    """A systemd unit that starts MinIO (`minio server`): where MinIO's environment, and so its KMS settings, come
    from."""

    source: SourceFile = field(kw_only=True)
    executable: Word | None = None
    """The `minio` word of the `ExecStart=` that runs `minio server`."""
    arguments: list[Word] = field(default_factory=list)
    """The words after `minio server` (`$MINIO_OPTS $MINIO_VOLUMES`, or flags written out such as `--certs-dir`)."""
    label = "MinIO's unit"

    def env_file_paths(self) -> list[Path]:
        """The paths of `env_files`, in the order they are read."""
        return [Path(path) for _, path in self.env_files()]

    def env_files(self) -> list[tuple[Word, str]]:
        """(the word that names it, its path) for each file that makes MinIO's environment, in the order they are read:
        every `EnvironmentFile=` that systemd reads and that names one file, then the file `MINIO_CONFIG_ENV_FILE` (an
        `Environment=` assignment) names, which MinIO reads itself, when that is an absolute path without a `%`
        specifier (systemd replaces those; MinIO opens a relative path from a working directory the unit may not
        say)."""
        found = [(ref.path, ref.path.text) for ref in self.environment_files if ref.resolvable]
        value = self.assigned_value(CONFIG_ENV_FILE) or ""
        if value.startswith("/") and "%" not in value:
            found.append((self.assigned(CONFIG_ENV_FILE), value))
        return found

    def sets_kms(self) -> bool:
        """Whether `Environment=` gives MinIO a KMS setting itself."""
        return any(name.startswith("MINIO_KMS_") for name, _ in self.environment)

    def unknown_environment(self) -> str | None:
        """Why MinIO's environment may hold variables that neither the unit's lines nor the files it loads show, or
        None: a path systemd or MinIO expands (`$VAR`, a `%` specifier, a glob, a relative `MINIO_CONFIG_ENV_FILE`),
        the service manager's environment (`PassEnvironment=`) or PAM (`PAMName=`)."""
        config_file = self.assigned(CONFIG_ENV_FILE)
        if config_file is not None and all(word is not config_file for word, _ in self.env_files()):
            return f"its {CONFIG_ENV_FILE} is a path kescheck does not resolve"
        for ref in self.environment_files:
            if not ref.ignored and not ref.resolvable:
                return f"its EnvironmentFile={ref.path.text} is a path systemd expands"
        for setting in ("PassEnvironment", "PAMName"):
            if self.setting(setting):
                return f"it sets {setting}="
        return None


@dataclass
class _Logical:
    """An assignment joined over its continuation lines, with each character's file position."""

    key: str
    key_line: int
    key_column: int
    value: str
    positions: list[tuple[int, int]]


def _logical_lines(source: SourceFile, header_problems: list[CommandProblem], drop_in: bool
                   ) -> list[tuple[str, _Logical]]:
    """(section, assignment) for every assignment of the file; the problems of its section headers are added to
    `header_problems`. A unit file's sections are read as meant; a drop-in's as systemd reads them (see
    `_section_of`): an unknown section's lines are skipped, and nothing after a line that is no header is read."""
    lines = source.lines
    found: list[tuple[str, _Logical]] = []
    section = ""
    number = 0
    while number < len(lines):
        raw = lines[number].rstrip("\r")
        number += 1
        key_line = number
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            section, problem = _section_of(stripped, drop_in)
            if problem is not None:
                column = len(raw) - len(raw.lstrip()) + 1
                header_problems.append(CommandProblem(number, column, problem, column + len(stripped)))
            if section is None:
                break
            continue
        key, sep, _ = raw.partition("=")
        if not sep:
            continue  # systemd logs and skips a line without `=`
        key_column = len(raw) - len(raw.lstrip()) + 1
        start = len(key) + 1
        value_chars: list[str] = []
        positions: list[tuple[int, int]] = []
        line_no, text = number, raw
        while True:
            body = text[start:]
            # An odd run of trailing backslashes continues the line, an even one is escaped ones (systemd 252).
            continued = (len(body) - len(body.rstrip("\\"))) % 2 == 1
            if continued:
                body = body[:-1]
            value_chars.extend(body)
            positions.extend((line_no, start + i + 1) for i in range(len(body)))
            if not continued:
                break
            value_chars.append(" ")
            positions.append((line_no, len(text)))
            while number < len(lines) and lines[number].strip()[:1] in ("#", ";"):
                number += 1  # comment lines inside a continuation are skipped
            if number >= len(lines):
                break
            text, start = lines[number].rstrip("\r"), 0
            number += 1
            line_no = number
        # Leading white space of the value is no part of it.
        value = "".join(value_chars)
        skip = len(value) - len(value.lstrip())
        found.append((section, _Logical(key.strip(), key_line, key_column, value[skip:], positions[skip:])))
    return found


def _section_of(header: str, drop_in: bool) -> tuple[str | None, str | None]:
    """The section a header line (stripped, starting with `[`) opens, and why systemd does not take it as written
    (None when it does). systemd takes the name between the `[` and the line's last character, which must be the
    `]`, exactly as written, and ignores an unknown section's settings; a line that does not end with the `]`, or a
    name with a quote, backslash or control character, is no header: systemd refuses a unit file with one, and
    stops reading a drop-in there. For a unit file the section is the one the author meant (systemd refuses the
    unit either way, and the other checks still judge what it says); for a drop-in, the one systemd reads (None:
    read no further)."""
    well_formed = header.endswith("]")
    written = header[1:-1] if well_formed else header[1:].partition("]")[0]
    meant = _SECTION_NAMES.get(written.strip(" \t[]").lower(), written)
    unsafe = any(c < " " or c in "\"'\\\x7f" for c in written)
    if not well_formed or unsafe:
        why = (f"`{header}` is no section header (a header line holds `[{meant}]` alone; a comment goes on a line of "
               "its own)" if not well_formed else
               f"`{header.encode('unicode_escape').decode()}` has a character systemd refuses in a section name")
        consequence = ("systemd stops reading the drop-in here, so none of the settings below apply"
                       if drop_in else "systemd refuses to load the unit")
        error = "Invalid section header" if not well_formed else "Bad characters in section header"
        return (None if drop_in else meant), f"{why}: {consequence} (`{error}`)"
    if written == meant:
        return meant, None
    consequence = {"Service": ", so the service has no command to start and systemd refuses the unit (`Service has no "
                              "ExecStart=`)",
                   "Install": ", so `systemctl enable` has nothing to do (its `WantedBy=`) and the service does not "
                              "start at boot",
                   "Unit": ", so the service starts without what they say (`After=`, `Requires=`, ...)"}.get(meant, "")
    if drop_in:
        consequence = ", so the drop-in does not change the unit"
    return (written if drop_in else meant), (f"systemd ignores the section `[{written}]` and every setting in it "
                                             f"(`Unknown section`: section names are exact, `[{meant}]`){consequence}")


def _words(logical: _Logical, problems: list[CommandProblem]) -> list[Word]:
    """The value split into words as systemd splits a command line."""
    return split_words(logical.value, logical.positions, problems, f"`{logical.key}=`",
                       "systemd refuses this line, and the service then has no command to start")


def _runs_kes_server(words: list[Word]) -> tuple[Word, int] | None:
    """(the executable, index of the first word after `server`) when the command is `kes server`."""
    return _runs_server(words, is_kes_executable)


def _runs_server(words: list[Word], is_executable) -> tuple[Word, int] | None:
    """(the executable, index of the first word after `server`) when the command is `<executable> server`."""
    if not words:
        return None
    first = words[0]
    prefix = len(first.text) - len(first.text.lstrip(_PREFIX_CHARS))
    executable = Word(first.text[prefix:], first.line, first.column + prefix, first.end_line, first.end_column,
                      first.quoted, first.source)
    rest = 1
    if "@" in first.text[:prefix]:
        rest = 2  # `@/usr/bin/kes kes server ...`: the second word is argv[0]
    if not is_executable(executable.text):
        return None
    if len(words) <= rest or words[rest].text != "server":
        return None
    return executable, rest + 1


def _mark_secrets(source: SourceFile, words: list[Word]) -> None:
    """`Environment="VAULT_TOKEN=..."`: such values never appear in a report or a code frame."""
    for word in words:
        name, sep, value = word.text.partition("=")
        if sep and value and (is_secret_variable(name) or is_secret_value(value)):
            source.mark_secret_region(word.line, word.column, word.end_line, word.end_column, value)
        source.secret_values.update(url_passwords(value))


_ExecStart = tuple[_Logical, list[Word], list[CommandProblem], SourceFile]


def _read_service(source: SourceFile, unit: ServiceSettings, exec_starts: list[_ExecStart] | None = None
                  ) -> list[_ExecStart]:
    """Fills `unit` from the `[Service]` section of `source` (the unit's file, or one of its drop-ins, whose words
    and problems then name it as their `source`); its `ExecStart=` command lines (added to `exec_starts`, as a drop-in
    adds to its unit's), each with its words, the problems of splitting it and its file (an empty `ExecStart=` resets
    the list)."""
    exec_starts = [] if exec_starts is None else exec_starts
    own = source is unit.source
    header_problems: list[CommandProblem] = []
    lines = _logical_lines(source, header_problems, drop_in=not own)
    unit.header_problems.extend(header_problems if own else _in_file(header_problems, source))
    for section, logical in lines:
        if section != "Service":
            continue
        unit.settings.append((logical.key, logical.value))
        if logical.key == "ExecStart":
            if not logical.value.strip():
                exec_starts.clear()  # an empty assignment resets the list (drop-ins do this)
                continue
            problems: list[CommandProblem] = []
            words = _words(logical, problems)
            problems += _unresolvable_specifiers(words)
            if not own:
                words, problems = _in_file(words, source), _in_file(problems, source)
            exec_starts.append((logical, words, problems, source))
        elif logical.key == "Environment":
            if not logical.value.strip():
                unit.environment = []  # an empty assignment resets the list
                continue
            words = _words(logical, []) if own else _in_file(_words(logical, []), source)
            _mark_secrets(source, words)
            assigned, ignored = _environment_assignments(logical, words)
            unit.ignored_environment.extend(ignored)
            unit.environment.extend((word.text.partition("=")[0], word) for word in assigned
                                    if "=" in word.text and is_valid_variable_name(word.text.partition("=")[0]))
        elif logical.key == "EnvironmentFile":
            text = logical.value.rstrip()
            if not text:
                unit.environment_files = []
                continue
            # One path, the whole value: systemd neither splits it at spaces nor removes quotes.
            optional = text.startswith("-")
            start = min(int(optional), len(text) - 1)
            (line, column), (end_line, end_column) = logical.positions[start], logical.positions[len(text) - 1]
            unit.environment_files.append(EnvironmentFileRef(
                Word(text[int(optional):], line, column, end_line, end_column + 1, source=None if own else source),
                optional))
    return exec_starts


def _read_with_drop_ins(unit: ServiceSettings) -> list[_ExecStart]:
    """Fills `unit` from its file, then its drop-ins in the order systemd applies them; returns its command lines."""
    exec_starts: list[_ExecStart] = []
    for read in (unit.source, *(unit.drop_ins or ())):
        _read_service(read, unit, exec_starts)
    unit.exec_start_keys = [Word("ExecStart", logical.key_line, logical.key_column, logical.key_line,
                                 logical.key_column + len("ExecStart"), source=None if read is unit.source else read)
                            for logical, _, _, read in exec_starts]
    return exec_starts


def _in_file(items: list, source: SourceFile) -> list:
    """Words or problems of a drop-in, marked as standing in it."""
    return [replace(item, source=source) for item in items]


def read_unit(source: SourceFile, drop_ins: tuple[SourceFile, ...] | None = None) -> KesUnit:
    """The unit's KES command line (the last `ExecStart=` of `[Service]` that runs `kes server`) and its
    `EnvironmentFile=` paths. `drop_ins` are read after it, as systemd applies them (None: not looked for)."""
    unit = KesUnit(source, drop_ins=drop_ins)
    for logical, words, problems, read in reversed(_read_with_drop_ins(unit)):
        where = None if read is source else read
        if problems:
            if "kes" in logical.value and "server" in logical.value:
                unit.problems.extend(problems)
                unit.command = ServerCommand(logical.key_line, logical.key_column,
                                             Word("kes", logical.key_line, logical.key_column, logical.key_line,
                                                  logical.key_column + len("ExecStart"), source=where), (), (),
                                             source=where)
                break
            continue
        found = _runs_kes_server(words)
        if found is None:
            continue
        executable, first = found
        flag_problems: list[CommandProblem] = []
        flags, arguments = server_flags(words[first:], flag_problems)
        unit.problems.extend(flag_problems if where is None else _in_file(flag_problems, where))
        unit.command = ServerCommand(logical.key_line, logical.key_column, executable, flags, arguments, source=where)
        break
    return unit


MAX_DROP_INS = 64
"""Drop-ins read with one unit; a unit with more is read as one whose drop-ins are not known."""


def read_drop_ins(path: Path, shown: Path | None = None) -> tuple[SourceFile, ...] | None:
    """The drop-ins of the unit at `path` (`<name>.d/*.conf` beside it, applied in the order of their names, as systemd
    applies them), each shown under the directory of `shown` (default: `path`); None when one cannot be read (or there
    are too many): the unit's settings are then not all known. The drop-ins of the system unit directories are the
    doctor's to read."""
    shown = shown or path
    directory = path.with_name(f"{path.name}.d")
    if not directory.is_dir():
        return ()
    try:
        names = drop_in_names(directory)
    except OSError:
        return None
    if len(names) > MAX_DROP_INS:
        return None
    found = []
    for name in names:
        if ignored_drop_in(directory / name):
            continue
        try:
            found.append(decode(shown.with_name(directory.name) / name, read_bytes(directory / name)))
        except InputError:
            return None
    return tuple(found)


def drop_in_names(directory: Path) -> list[str]:
    """The names of the `*.conf` entries of a drop-in directory, in the order systemd applies them; systemd skips
    hidden files (an editor's `.override.conf.swp`, a `.override.conf` set aside). An OSError when it cannot be
    listed."""
    return sorted(entry.name for entry in os.scandir(directory)
                  if entry.name.endswith(".conf") and not entry.name.startswith("."))


def ignored_drop_in(path: Path) -> bool:
    """A drop-in entry systemd passes over: a link to /dev/null that masks it (or to another device), a link to
    nothing, a directory. An unreadable file is not one of them: systemd, as root, may read it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) or stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)


def unit_of_drop_in(path: Path) -> Path | None:
    """The unit whose drop-in `path` is (`kes.service.d/override.conf` of `kes.service`), when that unit is beside
    the drop-in's directory: the unit is read with it."""
    directory = path.parent
    if path.suffix != ".conf" or not directory.name.endswith(".d"):
        return None
    unit = directory.with_name(directory.name[:-2])
    return unit if unit.suffix == ".service" and unit.is_file() else None


def is_minio_executable(text: str) -> bool:
    """`minio`, `/usr/local/bin/minio`, or the image's `/usr/bin/minio`."""
    return PurePosixPath(text).name == "minio"


def read_minio_unit(source: SourceFile, drop_ins: tuple[SourceFile, ...] | None = None) -> MinioUnit | None:
    """The unit when its last `ExecStart=` that systemd can split runs `minio server`; None otherwise. `drop_ins` are
    read after it, as systemd applies them (None: not looked for)."""
    unit = MinioUnit(source=source, drop_ins=drop_ins)
    for _, words, _, _ in reversed(_read_with_drop_ins(unit)):
        found = _runs_server(words, is_minio_executable)  # a line systemd refuses has no words
        if found is not None:
            unit.executable, first = found
            unit.arguments = words[first:]
            return unit
    return None


_SPECIFIER = re.compile(r"%[a-zA-Z]")
_KNOWN_SPECIFIERS = frozenset("aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwWyY%")
"""systemd.unit(5)'s specifiers (the newest release's set: an older one refuses those it lacks)."""
_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
              "'": "'", "s": " "}
_NUMERIC_ESCAPE = re.compile(r"x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}")


def _environment_assignments(logical: _Logical, words: list[Word]) -> tuple[list[Word], list[IgnoredAssignments]]:
    """The words of an `Environment=` line as systemd takes them, C escapes (`\\t`, `\\x41`) read, and what it ignores:
    a word holding a `%` that starts no specifier (`Failed to resolve specifiers in ..., ignoring`; a trailing `%`
    stays), and everything from a backslash that starts no escape on (`Invalid syntax, ignoring`)."""
    index_of = {position: i for i, position in enumerate(logical.positions)}
    assigned: list[Word] = []
    ignored: list[IgnoredAssignments] = []
    for number, word in enumerate(words):
        start = index_of.get((word.line, word.column))
        end = index_of.get((word.end_line, word.end_column - 1))
        if start is None or end is None:
            assigned.append(word)
            continue
        text, bad = _c_unescaped(logical.value[start:end + 1])
        if bad is not None:
            names = tuple(later.text.partition("=")[0] for later in words[number:] if "=" in later.text)
            ignored.append(IgnoredAssignments(_char_at(logical, start + bad, word), names, escape=True))
            break
        percent = _unknown_specifier(text)  # in the word as read: `"A=100%"` ends in a `%`, not in `%"`
        if percent is not None:
            raw_percent = [i for i, char in enumerate(logical.value[start:end + 1]) if char == "%"]
            at = start + raw_percent[min(text[:percent].count("%"), len(raw_percent) - 1)]
            ignored.append(IgnoredAssignments(_char_at(logical, at, word), (text.partition("=")[0],), escape=False))
            continue
        assigned.append(replace(word, text=text))
    return assigned, ignored


def _unresolvable_specifiers(words: list[Word]) -> list[CommandProblem]:
    """A word of `ExecStart=` with a `%` that starts no specifier: systemd cannot resolve it and refuses the unit."""
    for word in words:
        percent = _unknown_specifier(word.text)
        if percent is not None and word.line == word.end_line:
            column = word.column + int(word.quoted) + percent  # after an opening quote; escapes could shift it
            return [CommandProblem(word.line, column, "`ExecStart=` holds a `%` that starts no specifier systemd knows "
                                                      "(`Failed to resolve unit specifiers`): systemd refuses the unit, "
                                                      "so the server never starts; write a percent sign as `%%`",
                                   column + 1)]
    return []


def _char_at(logical: _Logical, index: int, word: Word) -> Word:
    line, column = logical.positions[index]
    return Word(logical.value[index], line, column, line, column + 1, source=word.source)


def _c_unescaped(raw: str) -> tuple[str, int | None]:
    """`raw` with its quotes removed and its C escapes read, as systemd reads an `Environment=` word; with the index of
    a backslash that starts no escape it knows, if one does."""
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "\\":
            following = raw[i + 1:i + 2]
            if following in _C_ESCAPES:
                out.append(_C_ESCAPES[following])
                i += 2
                continue
            numeric = _NUMERIC_ESCAPE.match(raw, i + 1)
            if numeric is None:
                return "".join(out), i
            digits = numeric[0]
            out.append(chr(int(digits, 8) if digits[0] in "01234567" else int(digits[1:], 16)))
            i = numeric.end()
            continue
        if char in "\"'" and (not quote or char == quote):
            quote = "" if quote else char
        else:
            out.append(char)
        i += 1
    return "".join(out), None


def _unknown_specifier(value: str) -> int | None:
    """Where a `%` of `value` starts no specifier systemd knows (`%2` in a URL-encoded password; a trailing `%` is kept
    as it is)."""
    i = value.find("%")
    while 0 <= i < len(value) - 1:
        if value[i + 1] not in _KNOWN_SPECIFIERS:
            return i
        i = value.find("%", i + 2)
    return None


_DIRECTORIES = (("RuntimeDirectory", "RUNTIME_DIRECTORY", "/run"), ("StateDirectory", "STATE_DIRECTORY", "/var/lib"),
                ("CacheDirectory", "CACHE_DIRECTORY", "/var/cache"), ("LogsDirectory", "LOGS_DIRECTORY", "/var/log"),
                ("ConfigurationDirectory", "CONFIGURATION_DIRECTORY", "/etc"))
_CREDENTIALS = ("LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted",
                "ImportCredential")
_NOT_JOURNAL = ("null", "tty", "tty-force", "tty-fail", "inherit", "socket")
_NOT_JOURNAL_PREFIXES = ("file:", "append:", "truncate:", "fd:")
_TTY = ("tty", "tty-force", "tty-fail")
_PRIVATE_WITH_DYNAMIC_USER = ("STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY")

_SET_ONLY = {
    "CREDENTIALS_DIRECTORY": "for units with LoadCredential=, SetCredential= or ImportCredential=",
    **{name: "for units with User= or DynamicUser=" for name in ("USER", "LOGNAME", "HOME", "SHELL")},
    **{variable: f"for units with {setting}=" for setting, variable, _ in _DIRECTORIES},
    "NOTIFY_SOCKET": "for units with Type=notify or NotifyAccess=",
    **{name: "for a socket-activated unit (Sockets=, or a .socket unit of the same name)"
       for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")},
    "WATCHDOG_PID": "for units with WatchdogSec=", "WATCHDOG_USEC": "for units with WatchdogSec=",
    "TERM": "for units connected to a terminal (StandardInput=, StandardOutput= or StandardError=tty)",
    "LOG_NAMESPACE": "for units with LogNamespace=",
    "JOURNAL_STREAM": "when standard output or error goes to the journal (the default)",
    "MAINPID": "for control processes (ExecReload= and similar), never for ExecStart=",
    "MANAGERPID": "for services of a user instance (systemd --user)",
    "XDG_RUNTIME_DIR": "for services of a user instance, or with PAMName=",
    **{name: "for ExecStop= and ExecStopPost=" for name in ("SERVICE_RESULT", "EXIT_CODE", "EXIT_STATUS")},
}
"""Variables systemd.exec(5) says the service manager sets under a condition: why a unit without it lacks them."""


@dataclass(frozen=True)
class UnitEnvironment:
    """The environment a unit gives KES, as systemd.exec(5) compiles it: the variables systemd sets itself, those
    `PassEnvironment=` takes from the manager, the unit's `Environment=` assignments, then the files its
    `EnvironmentFile=` lines name, each read with systemd's rules (the files override `Environment=`, and a later
    file a former one); `UnsetEnvironment=` removes variables last. `values` is None when it cannot be known here; a
    variable whose value is None is set, to a value kescheck cannot know (`INVOCATION_ID`, `PassEnvironment=`)."""

    values: dict[str, str | None] | None
    origin: str
    """Where the environment comes from, for messages: `deploy/kes.service's EnvironmentFile /etc/default/kes`."""
    unset: dict[str, str] = field(default_factory=dict)
    """Why some variables are not set, for messages: `kes.service's UnsetEnvironment= removes it`."""
    open_ended: str | None = None
    """The `EnvironmentFile=`s that are not here to read, which may set further variables (and give those set
    before them other values), for messages."""


def _listed(settings: list[tuple[str, str]], *keys: str) -> list[str]:
    """The words of list settings (`StateDirectory=a b`), an empty assignment resetting the list."""
    words: list[str] = []
    for key, value in settings:
        if key in keys:
            if not value.strip():
                words = []
                continue
            logical = _Logical(key, 0, 0, value, [(0, i) for i in range(len(value))])
            words.extend(word.text for word in _words(logical, []))
    return words


_TEMPORARY_DIRECTORIES = ("/tmp", "/var/tmp")
_HOME_DIRECTORIES = ("/home", "/root", "/run/user")
_BINDS = ("BindPaths", "BindReadOnlyPaths")
"""Settings that mount a path of the host inside the sandbox: below a hidden directory, they may show it again."""


def _mount_target(word: str) -> str:
    """The path inside the sandbox that a word of a `_BINDS` setting names (`-`/`+` prefixes dropped; `BindPaths=`'
    `SOURCE:DESTINATION:OPTIONS` names its destination, else its source)."""
    source, _, rest = word.lstrip("-+").partition(":")
    return posixpath.normpath(rest.partition(":")[0] or source)


def _within(path: str, directory: str) -> bool:
    """`path` is `directory` or lies below it (both normalized absolute paths)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _is_true(text: str) -> bool:
    return text.lower() in ("1", "yes", "y", "true", "t", "on")


def _is_boolean(text: str) -> bool:
    return _is_true(text) or text.lower() in ("0", "no", "n", "false", "f", "off")


_ACCEPTED_VALUES = {
    "DynamicUser": _is_boolean,
    "PrivateTmp": lambda value: _is_boolean(value) or value == "disconnected",
    "ProtectHome": lambda value: _is_boolean(value) or value in ("read-only", "tmpfs"),
}
"""What systemd accepts for the sandbox settings kescheck judges (booleans in any case, the other words as written);
it ignores a line with anything else."""


def _to_journal(output: str) -> bool:
    """Whether a `StandardOutput=`/`StandardError=` value may connect the stream to the journal."""
    return not (output in _NOT_JOURNAL or output.startswith(_NOT_JOURNAL_PREFIXES))


def _systemd_variables(unit: KesUnit, resolve) -> dict[str, str | None]:
    """What the system service manager sets itself for the unit's `ExecStart=` (systemd.exec(5), "Environment
    Variables in Spawned Processes"), None for a value not known here. The manager's own `PATH` and `LANG` count as
    set (`DefaultEnvironment=` and `systemctl set-environment` can add more; kescheck cannot see them)."""
    settings = unit.settings
    found: dict[str, str | None] = dict.fromkeys(("PATH", "LANG", "INVOCATION_ID", "SYSTEMD_EXEC_PID"))
    user, dynamic = unit.setting("User"), unit.enabled("DynamicUser")
    if user or dynamic:
        name = user if user and not user.isdigit() and "%" not in user else None  # a UID: passwd names the user
        found.update(USER=name, LOGNAME=name, HOME=None, SHELL=None)
    for setting, variable, prefix in _DIRECTORIES:
        names = [word.partition(":")[0] for word in _listed(settings, setting)]  # `a:b` also links b to a
        if names:
            # With DynamicUser= systemd keeps state, cache and logs below a `private/` directory: not guessed.
            known = not any("%" in n for n in names) and not (dynamic and variable in _PRIVATE_WITH_DYNAMIC_USER)
            found[variable] = ":".join(f"{prefix}/{n.strip('/')}" for n in names) if known else None
    if any(_listed(settings, key) for key in _CREDENTIALS):
        found["CREDENTIALS_DIRECTORY"] = None  # systemd chooses the directory: services are to read this variable
    if unit.setting("Type") in ("notify", "notify-reload") or unit.setting("NotifyAccess") not in ("", "none"):
        found["NOTIFY_SOCKET"] = None
    if _listed(settings, "Sockets") or resolve(f"{PurePosixPath(unit.source.path.name).stem}.socket").exists():
        found.update(dict.fromkeys(("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")))
    if unit.setting("WatchdogSec") not in ("", "0", "infinity"):
        found.update(dict.fromkeys(("WATCHDOG_PID", "WATCHDOG_USEC")))
    output = unit.setting("StandardOutput")
    error = unit.setting("StandardError") or "inherit"
    if _to_journal(output) or _to_journal(output if error == "inherit" else error):
        found["JOURNAL_STREAM"] = None
    if any(unit.setting(key) in _TTY for key in ("StandardInput", "StandardOutput", "StandardError")):
        found["TERM"] = None
    namespace = unit.setting("LogNamespace")
    if namespace:
        found["LOG_NAMESPACE"] = None if "%" in namespace else namespace
    return found


def unit_environment(unit: KesUnit | MinioUnit, resolve, mask_foreign: bool = False) -> UnitEnvironment:
    """`resolve(text)`: the path an `EnvironmentFile=` word names, as kescheck opens it. `mask_foreign`: the values a
    file outside the unit's tree gives are masked in reports (`envfile.foreign_credentials`), for an environment whose
    values messages may show (KES's; MinIO's unit only counts the names, and its files are env files of their own).

    A file without `-` that does not exist here or cannot be read may set any variable, and give any variable set
    before it another value (`open_ended`). Unknown when a path holds a `$VAR`, `%` specifier or glob; for a drop-in
    read on its own, or a unit with drop-ins (`kes.service.d/`) beside it that were not read with it (drop-ins read
    with the unit are part of its settings); with `PAMName=` (PAM modules may
    set any variable); or when an `Environment=`, `PassEnvironment=` or `UnsetEnvironment=` value holds a `%`
    specifier (systemd replaces them; `$VAR` it leaves as written). A missing file named with `-` is skipped, as
    systemd skips it. The files' secret values join the unit's, so every report masks them."""

    name = unit.source.path.name  # short: the message names the file it reads the environment from
    here = unit.source.path
    if here.parent.name.endswith(".d") or (unit.drop_ins is None and resolve(f"{here.name}.d").is_dir()):
        # A drop-in, or a unit with drop-ins not read with it: the other files may add variables kescheck does not see.
        return UnitEnvironment(None, f"{name} and its drop-ins")
    if unit.setting("PAMName"):
        return UnitEnvironment(None, f"{name}'s PAMName=")
    passed, unset = _listed(unit.settings, "PassEnvironment"), _listed(unit.settings, "UnsetEnvironment")
    if any(_SPECIFIER.search(word.replace("%%", "")) for word in passed + unset):
        return UnitEnvironment(None, f"{name}'s {'PassEnvironment=' if passed else 'UnsetEnvironment='}")
    values = _systemd_variables(unit, resolve)
    values.update(dict.fromkeys(word.replace("%%", "%") for word in passed if is_valid_variable_name(word)))
    for variable, word in unit.environment:
        value = word.text.partition("=")[2]
        if _SPECIFIER.search(value.replace("%%", "")):
            return UnitEnvironment(None, f"{name}'s Environment=")
        values[variable] = value.replace("%%", "%")
    read: list[str] = []
    unread: list[str] = []
    hidden: dict[str, str] = {}
    for ref in unit.environment_files:
        if ref.ignored:
            continue  # systemd reads nothing from it (SYS008)
        if not ref.resolvable:
            return UnitEnvironment(None, f"{name}'s EnvironmentFile {ref.path.text}")
        path = resolve(ref.path.text)
        try:
            data = read_bytes(path)
        except InputError:
            if ref.optional and not path.exists():
                continue  # systemd skips an optional file that does not exist
            unread.append(ref.path.text)
            values = dict.fromkeys(values)  # still set, but the file may give them other values
            continue
        source = decode(path, data)
        reading = parse_env(source).systemd  # parsing marks the file's secret values
        unit.source.secret_values.update(source.secret_values)
        if mask_foreign:
            unit.source.secret_values.update(foreign_credentials(path, unit.source.path,
                                                                 (a.value for a in reading.assignments)))
        # systemd keeps a byte order mark at the start of the file as part of the first name (ENV012).
        marked = reading.assignments[0] if source.byte_order_mark and reading.assignments and \
            reading.assignments[0].line == 1 else None
        values.update((a.name, a.value) for a in reading.assignments if a.valid and a is not marked)
        if marked is not None and marked.name not in values:
            hidden[marked.name] = (f"{ref.path.text} starts with a byte order mark, which systemd keeps as part of "
                                   "the first name")
        read.append(ref.path.text)
    why_unset = {variable: f"systemd sets {variable} only {when}" for variable, when in _SET_ONLY.items()
               if variable not in values}
    why_unset.update((variable, why) for variable, why in hidden.items() if variable not in values)
    for word in unset:
        variable, equals, value = word.replace("%%", "%").partition("=")
        # `NAME=VALUE` removes NAME only while it has that value; a value kescheck cannot know may differ.
        if variable in values and (not equals or values[variable] == value):
            del values[variable]
            why_unset[variable] = f"{name}'s UnsetEnvironment= removes it"
    parts = (["PassEnvironment="] if passed else []) + (["Environment="] if unit.environment else []) + \
        ([f"EnvironmentFile{'s' if len(read) > 1 else ''} {', '.join(read)}"] if read else [])
    origin = (f"{name}'s {' and '.join(parts)}" if parts else f"what systemd itself sets for {name}" if unread else
              f"what systemd itself sets for {name}, which has no Environment= or EnvironmentFile=")
    open_ended = f"{name}'s EnvironmentFile{'s' if len(unread) > 1 else ''} {', '.join(unread)}, which kescheck " \
                 "cannot read here" if unread else None
    return UnitEnvironment(values, origin, why_unset, open_ended)


def minio_unit_environment(unit: MinioUnit, resolve) -> MinioEnvironment | None:
    """The KMS settings the unit's `Environment=` lines give MinIO, as MinIO's environment (`resolve(text)`: the path
    an `EnvironmentFile=` word names, as kescheck opens it). None when the unit sets no `MINIO_KMS_` variable, or when
    a file it loads that is here sets one: the files' assignments win over `Environment=`, and such a file is checked
    as an env file of its own, or when every `Environment=` line stands in a drop-in. What the unit's files and
    drop-ins set counts as set, to values not judged; an environment kescheck cannot know (`unit_environment`: drop-ins
    not read, `PAMName=`, specifiers, files that are not here, optional ones too) may set any variable."""
    if not unit.sets_kms():
        return None
    for _, text in unit.env_files():
        path = resolve(text)
        try:
            if parse_env(decode(path, read_bytes(path))).sets_any("MINIO_KMS_"):
                return None
        except InputError:
            continue
    # Assignments of drop-ins count as set, to values not judged: an entry stands in one file, the unit's.
    written = [(name, word) for name, word in unit.environment if word.source is None]
    if not written:
        return None
    own = dict(written)
    composed = unit_environment(unit, resolve)
    first = written[0][1]
    assignments = [(_entry(unit.source, word), not _SPECIFIER.search(word.text.replace("%%", "")))
                   for _, word in written]
    others = [name for name in (composed.values or {}) if name.startswith("MINIO_") and name not in own]
    assignments += [(EnvEntry(name, "", first.line, first.column, first.column, first.column, ""), False)
                    for name in others]
    # An optional file that is not here is skipped by systemd, but in a repository it is usually the env file where it
    # will be installed (`EnvironmentFile=-/etc/default/minio`): it may set the rest of MinIO's settings.
    absent = [ref.path.text for ref in unit.environment_files
              if ref.optional and ref.resolvable and not resolve(ref.path.text).exists()]
    open_ended = composed.open_ended or (composed.origin if composed.values is None else None) or \
        (f"{unit.source.path.name}'s EnvironmentFile {', '.join(absent)}, which is not here" if absent else None)
    return MinioEnvironment(unit.source, unit.label, (first.line, first.column), assignments, [],
                            open_ended=open_ended, source_kind="unit")


def _entry(source: SourceFile, word: Word) -> EnvEntry:
    """An `Environment=` word `NAME=value` as the entry of MinIO's environment it makes, at its place in the unit."""
    name, _, value = word.text.partition("=")
    raw = source.lines[word.line - 1] if word.line <= len(source.lines) else ""
    opened_by_quote = raw[word.column - 1:word.column] in ("\"", "'") and word.text[:1] not in "\"'"
    name_column = word.column + int(opened_by_quote)
    equals = raw.find("=", name_column - 1)
    value_column = equals + 2 if equals >= 0 and word.end_line == word.line else name_column + len(name) + 1
    return EnvEntry(name, value, word.line, name_column, value_column, value_column + len(value), word.text)
