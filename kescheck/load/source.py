"""Reading a user's file safely: regular files only, bounded size, text decoded once."""
from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 4 * 1024 * 1024
"""KES configs and env files are a few KiB; anything this large is not one."""

REDACTED = "********"
LINE_BREAK = re.compile(r"\r\n|\r|\n")
MINIO_LINE_BREAK = re.compile(r"\r?\n")
"""MinIO reads env files line by line at LF (dropping one CR before it): a lone CR stays inside the line."""
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=]{16,}")
"""Base64 runs inside a PEM private key block, however the block is quoted or escaped in its file."""


@functools.lru_cache(maxsize=4096)
def path_named(text: str) -> Path:
    """One `Path` per text: a batch names the same `/etc/...` files in every deployment, and each new `Path` parses
    its text again and computes its hash again when it is looked up."""
    return Path(text)


class InputError(Exception):
    """A file that cannot be read at all. The CLI turns it into exit status 2."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass
class SourceFile:
    """The text of one input file, and the spans of it that must never be shown."""

    path: Path
    text: str
    undecodable_at: int | None = None
    """Byte offset of the first byte that is not UTF-8, when there is one."""
    undecodable_char: int | None = None
    """Where that byte's replacement character stands in `text`."""
    byte_order_mark: bool = False
    """The file began with a UTF-8 byte order mark, which `text` leaves out (YAML parsers skip it; env readers do not)."""
    secret_spans: list[tuple[int, int, int]] = field(default_factory=list)
    """(line, first column, column after the end), 1-based, of secret values in this file."""
    secret_values: set[str] = field(default_factory=set)
    line_break: re.Pattern = field(default=LINE_BREAK, repr=False)
    """Where lines end: LF, CRLF or a lone CR, as editors count them; `MINIO_LINE_BREAK` for env files."""
    first_line: int = 1
    first_column: int = 1
    """Where the content begins: what a finding about the whole file points at. A value of a Kubernetes manifest
    linted in place begins where it stands in the manifest, not at the manifest's `apiVersion`."""
    _lines: list[str] | None = field(default=None, repr=False)
    _private_key_lines: frozenset[int] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            # Not str.splitlines(): it also breaks at form feeds, \x1c-\x1e, \x85 and \u2028, which no
            # editor, CI annotation or env reader counts, and every line number after one would be off.
            # (YAML parsers do break at \x85, \u2028 and \u2029: yamldoc maps their positions to these lines.)
            lines = self.line_break.split(self.text)
            self._lines = lines[:-1] if lines[-1] == "" else lines
        return self._lines

    @property
    def undecodable_line(self) -> int:
        """The line of the first byte that is not UTF-8, numbered as `lines` numbers them (1 without one)."""
        if self.undecodable_char is None:
            return 1
        return len(self.line_break.findall(self.text, 0, self.undecodable_char)) + 1

    def number_lines_as(self, line_break: re.Pattern) -> None:
        """Count lines as the file's consumer does, so findings, frames and masked spans agree with it."""
        if line_break is not self.line_break:
            self.line_break, self._lines, self._private_key_lines = line_break, None, None

    def __post_init__(self) -> None:
        # A key pasted into a config value (`tls.key: |` followed by the PEM) reaches messages as that
        # value: its base64 must be redacted wherever it appears, not only masked in code frames.
        if "PRIVATE KEY" in self.text:
            for number in self.private_key_lines:
                self.secret_values.update(_KEY_MATERIAL.findall(self.lines[number - 1].replace("\\n", " ")))

    def mark_secret(self, line: int, column: int, end_column: int, value: str) -> None:
        self.secret_spans.append((line, column, end_column))
        if value:
            self.secret_values.add(value)

    def mark_secret_region(self, line: int, column: int, end_line: int, end_column: int, value: str) -> None:
        """A secret that may span lines: from (`line`, `column`) to just before (`end_line`, `end_column`)."""
        for number in range(line, end_line + 1):
            text = self.lines[number - 1] if number <= len(self.lines) else ""
            self.mark_secret(number, column if number == line else 1,
                             end_column if number == end_line else len(text) + 1, value)

    @property
    def private_key_lines(self) -> frozenset[int]:
        """Lines inside a PEM private key block, wherever it appears: never shown."""
        if self._private_key_lines is None:
            inside, found = False, set()
            for number, line in enumerate(self.lines, start=1):
                if "-----BEGIN" in line and "PRIVATE KEY" in line:
                    inside = True
                if inside:
                    found.add(number)
                if "-----END" in line:
                    inside = False
            self._private_key_lines = frozenset(found)
        return self._private_key_lines

    def display_line(self, number: int) -> str:
        """Line `number` (1-based) as it may be shown to a user: secrets masked."""
        if not 1 <= number <= len(self.lines):
            return ""
        if number in self.private_key_lines:
            return REDACTED
        text = self.lines[number - 1]
        for line, start, end in sorted(self.secret_spans, key=lambda s: -s[1]):
            if line == number and start <= len(text) + 1:
                text = text[: start - 1] + REDACTED + text[max(end - 1, start - 1) :]
        return text

    def display_column(self, number: int, column: int, *, end: bool = False) -> int:
        """Where `column` of line `number` lands in `display_line(number)`: masks are not as wide as what they
        hide. A column inside a masked span lands on the mask's first column (`end`, an exclusive end column:
        just after the mask)."""
        if not 1 <= number <= len(self.lines):
            return column
        if number in self.private_key_lines:
            return len(REDACTED) + 1 if end else 1
        width = len(self.lines[number - 1])
        for line, start, stop in sorted(self.secret_spans, key=lambda s: -s[1]):
            if line != number or start > width + 1:
                continue
            stop = max(stop, start)
            hidden = min(stop, width + 1) - start
            if column >= stop:
                column += len(REDACTED) - hidden
            elif column > start or (column == start and not end):
                column = start + len(REDACTED) if end else start
            width += len(REDACTED) - hidden
        return column


