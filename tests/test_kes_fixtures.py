"""Every broken KES fixture triggers the rule its name gives; the examples and accepted configs give no error."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES
from kescheck.engine import lint
from kescheck.findings import Severity
from kescheck.model import Options
from kescheck.rules import all_rules

BROKEN = sorted((FIXTURES / "broken" / "kes").glob("*.yaml"))
ACCEPTED = sorted((FIXTURES / "kes-accepted").glob("*.yaml"))
# Rules that need an input beyond the file itself.
OPTIONS = {"KES100": Options(kes_env={}), "KES107": Options(require_files=True),
           "KES108": Options(kes_env={"KES_MINIO_IDENTITY": ""}), "KES217": Options(kes_version="0.22"), "KES222": Options(kes_version="0.22"),
           "KES223": Options(kes_version="0.17.4")}


def test_every_kes_rule_has_a_broken_fixture():
    codes = {path.name.split("-", 1)[0] for path in BROKEN}
    missing = [r.code for r in all_rules() if r.code.startswith("KES") and not r.doctor and r.code not in codes]
    assert not missing


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_fixture_triggers_its_rule(path: Path):
    code, name = path.stem.split("-", 1)
    rule = next(r for r in all_rules() if r.code == code)
    assert rule.name == name
    result = lint([path], OPTIONS.get(code, Options()))
    assert [f for f in result.findings if f.code == code], [f"{f.code}: {f.message}" for f in result.findings]


@pytest.mark.parametrize("generation,version", [("g0", None), ("g1", "0.22"), ("g1", None), ("g2", None)])
def test_examples_give_no_error(generation, version):
    result = lint([FIXTURES / "examples" / generation], Options(kes_version=version))
    errors = [f"{f.location}: {f.code} {f.message}" for f in result.findings if f.severity is Severity.ERROR]
    assert not errors


def test_g2_example_is_clean_apart_from_notes():
    result = lint([FIXTURES / "examples" / "g2"])
    assert {f.severity for f in result.findings} <= {Severity.NOTE}
    assert "KES213" in {f.code for f in result.findings}


@pytest.mark.parametrize("path", ACCEPTED, ids=[p.stem for p in ACCEPTED])
def test_configs_kes_accepts_give_no_error(path: Path):
    result = lint([path])
    assert result.files[0].kes is not None
    errors = [f"{f.location}: {f.code} {f.message}" for f in result.findings
              if f.severity is Severity.ERROR and f.location.path.name == path.name]
    assert not errors
