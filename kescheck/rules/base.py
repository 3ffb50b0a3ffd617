"""What a rule is, and the few helpers rules use to point at the thing they found."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..findings import Finding, Location, Severity
from ..load.envfile import EnvEntry, EnvFile
from ..load.source import SourceFile
from ..load.yamldoc import YNode
from ..model import Deployment


KES_EXAMPLE_FILE = "kes-config.yaml"
ENV_EXAMPLE_FILE = "minio.env"


@dataclass(frozen=True)
class Example:
    """A documented input that the test suite runs: the rule must fire iff `fails`.

    `files` is a small deployment directory: (file name, text) pairs.
    """

    files: tuple[tuple[str, str], ...]
    fails: bool
    note: str = ""
    options: tuple[tuple[str, object], ...] = ()
    """`Options` fields the example runs with, e.g. (("require_files", True),) for `--require-files`."""

    @classmethod
    def kes(cls, text: str, fails: bool, note: str = "", options: tuple[tuple[str, object], ...] = ()) -> "Example":
        return cls(((KES_EXAMPLE_FILE, text),), fails, note, options)

    @classmethod
    def env(cls, text: str, fails: bool, note: str = "", options: tuple[tuple[str, object], ...] = ()) -> "Example":
        return cls(((ENV_EXAMPLE_FILE, text),), fails, note, options)


@dataclass(frozen=True)
class DoctorScenario(Example):
    """A documented `kescheck doctor` run that the test suite performs against a KES stand-in on loopback.

    `files` holds MinIO's env file (`minio.env`, given as --minio-env) and/or a KES config
    (`kes-config.yaml`, given as --kes-config), MinIO's systemd unit (`minio.service`, given as --minio-unit), plus
    the certificates they name; `${port}` in them is the port the scenario's server listens on, `${dir}` the
    scenario's directory. `server` says, in words of DOCTOR_SERVER_WORDS, what listens
    there and how it behaves. `options` are `DoctorOptions` fields (e.g. `insecure`, `timeout`).
    """

    server: str = "kes"
    not_runnable: str = ""
    """Why this scenario cannot be performed on a test host (empty: the tests perform it)."""


DOCTOR_SERVER_WORDS = {
    "kes": "a KES server on 127.0.0.1:${port} (the default)",
    "cert=FILE": "its TLS certificate (the key beside it); default kes.crt",
    "policy=minio": "MinIO's identity is in a policy that allows the MinIO API on minio-* keys (the default)",
    "policy=none": "no policy names MinIO's identity",
    "policy=admin": "MinIO's identity is KES's admin identity",
    "keys=none": "the key minio-default-key does not exist (by default it does)",
    "keystore=down": "the keystore behind KES (Vault, a cloud KMS) is unreachable",
    "none": "the scenario probes no port of a test server (${port} is then a port nothing listens on)",
    "refused": "nothing listens on ${port}",
    "silent": "something accepts TCP connections on ${port} and never answers",
    "plain-http": "an HTTP server without TLS listens on ${port}",
    "web-server": "an HTTPS web server that is not KES listens on ${port}, with the certificate of cert=FILE",
    "kes-binary=plain": "a `kes` binary on PATH without file capabilities",
    "kes-binary=cap_ipc_lock": "a `kes` binary on PATH with cap_ipc_lock=ep",
}
"""The vocabulary of `DoctorScenario.server`: words separated by spaces."""


@dataclass(frozen=True)
class Rule:
    code: str
    """Stable: family prefix plus number, e.g. KES101."""
    name: str
    """Stable kebab-case name, e.g. `unknown-key`."""
    severity: Severity
    title: str
    rationale: str
    fix: str
    check: Callable[[Deployment], Iterable[Finding]] = field(compare=False, repr=False)
    security_severity: float | None = None
    """CVSS-like 0-10 score for security rules (GitHub code scanning ranks by it)."""
    examples: tuple[Example, ...] = ()
    doctor: bool = False
    """Produced by live probes, not run by the lint engine."""

    @property
    def family(self) -> str:
        return self.code.rstrip("0123456789")


REGISTRY: list[Rule] = []


def rule(code: str, name: str, severity: Severity, title: str, *, rationale: str, fix: str,
         security_severity: float | None = None, examples: Iterable[Example] = ()):
    """Register the decorated `check(deployment)` generator as a rule."""

    def register(check: Callable[[Deployment], Iterable[Finding]]):
        REGISTRY.append(Rule(code, name, severity, title, " ".join(rationale.split()), " ".join(fix.split()),
                             check, security_severity, tuple(examples)))
        return check

    return register


def declare(code: str, name: str, severity: Severity, title: str, *, rationale: str, fix: str,
            security_severity: float | None = None, examples: Iterable[DoctorScenario] = ()) -> Rule:
    """A rule whose findings come from somewhere other than the lint engine (the doctor's probes)."""
    declared = Rule(code, name, severity, title, " ".join(rationale.split()), " ".join(fix.split()),
                    lambda deployment: (), security_severity, tuple(examples), doctor=True)
    REGISTRY.append(declared)
    return declared


def at_node(source: SourceFile, node: YNode, message: str, *, fix: str | None = None, anchor: str | None = None,
            related: tuple[Location, ...] = ()) -> Finding:
    return Finding(
        Location(source.path, node.line, node.column, node.end_line, node.end_column),
        message, fix=fix, anchor=node.path if anchor is None else anchor, related=related,
    )


def text_anchor(kind: str, text: str) -> str:
    """An anchor for a finding about a line that has no name to go by: a digest of the line's text, which moving or
    inserting lines does not change (a baseline keys on anchors) and which shows nothing of a pasted secret."""
    import hashlib

    return f"{kind}:{hashlib.sha256(text.strip().encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


def at_line(source: SourceFile, line: int, column: int, message: str, *, fix: str | None = None, anchor: str = "",
            end_column: int | None = None) -> Finding:
    return Finding(Location(source.path, max(1, line), max(1, column), max(1, line) if end_column else None, end_column),
                   message, fix=fix, anchor=anchor)


def at_entry(env: EnvFile, entry: EnvEntry, message: str, *, fix: str | None = None, on_value: bool = True,
             related: tuple[Location, ...] = (), source: SourceFile | None = None) -> Finding:
    """`source`: the file the entry stands in when it is not the env file's own (a word of MinIO's unit)."""
    if on_value:
        column, end = entry.value_column, entry.value_end_column
    else:
        column, end = entry.name_column, entry.name_column + len(entry.name)
    return Finding(Location((source or env.source).path, entry.line, column, entry.line, max(end, column + 1)),
                   message, fix=fix, anchor=entry.name.strip(), related=related)


def at_file(source: SourceFile, message: str, *, fix: str | None = None, anchor: str = "") -> Finding:
    """A finding about the whole file, at the start of its content."""
    return Finding(Location(source.path, source.first_line, source.first_column), message, fix=fix, anchor=anchor)


def at_environment(env, message: str, *, anchor: str = "") -> Finding:
    """A finding about MinIO's environment as a whole: at the start of its env file, or at a container's
    `environment:` or `env:` key."""
    if env.position is None:
        return at_file(env.source, message, anchor=anchor)
    line, column = env.position
    return Finding(Location(env.source.path, line, column), message, anchor=anchor)
