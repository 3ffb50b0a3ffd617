"""The performance shortcuts (issue 9) give exactly what the plain computation gives.

No timing here: speed is measured by bench/run.py only.
"""
from __future__ import annotations

import json

import pytest

from kescheck.engine import lint
from kescheck.load.kesconfig import Generation
from kescheck.load.source import SourceFile
from kescheck.load.yamldoc import parse_yaml, walk
from kescheck.policy import ROUTES, search_witness, tokens_for, witness
from kescheck.report import ReportContext, render
from kescheck.rules.policy_patterns import diagnose

PATTERNS = ["/v1/key/create/minio-*", "/v1/key/*", "/v1/*", "*", "/", "/v1/key/list/*", "/v1/status", "/v1/sta*",
            "/v1/key/generate/", "/v1/key/gen*/x", "/v1/[a-z]*/create/*", "/v1/ke?/create/k", "/v1/identity/self/describe",
            "/v1/log/error/trace", "/v2/key/create/*", "/version", "/v1/policy/*/x", "v1/key/create/*", "/v1/key/create/a/b"]


@pytest.mark.parametrize("generation", list(Generation))
def test_literal_prefix_rejection_agrees_with_the_search(generation):
    for text in PATTERNS:
        tokens = tokens_for(text, generation)
        if tokens is None:
            continue
        for route in ROUTES:
            assert witness(tokens, route) == search_witness(tokens, route), (text, route.display)


def test_cached_diagnosis_equals_a_fresh_one():
    for generation in Generation:
        for text in PATTERNS:
            cached = diagnose(text, generation)
            assert diagnose.__wrapped__(text, generation) == cached
            assert diagnose(text, generation) is cached


def test_nodes_list_is_the_walk(tmp_path):
    text = "a: 1\nb:\n  - x\n  - {c: d, e: [1, 2]}\nf: null\n"
    doc = parse_yaml(SourceFile(tmp_path / "k.yaml", text))
    assert doc.nodes() == list(walk(doc.root))
    assert doc.nodes() is doc.nodes()


def test_batch_pairs_each_directory_with_its_own_env_file(tmp_path):
    """The per-directory pairing (a dict instead of a scan of every env file) keeps each pair apart."""
    kes = "admin:\n  identity: disabled\ntls: {key: /k, cert: /c}\nkeystore:\n  fs:\n    path: /var/kes\n"
    for index in range(3):
        directory = tmp_path / f"d{index}"
        directory.mkdir()
        (directory / "kes-config.yaml").write_text(kes)
        (directory / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes{index}:7373\n")
    (tmp_path / "d3").mkdir()
    (tmp_path / "d3" / "minio.env").write_text("MINIO_KMS_KES_ENDPOINT=https://lonely:7373\n")
    result = lint([tmp_path])
    pairs = sorted((d.kes.source.path.parent.name if d.kes else None, [e.source.path.parent.name for e in d.envs])
                   for d in result.deployments if d.kes)
    assert pairs == [("d0", ["d0"]), ("d1", ["d1"]), ("d2", ["d2"])]
    lonely = [d for d in result.deployments if d.kes is None]
    assert [[e.source.path.parent.name for e in d.envs] for d in lonely] == [["d3"]]
    rendered = json.loads(render(result, ReportContext(format="json", color=False, fail_on=None,
                                                       show_suppressed=False, statistics=False)))
    assert rendered["summary"]["files"] == 7
