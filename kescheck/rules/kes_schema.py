"""KES010-KES019: the KES config checked against the JSON Schema of its generation (schemas/).

The schema owns the shape of the file: unknown keys, value types, allowed values and keys
that must be present. Conditions that need more than one value (the same identity twice, two
keystores, ...) belong to kes_refusals.py; keys that exist in another generation belong to
kes_generation.py, so no problem is reported twice.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..findings import Severity
from ..load.kesconfig import (LOG_LEVELS_SINCE, Generation, KesConfig, as_released, env_reference, is_edge_g1,
                              is_secret_path, predates, reads_key, reads_singular_identity, rejects_unknown_keys)
from ..load.yamldoc import YMap, YNode, YScalar, YSeq
from ..model import Deployment
from ..material import HIDDEN, kes_resolved, shown_value, substitution_note
from ..schema import path_parts, quick_check, subschema_at, validator
from .base import Example, at_file, at_node, rule
from .kes_env import substituted_references


@dataclass(frozen=True)
class SchemaProblem:
    kind: str
    """`unknown-key`, `type`, `value` or `missing`."""
    node: YNode | None
    """What to point at; None: the start of the file."""
    path: str
    """YAML path of the offending key or value, e.g. `policy.minio.identities[0]`."""
    what: str
    """The problem in words, never a bare JSON path."""
    refusal: str | None = None
    key: str = ""
    known_elsewhere: bool = False
    """For unknown keys: the key exists in another generation's schema."""
    suggestion: str = ""
    """For unknown keys: the closest known key at the same place."""


def instance_of(node: YNode | None):
    """The YAML tree as JSON values, scalars typed as a YAML 1.2 decoder types them."""
    if isinstance(node, YMap):
        return {key.text: instance_of(value) for key, value in node.entries}
    if isinstance(node, YSeq):
        return [instance_of(item) for item in node.items]
    if not isinstance(node, YScalar) or node.tag == "null":
        return None
    try:
        if node.tag == "bool":
            return node.text.strip().lower() == "true"
        if node.tag == "int":
            return int(node.text.replace("_", ""), 0)
        if node.tag == "float":
            number = float(node.text.replace("_", "").replace(".inf", "inf").replace(".nan", "nan"))
            return number if number == number and abs(number) != float("inf") else node.text
    except ValueError:
        return node.text
    return node.text


def _child(node: YNode | None, part) -> YNode | None:
    if isinstance(part, int):
        return node.items[part] if isinstance(node, YSeq) and part < len(node.items) else None
    return node.get(part) if isinstance(node, YMap) else None


def node_at(root: YNode | None, parts) -> YNode | None:
    node = root
    for part in parts:
        node = _child(node, part)
    return node


def key_node_at(root: YNode | None, parts) -> YNode | None:
    """The key scalar naming the value at `parts` (for list items: the item itself)."""
    if not parts:
        return None
    parent = node_at(root, parts[:-1])
    if isinstance(parent, YMap):
        return parent.key_node(parts[-1])
    return _child(parent, parts[-1])


