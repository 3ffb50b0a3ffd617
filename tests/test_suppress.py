"""Suppressions: `# kescheck:` comments in real KES configs and env files, and settings entries."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from kescheck.engine import lint as run_lint
from kescheck.load.source import SourceFile
from kescheck.model import Options
from kescheck.settings import Settings, load_settings
from kescheck.suppress import comment_columns, scan

UTC = dt.timezone.utc
# The rules these inputs exercise; the other families' findings on the same files do not matter here.
RULES = ("KES001", "KES002", "KSC")
ONLY = ("--select", "KES001", "--select", "KES002", "--select", "KSC")


def lint(paths, options=None, settings=None):
    settings = settings or Settings()
    settings.select = RULES
    return run_lint(paths, options, settings)

# Two duplicate keys: KES001 fires on line 4 (address) and on line 7 (keystore).
CONFIG = """\
address: 0.0.0.0:7373
admin:
  identity: disabled
address: 0.0.0.0:7374{on_address}
keystore:
  fs: {{path: /var/lib/kes}}
keystore:{on_keystore}
  fs: {{path: /srv/kes}}
"""


def config(on_address: str = "", on_keystore: str = "") -> str:
    return CONFIG.format(on_address=on_address, on_keystore=on_keystore)


def by_line(result, code="KES001"):
    return {f.location.line: f for f in result.findings if f.code == code}


def codes(result, active_only=True):
    return sorted((f.code, f.location.line) for f in result.findings if f.suppressed_by is None or not active_only)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the scanner ---------------------------------------------------------------------------

@pytest.mark.parametrize("line,comment", [
    ("key: value # note", "# note"),
    ('key: "a # b" # note', "# note"),
    ("key: 'it''s # x' # note", "# note"),
    ("key: it's # note", "# note"),
    ("key: a#b", None),
    ("url: http://x/#frag # note", "# note"),
    ("list: [a, '#b', \"c # d\"] # note", "# note"),
    ("- item # note", "# note"),
    ("# whole line", "# whole line"),
])
def test_yaml_comment_starts_where_yaml_says(line, comment):
    column = comment_columns(SourceFile(Path("k.yaml"), line + "\n"), "kes")[0]
    assert (line[column:] if column is not None else None) == comment


def test_no_comment_inside_block_scalars_or_multiline_quotes():
    text = textwrap.dedent("""\
        a: |
          literal # not a comment
          # not one either
        b: >-
          folded # no
        c: "two
          lines # no
          end" # yes 1
        - key: |
            deep # no
          sibling: x # yes 2
        d: 1 # yes 3
        """)
    columns = comment_columns(SourceFile(Path("k.yaml"), text), "kes")
    found = [line[c:] for line, c in zip(text.splitlines(), columns) if c is not None]
    assert found == ["# yes 1", "# yes 2", "# yes 3"]


def test_env_comments_outside_quoted_values():
    text = 'A=b # c\nB="x # y" # z\n  # own line\nC=d#e\n'
    columns = comment_columns(SourceFile(Path("m.env"), text), "env")
    assert [line[c:] if c is not None else None for line, c in zip(text.splitlines(), columns)] == \
        ["# c", "# z", "# own line", None]


def test_reason_keeps_hashes_quotes_and_colons():
    source = SourceFile(Path("k.yaml"), "a: \"v#1\"  # kescheck: ignore[KES001] -- see 'ticket' #42: a, b -- c\n")
    (directive,) = scan(source, "kes")
    assert directive.codes == ("KES001",)
    assert directive.reason == "see 'ticket' #42: a, b -- c"
    assert (directive.line, directive.column, directive.target_line) == (1, 11, 1)


# --- inline suppressions -------------------------------------------------------------------

def test_inline_suppression_silences_exactly_that_finding(here, write):
    path = write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001] -- test rig, KES reads the last"))
    result = lint([path])
    findings = by_line(result)
    assert findings[4].suppressed_by == "inline: test rig, KES reads the last"
    assert findings[7].suppressed_by is None
    assert codes(result) == [("KES001", 7)]


def test_a_suppression_of_another_code_does_not_touch_the_finding(here, write):
    path = write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES002] -- wrong code"))
    result = lint([path])
    assert codes(result) == [("KES001", 4), ("KES001", 7), ("KSC001", 4)]
    unused = next(f for f in result.findings if f.code == "KSC001")
    assert unused.location.column == 24 and "KES002" in unused.message


def test_rule_name_works_like_its_code(here, write):
    path = write("kes-config.yaml", config(on_keystore="  # kescheck: ignore[yaml-syntax] -- migration in PR 12"))
    assert codes(lint([path])) == [("KES001", 4)]


def test_own_line_form_applies_to_the_next_line_with_content(here, write):
    text = config().replace("keystore:\n  fs: {path: /srv/kes}",
                            "# kescheck: ignore[KES001] -- second keystore wins on purpose\n\n# other comment\n"
                            "keystore:\n  fs: {path: /srv/kes}")
    path = write("kes-config.yaml", text)
    result = lint([path])
    assert codes(result) == [("KES001", 4)]
    assert by_line(result)[10].suppressed_by.endswith("second keystore wins on purpose")


def test_file_level_suppression(here, write):
    path = write("kes-config.yaml", "# kescheck: ignore-file[KES001] -- generated file, fixed upstream\n" + config())
    result = lint([path])
    assert codes(result) == []
    assert len([f for f in result.findings if f.suppressed_by]) == 2


def test_directive_inside_a_quoted_value_is_not_a_suppression(here, write):
    path = write("kes-config.yaml", config(on_address="").replace(
        "address: 0.0.0.0:7374", 'address: "0.0.0.0:7374 # kescheck: ignore[KES001] -- no"'))
    assert codes(lint([path])) == [("KES001", 4), ("KES001", 7)]


def test_env_file_own_line_and_trailing_forms(here, write):
    write("minio.env", b"MINIO_SITE_NAME=ok\n# kescheck: ignore[KES002] -- legacy Latin-1 site name\n"
                       b"MINIO_SITE_REGION=caf\xe9\n")
    result = lint(["minio.env"])
    (finding,) = [f for f in result.findings if f.code == "KES002"]
    assert finding.location.line == 3 and finding.suppressed_by == "inline: legacy Latin-1 site name"
    assert codes(result) == []
    write("other.env", b"MINIO_SITE_REGION=caf\xe9 # kescheck: ignore[KES002] -- trailing\n")
    assert codes(lint(["other.env"])) == []


def test_unused_suppression_is_a_finding(here, write):
    path = write("kes-config.yaml", "address: 0.0.0.0:7373  # kescheck: ignore[KES001] -- was a duplicate once\n"
                                    "admin: {identity: disabled}\n")
    result = lint([path])
    (unused,) = result.findings
    assert (unused.code, unused.location.line, unused.location.column) == ("KSC001", 1, 24)
    assert result.exit_status(None) == 0


def test_expired_inline_suppression_stops_working(here, write):
    path = write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001] expires=2030-06-30 -- until cutover"))
    before = lint([path], Options(at=dt.datetime(2030, 6, 30, 23, 0, tzinfo=UTC)))
    assert codes(before) == [("KES001", 7)]
    after = lint([path], Options(at=dt.datetime(2030, 7, 1, 0, 1, tzinfo=UTC)))
    assert codes(after) == [("KES001", 4), ("KES001", 7), ("KSC002", 4)]
    expired = next(f for f in after.findings if f.code == "KSC002")
    assert "2030-06-30" in expired.message


def test_suppression_without_reason_works_but_is_reported(here, write):
    path = write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001]"))
    result = lint([path])
    assert by_line(result)[4].suppressed_by is not None
    assert codes(result) == [("KES001", 7), ("KSC003", 4)]


@pytest.mark.parametrize("comment,problem", [
    ("# kescheck: ignore KES001 -- no brackets", "not a kescheck directive"),
    ("# kescheck: ignore[] -- empty", "needs the rule codes"),
    ("# kescheck: ignore[KES001] expires=soon -- x", "not a date"),
    ("# kescheck: ignore[KES001] until=2030-01-01 -- x", "unknown option"),
    ("# kescheck: ignore[KES999] -- typo", "not a kescheck rule"),
])
def test_invalid_directive_is_reported_and_suppresses_nothing(here, write, comment, problem):
    path = write("kes-config.yaml", config(on_address="  " + comment))
    result = lint([path])
    (invalid,) = [f for f in result.findings if f.code == "KSC004"]
    assert problem in invalid.message and invalid.location.line == 4
    assert ("KES001", 4) in codes(result)


def test_suppression_of_a_rule_that_did_not_run_is_not_unused(here, cli, write):
    write("kes-config.yaml", "address: 0.0.0.0:7373  # kescheck: ignore[KES001] -- x\nadmin: {identity: disabled}\n")
    run = cli("lint", "kes-config.yaml", *ONLY, "--ignore", "KES001", "--format", "json")
    assert json.loads(run.stdout)["findings"] == []


# --- settings entries ------------------------------------------------------------------------

def settings_file(here: Path, entries: str):
    path = here / ".kescheck.toml"
    path.write_text(textwrap.dedent(entries))
    return load_settings(path)


def test_settings_suppression_by_path_with_expiry(here, write):
    write("prod/kes-config.yaml", config())
    write("lab/kes-config.yaml", config())
    settings = settings_file(here, """\
        [[suppressions]]
        rule = "KES001"
        path = "lab/*"
        reason = "the lab config is generated"
        expires = 2030-01-31
        """)
    result = lint(["prod", "lab"], Options(at=dt.datetime(2030, 1, 1, tzinfo=UTC)), settings)
    assert sorted((f.location.path.as_posix(), f.suppressed_by is None) for f in result.findings) == [
        ("lab/kes-config.yaml", False), ("lab/kes-config.yaml", False),
        ("prod/kes-config.yaml", True), ("prod/kes-config.yaml", True)]
    assert "the lab config is generated" in result.findings[0].suppressed_by
    late = lint(["prod", "lab"], Options(at=dt.datetime(2030, 2, 1, tzinfo=UTC)), settings)
    expired = [f for f in late.findings if f.code == "KSC002"]
    assert len(expired) == 1 and expired[0].location.path == Path(".kescheck.toml")
    assert expired[0].location.line == 1
    assert len(late.active()) == 5


def test_unused_settings_suppression_only_when_its_path_was_linted(here, write):
    write("prod/kes-config.yaml", "address: 0.0.0.0:7373\nadmin: {identity: disabled}\n")
    settings = settings_file(here, """\
        # comment first, so the entry is on line 3
        [[suppressions]]
        rule = "KES001"
        path = "prod/*"
        reason = "old"

        [[suppressions]]
        rule = "KES001"
        path = "staging/*"
        reason = "not linted in this run"
        """)
    result = lint(["prod"], Options(), settings)
    (unused,) = result.findings
    assert unused.code == "KSC001" and unused.location.line == 2 and "prod/*" in unused.message


# --- the CLI ---------------------------------------------------------------------------------

def test_no_inline_ignores_for_strict_ci(here, cli, write):
    write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001] -- x"))
    relaxed = json.loads(cli("lint", "kes-config.yaml", *ONLY, "--format", "json").stdout)
    strict = json.loads(cli("lint", "kes-config.yaml", *ONLY, "--format", "json", "--no-inline-ignores").stdout)
    assert [f["line"] for f in relaxed["findings"]] == [7]
    assert [(f["code"], f["line"]) for f in strict["findings"]] == [("KES001", 4), ("KES001", 7)]


def test_show_suppressed_lists_them_with_the_reason(here, cli, write):
    write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001] -- test rig"))
    hidden = cli("lint", "kes-config.yaml", *ONLY, "--format", "plain")
    shown = cli("lint", "kes-config.yaml", *ONLY, "--format", "plain", "--show-suppressed")
    assert "test rig" not in hidden.stdout.replace("ignore[KES001] -- test rig", "")
    assert "[suppressed]" in shown.stdout and "suppressed: inline: test rig" in shown.stdout
    assert hidden.status == shown.status == 1


def test_sarif_carries_the_justification(here, cli, write):
    write("kes-config.yaml", config(on_address="  # kescheck: ignore[KES001] -- test rig"))
    write(".kescheck.toml", """\
        [[suppressions]]
        rule = "KES001"
        path = "kes-config.yaml"
        reason = "tracked in OPS-7"
        """)
    sarif = json.loads(cli("lint", "kes-config.yaml", *ONLY, "--format", "sarif").stdout)
    suppressions = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r.get("suppressions")
                    for r in sarif["runs"][0]["results"]}
    assert suppressions[4] == [{"kind": "inSource", "justification": "inline: test rig"}]
    assert suppressions[7][0]["kind"] == "external" and "tracked in OPS-7" in suppressions[7][0]["justification"]
