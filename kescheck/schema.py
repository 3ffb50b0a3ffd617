"""The JSON Schemas of the KES config generations, shipped in `schemas/`."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_FILES = {"G0": "kes-config-g0.schema.json", "G1": "kes-config-g1.schema.json", "G2": "kes-config-g2.schema.json"}
REPORT_SCHEMA = "kescheck-report.schema.json"


def schema_dir() -> Path:
    """`schemas/` beside the package in a checkout; `kescheck/schemas` when installed from a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("kescheck's schemas directory is missing from this installation")


def schema_text(generation: str) -> str:
    return (schema_dir() / SCHEMA_FILES[generation.upper()]).read_text("utf-8")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    file = SCHEMA_FILES.get(name.upper(), name)
    return json.loads((schema_dir() / file).read_text("utf-8"))


@lru_cache(maxsize=None)
def validator(generation: str):
    """A compiled validator for `G0`, `G1` or `G2`, built once per process."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(generation))


def subschema_at(generation: str, parts: tuple) -> dict | None:
    """The schema that applies to the value at `parts` (keys and list indexes), or None if the path is unknown.

    Follows properties, additionalProperties, items, local `$ref`s and the branches of `anyOf`
    (the first branch that knows the path wins).
    """
    root = load_schema(generation)

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            target = root
            for step in node["$ref"].lstrip("#/").split("/"):
                target = target[step]
            node = target
        return node

    def descend(node, rest):
        node = resolve(node)
        if not isinstance(node, dict):
            return None
        if not rest:
            return node
        for branch in node.get("anyOf", ()):
            found = descend(branch, rest)
            if found is not None:
                return found
        head, tail = rest[0], rest[1:]
        if isinstance(head, int):
            return descend(node["items"], tail) if isinstance(node.get("items"), dict) else None
        if head in node.get("properties", {}):
            return descend(node["properties"][head], tail)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return descend(extra, tail)
        return None

    return descend(root, tuple(parts))
