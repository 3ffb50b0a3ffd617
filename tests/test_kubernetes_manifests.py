"""A Kubernetes manifest is no KES config, but the KES config or MinIO env file a Secret or ConfigMap of it holds
as a literal block is linted where it stands, at the manifest's lines and columns. A manifest whose value cannot
be placed line by line (base64, several values) gets one message saying what it holds and how to lint it, not a
finding for each of its keys; a directory walk passes such manifests by, as any other YAML."""
from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kescheck.engine import lint
from kescheck.load.kubernetes import kubernetes_manifest
from kescheck.load.source import LINE_BREAK, SourceFile
from kescheck.model import Options

KES_CONFIG = """\
address: 0.0.0.0:7373
admin:
  identity: disabled
tls:
  key: /etc/kes/server.key
  cert: /etc/kes/server.crt
keystore:
  fs:
    path: /var/lib/kes
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: kes-config
  namespace: minio
type: Opaque
stringData:
  server-config.yaml: |
""" + "".join(f"    {line}\n" for line in KES_CONFIG.splitlines())

MULTI_DOCUMENT = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: kes-env
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: Secret
metadata:
  name: kes
data:
  tls.crt: bm90IGEgY2VydGlmaWNhdGU=
  config.yaml: {encoded}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kes
spec:
  replicas: 1
""".format(encoded=base64.b64encode(KES_CONFIG.encode()).decode())

OPERATOR_ENV_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: storage-configuration
stringData:
  config.env: |-
    export MINIO_ROOT_USER="minio"
    export MINIO_ROOT_PASSWORD="minio123"
    export MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373
    export MINIO_KMS_KES_KEY_NAME=minio-default-key
    export MINIO_KMS_KES_CERT_FILE=/tmp/kes/client.crt
    export MINIO_KMS_KES_KEY_FILE=/tmp/kes/client.key
    export MINIO_STORAGE_CLASS_STANDARD="EC:2"
    export MINIO_BROWSER="on"
type: Opaque
"""

HELM_TEMPLATE = """\
{{- if .Values.kes.enabled }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "kes.fullname" . }}
  labels:
    {{- include "kes.labels" . | nindent 4 }}
stringData:
  config.yaml: |
    {{- .Values.config | nindent 4 }}
{{- end }}
"""


def _message(run) -> str:
    return " ".join(run.stderr.split())


def _at(run) -> list[tuple[str, int, int]]:
    return [(f["code"], f["line"], f["column"]) for f in json.loads(run.stdout)["findings"]]


def test_a_kes_config_in_a_literal_block_is_linted_where_it_stands(cli, write):
    text = SECRET.replace("    keystore:\n", "    polcy: {}\n    keystore:\n")
    path = write("kes-secret.yaml", text)
    run = cli("lint", path, "--format", "json")
    report = json.loads(run.stdout)
    assert run.status == 1 and report["errors"] == []
    typo_line = text.splitlines().index("    polcy: {}") + 1
    assert ("KES010", typo_line, 5) in _at(run)  # the manifest's line and column of the typo
    assert [m for m in report["findings"] if m["code"] == "KES010"][0]["message"].startswith("`polcy` is not")
    assert not [f for f in report["findings"] if re.search(r"apiVersion|stringData|metadata", f["message"])]
    [record] = report["files"]
    assert record["kind"] == "kes" and record["generation"] == "G2"
    assert record["embedded_in"] == "stringData.server-config.yaml of Secret 'kes-config', lines 9-18"
    # a finding about the whole config points where the value starts, not at `apiVersion`
    assert ("KES212", 9, 5) in _at(run)
    plain = cli("lint", path, "--format", "plain")
    assert "in the manifest's stringData.server-config.yaml of Secret 'kes-config', lines 9-18 (linted in place)" \
        in plain.stdout
    assert f"> {typo_line} |     polcy: {{}}" in plain.stdout


