"""Every documented example of every lint rule runs here: the rule fires on the failing ones only.

The doctor rules' scenarios need a server: tests/test_doctor_examples.py performs them."""
from __future__ import annotations

import pytest

from example_files import materialize
from kescheck.engine import lint
from kescheck.model import Options
from kescheck.rules import all_rules

CASES = [(rule, index, example) for rule in all_rules() if not rule.doctor for index, example in enumerate(rule.examples)]


@pytest.mark.parametrize("rule,index,example", CASES, ids=[f"{r.code}-{i}-{'fail' if e.fails else 'pass'}"
                                                           for r, i, e in CASES])
def test_documented_example(rule, index, example, tmp_path, monkeypatch):
    written = materialize(example.files, tmp_path)
    monkeypatch.chdir(tmp_path)
    configs = sorted(name for name in written if not name.endswith((".crt", ".key", ".pem", ".apikey")))
    result = lint(configs, Options(**dict(example.options)))
    fired = [f for f in result.findings if f.code == rule.code]
    if example.fails:
        assert fired, f"{rule.code} did not fire on its failing example {index}"
    else:
        assert not fired, f"{rule.code} fired on its passing example {index}: {[f.message for f in fired]}"
