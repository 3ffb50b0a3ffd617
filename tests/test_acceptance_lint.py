"""Acceptance checks of `kescheck lint` (issues 2, 3, 7) on fresh inputs: each test pins a bug found
by black-box testing, or an end-to-end acceptance scenario not covered elsewhere."""
from __future__ import annotations

import json

import pytest

from kescheck.engine import lint

VAULT_KES = """\
    version: v1
    address: 0.0.0.0:7373
    admin:
      identity: disabled
    tls:
      key: /etc/kes/private.key
      cert: /etc/kes/public.crt
    keystore:
      vault:
        endpoint: https://vault.example.net:8200
        approle:
          id: ${{VAULT_ROLE_ID}}
          secret: ${{VAULT_SECRET_ID}}
        tls:
    {tls}
    """


def _lint_json(cli, *args):
    run = cli("lint", *args, "--format", "json")
    assert run.status in (0, 1), run.stderr
    return run.status, json.loads(run.stdout)["findings"]


@pytest.mark.parametrize("present, missing", [("key", "cert"), ("cert", "key")])
def test_vault_client_tls_half_pair_names_the_missing_half(cli, write, present, missing):
    """The reason must say which half is missing, not the reverse case."""
    path = write("kes.yaml", VAULT_KES.format(tls=f"          {present}: /etc/kes/vault-client.{present}"))
    status, findings = _lint_json(cli, path)
    [found] = [f for f in findings if f["anchor"] == f"keystore.vault.tls.{missing}"]
    assert status == 1 and found["severity"] == "error" and found["line"] == 15
    assert f"`tls.{present}` without `tls.{missing}`" in found["message"]
    assert f"`tls.{missing}` without `tls.{present}`" not in found["message"]


@pytest.mark.parametrize("variable, line", [("VAULT_SECRET_ID", 13), ("VAULT_ROLE_ID", 12)])
def test_keystore_secret_set_empty_in_kes_env_is_a_refusal(cli, write, variable, line):
    """A deployment tool that renders a missing secret as `VAR=` makes KES start with an empty approle
    secret, which KES refuses exactly like a missing one."""
    path = write("kes.yaml", VAULT_KES.format(tls="          ca: /etc/kes/vault-ca.pem"))
    env = {"VAULT_ROLE_ID": "5d2b1c3e-role", "VAULT_SECRET_ID": "9f3e2a1b-secret", variable: ""}
    kes_env = write("kes.env", "".join(f"{k}={v}\n" for k, v in env.items()))
    status, findings = _lint_json(cli, path, "--kes-env", kes_env)
    [found] = [f for f in findings if f["code"] == "KES108"]
    assert status == 1 and (found["line"], found["column"]) == (line, 15 if line == 13 else 11)
    assert variable in found["message"] and "approle" in found["message"]
    assert "9f3e2a1b-secret" not in json.dumps(findings)


def test_keystore_secret_set_in_kes_env_is_fine(cli, write):
    path = write("kes.yaml", VAULT_KES.format(tls="          ca: /etc/kes/vault-ca.pem"))
    kes_env = write("kes.env", "VAULT_ROLE_ID=5d2b1c3e-role\nVAULT_SECRET_ID=9f3e2a1b-secret\n")
    status, findings = _lint_json(cli, path, "--kes-env", kes_env)
    assert status == 0 and not [f for f in findings if f["severity"] == "error"]