def test_a_multi_document_file_with_a_base64_config_names_each_object_and_says_how_to_lint_it(cli, write):
    path = write("kes.yaml", MULTI_DOCUMENT)
    run = cli("lint", path)
    assert run.status == 2
    message = _message(run)
    assert "(ConfigMap 'kes-env', Secret 'kes', Deployment 'kes')" in message
    line = MULTI_DOCUMENT.splitlines().index(next(l for l in MULTI_DOCUMENT.splitlines() if "config.yaml:" in l)) + 1
    assert f"a KES config under data.config.yaml (base64) of Secret 'kes' (line {line}, column 3)" in message
    assert "not a literal block" in message
    assert "tls.crt" not in message and "LOG_LEVEL" not in message  # values that are no config are not named
    assert "select(.kind == \"Secret\" and .metadata.name == \"kes\") | .data.\"config.yaml\" | @base64d" in message


def test_an_operator_secret_holding_the_minio_env_file_is_linted_as_minio_reads_it(cli, write):
    text = OPERATOR_ENV_SECRET.replace('export MINIO_BROWSER="on"', "export MINIO_KMS_KES_KEY_NAME=other-key # old")
    path = write("storage-configuration.yaml", text)
    run = cli("lint", path, "--format", "json")
    report = json.loads(run.stdout)
    assert report["errors"] == [] and report["files"][0]["kind"] == "env"
    line = "    export MINIO_KMS_KES_KEY_NAME=other-key # old"
    comment_line = text.splitlines().index(line) + 1
    found = _at(run)
    assert ("ENV002", comment_line, line.index("#") + 1) in found
    assert ("ENV007", comment_line, line.index("MINIO") + 1) in found
    # only MinIO reads a mounted config.env: what systemd would make of `export` is beside the point
    assert not [code for code, *_ in found if code in ("ENV005", "ENV006")]
    assert "minio123" not in run.stdout


def test_a_manifest_with_two_configs_says_how_to_lint_each(cli, write):
    path = write("both.yaml", SECRET + "---\n" + OPERATOR_ENV_SECRET)
    run = cli("lint", path)
    assert run.status == 2
    assert "several values, which kescheck lints in place only one at a time" in _message(run)
    assert "stringData.server-config.yaml" in _message(run) and "stringData.config.env" in _message(run)


def test_a_manifest_holding_no_config_says_what_to_lint_instead(cli, write):
    path = write("deployment.yaml", MULTI_DOCUMENT.split("---\n")[2])
    run = cli("lint", path)
    assert run.status == 2
    assert "(Deployment 'kes'), not a KES server config or MinIO env file, no Secret or ConfigMap" in _message(run)
    assert "kes server --config FILE" in _message(run)


def test_a_template_that_is_not_yaml_yet_is_recognised_by_its_top_level_kind(cli, write):
    run = cli("lint", write("templates/secret.yaml", HELM_TEMPLATE))
    assert run.status == 2
    assert "a Kubernetes manifest or template (Secret)" in _message(run) and "helm template" in _message(run)
    assert "top-level `kind` is at line 3" in _message(run)


def test_standard_input_is_linted_in_place_too(cli):
    run = cli("lint", "-", "--format", "json", stdin=SECRET)
    report = json.loads(run.stdout)
    assert report["errors"] == [] and report["files"][0]["path"] == "<stdin>"
    assert report["files"][0]["embedded_in"].startswith("stringData.server-config.yaml of Secret 'kes-config'")
    refused = cli("lint", "-", stdin=MULTI_DOCUMENT)
    assert refused.status == 2 and "<stdin>: a Kubernetes manifest (ConfigMap 'kes-env'" in _message(refused)
    assert "yq -r 'select(" in _message(refused)


def test_walks_lint_what_manifests_hold_in_place_and_pair_it_as_one_deployment(cli, write, tmp_path):
    write("k8s/kes-secret.yaml", SECRET.replace("0.0.0.0:7373", "0.0.0.0:7000"))
    write("k8s/kes.yaml", MULTI_DOCUMENT)  # base64: passed by in a walk, as any other YAML
    write("k8s/storage-configuration.yaml", OPERATOR_ENV_SECRET)
    write("k8s/deployment.yaml", MULTI_DOCUMENT.split("---\n")[2])
    for run in (cli("lint", tmp_path / "k8s", "--format", "json"),
                cli("lint", "--by-content", "--format", "json", *sorted((tmp_path / "k8s").iterdir()))):
        report = json.loads(run.stdout)
        assert report["errors"] == []
        assert sorted(Path(f["path"]).name for f in report["files"]) == ["kes-secret.yaml", "storage-configuration.yaml"]
        # the env Secret's endpoint port (7373) and the KES config's address (7000) are checked against each other
        mismatch = [f for f in report["findings"] if f["code"] == "DEP001"]
        assert mismatch and Path(mismatch[0]["path"]).name == "storage-configuration.yaml"


