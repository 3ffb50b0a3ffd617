"""The one list of rule modules. Adding a rule family: one module, one line here."""
from __future__ import annotations

import importlib

from .base import REGISTRY, Example, Rule, rule

RULE_MODULES = (
    "kes_yaml",
    "kes_schema",
    "kes_refusals",
    "kes_risks",
    "kes_env",
    "kes_generation",
    "kes_unit",
    "certificates",
    "identities",
    "env_file",
    "env_kms",
    "deployment",
    "policy_patterns",
    "policy_minio",
    "doctor",
    "suppressions",
)

_loaded = False


def all_rules() -> list[Rule]:
    global _loaded
    if not _loaded:
        for module in RULE_MODULES:
            importlib.import_module(f"{__name__}.{module}")
        _loaded = True
    return sorted(REGISTRY, key=lambda r: r.code)


def find_rule(code_or_name: str) -> Rule | None:
    wanted = code_or_name.strip()
    for candidate in all_rules():
        if candidate.code.upper() == wanted.upper() or candidate.name == wanted.lower():
            return candidate
    return None


__all__ = ["Example", "Rule", "all_rules", "find_rule", "rule"]