def dotted(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe_value(node: YNode | None, path: str, instance) -> str:
    if isinstance(node, YMap) or isinstance(instance, dict):
        return "a mapping"
    if isinstance(node, YSeq) or isinstance(instance, list):
        return "a list"
    if instance is None or (isinstance(instance, str) and not instance.strip()):
        return "empty"
    if is_secret_path(path):
        return "a value kescheck does not show (a secret)"
    text = node.text if isinstance(node, YScalar) else str(instance)
    shown = text if len(text) <= 60 else text[:57] + "..."
    if isinstance(node, YScalar) and node.tag in ("int", "float"):
        return f"the number {shown}"
    if isinstance(node, YScalar) and node.tag == "bool":
        return f"the YAML boolean {shown}"
    if isinstance(node, YScalar) and node.quoted and shown.lower() in ("true", "false"):
        return f"the quoted text `{shown}` (not a YAML boolean)"
    return f"`{shown}`"


def _expected(schema: dict | None) -> str:
    if not schema:
        return "a different value"
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    description = schema.get("description", "").split(". ")[0].rstrip(".")
    if "object" in kinds:
        return "a mapping" + (f" ({description.lower()})" if description else "")
    if "array" in kinds:
        return "a list"
    if "pattern" in schema and "Go duration" in schema.get("description", ""):
        return "a Go duration text such as `30s` or `5m0s`"
    if "boolean" in kinds and "string" not in kinds:
        return "`true` or `false`"
    return "a single value" + (f" ({description[:1].lower() + description[1:]})" if description else "")


def _refusal(generation: str, parts) -> str | None:
    schema = subschema_at(generation, tuple(parts))
    return schema.get("x-kes-refusal") if schema else None


def _known_keys(generation: str, parts) -> list[str]:
    schema = subschema_at(generation, tuple(parts))
    return sorted(schema.get("properties", {})) if schema else []


def known_in_other_generation(generation: str, parts) -> list[str]:
    return [other.name for other in Generation if other.name != generation and subschema_at(other.name, tuple(parts)) is not None]


def _classify(error) -> tuple[str, object]:
    """(`type` or `value`, the error to describe) for an error that is not about keys."""
    if error.validator == "anyOf" and error.context:
        non_type = [e for e in error.context if e.validator != "type"]
        if not non_type:
            return "type", error
        deepest = max(non_type, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            return _classify(deepest)
        return "value", error
    if error.validator == "type":
        return ("missing" if error.instance is None else "type"), error
    return "value", error


def _contained_key(name: str, known: set[str]) -> list[str]:
    """The one known key a longer name starts or ends with (`certificate` -> `cert`, `client_auth` -> `auth`):
    too different for difflib, yet plainly what was meant."""
    lowered = name.lower()
    found = [key for key in known if len(key) >= 3 and (lowered.startswith(key) or lowered.endswith(key))]
    return found if len(found) == 1 else []


def schema_problems(config: KesConfig, generation: str) -> list[SchemaProblem]:
    root = config.doc.root
    if root is None:
        return []  # nothing parsed: KES001 reports why
    if isinstance(root, YScalar) and root.is_null:
        instance = {}  # `~` or a document of directives alone: decoded as no settings at all, like `{}`
    elif not isinstance(root, YMap):
        # Pointed at the file, not the value: a file of one value may be a token named as a config by mistake.
        what = "a list" if isinstance(root, YSeq) else "a single value"
        return [SchemaProblem("type", None, "", f"the file holds {what} at its top level, but KES expects a mapping of "
                                                "settings (`admin:`, `tls:`, `keystore:`, ...)",
                              "it cannot decode the file into its settings")]
    else:
        instance = instance_of(root)
    quick = quick_check(generation)
    if quick is not None and quick(instance):
        return []  # most configs are valid: jsonschema is needed only to explain what is wrong
    problems: list[SchemaProblem] = []
    for error in validator(generation).iter_errors(instance):
        parts = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(_known_keys(generation, parts))
            for name in error.instance:
                if name in known:
                    continue
                key_parts = parts + [name]
                elsewhere = known_in_other_generation(generation, key_parts)
                suggestion = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6) or _contained_key(name, known)
                where = f"under `{dotted(parts)}`" if parts else "at the top level"
                what = f"`{name}` is not a KES config key {where}"
                problems.append(SchemaProblem("unknown-key", key_node_at(root, key_parts), dotted(key_parts), what,
                                              key=name, known_elsewhere=bool(elsewhere),
                                              suggestion=suggestion[0] if suggestion else ""))
            continue
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    key_parts = parts + [name]
                    where = f"`{dotted(parts)}`" if parts else "the file"
                    problems.append(SchemaProblem(
                        "missing", key_node_at(root, parts), dotted(key_parts), f"{where} has no `{name}`",
                        _refusal(generation, key_parts) or _refusal(generation, parts), key=name))
            continue
        if error.validator == "dependentRequired" and isinstance(error.instance, dict):
            for present, needed in error.validator_value.items():
                for name in needed:
                    if present in error.instance and name not in error.instance:
                        problems.append(SchemaProblem(
                            "missing", key_node_at(root, parts + [present]), dotted(parts + [name]),
                            f"`{dotted(parts + [present])}` is set but `{dotted(parts + [name])}` is not",
                            _refusal(generation, parts + [name]), key=name))
            continue
        if "propertyNames" in error.relative_schema_path:
            node = node_at(root, parts)
            key = node.key_node(str(error.instance)) if isinstance(node, YMap) else None
            problems.append(SchemaProblem("value", key, dotted(parts + [str(error.instance)]),
                                          f"the name `{error.instance}` under `{dotted(parts)}` is not a valid KES name",
                                          _refusal(generation, parts)))
            continue
        kind, detail = _classify(error)
        detail_parts = list(detail.absolute_path)
        node = node_at(root, detail_parts)
        path = dotted(detail_parts)
        refusal = _refusal(generation, detail_parts) or _refusal(generation, parts)
        if kind == "missing":
            problems.append(SchemaProblem("missing", key_node_at(root, detail_parts) or node, path, f"`{path}` has no value", refusal))
        elif kind == "type":
            expected = _expected(subschema_at(generation, tuple(detail_parts)))
            problems.append(SchemaProblem("type", node, path, f"`{path}` is {_describe_value(node, path, detail.instance)}, "
                                                              f"but KES expects {expected} there", refusal))
        else:
            shown = _describe_value(node, path, detail.instance)
            problems.append(SchemaProblem("value", node, path, f"`{path}` is {shown}, which KES does not accept"
                                          if shown != "empty" else f"`{path}` is empty", refusal))
    return problems


def problems_for(deployment: Deployment, generation: str | None = None) -> list[SchemaProblem]:
    config = deployment.kes
    if config is None:
        return []
    name = generation or config.generation.name
    return deployment.memo(("kes-schema", name), lambda: schema_problems(config, name))


def _consequence(problem: SchemaProblem, deployment: Deployment) -> str:
    if problem.refusal:
        return f"; KES refuses to start: {as_released(_filled(problem), deployment.options.kes_version)}"
    return "; KES cannot use the file as it is"


_DURATION_REFUSAL = re.compile(r"`[^`]*'<d>'[^`]*`")


def _filled(problem: SchemaProblem) -> str:
    """The problem's refusal with what KES prints in place of its placeholders: the value (never a secret's), the API
    route, the policy. A duration that is not Go syntax at all (`1d`, `300`) fails earlier, in KES's YAML decoder,
    than the check the refusal quotes, which is about negative ones."""
    refusal, node, parts = problem.refusal, problem.node, path_parts(problem.path)
    value = node.text.strip() if isinstance(node, YScalar) and not is_secret_path(problem.path) else None
    if value is not None and "'<d>'" in refusal and not value.startswith("-"):
        tag = "str" if node.quoted or node.tag == "null" else node.tag
        return _DURATION_REFUSAL.sub(f"KES's YAML decoder refuses it (cannot unmarshal !!{tag} `{value}` into "
                                     "time.Duration)", refusal)
    fills = {"<path>": parts[1] if len(parts) > 1 and parts[0] == "api" else None,
             "<p>": parts[1] if len(parts) > 1 and parts[0] == "policy" else None,
             "<d>": value, "<v>": value, "<id>": value}
    for placeholder, text in fills.items():
        if text is not None:
            refusal = refusal.replace(f"'{placeholder}'", f"'{text}'")
    return refusal


def edge_g1(deployment: Deployment) -> bool:
    """A G1 config linted for a release of 2023-04-03 to 2023-09-28: those releases (package `edge`) check the
    keystores as current KES does (field-failures C2), so an empty keystore field the G1 schema (which spans the
    older releases too) lets pass is refused there."""
    config = deployment.kes
    return config is not None and is_edge_g1(config.generation, deployment.options.kes_version)


def _edge_keystore_problems(deployment: Deployment) -> list[SchemaProblem]:
    """For edge_g1: the keystore fields current KES's schema requires that are missing or empty, in keys the
    release reads, and not already problems of the G1 schema."""
    if not edge_g1(deployment):
        return []
    version = deployment.options.kes_version
    own = {(p.kind, p.path) for p in problems_for(deployment)}
    return [problem for problem in problems_for(deployment, Generation.G2.name)
            if problem.path.startswith("keystore.") and problem.refusal and (problem.kind, problem.path) not in own
            and reads_key(problem.path, version)
            and (problem.kind == "missing" or problem.kind == "value" and problem.what.endswith("is empty"))]


def release_problems(deployment: Deployment) -> list[SchemaProblem]:
    """The schema problems of the config's generation, plus those the release named with --kes-version adds and
    those of the values `${VAR}` references take from the KES environment."""
    return problems_for(deployment) + _edge_keystore_problems(deployment) + substituted_problems(deployment)


def substituted_problems(deployment: Deployment) -> list[SchemaProblem]:
    """The values `${VAR}` references take from the known KES environment that KES refuses once it has substituted
    them (the file as written passes: a reference stands for any value there). Only values of text settings are
    judged (KES decodes the substituted text into the setting's type); an empty value is KES108's."""
    config = deployment.kes
    if config is None or deployment.options.kes_env is None or not isinstance(config.doc.root, YMap):
        return []
    return deployment.memo(("kes-substituted", config.generation.name), lambda: _substituted_problems(deployment))


def _substituted_problems(deployment: Deployment) -> list[SchemaProblem]:
    config = deployment.kes
    generation = config.generation.name
    values, substituted = {}, {}
    for _, node in substituted_references(config):
        value = kes_resolved(deployment, node)
        if value and _takes_text(subschema_at(generation, path_parts(node.path))):
            values[id(node)], substituted[node.path] = value, node
    if not values:
        return []

    def resolved(node):
        if isinstance(node, YMap):
            return {key.text: resolved(value) for key, value in node.entries}
        if isinstance(node, YSeq):
            return [resolved(item) for item in node.items]
        return values.get(id(node), instance_of(node))

    problems = []
    for error in validator(generation).iter_errors(resolved(config.doc.root)):
        _, detail = _classify(error)  # a text setting given text: a problem of its value, never of its type
        path = dotted(detail.absolute_path)
        node = substituted.get(path)
        if node is None:
            continue
        shown = HIDDEN if is_secret_path(path) else shown_value(node, str(detail.instance))
        refusal = _refusal(generation, list(detail.absolute_path)) or _refusal(generation, list(error.absolute_path))
        problems.append(SchemaProblem("value", node, path, f"`{path}` is {shown} once KES substitutes "
                                      f"`${{{env_reference(node)}}}` from {deployment.options.kes_environment()}, "
                                      "which KES does not accept", refusal))
    return problems


def _takes_text(schema: dict | None) -> bool:
    """A setting KES reads as text (a duration, a level, a name, ...), not a boolean or number that the schema also
    lets be written as a YAML 1.1 word."""
    if not schema:
        return False
    branches = schema.get("anyOf", [schema])
    kinds = [branch.get("type") for branch in branches]
    return any(kind == "string" or isinstance(kind, list) and "string" in kind for kind in kinds) \
        and not any(kind in ("boolean", "integer", "number") for kind in kinds)


def _findings(deployment: Deployment, kind: str, skip: tuple[str, ...] = ()):
    config = deployment.kes
    added = {id(problem) for problem in _edge_keystore_problems(deployment)}
    for problem in release_problems(deployment):
        if problem.kind != kind or problem.path in skip:
            continue
        message = problem.what + _consequence(problem, deployment)
        if id(problem) in added:
            message = message.replace("; KES refuses", f"; KES {deployment.options.kes_version.strip()} refuses", 1)
        if problem.node is None:
            yield at_file(config.source, message, anchor=problem.path)
        else:
            yield at_node(config.source, problem.node, message, anchor=problem.path)


SCHEMA_HINT = "`kescheck schema --generation G2` prints the schema; editors with yaml-language-server show it inline."


_SINGULAR_IDENTITY_PATH = re.compile(r"policy\.[^.]+\.identity")


@rule("KES010", "unknown-key", Severity.ERROR, "A key that KES does not know",
      rationale="""KES (since 0.14) ignores keys it does not know without a word. A misspelt key such as
      `identites` or `alow` therefore silently drops the setting: a policy that binds nobody, a keystore
      KES never sees. Keys that exist in another KES generation are reported by KES220 instead, except for a
      release up to 0.13 (--kes-version), which decodes the config strictly and refuses to start on any key it
      does not know.""",
      fix=f"Correct the spelling (kescheck suggests the closest known key) or remove the key. {SCHEMA_HINT}",
      examples=(Example.kes("admin:\n  identity: disabled\ntls: {key: /k, cert: /c}\npolicy:\n  minio:\n    allow: [/v1/status]\n"
                            "    identites: [9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b]\n"
                            "keystore:\n  vault:\n    endpoint: https://v:8200\n    approle: {id: a, secret: '${S}'}\n", True),
                Example.kes("admin:\n  identity: disabled\ntls: {key: /k, cert: /c}\npolicy:\n  minio:\n    allow: [/v1/status]\n"
                            "    identities: [9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b]\n"
                            "keystore:\n  vault:\n    endpoint: https://v:8200\n    approle: {id: a, secret: '${S}'}\n", False)))
def unknown_key(deployment):
    config = deployment.kes
    if config is None:
        return
    version = deployment.options.kes_version
    singular = reads_singular_identity(version)
    strict = rejects_unknown_keys(version)
    for problem in problems_for(deployment):
        if singular and _SINGULAR_IDENTITY_PATH.fullmatch(problem.path):
            continue  # the key these releases read instead of `identities`
        if problem.kind == "unknown-key" and (strict or not problem.known_elsewhere):
            if strict:  # a key of another generation too: KES220 leaves it to this rule
                message = (f"{problem.what}: KES {version.strip()} refuses to start on a key it does not know "
                           "(releases up to 0.13 decode the config strictly)")
            else:
                message = f"{problem.what}: KES ignores it silently, so the setting it was meant to make is not applied"
            if problem.suggestion:
                message += f" (did you mean `{problem.suggestion}`?)"
            yield at_node(config.source, problem.node, message, anchor=problem.path)


@rule("KES011", "wrong-type", Severity.ERROR, "A value of the wrong kind",
      rationale="""KES decodes each key into a fixed type. A list where a single value belongs, a mapping
      where a list belongs, or a bare number where a duration belongs (`any: 300`) makes KES refuse to
      start with a YAML unmarshal error; so does a file whose top level is a list or a single value instead of
      the mapping of settings (its values are not shown: such a file may be a token named by mistake).""",
      fix=f"Write the value in the form the key takes: durations as Go durations (`5m0s`), lists with `- `. {SCHEMA_HINT}",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\ncache:\n  expiry:\n    any: 300\n"
                            "keystore: {fs: {path: /var/kes}}\n", True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\ncache:\n  expiry:\n    any: 5m0s\n"
                            "keystore: {fs: {path: /var/kes}}\n", False)))