def test_a_kes_config_mentioning_api_version_and_kind_stays_a_kes_config(write):
    path = write("kes-config.yaml", "# apiVersion: v1\n# kind: Secret\n" + KES_CONFIG)
    result = lint([path])
    assert result.input_errors == [] and result.files[0].kes is not None and result.files[0].embedded is None


def test_a_kes_config_in_two_documents_stays_a_kes_config(cli, write):
    path = write("kes-config.yaml", KES_CONFIG + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    run = cli("lint", path)
    assert run.status == 1 and "KES001" in run.stdout


def test_a_refused_manifest_does_not_pull_in_its_directory(write):
    path = write("deploy/kes.yaml", MULTI_DOCUMENT)
    write("deploy/kes-config.yaml", KES_CONFIG)
    result = lint([path], Options())
    assert [str(e.path) for e in result.input_errors] == [str(path)]
    assert result.files == []


def test_a_key_with_quotes_is_quoted_for_yq_and_the_shell():
    text = SECRET.replace("server-config.yaml:", "\"it's \\\"kes\\\".yaml\":")
    manifest = kubernetes_manifest(SourceFile(Path("manifest.yaml"), text))
    assert manifest is not None and manifest.embedded[0].key == "it's \"kes\".yaml"
    command = manifest.embedded[0].extraction("my dir/secret.yaml", select=False)
    assert shlex.split(command) == ["yq", "-r", '.stringData."it\'s \\"kes\\".yaml"', "my dir/secret.yaml", "|",
                                    "kescheck", "lint", "-"]


@pytest.mark.skipif(shutil.which("yq") is None, reason="no yq on this host")
@pytest.mark.parametrize("name,text", [("single.yaml", SECRET), ("multi.yaml", MULTI_DOCUMENT)])
def test_the_suggested_command_prints_the_config_kes_reads(write, name, text):
    path = write(name, text)
    manifest = kubernetes_manifest(SourceFile(Path("manifest.yaml"), text))
    command = manifest.embedded[0].extraction(str(path), select=len(manifest.objects) > 1)
    printer = command.rsplit(" | kescheck lint -", 1)[0]
    printed = subprocess.run(printer, shell=True, capture_output=True, text=True, check=True).stdout
    assert printed.rstrip("\n") == KES_CONFIG.rstrip("\n")
    linted = subprocess.run(f"{printer} | {shlex.quote(sys.executable)} -m kescheck lint - --format json",
                            shell=True, capture_output=True, text=True)
    assert linted.returncode in (0, 1) and json.loads(linted.stdout)["errors"] == []
    assert not re.search(r'"code": "KES01[03]"', linted.stdout)


FRAGMENTS = ["apiVersion: v1\n", "kind: Secret\n", "kind: ConfigMap\n", "kind: [x]\n", "metadata: {name: k}\n",
             "metadata: x\n", "stringData:\n", "data:\n", "binaryData:\n", "  config.yaml: |\n", "    admin: {}\n",
             "    keystore: {fs: {path: /k}}\n", "    tls: {key: k, cert: c}\n", "  c: !!binary aGk=\n",
             "  e: " + base64.b64encode(KES_CONFIG.encode()).decode() + "\n", "  e: =bad=\n", "  e: /w==\n",
             "    export MINIO_KMS_KES_ENDPOINT=x\n", "---\n", "{{ x }}\n", "- a\n", "&a [*a]\n", "\t\n", "\r", "\x85",
             "admin: {identity: disabled}\n", "keystore: {}\n", "\"apiVersion\": v1\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join))
def test_recognition_survives_any_mix_of_manifest_fragments(text):
    manifest = kubernetes_manifest(SourceFile(Path("manifest.yaml"), text))
    if manifest is not None:
        assert manifest.objects
        manifest.refusal("m.yaml")
        lines = LINE_BREAK.split(text)
        for embedded in manifest.embedded:
            assert 1 <= embedded.line <= len(lines)
            if embedded.in_place is not None:  # the manifest's own lines, where they stand, and nothing else
                linted = embedded.in_place.split("\n")
                assert not any(linted[:embedded.first_line - 1]) and linted[embedded.last_line:] == [""]
                assert linted[embedded.first_line - 1:embedded.last_line] == lines[embedded.first_line - 1:embedded.last_line]


@pytest.mark.parametrize("fmt", ["rich", "plain", "json", "sarif", "github", "gitlab", "junit"])
def test_no_secret_of_the_manifest_or_of_the_config_in_it_reaches_a_report(cli, write, fmt):
    config = ("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n  vault:\n"
              "    endpoint: https://vault.example.net:8200\n    approle:\n      id: kes\n"
              "      secret: Zq7-approle-canary\n")
    text = ("apiVersion: v1\nkind: Secret\nmetadata: {name: kes}\nstringData:\n"
            "  admin-password: Xw9-neighbour-canary\n  config.yaml: |\n"
            + "".join(f"    {line}\n" for line in config.splitlines()) + "  other: Xw9-neighbour-canary\n")
    run = cli("lint", write("kes-secret.yaml", text), "--format", fmt, "--color", "always")
    assert "KES209" in run.stdout  # the secret written into the config is found, and not shown
    assert "canary" not in run.stdout and "canary" not in run.stderr


LISTED = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: kes-config}
    stringData:
      config.yaml: |
        admin: {identity: disabled}
        tls: {key: /etc/kes/tls/tls.key, cert: /etc/kes/tls/tls.crt}
        keystore: {vault: {endpoint: 'https://vault:8200', token: hvs.CAESIListedCanary}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: kes}
    spec:
      template:
        spec:
          containers:
            - name: kes
              image: quay.io/minio/kes:2024-01-11T13-09-29Z
              args: [server, --config=/etc/kes/config.yaml, --mlock]
"""


def test_the_items_of_a_kind_list_are_read_as_objects(write, cli):
    """`kubectl get -o yaml` writes several objects as the items of one `kind: List`."""
    path = write("kes.yaml", LISTED)
    manifest = kubernetes_manifest(SourceFile(path, LISTED))
    assert [(o.kind, o.name, o.line) for o in manifest.objects] == [("Secret", "kes-config", 5), ("Deployment", "kes", 13)]
    mlock = [f for f in lint([path]).findings if f.code == "SYS002"]
    assert [(f.location.path.name, f.location.line) for f in mlock] == [("kes.yaml", 21)]
    assert "CAESIListedCanary" not in cli("lint", str(path), "--format", "json").stdout


def test_a_secret_listed_in_another_file_of_the_directory_is_mounted(write, tmp_path):
    config = ("admin: {identity: disabled}\ntls: {key: /etc/kes/tls/tls.key, cert: /etc/kes/tls/tls.crt}\n"
              "keystore: {vault: {endpoint: 'https://vault:8200', kubernetes: {role: kes, jwt: /etc/kes/vault/jwt}}}\n")
    write("kes.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kes-config}\ndata:\n  config.yaml: |\n"
                      + "".join(f"    {line}\n" for line in config.splitlines())
                      + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kes}\nspec:\n  template:\n"
                        "    spec:\n      volumes: [{name: t, secret: {secretName: vault-jwt}}]\n      containers:\n"
                        "        - name: kes\n          image: quay.io/minio/kes:2024-01-11T13-09-29Z\n"
                        "          args: [server, --config=/etc/kes/config.yaml]\n"
                        "          volumeMounts: [{name: t, mountPath: /etc/kes/vault}]\n")
    write("secrets.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n"
                          "  metadata: {name: vault-jwt}\n  stringData: {token: a-jwt}\n")
    sys011 = [f for f in lint([tmp_path / "kes.yaml"]).findings if f.code == "SYS011"]
    assert len(sys011) == 1 and "holds 'token', not 'jwt'" in sys011[0].message  # the listed Secret's keys are known
