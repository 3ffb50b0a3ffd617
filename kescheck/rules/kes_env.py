"""KES213-KES215: `${VAR}` references, which KES substitutes from its environment at start."""
from __future__ import annotations

import re

from ..findings import Severity
from ..load.kesconfig import env_reference
from ..load.yamldoc import YScalar
from .base import Example, at_node, rule

_BASE = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"
_POLICY_PATTERN = re.compile(r"^policy\.[^.]+(?:\.[^.]+)*\.(?:allow|deny)\[\d+\]$")


def is_policy_pattern(path: str) -> bool:
    return bool(_POLICY_PATTERN.match(path))


def substituted_references(config):
    """(NAME, node) for every `${NAME}` KES substitutes: whole values outside policy patterns."""
    return [(name, node) for name, node in config.env_references if not is_policy_pattern(node.path)]


@rule("KES213", "env-variable-needed", Severity.NOTE, "KES needs an environment variable at start",
      rationale="""A value written as `${NAME}` is replaced by the environment variable NAME when KES starts;
      KES refuses to start when NAME is not set. kescheck cannot see KES's environment unless you give it
      (`--kes-env FILE`, then KES100 reports what is missing).""",
      fix="Make sure the variable is set where KES starts (systemd `Environment=`/`EnvironmentFile=`, the "
          "container's env), or pass that environment to kescheck with `--kes-env FILE`.",
      examples=(Example.kes("admin: {identity: '${KES_ADMIN}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", True),
                Example.kes(_BASE, False)))
def env_variable_needed(deployment):
    config = deployment.kes
    if config is None or deployment.options.kes_env is not None:
        return
    for name, node in substituted_references(config):
        yield at_node(config.source, node, f"KES needs `{name}` set in its environment at start (`{node.path}`)")


def _scalar_values(config):
    for node in config.doc.nodes():
        if isinstance(node, YScalar) and not node.is_key and not node.is_null and "${" in node.text:
            yield node


@rule("KES214", "env-reference-partial", Severity.WARNING, "A `${VAR}` inside a longer value is not substituted",
      rationale="""KES substitutes a variable only when it is the whole value. In `0.0.0.0:${PORT}` or
      `https://${VAULT_HOST}:8200` the text is taken literally, `${` and all.""",
      fix="Make the whole value one reference (`address: ${KES_ADDRESS}` with KES_ADDRESS=0.0.0.0:7373).",
      examples=(Example.kes("address: 0.0.0.0:${KES_PORT}\n" + _BASE, True),
                Example.kes("address: ${KES_ADDRESS}\n" + _BASE, False)))
def env_reference_partial(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in _scalar_values(config):
        if env_reference(node) is None and not is_policy_pattern(node.path):
            yield at_node(config.source, node, f"`{node.path}` contains `${{` inside a longer value: KES takes it literally, "
                          "it substitutes only a value that is one whole `${NAME}`")


@rule("KES215", "env-reference-in-policy", Severity.WARNING, "A `${VAR}` in a policy allow/deny pattern",
      rationale="""KES never substitutes variables in policy `allow` and `deny` patterns: `${KEY_PREFIX}` is
      matched literally against request paths and matches nothing.""",
      fix="Write the pattern out in full, e.g. `/v1/key/generate/minio-*`.",
      examples=(Example.kes(_BASE + "policy:\n  minio:\n    allow:\n      - /v1/key/generate/${KEY}\n", True),
                Example.kes(_BASE + "policy:\n  minio:\n    allow: [/v1/key/generate/minio-*]\n", False)))
def env_reference_in_policy(deployment):
    config = deployment.kes
    if config is None:
        return
    for node in _scalar_values(config):
        if is_policy_pattern(node.path):
            yield at_node(config.source, node, f"`{node.path}` contains `${{`, but KES never substitutes variables in policy "
                          "patterns: it is matched literally")
