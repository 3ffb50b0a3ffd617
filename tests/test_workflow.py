"""The rule catalogue, `kescheck settings`, the docs generated from metadata, and docs/ci.md."""
from __future__ import annotations

import json
import re
import shlex

import pytest
from ruamel.yaml import YAML

from conftest import REPO
from kescheck import __version__
from kescheck.catalogue import REGENERATE, rules_markdown
from kescheck.rules import all_rules
from test_doctor_examples import NOT_RUNNABLE


def test_docs_rules_md_is_up_to_date():
    current = (REPO / "docs" / "rules.md").read_text("utf-8")
    assert current == rules_markdown(all_rules()), f"docs/rules.md is out of date; regenerate it with: {REGENERATE}"


def test_cli_markdown_is_what_docs_hold(cli):
    assert cli("rules", "--format", "markdown").stdout == rules_markdown(all_rules())


@pytest.mark.catalogue
def test_every_rule_has_a_failing_and_a_passing_example():
    """Doctor rules too: their scenarios are performed by tests/test_doctor_examples.py, all but the failing
    scenarios of NOT_RUNNABLE, which say why they cannot be."""
    lacking = []
    for rule in all_rules():
        performed = [e for e in rule.examples if not getattr(e, "not_runnable", "")]
        missing = [kind for kind, fails in (("failing", True), ("passing", False))
                   if not any(e.fails == fails for e in rule.examples)]
        missing += [f"performed {kind}" for kind, fails in (("failing", True), ("passing", False))
                    if rule.code not in NOT_RUNNABLE and not any(e.fails == fails for e in performed)]
        if missing:
            lacking.append(f"{rule.code} {rule.name}: no {' and no '.join(missing)} example")
    assert not lacking, "rules without documented examples:\n  " + "\n  ".join(lacking)


def test_doctor_scenarios_in_the_catalogue(cli):
    explained = cli("explain", "keystore-unreachable").stdout
    assert "Fails:" in explained and "Passes:" in explained
    assert "server `kes keystore=down`" in explained and "MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:${port}" in explained
    for code in NOT_RUNNABLE:
        assert "not performed by the test suite: " in cli("explain", code).stdout
    record = next(r for r in json.loads(cli("rules", "--format", "json").stdout)["rules"] if r["code"] == "DOC036")
    assert [(e["fails"], e["runnable"]) for e in record["examples"]] == [(True, False), (False, True)]


def test_codes_and_names_are_stable_shapes():
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules) and len({r.name for r in rules}) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"[A-Z]{3}\d{3}", rule.code), rule.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
        assert rule.title and rule.rationale and rule.fix


def test_rules_json_and_text(cli):
    document = json.loads(cli("rules", "--format", "json").stdout)
    records = {r["code"]: r for r in document["rules"]}
    assert set(records) == {r.code for r in all_rules()}
    ksc = records["KSC001"]
    assert ksc["name"] == "unused-suppression" and ksc["severity"] == "warning"
    assert {e["fails"] for e in ksc["examples"]} == {True, False}
    assert "ignore[KSC001]" in ksc["suppress"]
    text = cli("rules").stdout
    assert all(re.search(rf"^{r.code}\s+{r.severity.label}\s+{r.name}\s", text, re.M) for r in all_rules())


def test_explain_by_code_or_name(cli):
    by_code = cli("explain", "ksc002")
    assert by_code.status == 0
    assert by_code.stdout == cli("explain", "expired-suppression").stdout
    for heading in ("Why it matters:", "Fails:", "Passes:", "How to fix:", "How to suppress:"):
        assert heading in by_code.stdout
    assert "expires=2001-01-31" in by_code.stdout


def test_explain_unknown_rule_suggests(cli):
    run = cli("explain", "unused-supression")
    assert run.status == 2 and "did you mean unused-suppression" in run.stderr


def test_example_bytes_that_are_not_utf8_are_shown_escaped(cli):
    assert "MINIO_SITE_NAME=caf\\xe9" in cli("explain", "KES002").stdout


def test_version(cli):
    run = cli("--version")
    assert run.status == 0 and run.stdout.strip() == f"kescheck {__version__}"


# --- kescheck settings -------------------------------------------------------------------------