def wrong_type(deployment):
    if deployment.kes is not None:
        yield from _findings(deployment, "type")


@rule("KES012", "invalid-value", Severity.ERROR, "A value KES does not accept",
      rationale="""Some keys take only certain values: `tls.auth` is empty, `on` or `off`; log levels are
      `on`, `off`, DEBUG, INFO, WARN, ERROR (with an optional `+N`) or a number; durations use Go syntax
      without a `d` unit and must not be negative for the cache and API timeouts; the config `version`
      and vault's K/V `version`; policy names, policy identities and key names follow KES's name rule (before
      2023-10-24 any key name, but the fs keystore cannot create a listed key with `/`, `\\` or `.`). KES refuses to
      start on any other value. Log levels came with KES 2023-11-09: a release named with
      --kes-version before it (2023-10-24 and 2023-10-27 included) accepts only `on` or `off`. A text setting
      written as `${NAME}` is judged by the value KES substitutes when kescheck knows KES's environment
      (`--kes-env FILE`, or the unit or container that starts KES): `tls.auth: ${KES_AUTH}` with KES_AUTH=verify
      stops KES as surely as `tls.auth: verify` does.""",
      fix=f"Use one of the values the key accepts (quote `\"on\"`/`\"off\"` to keep them text). {SCHEMA_HINT}",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: verify}\n"
                            "keystore: {fs: {path: /var/kes}}\n", True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nlog: {error: INFO}\n"
                            "keystore: {fs: {path: /var/kes}}\n", True, "log levels arrived in KES 2023-11-09",
                            options=(("kes_version", "2023-10-24T20-26-51Z"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: '${KES_AUTH}'}\n"
                            "keystore: {fs: {path: /var/kes}}\n", True, "the value KES substitutes",
                            options=(("kes_env", {"KES_AUTH": "verify"}),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: \"on\"}\n"
                            "keystore: {fs: {path: /var/kes}}\n", False)))
