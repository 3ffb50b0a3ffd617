"""The JSON Schemas of the KES config generations, shipped in `schemas/`."""
from __future__ import annotations

import json
import re
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


_PATH_PART = re.compile(r"\[\d+\]|[^.\[]+")


def path_parts(path: str) -> tuple:
    """A dotted path as `subschema_at` takes it: `policy.p.identities[0]` -> ("policy", "p", "identities", 0)."""
    return tuple(int(part[1:-1]) if part.startswith("[") else part for part in _PATH_PART.findall(path))


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


# Keywords that only describe: they never make an instance invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "examples", "x-kes-refusal"})
_TYPE_TESTS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


_PLAIN_TYPES = {"object": dict, "array": list, "string": str, "null": type(None)}


def _type_check(kinds: list[str]):
    """One isinstance test when every kind is a plain Python type (`["object", "null"]`, most of the schemas' lists);
    JSON's booleans and numbers need the tests above, as Python's bool is an int."""
    if all(kind in _PLAIN_TYPES for kind in kinds):
        types = tuple(_PLAIN_TYPES[kind] for kind in kinds)
        return lambda value: isinstance(value, types)
    return _any_of([_TYPE_TESTS[kind] for kind in kinds])


class UnsupportedSchema(Exception):
    """The schema uses a keyword the compiled check does not implement; jsonschema alone decides."""


def _same_json_value(one, two) -> bool:
    """JSON equality as jsonschema's `enum` applies it: `true` is not `1`."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


def _compile(schema, root: dict, refs: dict):
    """A predicate equal to jsonschema's `is_valid` for this (sub)schema, for the keywords that
    kescheck's own schemas use; anything else raises UnsupportedSchema."""
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    unknown = set(schema) - _ANNOTATIONS - {"type", "enum", "minLength", "pattern", "properties", "additionalProperties",
                                             "required", "dependentRequired", "propertyNames", "items", "anyOf", "$ref"}
    if unknown:
        raise UnsupportedSchema(", ".join(sorted(unknown)))
    checks = []
    if "$ref" in schema:
        reference = schema["$ref"]
        if not reference.startswith("#/"):
            raise UnsupportedSchema(reference)
        if reference not in refs:
            refs[reference] = None  # a recursive reference resolves once the target is compiled
            target = root
            for step in reference[2:].split("/"):
                target = target[step]
            refs[reference] = _compile(target, root, refs)
        checks.append(lambda value, reference=reference: refs[reference](value))
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        checks.append(_type_check(kinds))
    if "enum" in schema:
        allowed = schema["enum"]
        checks.append(lambda value: any(_same_json_value(value, choice) for choice in allowed))
    if "minLength" in schema:
        least = schema["minLength"]
        checks.append(lambda value: not isinstance(value, str) or len(value) >= least)
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda value: not isinstance(value, str) or search(value) is not None)
    if "anyOf" in schema:
        checks.append(_any_of([_compile(branch, root, refs) for branch in schema["anyOf"]]))
    if "items" in schema:
        item = _compile(schema["items"], root, refs)
        checks.append(lambda value: not isinstance(value, list) or all(item(each) for each in value))
    object_checks = _object_checks(schema, root, refs)
    if object_checks:
        object_valid = _all_of(object_checks)
        checks.append(lambda value: not isinstance(value, dict) or object_valid(value))
    return _all_of(checks)


def _all_of(checks: list):
    if len(checks) == 1:
        return checks[0]

    def all_pass(value) -> bool:
        for check in checks:  # a plain loop: a generator per call costs more than the checks themselves
            if not check(value):
                return False
        return True

    return all_pass


def _any_of(checks: list):
    if len(checks) == 1:
        return checks[0]

    def one_passes(value) -> bool:
        for check in checks:
            if check(value):
                return True
        return False

    return one_passes


def _object_checks(schema: dict, root: dict, refs: dict) -> list:
    checks = []
    known = {name: _compile(sub, root, refs) for name, sub in schema.get("properties", {}).items()}
    other = _compile(schema["additionalProperties"], root, refs) if "additionalProperties" in schema else None

    def members_valid(value: dict) -> bool:
        for name, member in value.items():
            check = known.get(name, other)
            if check is not None and not check(member):
                return False
        return True

    if known or other is not None:
        checks.append(members_valid)
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda value: all(name in value for name in required))
    if "dependentRequired" in schema:
        dependent = [(name, tuple(needed)) for name, needed in schema["dependentRequired"].items()]
        checks.append(lambda value: all(name not in value or all(n in value for n in needed) for name, needed in dependent))
    if "propertyNames" in schema:
        name_check = _compile(schema["propertyNames"], root, refs)
        checks.append(lambda value: all(name_check(name) for name in value))
    return checks


@lru_cache(maxsize=None)
def quick_check(generation: str):
    """A predicate that tells, much faster than jsonschema, whether an instance is valid for `generation`;
    jsonschema (`validator`) explains the errors of an invalid one. None when the schema uses a keyword
    the predicate does not implement."""
    schema = load_schema(generation)
    try:
        return _compile(schema, schema, {})
    except UnsupportedSchema:
        return None
