"""A Kubernetes manifest named where a KES config belongs gets one message saying what it is and what to lint,
not a finding for each of its keys; a directory walk passes manifests by, as any other YAML."""
from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kescheck.engine import lint
from kescheck.load.kubernetes import kubernetes_manifest
from kescheck.load.source import LINE_BREAK
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


def test_a_secret_with_a_kes_config_in_string_data_is_named_with_the_line_of_the_config(cli, write):
    path = write("kes-secret.yaml", SECRET)
    run = cli("lint", path, "--format", "json")
    assert run.status == 2
    report = json.loads(run.stdout)
    assert report["findings"] == []  # no KES010 for apiVersion, kind, metadata …
    message = _message(run)
    assert "a Kubernetes manifest (Secret 'kes-config'), not a KES server config" in message
    assert "a KES config under stringData.server-config.yaml of Secret 'kes-config' (line 8, column 3)" in message
    assert SECRET.splitlines()[7].startswith("  server-config.yaml:")  # line 8, column 3 of the file
    assert "kescheck lint -" in message


def test_a_multi_document_file_names_each_object_and_the_base64_config(cli, write):
    path = write("kes.yaml", MULTI_DOCUMENT)
    run = cli("lint", path)
    assert run.status == 2
    message = _message(run)
    assert "(ConfigMap 'kes-env', Secret 'kes', Deployment 'kes')" in message
    line = MULTI_DOCUMENT.splitlines().index(next(l for l in MULTI_DOCUMENT.splitlines() if "config.yaml:" in l)) + 1
    assert f"a KES config under data.config.yaml (base64) of Secret 'kes' (line {line}, column 3)" in message
    assert "tls.crt" not in message and "LOG_LEVEL" not in message  # values that are no config are not named
    assert "select(.kind == \"Secret\" and .metadata.name == \"kes\") | .data.\"config.yaml\" | @base64d" in message


def test_an_operator_secret_holding_the_minio_env_file_is_not_read_as_an_env_file(cli, write):
    path = write("storage-configuration.yaml", OPERATOR_ENV_SECRET)
    run = cli("lint", path, "--format", "json")
    assert run.status == 2 and json.loads(run.stdout)["findings"] == []
    assert "a MinIO env file under stringData.config.env of Secret 'storage-configuration' (line 6, column 3)" \
        in _message(run)


def test_a_manifest_holding_no_config_says_what_to_lint_instead(cli, write):
    path = write("deployment.yaml", MULTI_DOCUMENT.split("---\n")[2])
    run = cli("lint", path)
    assert run.status == 2
    assert "(Deployment 'kes'), not a KES server config or MinIO env file, and no Secret or ConfigMap" in _message(run)
    assert "kes server --config FILE" in _message(run)


def test_a_template_that_is_not_yaml_yet_is_recognised_by_its_top_level_kind(cli, write):
    run = cli("lint", write("templates/secret.yaml", HELM_TEMPLATE))
    assert run.status == 2
    assert "a Kubernetes manifest or template (Secret)" in _message(run) and "helm template" in _message(run)
    assert "top-level `kind` is at line 3" in _message(run)


def test_standard_input_gets_the_same_message(cli):
    run = cli("lint", "-", stdin=SECRET)
    assert run.status == 2
    assert "<stdin>: a Kubernetes manifest (Secret 'kes-config')" in _message(run)
    assert "yq -r '.stringData.\"server-config.yaml\"' | kescheck lint -" in _message(run)


def test_walks_and_by_content_pass_manifests_by(cli, write, tmp_path):
    write("k8s/kes-secret.yaml", SECRET)
    write("k8s/kes.yaml", MULTI_DOCUMENT)  # was taken for a KES config with two documents (KES001)
    write("k8s/storage-configuration.yaml", OPERATOR_ENV_SECRET)
    walked = cli("lint", tmp_path / "k8s")
    assert walked.status == 0 and "no KES config or MinIO env file found" in walked.stderr
    named = cli("lint", "--by-content", *sorted((tmp_path / "k8s").iterdir()))
    assert named.status == 0 and "no KES config or MinIO env file found" in named.stderr


def test_a_kes_config_mentioning_api_version_and_kind_stays_a_kes_config(write):
    path = write("kes-config.yaml", "# apiVersion: v1\n# kind: Secret\n" + KES_CONFIG)
    result = lint([path])
    assert result.input_errors == [] and result.files[0].kes is not None


def test_a_kes_config_in_two_documents_stays_a_kes_config(cli, write):
    path = write("kes-config.yaml", KES_CONFIG + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    run = cli("lint", path)
    assert run.status == 1 and "KES001" in run.stdout


def test_the_named_manifest_does_not_pull_in_its_directory(write):
    path = write("deploy/kes-secret.yaml", SECRET)
    write("deploy/kes-config.yaml", KES_CONFIG)
    result = lint([path], Options())
    assert [str(e.path) for e in result.input_errors] == [str(path)]
    assert result.files == []


def test_a_key_with_quotes_is_quoted_for_yq_and_the_shell():
    text = SECRET.replace("server-config.yaml:", "\"it's \\\"kes\\\".yaml\":")
    manifest = kubernetes_manifest(text)
    assert manifest is not None and manifest.embedded[0].key == "it's \"kes\".yaml"
    command = manifest.embedded[0].extraction("my dir/secret.yaml", select=False)
    assert shlex.split(command) == ["yq", "-r", '.stringData."it\'s \\"kes\\".yaml"', "my dir/secret.yaml", "|",
                                    "kescheck", "lint", "-"]


@pytest.mark.skipif(shutil.which("yq") is None, reason="no yq on this host")
@pytest.mark.parametrize("name,text", [("single.yaml", SECRET), ("multi.yaml", MULTI_DOCUMENT)])
def test_the_suggested_command_prints_the_config_kes_reads(write, name, text):
    path = write(name, text)
    manifest = kubernetes_manifest(text)
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
    manifest = kubernetes_manifest(text)
    if manifest is not None:
        assert manifest.objects
        manifest.refusal("m.yaml")
        for embedded in manifest.embedded:
            assert 1 <= embedded.line <= len(LINE_BREAK.split(text))