def test_settings_shows_values_and_origins(cli, write, tmp_path, monkeypatch):
    write("pyproject.toml", """\
        [project]
        name = "ops"

        [tool.kescheck]
        select = ["KES", "KSC"]
        expiry-warning-days = 14

        [tool.kescheck.severity]
        KSC001 = "error"

        [[tool.kescheck.suppressions]]
        rule = "KES001"
        path = "lab/*"
        reason = "generated"
        expires = 2030-01-31
        """)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    run = cli("settings", "--format", "json")
    assert run.status == 0
    document = json.loads(run.stdout)
    assert document["settings_file"].endswith("pyproject.toml")
    rows = {row["name"]: row for row in document["settings"]}
    origin = f"{tmp_path / 'pyproject.toml'} [tool.kescheck]"
    assert rows["select"] == {"name": "select", "value": ["KES", "KSC"], "origin": origin}
    assert rows["expiry-warning-days"]["value"] == 14 and rows["expiry-warning-days"]["origin"] == origin
    assert rows["severity.KSC001"]["value"] == "error"
    assert rows["kes-version"]["origin"] == "default"
    assert rows["suppressions[0]"]["value"]["expires"] == "2030-01-31"
    assert rows["suppressions[0]"]["origin"] == f"{origin} suppressions[0]"
    text = cli("settings").stdout
    assert re.search(r"^expiry-warning-days\s+14\s+\(.*pyproject\.toml \[tool\.kescheck\]\)$", text, re.M)


