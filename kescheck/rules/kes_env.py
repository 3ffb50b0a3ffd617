"""KES213-KES216: `${VAR}` references, which KES substitutes from its environment at start.

KES takes the trimmed text between `${` and `}` as the variable name, literally: there is no
shell syntax (`${VAR:-default}` looks up a variable named `VAR:-default`).
"""
from __future__ import annotations

import re

from ..findings import Severity
from ..load.kesconfig import (Generation, env_reference, is_secret_path, release_date, semantic_version,
                              shell_expansion, target_release, unset_variable_is_empty)
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
      KES refuses to start when NAME is not set. KES up to 0.21 (G0 configs, or a release named with
      --kes-version) instead substitutes an unset variable as the empty string without a word, so a missing
      variable silently empties the setting. kescheck cannot see KES's environment unless you give it
      (`--kes-env FILE`) or the systemd unit, Compose service or Kubernetes container that starts KES is among
      the inputs and says what it sets; then KES100 reports what is missing, or KES108 and KES222 what ends up
      empty on KES up to 0.21. When part of a container's environment comes from a source kescheck cannot read
      (an `envFrom:` Secret that is not in the manifest, an env file that is not in the repository), this note
      names the variables only that source can set.""",
      fix="Make sure the variable is set where KES starts (systemd `Environment=`/`EnvironmentFile=`, the "
          "container's env), or pass that environment to kescheck with `--kes-env FILE`.",
      examples=(Example.kes("admin: {identity: '${KES_ADMIN}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", True),
                Example.kes(_BASE, False)))
def env_variable_needed(deployment):
    config, options = deployment.kes, deployment.options
    uncertain = options.kes_env_uncertain or {}
    if config is None or options.kes_env is not None and not uncertain:
        return
    version = options.kes_version
    silent = unset_variable_is_empty(config.generation, version)
    release = target_release(config.generation, version)
    for name, node in substituted_references(config):
        if shell_expansion(name) is not None:
            continue  # KES216: the name is not what the author meant
        if options.kes_env is not None and name not in uncertain:
            continue  # the environment is known to set it, or KES100 reports it missing
        message = f"KES needs `{name}` set in its environment at start (`{node.path}`)"
        if name in uncertain:
            message += f": {options.kes_environment()} can get it only from {uncertain[name]}"
        if silent:
            message += (f": {release} does not refuse to start without it, but silently substitutes an empty value, "
                        "so the setting ends up empty")
        yield at_node(config.source, node, message)


def _scalar_values(config):
    for node in config.doc.values():
        if "${" in node.text:
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


def _without_the_variable(deployment) -> str:
    """What KES does when the variable a `${...}` names is not set, for the target release."""
    config, version = deployment.kes, deployment.options.kes_version
    semver = semantic_version(version)
    if config.generation is Generation.G0 or (semver is not None and semver < (0, 22, 0)):
        return "KES (before 0.22) silently uses an empty value instead"
    if config.generation is Generation.G1 and semver is None and release_date(version) is None:
        return ("KES >= 0.22 refuses to start (`referenced env. variable ... not found`), and older releases "
                "silently use an empty value instead")
    return "KES refuses to start (`referenced env. variable ... not found`)"


_SHELL_DEFAULT_EXAMPLE = "admin: {identity: '${KES_ADMIN:-disabled}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"


def _unset_name(deployment) -> str:
    return (f"{deployment.options.kes_environment()} has no variable of that name"
            if deployment.options.kes_env is not None else
            "no environment normally has a variable of that name")


@rule("KES216", "env-reference-shell-syntax", Severity.ERROR,
      "Shell syntax in a reference (`${VAR:-default}`, `${A}${B}`) that KES takes as one variable name",
      rationale="""KES substitutes `${NAME}` by looking up the text between the braces, trimmed, as one
      variable name. It knows no shell parameter expansion: `${KES_ADMIN:-disabled}` makes KES look up a
      variable literally named `KES_ADMIN:-disabled`, which practically no environment has, so the default is never
      applied and it does not matter whether KES_ADMIN is set. KES >= 0.22 then refuses to start; older
      releases silently used an empty value. The same holds for `${VAR:=x}`, `${VAR:?message}` and
      `${VAR:+x}`, and for references joined into one value (`${HOST}:${PORT}` ending in `}`): KES looks up
      one variable named `HOST}:${PORT`.""",
      fix="""Write `${VAR}` and set VAR (to the default, if need be) where KES starts: systemd
      `Environment=`/`EnvironmentFile=` of the KES unit or the container's env; or write the default value
      into the file if it is not a secret. If a template tool renders this file before KES reads it,
      lint the rendered file instead.""",
      examples=(Example.kes(_SHELL_DEFAULT_EXAMPLE, True),
                Example.kes(_SHELL_DEFAULT_EXAMPLE, True, options=(("kes_env", {"KES_ADMIN": "disabled"}),),
                            note="KES_ADMIN is set, but KES looks up `KES_ADMIN:-disabled`"),
                Example.kes("address: ${KES_HOST}:${KES_PORT}\n" + _SHELL_DEFAULT_EXAMPLE.replace(":-disabled", ""), True,
                            note="two references joined into one value"),
                Example.kes(_SHELL_DEFAULT_EXAMPLE.replace(":-disabled", ""), False)))
def env_reference_shell_syntax(deployment):
    config, env = deployment.kes, deployment.options.kes_env
    if config is None:
        return
    for name, node in substituted_references(config):
        expansion = shell_expansion(name)
        if expansion is None or (env is not None and name in env):
            continue  # an environment that really has a variable of that odd name: KES substitutes it
        if expansion.is_joined:
            yield at_node(config.source, node,
                          f"`{node.path}` is `{node.text.strip()}`, references joined into one value: KES substitutes only "
                          f"a value that is one whole `${{NAME}}`, and takes everything between the first `${{` and the "
                          f"last `}}` as the name, so it looks up a variable literally named `{name}`; "
                          f"{_unset_name(deployment)}, so {_without_the_variable(deployment)}",
                          fix="Set one variable to the whole value where KES starts (e.g. `Environment=KES_ADDRESS="
                              "0.0.0.0:7373` in the KES systemd unit) and write `${KES_ADDRESS}`, or write the value "
                              "into the file.")
            continue
        variable, word = expansion.variable, expansion.word.strip()
        secret = is_secret_path(node.path) and word
        if secret:  # the default is a secret written into the file: never repeat it
            written, looked_up = f"`${{{variable}{expansion.operator}…}}`", f"`{variable}{expansion.operator}` + the default"
        else:
            written, looked_up = f"`${{{name}}}`", f"`{name}`"
        if expansion.is_default:
            shown = "(a secret, hidden here)" if secret else f"`{word}`" if word else "(empty)"
            meant = f"the default {shown} is never applied, whether or not {variable} is set"
        else:
            meant = f"`{expansion.operator}` is not applied, whether or not {variable} is set"
        if secret:
            fix = (f"Write `${{{variable}}}` and set {variable} where KES starts (systemd `EnvironmentFile=` of the "
                   "KES unit, the container's env or secret store); take the secret out of this file, and replace it "
                   "if the file was ever shared.")
        elif expansion.is_default:
            fix = (f"Write `${{{variable}}}` and set {variable}={word} where KES starts (e.g. "
                   f"`Environment={variable}={word}` in the KES systemd unit, or the container's env), or write "
                   f"`{word}` into the file instead of the reference.")
        else:
            fix = f"Write `${{{variable}}}` and set {variable} where KES starts (systemd `Environment=`, the container's env)."
        unset = _unset_name(deployment)
        yield at_node(config.source, node,
                      f"`{node.path}` is {written}, shell syntax KES does not understand: KES looks up a variable "
                      f"literally named {looked_up}, so {meant}; {unset}, so {_without_the_variable(deployment)}",
                      fix=fix + " If a template tool renders this file before KES reads it, lint the rendered file "
                                "instead.")
