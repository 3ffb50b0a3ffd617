"""Kubernetes manifests: what they are, and which KES config or MinIO env file a Secret or ConfigMap holds.

A manifest is no KES server config, even when one of its values is: KES reads the mounted value, not the
manifest. This module recognises a manifest, says where such values stand in it, and gives the text of a value
written as a literal block (`config.yaml: |`) so that it can be linted in place: the value's lines where they stand
in the manifest, with the block's indentation, and blank lines before them. Both YAML and MinIO's and systemd's
env readers ignore the blank lines and the indentation, so every line and column of a finding in that text is the
line and column in the manifest. It lints nothing itself.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .containers import ContainerReader, Containers
from .envfile import looks_like_minio_env, sets_minio_variables
from .kesconfig import looks_like_kes_config, looks_like_kes_keys, may_be_kes_config
from .source import LINE_BREAK, SourceFile
from .yamldoc import _Positions, parse_yaml, without_anchor_warnings

_MAYBE = (re.compile(r"""apiVersion["']?[ \t]*:"""), re.compile(r"""kind["']?[ \t]*:"""))
"""Both must occur somewhere in the text before it is composed: most files are settled by these two searches."""
_TOP_LEVEL_KIND = re.compile(r"^kind[ \t]*:[ \t]*[\"']?([A-Za-z][A-Za-z0-9]*)", re.MULTILINE)
_TOP_LEVEL_API_VERSION = re.compile(r"^apiVersion[ \t]*:", re.MULTILINE)

# Where each kind keeps its values, and whether they are base64 there.
_VALUE_FIELDS = {"Secret": (("stringData", False), ("data", True)),
                 "ConfigMap": (("data", False), ("binaryData", True))}


@dataclass(frozen=True)
class K8sObject:
    kind: str
    name: str
    """`metadata.name`, or empty."""
    line: int
    """Of its `kind:` key."""

    def label(self) -> str:
        return f"{self.kind} '{self.name}'" if self.name else self.kind


@dataclass(frozen=True)
class EmbeddedFile:
    """A value of a Secret or ConfigMap that is a KES config or a MinIO env file."""

    owner: K8sObject
    field: str
    """`stringData`, `data` or `binaryData`."""
    key: str
    line: int
    column: int
    """Of the key in the manifest."""
    base64: bool
    what: str
    """`kes` or `env`."""
    in_place: str | None = field(default=None, repr=False, compare=False)
    """The value as it can be linted in place (see the module's text), or None when it is not a literal block whose
    lines, less the block's indentation, are exactly the value (base64, quoted, folded, ...)."""
    first_line: int = 0
    first_column: int = 0
    last_line: int = 0
    """Where the value's text stands in the manifest, when `in_place` is set."""

    @property
    def setting(self) -> str:
        return f"{self.field}.{self.key}"

    def place(self) -> str:
        """Which value, and the manifest lines it stands on: "stringData.config.yaml of Secret 'kes', lines 9-30"."""
        return f"{self.setting} of {self.owner.label()}, lines {self.first_line}-{self.last_line}"

    def describe(self) -> str:
        what = "a KES config" if self.what == "kes" else "a MinIO env file"
        encoded = " (base64)" if self.base64 else ""
        return f"{what} under {self.setting}{encoded} of {self.owner.label()} (line {self.line}, column {self.column})"

    def extraction(self, manifest_path: str, select: bool) -> str:
        """A command that lints the value as it is mounted: `yq` (the jq-based one and mikefarah's v4 read the
        expression alike) prints it, `kescheck lint -` reads it. No file is written, so none is overwritten."""
        expression = f".{self.field}.{json.dumps(self.key)}"
        if self.base64:
            expression += " | @base64d"
        if select:
            condition = f".kind == {json.dumps(self.owner.kind)}"
            if self.owner.name:
                condition += f" and .metadata.name == {json.dumps(self.owner.name)}"
            expression = f"select({condition}) | {expression}"
        source = f" {shlex.quote(manifest_path)}" if manifest_path else ""
        return f"yq -r {shlex.quote(expression)}{source} | kescheck lint -"


@dataclass(frozen=True)
class Manifest:
    objects: tuple[K8sObject, ...]
    embedded: tuple[EmbeddedFile, ...]
    parsed: bool
    """False when the text does not parse as YAML (a Helm template, or a YAML error) and only its top-level
    `apiVersion` and `kind` lines tell what it is."""
    containers: Containers = field(default_factory=Containers)
    """The containers of its workloads that run `kes server`, and the environments of MinIO's that hold KMS
    settings."""

    def linted_in_place(self) -> EmbeddedFile | None:
        """The value linted where it stands: the manifest's only KES config or env file, written as a literal block.
        With several, or with one kescheck cannot place line by line, the refusal says how to lint each."""
        if len(self.embedded) == 1 and self.embedded[0].in_place is not None:
            return self.embedded[0]
        return None

    def refusal(self, manifest_path: str) -> str:
        """Why the file is not linted, and what to lint instead. `manifest_path` is empty for standard input."""
        shown = [o.label() for o in self.objects[:3]]
        if len(self.objects) > 3:
            shown.append(f"{len(self.objects) - 3} more")
        what = (f"a Kubernetes manifest{'' if self.parsed else ' or template'} ({', '.join(shown)}), not a KES server "
                "config or MinIO env file")
        if not self.parsed:
            lines = ", ".join(str(o.line) for o in self.objects)
            return (f"{what}: its top-level `kind` is at line {lines}, and it does not parse as YAML as it stands (a "
                    "template, or a YAML error). Render it (e.g. `helm template`) or correct it, and lint the KES "
                    "config or MinIO env file it holds as a file of its own")
        if not self.embedded:
            return (f"{what}, no Secret or ConfigMap in it holds either, and none of its containers runs `kes server`: "
                    "linted as a KES config, each of its keys would be a finding and none of them true. Lint the file "
                    "KES reads (`kes server --config FILE`) or MinIO's env file instead")
        found = "; ".join(e.describe() for e in self.embedded)
        select = len(self.objects) > 1
        commands = ", ".join(f"`{e.extraction(manifest_path, select)}`" for e in self.embedded[:3])
        each = "that value" if len(self.embedded) == 1 else "each value"
        why = ("several values, which kescheck lints in place only one at a time" if len(self.embedded) > 1 else
               "a value that is not a literal block (`key: |`), whose lines kescheck cannot place in the manifest")
        return (f"{what}: KES and MinIO read the value mounted from it, not the manifest. It holds {found}: {why}. "
                f"Lint {each} on its own: {commands} (or save it as a file and lint that)")


