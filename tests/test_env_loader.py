"""The env loader: MinIO's reading and systemd's reading of real files, and hostile input."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kescheck.engine import lint
from kescheck.load.envfile import looks_like_minio_env, parse_env, read_systemd
from kescheck.load.source import read_source


def load(write, text):
    return parse_env(read_source(write("minio.env", text)))


def test_minio_reading_keeps_inline_comment_space_in_name_and_glued_export(write):
    env = load(write, "MINIO_KMS_KES_KEY_NAME=minio-key # default key\n"
                      "MINIO_KMS_KES_ENDPOINT = https://kes:7373\n"
                      "exportMINIO_ROOT_USER=admin\n"
                      "MINIO_A= \"quoted\"\n"
                      "MINIO_B='single'\n")
    assert env.value("MINIO_KMS_KES_KEY_NAME") == "minio-key # default key"
    assert env.get("MINIO_KMS_KES_ENDPOINT") is None
    assert env.value("MINIO_KMS_KES_ENDPOINT ") == "https://kes:7373"
    assert env.value("MINIO_ROOT_USER") == "admin" and env.get("MINIO_ROOT_USER").had_export
    assert env.value("MINIO_A") == '"quoted"'
    assert env.value("MINIO_B") == "single"
    entry = env.get("MINIO_KMS_KES_KEY_NAME")
    assert (entry.line, entry.name_column, entry.value_column) == (1, 1, 24)


def test_systemd_reading_escapes_continuations_quotes_and_export():
    reading = read_systemd('A=x\\\ny\nB="q\\"r" tail\nexport C=1\nD=v # c\nE=\'multi\nline\'\nnoequals\n; comment\n')
    by_name = {a.name: a for a in reading.assignments}
    assert by_name["A"].value == "xy" and by_name["A"].end_line == 2
    assert by_name["B"].value == 'q"rtail'
    assert not by_name["export C"].valid
    assert by_name["D"].value == "v # c"
    assert by_name["E"].value == "multi\nline" and (by_name["E"].line, by_name["E"].end_line) == (6, 7)
    assert reading.dropped_lines == [8]


def test_crlf_is_dropped_by_both_readers_but_recorded(write):
    env = load(write, "MINIO_KMS_KES_KEY_NAME=minio-key\r\nMINIO_X=1\r\n")
    assert env.value("MINIO_KMS_KES_KEY_NAME") == "minio-key"
    assert env.systemd.starting_at(1).value == "minio-key"
    assert env.crlf_lines == [1, 2]


def test_recognised_by_content_not_by_name(write, tmp_path):
    write("conf/settings", "MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\n")
    write("conf/notes.yaml", "config.env: |\n  MINIO_KMS_KES_ENDPOINT=https://kes:7373\nkind: Secret\nmetadata: {}\n")
    result = lint([tmp_path / "conf"])
    assert [f.source.path.name for f in result.files if f.kind == "env"] == ["settings"]
    assert not looks_like_minio_env("kind: Secret\nstringData:\n  x: 1\n")


@pytest.mark.parametrize("data", [
    b"MINIO_KMS_KES_ENDPOINT=https://kes:7373\x00\nMINIO_KMS_KES_KEY_NAME=k\n",
    b"MINIO_KMS_KES_KEY_NAME=k\r\n\r\nno equals here\r\n===\r\n=\r\n\"\r\n'\r\n\\\r\nexport\r\nexport=\r\n",
    b"MINIO_ROOT_USER=\xff\xfe\xfd\nMINIO_KMS_KES_KEY_NAME='unterminated\n#\\\n\\",
    b"MINIO_X=\"" + b"a" * 70000 + b"\n" + b"}{" * 100,
])
def test_hostile_env_files_never_crash_any_format(data, tmp_path, cli):
    path = tmp_path / "minio.env"
    path.write_bytes(data)
    for fmt in ("plain", "rich", "json", "sarif"):
        run = cli("lint", path, "--format", fmt, "--color", "always")
        assert run.status in (0, 1), run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        if fmt in ("json", "sarif"):
            json.loads(run.stdout)


def test_nul_byte_env_file_is_linted_with_a_finding_not_refused(tmp_path):
    path = tmp_path / "minio.env"
    path.write_bytes(b"MINIO_KMS_KES_KEY_NAME=minio\x00key\n")
    result = lint([path])
    assert not result.input_errors
    assert [(f.code, f.location.line, f.location.column) for f in result.findings if f.code == "ENV009"] == [
        ("ENV009", 1, 29)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["MINIO_KMS_KES_ENDPOINT=", "MINIO_KMS_KES_KEY_NAME", "=", " ", "\"", "'", "\\",
                                 "#", "export", "\r", "\n", "\x00", "{1...3}", "https://kes", ":7373", ",",
                                 "MINIO_KMS_KES_API_KEY=", "kes:v1:", "MINIO_KMS_SECRET_KEY=", "ä", "\t"]),
                max_size=30))
def test_any_mix_of_env_syntax_loads_and_lints(tmp_path, parts):
    path = tmp_path / "fuzz.env"
    path.write_bytes(("MINIO_X=1\n" + "".join(parts)).encode("utf-8"))
    result = lint([path])
    assert not [f for f in result.findings if "failed on this deployment" in f.message]