def invalid_value(deployment):
    if deployment.kes is None:
        return
    version = deployment.options.kes_version
    on_off_only = bool(version) and predates(version, LOG_LEVELS_SINCE)
    yield from _findings(deployment, "value", skip=_LOG_PATHS if on_off_only else ())
    if on_off_only:
        yield from _log_values_before_levels(deployment, version)
    elif deployment.kes.generation is Generation.G2:
        yield from _log_numbers_not_decimal(deployment)
    if deployment.kes.generation is not Generation.G2:  # G2's name rule, in its schema, forbids these characters too
        yield from _fs_key_names(deployment)


_LOG_PATHS = ("log.error", "log.audit")
_DECIMAL = re.compile(r"\s*[-+]?[0-9]+\s*")


_FS_FORBIDDEN = ("/", "\\", ".")


def _fs_key_names(deployment: Deployment):
    """The keys listed under `keys:` that an fs keystore cannot create: KES creates them at start and exits when one
    fails, and the fs keystore has always refused a name with `/`, `\\` or `.` (field-failures FM-25, FM-18)."""
    config = deployment.kes
    keys = config.find("keys")
    if not isinstance(config.find("keystore.fs"), YMap) or not isinstance(keys, YSeq):
        return
    for index, item in enumerate(keys.items):
        name = item.get("name") if isinstance(item, YMap) else None
        if isinstance(name, YScalar) and any(char in name.text for char in _FS_FORBIDDEN):
            yield at_node(config.source, name,
                          f"`keys[{index}].name` is `{name.text}`, which the fs keystore cannot store (it refuses `/`, "
                          "`\\` and `.` in key names), and KES creates the listed keys at start: KES refuses to start "
                          f"(`failed to create key \"{name.text}\": fs: key name contains invalid character`)",
                          fix="Rename the key without `/`, `\\` or `.` (`minio-default`), in MINIO_KMS_KES_KEY_NAME too.",
                          anchor=f"keys[{index}].name")


