"""Baselines: keyed by file, rule and anchor, so moved lines do not bring old findings back."""
from __future__ import annotations

import json

import pytest

ORIGINAL = """\
address: 0.0.0.0:7373
admin:
  identity: disabled
address: 0.0.0.0:7374
keystore:
  fs: {path: /var/lib/kes}
"""

# The same two keys duplicated, after lines were inserted above and blocks reordered.
MOVED = """\
# KES for the storage cluster; owned by the platform team.

keystore:
  fs: {path: /var/lib/kes}

admin:
  identity: disabled
address: 0.0.0.0:7373
address: 0.0.0.0:7374
"""


ONLY = ("--select", "KES001", "--select", "KSC")  # the rule these inputs exercise


@pytest.fixture
def repo(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    write("deploy/kes-config.yaml", ORIGINAL)
    return tmp_path


def lines_of(report: dict, active: bool = True) -> list[tuple[str, int]]:
    return [(f["code"], f["line"]) for f in report["findings"] if (f["suppressed"] is None) == active]


def test_baseline_survives_a_line_move(repo, cli, write):
    first = cli("lint", "deploy", *ONLY, "--write-baseline", "kescheck-baseline.json", "--format", "json")
    assert first.status == 0 and "wrote 1 finding to baseline" in first.stderr
    baseline = json.loads((repo / "kescheck-baseline.json").read_text())
    assert baseline["findings"] == [{"path": "deploy/kes-config.yaml", "code": "KES001",
                                     "anchor": "yaml:duplicate-key", "count": 1}]
    unbaselined = json.loads(cli("lint", "deploy", *ONLY, "--format", "json").stdout)
    assert lines_of(unbaselined) == [("KES001", 4)]

    write("deploy/kes-config.yaml", MOVED)
    moved = cli("lint", "deploy", *ONLY, "--baseline", "kescheck-baseline.json", "--format", "json", "--show-suppressed")
    report = json.loads(moved.stdout)
    assert moved.status == 0
    assert lines_of(report) == []
    assert lines_of(report, active=False) == [("KES001", 9)]
    assert report["findings"][0]["suppressed"].startswith("baseline (kescheck-baseline.json)")


def test_only_new_findings_fail(repo, cli, write):
    cli("lint", "deploy", *ONLY, "--write-baseline", "kescheck-baseline.json")
    write("deploy/kes-config.yaml", MOVED + "admin:\n  identity: disabled\n")
    run = cli("lint", "deploy", *ONLY, "--baseline", "kescheck-baseline.json", "--format", "json")
    assert run.status == 1
    assert [f["code"] for f in json.loads(run.stdout)["findings"]] == ["KES001"]


def test_baseline_paths_are_relative_to_the_baseline_file(repo, cli, monkeypatch):
    (repo / "ci").mkdir()
    cli("lint", "deploy", *ONLY, "--write-baseline", "ci/baseline.json")
    monkeypatch.chdir(repo / "deploy")
    run = cli("lint", ".", *ONLY, "--baseline", "../ci/baseline.json", "--format", "json")
    assert run.status == 0 and lines_of(json.loads(run.stdout)) == []


def test_without_an_anchor_the_key_ignores_numbers_in_the_message():
    """Without an anchor the message keys the finding, with its numbers blanked (they are often lines)."""
    from pathlib import Path

    from kescheck.baseline import finding_key
    from kescheck.findings import Finding, Location

    one = Finding(Location(Path("a.yaml"), 3), "value at line 3 is odd", code="X001")
    two = Finding(Location(Path("a.yaml"), 9), "value at line 9 is odd", code="X001")
    assert finding_key(one, Path(".")) == finding_key(two, Path("."))


@pytest.mark.parametrize("content,message", [
    ("{not json", "is not JSON"),
    ('{"format": "other"}', "is not a kescheck baseline"),
    ('{"format": "kescheck-baseline", "version": 99}', "has version 99"),
    ('{"format": "kescheck-baseline", "version": 1, "findings": [{"path": "a"}]}', "without path, code and anchor"),
    ('{"format": "kescheck-baseline", "version": 1, "findings": true}', "has no list of findings"),
    ('{"format": "kescheck-baseline", "version": 1, "findings": 7}', "has no list of findings"),
    ('{"format": "kescheck-baseline", "version": 1, "findings": {"path": "a"}}', "has no list of findings"),
])
def test_unusable_baseline_is_a_usage_error(repo, cli, write, content, message):
    write("bad.json", content)
    run = cli("lint", "deploy", *ONLY, "--baseline", "bad.json")
    assert run.status == 2 and message in run.stderr
    missing = cli("lint", "deploy", *ONLY, "--baseline", "missing.json")
    assert missing.status == 2 and "cannot read baseline" in missing.stderr


def test_an_anchor_holding_a_secret_is_hashed_in_the_baseline(tmp_path, monkeypatch, cli, write):
    """ENV010 anchors a finding at the variable's name; a pasted token read as a name must not reach the baseline,
    a file meant to be committed, and the hashed anchor still matches on the next run."""
    monkeypatch.chdir(tmp_path)
    token = "hvs.CAESILEAKTOKENabcdefgh"
    write("deploy/minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                              f"{token}=1\nkes:v1:ACBqs7Kf+P5l4pLtOtQ55JX26LHRaYXkPRs9DHmPTLEAK==\n")
    first = cli("lint", "deploy", "--write-baseline", "baseline.json", "--format", "json")
    text = (tmp_path / "baseline.json").read_text()
    assert "LEAK" not in text
    anchors = [entry["anchor"] for entry in json.loads(text)["findings"]]
    assert sum(anchor.startswith("secret:") for anchor in anchors) == 2
    assert first.status == 0 and json.loads(first.stdout)["summary"]["suppressed"] == len(anchors)
    again = cli("lint", "deploy", "--baseline", "baseline.json", "--format", "json")
    assert again.status == 0 and json.loads(again.stdout)["summary"]["error"] == 0


@pytest.mark.parametrize("name, text, code", [
    ("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\nno equals here\n",
     "ENV001"),
    ("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\rX=1\n", "ENV008"),
    ("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\x00\n", "ENV009"),
    ("kes.service", "[service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n", "SYS020"),
])
def test_a_line_inserted_above_does_not_bring_a_baselined_finding_back(tmp_path, monkeypatch, cli, write, name, text,
                                                                      code):
    monkeypatch.chdir(tmp_path)
    write(f"deploy/{name}", text)
    cli("lint", "deploy", "--select", code, "--write-baseline", "baseline.json")
    (anchor,) = [entry["anchor"] for entry in json.loads((tmp_path / "baseline.json").read_text())["findings"]]
    assert not any(character.isdigit() for character in anchor.split(":")[-1]) or len(anchor.split(":")[-1]) == 12
    write(f"deploy/{name}", "# a comment added above\n" + text)
    run = cli("lint", "deploy", "--select", code, "--baseline", "baseline.json", "--format", "json")
    assert run.status == 0 and json.loads(run.stdout)["summary"]["suppressed"] == 1
