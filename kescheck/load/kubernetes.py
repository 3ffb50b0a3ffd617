"""Kubernetes manifests: what they are, and which KES config or MinIO env file a Secret or ConfigMap holds.

A manifest is no KES server config, even when one of its values is: KES reads the mounted value, not the
manifest. This module only recognises a manifest and says where such values stand in it; it lints nothing.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .envfile import looks_like_minio_env
from .kesconfig import looks_like_kes_config, looks_like_kes_keys
from .source import LINE_BREAK, SourceFile
from .yamldoc import _Positions, parse_yaml

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

    @property
    def setting(self) -> str:
        return f"{self.field}.{self.key}"

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
            return (f"{what}, and no Secret or ConfigMap in it holds either: linted as a KES config, each of its keys "
                    "would be a finding and none of them true. Lint the file KES reads (`kes server --config FILE`) "
                    "or MinIO's env file instead")
        found = "; ".join(e.describe() for e in self.embedded)
        select = len(self.objects) > 1
        commands = ", ".join(f"`{e.extraction(manifest_path, select)}`" for e in self.embedded[:3])
        each = "that value" if len(self.embedded) == 1 else "each value"
        return (f"{what}: KES and MinIO read the value mounted from it, not the manifest. It holds {found}. "
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


def _scalar_entries(mapping, scalar_node, mapping_node):
    if not isinstance(mapping, mapping_node):
        return
    for key, value in mapping.value:
        if isinstance(key, scalar_node):
            yield str(key.value), key, value


def _template(text: str) -> Manifest | None:
    kinds = list(_TOP_LEVEL_KIND.finditer(text))
    if not kinds or not _TOP_LEVEL_API_VERSION.search(text):
        return None
    objects = tuple(K8sObject(m[1], "", len(LINE_BREAK.findall(text, 0, m.start())) + 1) for m in kinds)
    return Manifest(objects, (), parsed=False)


def kubernetes_manifest(text: str) -> Manifest | None:
    """The Kubernetes objects of `text` when some document of it has top-level `apiVersion` and `kind` and
    none looks like a KES config (a broken KES config in two documents stays a KES config); else None."""
    if not all(pattern.search(text) for pattern in _MAYBE):
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    positions = _Positions(text)
    try:
        documents = list(YAML(typ="safe", pure=True).compose_all(text))
    except (YAMLError, ValueError, TypeError, RecursionError):
        return _template(text)
    objects: list[K8sObject] = []
    embedded: list[EmbeddedFile] = []
    for document in documents:
        entries = {name: (key, value) for name, key, value in _scalar_entries(document, ScalarNode, MappingNode)}
        if looks_like_kes_keys(set(entries)):
            return None
        kind, api_version = entries.get("kind"), entries.get("apiVersion")
        if kind is None or api_version is None or not isinstance(kind[1], ScalarNode):
            continue
        metadata = {n: v for n, _, v in _scalar_entries(entries.get("metadata", (None, None))[1], ScalarNode,
                                                        MappingNode)}
        name = metadata.get("name")
        owner = K8sObject(str(kind[1].value), str(name.value) if isinstance(name, ScalarNode) else "",
                          positions(kind[0].start_mark)[0])
        objects.append(owner)
        for field, encoded in _VALUE_FIELDS.get(owner.kind, ()):
            values = entries.get(field, (None, None))[1]
            for key_text, key, value in _scalar_entries(values, ScalarNode, MappingNode):
                content = _value_text(str(value.value), encoded) if isinstance(value, ScalarNode) else None
                what = _embedded_kind(content, key_text) if content else None
                if what is not None:
                    line, column = positions(key.start_mark)
                    embedded.append(EmbeddedFile(owner, field, key_text, line, column, encoded, what))
    if not objects:
        return None
    return Manifest(tuple(objects), tuple(embedded), parsed=True)