def _log_numbers_not_decimal(deployment: Deployment):
    """A log level KES reads as text and parses as a decimal integer (Go's `strconv.Atoi`): a YAML number written in
    hex, octal, with underscores or an exponent passes the schema as a number, yet KES refuses its text."""
    config = deployment.kes
    log = config.find("log")
    for path in _LOG_PATHS if isinstance(log, YMap) else ():
        node = log.get(path.split(".")[1])
        if isinstance(node, YScalar) and node.tag in ("int", "float") and not _DECIMAL.fullmatch(node.text):
            yield at_node(config.source, node,
                          f"`{path}` is `{node.text}`: KES reads a log level as text and takes a number in decimal "
                          f"digits only, so KES refuses to start (`strconv.Atoi: parsing \"{node.text.strip()}\": "
                          "invalid syntax`)", fix="Write the level as a name (`INFO`, `ERROR+4`) or a decimal number.",
                          anchor=path)


def log_refusal(kes_version: str, which: str, value: str) -> str:
    """How a release before log levels (KES < 2023-11-09) refuses a `log.<which>` value other than on/off
    (field-failures FM-28, C2 to C5)."""
    if not predates(kes_version, "2023-04-03"):
        return f"edge: invalid {which} log config '{value}'"
    if not predates(kes_version, (0, 22, 0)):
        return f'"{value}" is an invalid {which} log configuration'
    if not predates(kes_version, (0, 17, 3)):
        return f"yml: invalid {which} log configuration: allowed values are {{ on | off }}"
    return f'"{value}" is an invalid {which} log configuration'