def test_settings_with_an_explicit_file_and_errors(cli, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("ci.toml", "kes-version = \"0.23\"\n")
    run = cli("settings", "--config", "ci.toml")
    assert re.search(r"^kes-version\s+0\.23\s+\(ci\.toml\)$", run.stdout, re.M)
    write("bad.toml", "selec = [\"KES\"]\n")
    bad = cli("settings", "--config", "bad.toml")
    assert bad.status == 2 and "unknown setting(s) selec" in bad.stderr


# --- docs/ci.md ----------------------------------------------------------------------------

def yaml_blocks() -> list[dict]:
    text = (REPO / "docs" / "ci.md").read_text("utf-8")
    return [YAML(typ="safe").load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def kescheck_commands(lines: list[str]) -> list[list[str]]:
    return [shlex.split(line)[1:] for line in lines if line.startswith("kescheck ")]


@pytest.fixture
def ci_project(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write("deploy/kes-config.yaml", "address: 0.0.0.0:7373\naddress: 0.0.0.0:7374\nadmin: {identity: disabled}\n")
    return tmp_path


def test_github_workflow_uploads_the_sarif_it_writes(cli, ci_project):
    workflow = next(b for b in yaml_blocks() if "jobs" in b)
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert workflow["permissions"]["security-events"] == "write"
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    assert all(("uses" in s) != ("run" in s) for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["if"] == "always()"
    (command,) = kescheck_commands([s["run"] for s in steps if "run" in s])
    run = cli(*command)
    assert run.status == 1
    assert re.search(r"^::error file=deploy/kes-config\.yaml,line=2,.*title=KES001 yaml-syntax::", run.stdout, re.M)
    sarif = json.loads((ci_project / upload["with"]["sarif_file"]).read_text())
    assert any(r["ruleId"] == "KES001" for r in sarif["runs"][0]["results"])


def test_gitlab_job_publishes_the_reports_it_writes(cli, ci_project):
    import xml.etree.ElementTree as ET

    (job,) = [b["kescheck"] for b in yaml_blocks() if "kescheck" in b]
    assert job["stage"] and job["image"].startswith("python:")
    reports = job["artifacts"]["reports"]
    assert job["artifacts"]["when"] == "always"
    (command,) = kescheck_commands(job["script"])
    run = cli(*command)
    assert run.status == 1 and "KES001" in run.stdout
    quality = json.loads((ci_project / reports["codequality"]).read_text())
    assert {"path": "deploy/kes-config.yaml", "lines": {"begin": 2}} in [i["location"] for i in quality
                                                                        if i["check_name"] == "KES001 yaml-syntax"]
    junit = ET.parse(ci_project / reports["junit"]).getroot()
    assert "KES001" in [f.get("type") for f in junit.iter("failure")]


# --- colour ----------------------------------------------------------------------------------

def test_color_choices(cli, ci_project, monkeypatch):
    assert "\x1b[" in cli("lint", "deploy", "--color", "always").stdout
    assert "\x1b[" not in cli("lint", "deploy", "--color", "never").stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in cli("lint", "deploy").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in cli("lint", "deploy").stdout


def test_by_content_skips_named_files_that_are_no_kes_config_or_minio_env(cli, write, tmp_path, monkeypatch):
    """What the pre-commit hooks rely on: every changed YAML file is named, only real configs are checked."""
    monkeypatch.chdir(tmp_path)
    write(".github/workflows/ci.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n")
    write("deploy/config.yml", "admin: {identity: disabled}\nadmin: {identity: x}\nkeystore: {fs: {path: /k}}\n")
    named = [".github/workflows/ci.yml", "deploy/config.yml"]
    strict = cli("lint", *named, "--format", "json")
    assert ".github/workflows/ci.yml" in strict.stdout  # named without --by-content: linted as a KES config
    hook = cli("lint", "--by-content", *named, "--format", "json")
    assert hook.status == 1
    assert ".github/workflows/ci.yml" not in hook.stdout and "deploy/config.yml" in hook.stdout


# --- rule selectors ----------------------------------------------------------------------------------

def test_selectors_may_be_listed_with_commas_as_in_ruff(cli, write, tmp_path):
    config = write("kes-config.yaml", "address: 0.0.0.0:7373\naddress: 0.0.0.0:7374\n"
                                      "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n")
    listed = json.loads(cli("lint", config, "--format", "json", "--select", "KES001,KES013").stdout)
    repeated = json.loads(cli("lint", config, "--format", "json", "--select", "KES001", "--select", "KES013").stdout)
    assert listed["findings"] == repeated["findings"] and {f["code"] for f in listed["findings"]} == {"KES001", "KES013"}
    ignored = json.loads(cli("lint", config, "--format", "json", "--select", "KES", "--ignore", "KES001, KES013").stdout)
    assert {f["code"] for f in ignored["findings"]} == {"KES212", "KES224"}


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_a_selector_that_names_no_rule_is_a_usage_error(cli, write, option):
    config = write("kes-config.yaml", "address: 0.0.0.0:7373\n")
    run = cli("lint", config, option, "KES001,CRT0O1")  # a letter O for a zero: it would check nothing and pass
    assert run.status == 2 and f"{option} 'CRT0O1' names no rule" in run.stderr and "KES001'" not in run.stderr
    assert cli("lint", config, option, "unknown-key").status in (0, 1)  # a rule's name selects it too


def test_settings_selectors_that_name_no_rule_are_a_usage_error(cli, write, tmp_path, monkeypatch):
    write(".kescheck.toml", '[tool.kescheck]\nselect = ["KES"]\nignore = ["KES2O1"]\n\n'
                            '[tool.kescheck.severity]\nKSC01 = "error"\n\n[tool.kescheck.per-path-ignores]\n'
                            '"lab/*" = ["POL999"]\n')
    config = write("kes-config.yaml", "address: 0.0.0.0:7373\n")
    monkeypatch.chdir(tmp_path)
    run = cli("lint", config)
    origin = f"{tmp_path / '.kescheck.toml'} [tool.kescheck]"
    assert run.status == 2
    assert f"ignore 'KES2O1' in {origin}, per-path-ignores.lab/* 'POL999' in {origin}, severity 'KSC01' in " \
           f"{origin} names no rule" in run.stderr


def test_a_settings_suppression_of_no_rule_is_a_usage_error(cli, write, tmp_path, monkeypatch):
    write(".kescheck.toml", '[[suppressions]]\nrule = "POL25"\npath = "deploy/*"\nreason = "accepted"\n')
    config = write("deploy/kes-config.yaml", "address: 0.0.0.0:7373\n")
    monkeypatch.chdir(tmp_path)
    run = cli("lint", config)
    assert run.status == 2
    assert f"rule 'POL25' of {tmp_path / '.kescheck.toml'} suppressions[0] names no rule" in run.stderr


@pytest.mark.parametrize("written", ["0.20", "0.2", "0.30"])
def test_a_kes_version_in_the_settings_must_be_quoted(cli, write, tmp_path, monkeypatch, written):
    """TOML reads 0.20 as the number 0.2: KES 0.2 is another generation than KES 0.20."""
    write(".kescheck.toml", f"kes-version = {written}\n")
    config = write("kes-config.yaml", "address: 0.0.0.0:7373\n")
    monkeypatch.chdir(tmp_path)
    run = cli("lint", config)
    assert run.status == 2 and "kes-version must be a string, quoted" in run.stderr
    write(".kescheck.toml", f'kes-version = "{written}"\n')
    assert cli("lint", config, "--format", "json").status in (0, 1)


def test_the_json_summary_gives_the_exit_status_exit_zero_makes(cli):
    example = REPO / "fixtures" / "examples" / "g2"
    for extra, status in (((), 1), (("--exit-zero",), 0)):
        run = cli("lint", example, "--fail-on", "note", "--format", "json", *extra)
        assert run.status == status
        assert json.loads(run.stdout)["summary"]["exit_status"] == status


def test_standard_input_named_twice_is_a_usage_error(cli):
    run = cli("lint", "-", "-", stdin="address: 0.0.0.0:7373\n")
    assert run.status == 2 and "standard input (-) can be named only once" in run.stderr


def test_per_path_ignores_mean_the_same_files_from_any_working_directory(cli, write, tmp_path, monkeypatch):
    example = REPO / "fixtures" / "examples" / "g2"
    for name in ("kes-config.yaml", "minio.env"):
        write(f"deploy/prod/{name}", (example / name).read_text())
    write(".kescheck.toml", '[per-path-ignores]\n"deploy/prod/*" = ["CRT001"]\n')
    for where, target in ((tmp_path, "deploy/prod"), (tmp_path / "deploy", "prod"), (tmp_path / "deploy" / "prod", ".")):
        monkeypatch.chdir(where)
        codes = [f["code"] for f in json.loads(cli("lint", target, "--format", "json").stdout)["findings"]]
        assert codes and "CRT001" not in codes, where
