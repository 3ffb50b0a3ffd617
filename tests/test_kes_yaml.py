import json

from kescheck.engine import lint


def codes(result):
    return [(f.code, f.location.line, f.location.column) for f in result.findings]


def test_duplicate_key_reported_at_second_occurrence(write):
    path = write("kes.yaml", """
        address: 0.0.0.0:7373
        admin:
          identity: disabled
        address: 0.0.0.0:7374
        keystore:
          fs:
            path: /var/kes
        """)
    result = lint([path])
    assert ("KES001", 4, 1) in codes(result)
    message = next(f.message for f in result.findings if f.code == "KES001")
    assert "already defined at line 1" in message


def test_tab_indentation_is_a_positioned_finding(write):
    path = write("kes.yaml", "admin:\n\tidentity: x\nkeystore:\n  fs: {path: /x}\n")
    result = lint([path])
    assert [c for c in codes(result) if c[0] == "KES001"] == [("KES001", 2, 1)]
    assert result.exit_status(None) == 0


def test_several_documents_refused(write):
    path = write("kes.yaml", "admin: {identity: disabled}\n---\nkeystore: {fs: {path: /x}}\n")
    message = next(f.message for f in lint([path]).findings if f.code == "KES001")
    assert "more than one YAML document" in message


def test_empty_named_file_is_an_error_not_a_crash(write, cli):
    path = write("kes.yaml", "")
    run = cli("lint", path, "--format", "json")
    assert run.status == 1
    report = json.loads(run.stdout)
    assert report["findings"][0]["code"] == "KES001"
    assert "empty" in report["findings"][0]["message"]


def test_alias_bomb_stops_with_a_finding(write):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    path = write("kes.yaml", "\n".join(lines) + "\nkeystore: {fs: {path: /x}}\nadmin: {identity: x}\n")
    messages = [f.message for f in lint([path]).findings if f.code == "KES001"]
    assert any("alias" in m for m in messages)


def test_missing_path_exits_2_naming_the_file(cli, tmp_path):
    run = cli("lint", tmp_path / "absent.yaml")
    assert run.status == 2
    assert "absent.yaml" in run.stderr and "no such file" in run.stderr