def _value_text(value: str, encoded: bool) -> str | None:
    if not encoded:
        return value
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _embedded_kind(text: str, key: str) -> str | None:
    if looks_like_kes_config(parse_yaml(SourceFile(Path(key), text))):
        return "kes"
    if looks_like_minio_env(text):
        return "env"
    return None


def _in_place(text_lines: list[str], indicator_line: int, value: str) -> tuple[str, int, int, int] | None:
    """(text to lint, first line, its column, last line) of a literal block value whose indicator (`|`) stands on
    `indicator_line`; None unless the manifest's lines after it, less one indentation, are exactly the value."""
    wanted = value.split("\n")
    if value.endswith("\n"):
        wanted.pop()
    region = text_lines[indicator_line:indicator_line + len(wanted)]
    first = next((line for line in region if line.strip(" ")), None)
    if not wanted or len(region) != len(wanted) or first is None:
        return None
    indent = len(first) - len(first.lstrip(" "))
    for line, expected in zip(region, wanted):
        if line[:indent].strip(" ") or line[indent:] != expected and (expected or line.strip(" ")):
            return None
    text = "\n" * indicator_line + "\n".join(region) + "\n"
    return text, indicator_line + 1, indent + 1, indicator_line + len(region)


def _template(text: str) -> Manifest | None:
    kinds = list(_TOP_LEVEL_KIND.finditer(text))
    if not kinds or not _TOP_LEVEL_API_VERSION.search(text):
        return None
    objects = tuple(K8sObject(m[1], "", len(LINE_BREAK.findall(text, 0, m.start())) + 1) for m in kinds)
    return Manifest(objects, (), parsed=False)


def may_hold_a_config(text: str) -> bool:
    """Whether `text` may be a manifest holding a KES config or MinIO env file: searches that settle most of the
    YAML a directory walk finds without composing it."""
    return all(pattern.search(text) for pattern in _MAYBE) and (may_be_kes_config(text) or sets_minio_variables(text))


def kubernetes_manifest(source: SourceFile) -> Manifest | None:
    """The Kubernetes objects of the file when some document of it has top-level `apiVersion` and `kind` and
    none looks like a KES config (a broken KES config in two documents stays a KES config); else None."""
    text = source.text
    if not all(pattern.search(text) for pattern in _MAYBE):
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import ScalarNode

    positions = _Positions(text)
    text_lines = LINE_BREAK.split(text)
    try:
        with without_anchor_warnings():
            documents = list(YAML(typ="safe", pure=True).compose_all(text))
    except (YAMLError, ValueError, TypeError, RecursionError):
        return _template(text)
    objects: list[K8sObject] = []
    embedded: list[EmbeddedFile] = []
    containers = Containers()
    reader = ContainerReader(source, positions)
    documents = reader.objects_of(documents)
    reader.read_config_objects(documents)
    for document in documents:
        entries = reader.entries(document)
        if looks_like_kes_keys(set(entries)):
            return None
        kind, api_version = entries.get("kind"), entries.get("apiVersion")
        if kind is None or api_version is None or not isinstance(kind[1], ScalarNode):
            continue
        name = reader.entries(entries.get("metadata", (None, None))[1]).get("name", (None, None))[1]
        owner = K8sObject(str(kind[1].value), str(name.value) if isinstance(name, ScalarNode) else "",
                          positions(kind[0].start_mark)[0])
        objects.append(owner)
        containers.kes += reader.workload(entries, owner.label(), owner.kind)
        if owner.kind == "Tenant" and str(api_version[1].value).startswith("minio.min.io/"):
            containers.kes += [tenant for tenant in [reader.tenant(entries, owner.label())] if tenant is not None]
        for field_name, encoded in _VALUE_FIELDS.get(owner.kind, ()):
            values = entries.get(field_name, (None, None))[1]
            for key_text, key, value in reader.pairs(values):
                content = _value_text(str(value.value), encoded) if isinstance(value, ScalarNode) else None
                what = _embedded_kind(content, key_text) if content else None
                if what is not None:
                    line, column = positions(key.start_mark)
                    lines = None
                    if not encoded and value.style == "|":
                        lines = _in_place(text_lines, positions(value.start_mark)[0], content)
                    embedded.append(EmbeddedFile(owner, field_name, key_text, line, column, encoded, what,
                                                 *(lines or (None, 0, 0, 0))))
    if not objects:
        return None
    containers.minio, containers.object_files = reader.minio, reader.object_files
    return Manifest(tuple(objects), tuple(embedded), parsed=True, containers=containers)
