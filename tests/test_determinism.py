"""The same inputs give byte-identical machine-readable reports, whatever the path order."""
from __future__ import annotations

import itertools

import pytest

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


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_path_order_does_not_change_the_report(cli, tree, fmt):
    outputs = {cli("lint", *order, "--format", fmt).stdout for order in itertools.islice(itertools.permutations(tree), 6)}
    assert len(outputs) == 1
    assert "kes-config.yaml" in outputs.pop()


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_directory_order_does_not_change_the_report(cli, tree, fmt):
    outputs = {cli("lint", *order, "--format", fmt).stdout for order in itertools.permutations(["a", "b", "c"])}
    outputs.add(cli("lint", ".", "--format", fmt).stdout)
    assert len(outputs) == 1
    assert "b/kes.yaml" in outputs.pop()


def test_no_timestamps_in_reports(cli, tree):
    import re

    for fmt in ("json", "sarif"):
        out = cli("lint", *tree, "--format", fmt).stdout
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", out)
