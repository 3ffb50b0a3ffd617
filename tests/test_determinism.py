"""The same inputs give byte-identical machine-readable reports, whatever the path order."""
from __future__ import annotations

import itertools
import json

import pytest

from kescheck.report import FORMATS

MACHINE_FORMATS = sorted(set(FORMATS) - {"rich", "plain"})

FILES = {
    "a/kes-config.yaml": "admin: {identity: disabled}\nadmin: {identity: x}\nkeystore: {fs: {path: /k}}\n",
    "a/minio.env": "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k # c\n",
    "b/kes.yaml": "tls:\n\tkey: x\n",
    "c/other.yaml": "address: 0.0.0.0:7373\naddress: 1\npolicy: {}\nkeystore: {fs: {path: /k}}\n",
}


@pytest.fixture
def tree(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in FILES.items():
        write(name, text)
    return list(FILES)


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_path_order_does_not_change_the_report(cli, tree, fmt):
    outputs = {cli("lint", *order, "--format", fmt).stdout for order in itertools.islice(itertools.permutations(tree), 6)}
    assert len(outputs) == 1
    assert "kes-config.yaml" in outputs.pop()


@pytest.mark.parametrize("fmt", MACHINE_FORMATS)
def test_directory_order_does_not_change_the_report(cli, tree, fmt):
    outputs = {cli("lint", *order, "--format", fmt).stdout for order in itertools.permutations(["a", "b", "c"])}
    outputs.add(cli("lint", ".", "--format", fmt).stdout)
    assert len(outputs) == 1
    assert "b/kes.yaml" in outputs.pop()


def test_no_timestamps_in_reports(cli, tree):
    import re

    for fmt in MACHINE_FORMATS:
        out = cli("lint", *tree, "--format", fmt).stdout
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", out)


def without_durations(node):
    """The doctor's JSON states how long each probe took (`duration_ms`); nothing else may vary."""
    if isinstance(node, dict):
        return {k: without_durations(v) for k, v in node.items() if k != "duration_ms"}
    if isinstance(node, list):
        return [without_durations(v) for v in node]
    return node


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_doctor_reports_are_stable_apart_from_durations(cli, tmp_path, fmt):
    import socket

    ports = []
    for _ in range(3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    env = tmp_path / "minio.env"
    env.write_text("MINIO_KMS_KES_ENDPOINT=" + ",".join(f"https://127.0.0.1:{p}" for p in ports)
                   + ",http://127.0.0.1:1\nMINIO_KMS_KES_KEY_NAME=k\n"
                   "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    runs = [cli("doctor", "--minio-env", env, "--timeout", "1", "--format", fmt, "--at", "2030-01-01").stdout
            for _ in range(3)]
    documents = [without_durations(json.loads(out)) for out in runs]
    assert documents[0] == documents[1] == documents[2]
    if fmt == "sarif":
        assert runs[0] == runs[1] == runs[2]  # SARIF carries no durations at all
    else:
        assert '"duration_ms"' in runs[0]
