"""The CI formats: GitHub annotations and job summary, JUnit XML, GitLab code quality."""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kescheck.report.github import escape_data, escape_property

# The key names come from the user's file, so the messages carry `%`, `,` and `:` into the annotations.
CONFIG = """\
address: 0.0.0.0:7373
admin:
  identity: disabled
"a%b,c:d": 1
"a%b,c:d": 2
keystore:
  fs: {path: /var/lib/kes}
keystore:  # kescheck: ignore[KES001] -- second keystore wins on purpose
  fs: {path: /srv/kes}
"""
ONLY = ("--select", "KES001", "--select", "KSC")  # the rule these inputs exercise
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


@pytest.fixture
def project(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write("deploy/kes-config.yaml", CONFIG)
    return tmp_path


def test_escaping_follows_the_workflow_command_rules():
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("a%b,c:d\n") == "a%25b%2Cc%3Ad%0A"


def test_github_annotations_parse_back_to_the_findings(project, cli, write):
    write("deploy/site:a,b%/kes-config.yaml", CONFIG)  # property escaping, end to end
    run = cli("lint", "deploy/site:a,b%", *ONLY, "--format", "github")
    assert run.status == 1
    lines = run.stdout.splitlines()
    annotations = [ANNOTATION.match(line) for line in lines if line.startswith("::")]
    assert len(annotations) == 1 and all(annotations)
    match = annotations[0]
    props = dict(part.split("=", 1) for part in match["props"].split(","))
    assert match[1] == "error"
    assert {k: unescape(v) for k, v in props.items() if k != "title"} == {
        "file": "deploy/site:a,b%/kes-config.yaml", "line": "5", "col": "1"}
    assert unescape(props["title"]) == "KES001 yaml-syntax"
    message = unescape(match["message"])
    assert 'mapping key "a%b,c:d" already defined at line 4' in message and "Fix: " in message
    assert lines[-1].startswith("kescheck: found 1 error")


def test_github_format_is_chosen_on_actions_and_writes_a_summary(project, cli, monkeypatch, write):
    # more findings than GitHub shows as annotations: the summary must list them all
    write("deploy/kes-config.yaml", CONFIG + "".join(f"dup{i}: 1\ndup{i}: 2\n" for i in range(12)))
    summary = project / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = cli("lint", "deploy", *ONLY)
    assert run.status == 1
    assert run.stdout.count("::error ") == 13
    text = summary.read_text()
    assert text.startswith("earlier step\n### kescheck failed")
    assert len(re.findall(r"^\| error \| `deploy/kes-config\.yaml:\d+:1` \| KES001 yaml-syntax \|", text, re.M)) == 13
    assert "| KES001 yaml-syntax | 13 |" in text


def test_junit_is_valid_xml_with_consistent_counts(project, cli, write):
    write("deploy/minio.env", "MINIO_KMS_KES_KEY_NAME=minio-default-key\n")
    run = cli("lint", "deploy", *ONLY, "--format", "junit", "--show-suppressed")
    root = ET.fromstring(run.stdout)
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"deploy/kes-config.yaml", "deploy/minio.env"}
    config = suites["deploy/kes-config.yaml"]
    cases = config.findall("testcase")
    assert int(config.get("tests")) == len(cases) == 2
    failed = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert len(failed) == 1 and failed[0].get("line") == "5" and failed[0].find("failure").get("type") == "KES001"
    assert "second keystore wins on purpose" in skipped[0].find("skipped").get("message")
    assert config.get("failures") == "1" and config.get("skipped") == "1"
    assert suites["deploy/minio.env"].get("failures") == "0"
    total = sum(int(s.get("tests")) for s in suites.values())
    assert root.get("tests") == str(total) and root.get("failures") == "1"


def test_junit_below_fail_on_passes(project, cli):
    root = ET.fromstring(cli("lint", "deploy", *ONLY, "--format", "junit", "--fail-on", "never").stdout)
    assert root.get("failures") == "0"
    assert any(c.find("system-out") is not None for c in root.iter("testcase"))


def test_gitlab_code_quality(project, cli):
    run = cli("lint", "deploy", *ONLY, "--format", "gitlab")
    issues = json.loads(run.stdout)
    assert isinstance(issues, list) and len(issues) == 1  # the suppressed one is left out
    (issue,) = issues
    assert issue["check_name"] == "KES001 yaml-syntax"
    assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"} and issue["severity"] == "major"
    assert issue["location"] == {"path": "deploy/kes-config.yaml", "lines": {"begin": 5}}
    assert issue["description"].startswith('mapping key "a%b,c:d"')
    assert re.fullmatch(r"[0-9a-f]{32}", issue["fingerprint"])


def test_gitlab_fingerprints_are_unique_and_stable(project, cli, write):
    write("deploy/kes-config.yaml", "address: 1\naddress: 2\naddress: 3\naddress: 4\nadmin: {identity: x}\n")
    first = json.loads(cli("lint", "deploy", *ONLY, "--format", "gitlab").stdout)
    fingerprints = [i["fingerprint"] for i in first]
    assert len(fingerprints) == 3 and len(set(fingerprints)) == 3
    assert fingerprints == [i["fingerprint"] for i in json.loads(cli("lint", "deploy", *ONLY, "--format", "gitlab").stdout)]


def test_several_ci_outputs_in_one_run(project, cli):
    run = cli("lint", "deploy", *ONLY, "--format", "sarif", "--output", "k.sarif", "--format", "gitlab", "--output", "gl.json",
              "--format", "junit", "--output", "junit.xml", "--format", "github")
    assert run.status == 1 and run.stdout.startswith("::error ")
    assert json.loads((project / "k.sarif").read_text())["version"] == "2.1.0"
    assert json.loads((project / "gl.json").read_text())[0]["check_name"] == "KES001 yaml-syntax"
    assert ET.parse(project / "junit.xml").getroot().tag == "testsuites"


def test_statistics_and_exit_zero(project, cli):
    run = cli("lint", "deploy", *ONLY, "--format", "plain", "--statistics", "--exit-zero")
    assert run.status == 0
    assert re.search(r"^\s+1\s+KES001\s+yaml-syntax$", run.stdout, re.M)


@pytest.mark.parametrize("fmt", ["plain", "json", "sarif", "gitlab", "junit", "github"])
def test_a_file_name_that_is_not_utf8_is_reported_in_every_format(cli, tmp_path, fmt):
    """os.walk hands such a name over with surrogate escapes; SARIF quotes its bytes in the URI, fingerprints hash
    them, and a report written to a file keeps them as standard output does."""
    example = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "g2" / "kes-config.yaml"
    directory = tmp_path / "batch"
    directory.mkdir()
    (directory / os.fsdecode(b"k\xffes.yaml")).write_bytes(example.read_bytes())
    run = cli("lint", str(directory), "--format", fmt, "--output", str(tmp_path / "report"), "--fail-on", "never")
    assert run.status == 0, run.stderr
    written = (tmp_path / "report").read_bytes()
    assert b"k\xffes.yaml" in written or b"k%FFes.yaml" in written
    if fmt == "sarif":
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in json.loads(written.decode("utf-8", "surrogateescape"))["runs"][0]["results"]]
        assert uris and all(uri.endswith("k%FFes.yaml") for uri in uris)


def test_standard_input_is_a_valid_uri_reference_in_sarif(cli):
    run = cli("lint", "-", "--format", "sarif", "--fail-on", "never", stdin="admin: {identity: disabled}\n")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(run.stdout)["runs"][0]["results"]}
    assert uris == {"%3Cstdin%3E"}