def _log_values_before_levels(deployment: Deployment, version: str):
    """`log.error` / `log.audit` on a release that accepts only on/off: the G2 schema takes levels, and the G1
    schema's refusal does not quote the release."""
    config = deployment.kes
    for path in _LOG_PATHS:
        node = config.find(path)
        if not isinstance(node, YScalar) or node.is_null:
            continue  # a mapping or list is KES011's
        value = kes_resolved(deployment, node)
        if value is None or value.lower() in ("", "on", "off"):
            continue
        which = path.split(".")[1]
        shown = HIDDEN if is_secret_path(path) else shown_value(node, value)
        yield at_node(config.source, node,
                      f"`{path}` is {shown}{substitution_note(node)}, but KES {version.strip()} accepts only `on` or `off` there (log levels "
                      f"came with KES {LOG_LEVELS_SINCE}): KES refuses to start (`{log_refusal(version, which, value)}`)",
                      fix=f"Write `on` or `off`; for a log level run KES {LOG_LEVELS_SINCE} or later.", anchor=path)


@rule("KES013", "missing-required", Severity.ERROR, "A required key is missing or empty",
      rationale="""KES refuses to start without an admin identity, the server's TLS key and certificate,
      a keystore, and the settings each keystore needs (the vault endpoint, approle ID and secret, the
      cloud region, ...). The G1 schema leaves keystore fields optional, as KES up to 2023-02-15 only skips a
      keystore whose field is empty (KES222); a release of 2023-04-03 to 2023-09-28 named with --kes-version checks
      them as current KES does and refuses a missing or empty one (`edge: invalid vault keystore: no endpoint
      specified`), which this rule and KES012 then report.""",
      fix=f"Add the key with a value, or a `${{VAR}}` reference to keep a secret out of the file. {SCHEMA_HINT}",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", False)))
def missing_required(deployment):
    if deployment.kes is not None:
        yield from _findings(deployment, "missing")