def display_path(path: Path) -> Path:
    """Paths are shown relative to the working directory when they lie below it. (Compared as text: a batch outside
    the working directory made `relative_to` raise for every file, and a fresh `Path.cwd()` each time costs too.)"""
    absolute = path if path.is_absolute() else path.absolute()
    text, cwd = str(absolute), os.getcwd()
    if text == cwd:
        return Path(".")
    below = cwd.rstrip("/") + "/"
    rest = text[len(below):]
    return Path(rest) if text.startswith(below) and not rest.startswith("/") else absolute  # `//x` has its own root


@functools.cache
def _kernel_file_systems() -> frozenset[int]:
    """The devices of /proc and /sys: their files describe processes and the kernel (a process's environment among
    them), whatever path or link leads to them."""
    found = set()
    for mount in ("/proc", "/sys"):
        try:
            found.add(os.stat(mount).st_dev)
        except OSError:
            continue
    return frozenset(found)


def same_file(path: Path | str, other: Path | str) -> bool:
    """Whether both name one existing file (links and `..` followed); False when either cannot be looked at."""
    try:
        return os.path.samefile(path, other)
    except (OSError, ValueError):
        return False


def work_tree(path: Path) -> Path | None:
    """The git work tree holding `path` (pre-commit runs hooks at its top), or None."""
    for directory in (path.parent, *path.parent.parents):
        if (directory / ".git").exists():
            return directory
    return None


def in_tree_of(path: Path, anchor: Path) -> bool:
    """Whether `path` lies in the tree `anchor` comes from: its git work tree, else its directory (symbolic links
    resolved). A file there is the inputs' own. Any other file that a unit, Compose file, manifest or settings file
    names (`--config /etc/shadow` in a unit of an untrusted pull request, a Compose bind mount of `~/.aws/credentials`)
    may be any file of the machine running kescheck: it is read only when its content shows a KES config or MinIO env
    file, and the values it gives are masked (`envfile.may_be_credential`)."""
    if anchor == Path("<stdin>"):
        return False
    top = work_tree(anchor.absolute()) or anchor.absolute().parent
    return _resolved(path).is_relative_to(_resolved(top))


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def check_readable_file(path: Path, limit: int = MAX_FILE_BYTES) -> os.stat_result:
    """Refuse what is not a regular file before opening it: a FIFO would block forever."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file or directory") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as err:
        raise InputError(path, err.strerror or str(err)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not a regular file (a FIFO, socket or device is never read)")
    if info.st_dev in _kernel_file_systems():
        # `EnvironmentFile=/proc/self/environ` in a unit of a repository would print the environment of the CI job.
        raise InputError(path, "a file of the kernel's /proc or /sys, never a configuration file (it is not read)")
    if info.st_size > limit:
        raise InputError(path, f"{info.st_size} bytes is larger than the {limit // (1024 * 1024)} MiB limit for "
                               f"{_kind_of_file(limit)}")
    return info


def _kind_of_file(limit: int) -> str:
    return "a configuration file" if limit == MAX_FILE_BYTES else "this file"


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them (an InputError otherwise)."""
    check_readable_file(path, limit)
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, open() must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory") from None
    except OSError as err:
        raise InputError(path, err.strerror or str(err)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(path, "not a regular file")
        # Plain os.read of the size fstat gives, plus one byte to see a file that grew, until the end of the file (a
        # network or FUSE file system may read short before it): a buffered reader asked for the whole limit
        # allocated and released 4 MiB per file, and made three more system calls.
        chunks: list[bytes] = []
        wanted = min(info.st_size, limit) + 1
        total = 0
        while total <= limit:
            chunk = os.read(fd, wanted if not chunks else 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise InputError(path, err.strerror or str(err)) from None
    finally:
        os.close(fd)
    if total > limit:
        raise InputError(path, f"larger than the {limit // (1024 * 1024)} MiB limit for {_kind_of_file(limit)}")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def looks_like_pem(data: bytes) -> bool:
    return data.lstrip()[:11] == b"-----BEGIN "


def decode(path: Path, data: bytes) -> SourceFile:
    try:
        text = data.decode("utf-8")
        bad = bad_char = None
    except UnicodeDecodeError as err:
        text = data.decode("utf-8", errors="replace")
        bad = err.start
        bad_char = len(data[:bad].decode("utf-8"))  # everything before the first bad byte decodes
    byte_order_mark = text.startswith("\ufeff")
    if byte_order_mark:
        text = text[1:]
        bad_char = None if bad_char is None else bad_char - 1
    return SourceFile(path=path, text=text, undecodable_at=bad, undecodable_char=bad_char,
                      byte_order_mark=byte_order_mark)


def read_source(path: Path, shown_as: Path | None = None) -> SourceFile:
    return decode(shown_as or display_path(path), read_bytes(path))