def _split_repository(tmp_path):
    """A git work tree as operators lay it out: the KES config and MinIO's env file in separate folders."""
    import subprocess

    repo = tmp_path / "repo"
    (repo / "kes").mkdir(parents=True)
    (repo / "minio").mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "kes" / "config.yml").write_text(
        "address: 0.0.0.0:7373\nadmin:\n  identity: disabled\ntls:\n  key: /etc/kes/k.key\n  cert: /etc/kes/k.crt\n"
        "log:\n  error: verbose\nkeystore:\n  fs:\n    path: /var/lib/kes\n")
    (repo / "minio" / "minio.env").write_text(
        "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
        "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    return repo


def test_named_env_file_in_a_repository_brings_its_kes_config_from_another_folder(tmp_path, cli, monkeypatch):
    """pre-commit names only the changed env file; `kescheck lint .` in the same repository pairs it
    with the repository's one KES config, so the single-file run must check that deployment too."""
    repo = _split_repository(tmp_path)
    monkeypatch.chdir(repo)
    status, whole = _lint_json(cli, ".")
    status_one, named = _lint_json(cli, "--by-content", "minio/minio.env")
    assert [(f["path"], f["code"], f["line"]) for f in named] == [(f["path"], f["code"], f["line"]) for f in whole]
    assert status_one == status == 1
    assert ("kes/config.yml", "KES012", 8) in [(f["path"], f["code"], f["line"]) for f in named]


def test_named_kes_config_in_a_repository_brings_the_env_files_of_other_folders(tmp_path, monkeypatch):
    repo = _split_repository(tmp_path)
    monkeypatch.chdir(repo)
    result = lint(["kes/config.yml"])
    assert [[e.source.path.as_posix() for e in d.envs] for d in result.deployments] == [["minio/minio.env"]]


def test_garbage_lines_without_a_name_are_not_called_duplicates(cli, write):
    """`=x` lines have no variable name: ENV010 says so once per line; ENV007 must not add
    '` is set again here`' messages that name nothing."""
    path = write("minio.env", "MINIO_ROOT_USER=admin\n=novalue\n=\n==\nMINIO_KMS_KES_KEY_NAME=minio-key\n")
    status, findings = _lint_json(cli, path)
    assert [f["line"] for f in findings if f["code"] == "ENV010"] == [2, 3, 4]
    assert not [f for f in findings if f["code"] == "ENV007"]
    assert all(not f["message"].startswith(" ") for f in findings)


@pytest.mark.parametrize("name, text", [
    ("kes.yaml", b"address: 0.0.0.0:7373\nadmin:\n  identity: caf\xe9\n"),
    ("minio.env", b"MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_SITE_NAME=caf\xe9\n")])
def test_non_utf8_byte_is_marked_at_its_column_with_the_reason(cli, write, name, text):
    path = write(name, text)
    status, findings = _lint_json(cli, path)
    [found] = [f for f in findings if f["code"] == "KES002"]
    line = text.split(b"\n").index(next(l for l in text.split(b"\n") if b"\xe9" in l)) + 1
    assert status == 1 and (found["line"], found["column"]) == (line, text.split(b"\n")[line - 1].index(b"\xe9") + 1)
    assert "UTF-8" in found["message"] and "expect" in found["message"]


@pytest.mark.parametrize("name, text, position", [
    ("kes.yaml", b"admin:\r  identity: disabled\nkeystore:\n  fs: {path: /k\xff}\n", (4, 16)),
    ("kes.yaml", b"\xef\xbb\xbfadmin: {identity: caf\xe9}\n", (1, 22)),
    ("minio.env", b"MINIO_KMS_KES_ENDPOINT=https://kes:7373\rX=1\nMINIO_SITE_NAME=caf\xe9\n", (2, 20))],
    ids=["yaml-lone-cr", "yaml-bom", "env-lone-cr"])
def test_non_utf8_byte_is_placed_on_the_line_the_file_kind_counts(cli, write, name, text, position):
    """A YAML reader ends a line at a lone CR, MinIO's env reader does not; a BOM is no character of the text."""
    status, findings = _lint_json(cli, write(name, text))
    [found] = [f for f in findings if f["code"] == "KES002"]
    assert (found["line"], found["column"]) == position


def test_baseline_survives_reordered_env_and_moved_yaml_keys(tmp_path, cli, monkeypatch):
    """Baselines key on the env variable and the YAML path: reordering an env file and moving a KES
    block keeps old findings accepted, and only a new one fails."""
    monkeypatch.chdir(tmp_path)
    kes = tmp_path / "kes.yaml"
    env = tmp_path / "minio.env"
    kes.write_text("admin:\n  identity: MINIO_ADMIN_HASH\ntls:\n  key: kes.key\n  cert: kes.crt\n"
                   "keystore:\n  fs:\n    path: /var/kes/keys\n")
    env.write_text("MINIO_KMS_KES_ENDPOINT=http://kes.lab:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
                   "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    first = cli("lint", ".", "--write-baseline", "baseline.json", "--fail-on", "warning", "--format", "json")
    assert first.status == 0 and json.loads(first.stdout)["summary"]["suppressed"] > 0
    kes.write_text("# moved\nkeystore:\n  fs:\n    path: /var/kes/keys\n\nadmin:\n  identity: MINIO_ADMIN_HASH\n"
                   "tls:\n  key: kes.key\n  cert: kes.crt\n")
    env.write_text("# reordered\n\n" + "".join(reversed(env.read_text().splitlines(keepends=True))))
    again = cli("lint", ".", "--baseline", "baseline.json", "--fail-on", "note", "--format", "json")
    assert again.status == 0, again.stdout
    env.write_text(env.read_text() + "MINIO_KMS_KES_CA_PATH=/etc/minio/ca.pem\n")
    new = cli("lint", ".", "--baseline", "baseline.json", "--format", "json")
    assert new.status == 1
    assert [(f["code"], f["line"]) for f in json.loads(new.stdout)["findings"] if not f["suppressed"]] == [("ENV100", 6)]


def test_sarif_uris_are_percent_encoded(tmp_path, cli, monkeypatch):
    """`#` would start a URI fragment and a space is no URI character: GitHub must find the file."""
    from urllib.parse import unquote

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "prod deploy"
    folder.mkdir()
    (folder / "kes #1.yaml").write_text("admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\n"
                                         "keystore:\n  fs:\n    path: /var/kes\n")
    run = cli("lint", "prod deploy", "--format", "sarif")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(run.stdout)["runs"][0]["results"]}
    assert uris == {"prod%20deploy/kes%20%231.yaml"} and unquote(uris.pop()) == "prod deploy/kes #1.yaml"


@pytest.mark.parametrize("written, meant, line", [
    ("certificate", "cert", 5), ("private_key", "key", 4), ("client_auth", "auth", 6), ("identites", "identities", 11)])
def test_misnamed_key_gets_a_suggestion_at_its_own_line(cli, write, written, meant, line):
    text = ("admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\n  auth: 'off'\npolicy:\n  minio:\n"
            "    allow: [/v1/key/generate/minio-*]\n    deny: []\n    identities: []\nkeystore:\n  fs:\n    path: /var/kes\n")
    target = text.splitlines()[line - 1]
    path = write("kes.yaml", text.replace(target, target.replace(f"{meant}:", f"{written}:", 1)))
    status, findings = _lint_json(cli, path)
    [found] = [f for f in findings if f["code"] == "KES010"]
    assert status == 1 and found["line"] == line and f"did you mean `{meant}`?" in found["message"]


def test_config_option_accepts_a_file_with_a_tool_kescheck_table(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ci-settings.toml").write_text('[tool.kescheck]\nignore = ["KES212"]\n')
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /k}}\n")
    run = cli("lint", "kes.yaml", "--config", "ci-settings.toml", "--format", "json")
    assert run.status in (0, 1), run.stderr
    assert '"KES212"' not in run.stdout
    assert '"KES212"' in cli("lint", "kes.yaml", "--format", "json").stdout
