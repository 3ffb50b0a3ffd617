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
