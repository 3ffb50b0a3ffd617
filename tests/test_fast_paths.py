"""The performance shortcuts (issue 9) give exactly what the plain computation gives.

No timing here: speed is measured by bench/run.py only.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO
from kescheck.engine import lint
from kescheck.load.envfile import read_systemd
from kescheck.load.kesconfig import Generation
from kescheck.load.source import REDACTED
from kescheck.load.source import SourceFile
from kescheck.load.yamldoc import parse_yaml, walk
from kescheck.policy import ROUTES, search_witness, tokens_for, witness
from kescheck.report import ReportContext, render
from kescheck.rules import all_rules
from kescheck.rules.kes_schema import instance_of
from kescheck.rules.policy_patterns import diagnose
from kescheck.schema import SCHEMA_FILES, quick_check, validator

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


def _kes_instances():
    """Every KES config the repository holds (fixtures and the rules' documented examples), as JSON values."""
    texts = [p.read_text(errors="replace") for p in sorted(REPO.glob("fixtures/**/*.y*ml"))]
    texts += [text for r in all_rules() for example in r.examples for name, text in example.files
              if name.endswith((".yaml", ".yml"))]
    instances = []
    for text in texts:
        root = parse_yaml(SourceFile(REPO / "k.yaml", text)).root
        if root is not None:
            instances.append(instance_of(root))
    return instances


KES_INSTANCES = _kes_instances()


def _verdicts(instance):
    return [(quick_check(g)(instance), validator(g).is_valid(instance)) for g in sorted(SCHEMA_FILES)]


def test_quick_schema_check_covers_every_keyword_of_the_shipped_schemas():
    assert all(quick_check(g) is not None for g in SCHEMA_FILES)


def test_quick_schema_check_agrees_with_jsonschema_on_every_repository_config():
    assert len(KES_INSTANCES) > 100
    seen = set()
    for instance in KES_INSTANCES:
        for quick, full in _verdicts(instance):
            assert quick == full, instance
            seen.add(full)
    assert seen == {True, False}


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False, allow_infinity=False),
                     st.sampled_from(["", "v1", "disabled", "on", "off", "5m", "30s", "1h0m", "/v1/status", "*", "a b",
                                      "9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b", "${X}",
                                      "minio-*", "0.0.0.0:7373", "https://v:8200", "debug", "ERROR", "kv", "v2"]))


def _keys(value):
    if isinstance(value, dict):
        for key, sub in value.items():
            yield key
            yield from _keys(sub)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


KNOWN_NAMES = sorted({key for instance in KES_INSTANCES for key in _keys(instance)} | {"bogus", "Allow", ""})


def _mutate(value, data, depth=0):
    """One random edit somewhere in `value`: replace, drop or add a member, or change a scalar."""
    choice = data.draw(st.integers(0, 4))
    if isinstance(value, dict) and value and choice < 3 and depth < 8:
        key = data.draw(st.sampled_from(sorted(value)))
        copy = dict(value)
        if choice == 0:
            del copy[key]
        elif choice == 1:
            copy[data.draw(st.sampled_from(KNOWN_NAMES))] = data.draw(_SCALARS | st.just({}) | st.just([]))
        else:
            copy[key] = _mutate(value[key], data, depth + 1)
        return copy
    if isinstance(value, list) and value and choice < 3 and depth < 8:
        index = data.draw(st.integers(0, len(value) - 1))
        copy = list(value)
        copy[index] = _mutate(value[index], data, depth + 1)
        return copy
    return data.draw(_SCALARS | st.builds(lambda v: [v], _SCALARS) | st.builds(lambda k, v: {k: v}, st.sampled_from(KNOWN_NAMES), _SCALARS))


def _leaf_edits(value, replacements):
    """`value` with one leaf (or one member name) replaced, for every leaf and every replacement."""
    if isinstance(value, dict):
        for key, sub in value.items():
            for edited in _leaf_edits(sub, replacements):
                yield {**value, key: edited}
            yield {("bogus" if k == key else k): v for k, v in value.items()}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for edited in _leaf_edits(item, replacements):
                yield value[:index] + [edited] + value[index + 1:]
    else:
        yield from replacements


def test_quick_schema_check_agrees_with_jsonschema_on_every_single_leaf_edit_of_the_accepted_configs():
    accepted = [p for p in sorted(REPO.glob("fixtures/*/*.y*ml")) + sorted(REPO.glob("fixtures/examples/*/*.y*ml"))
                if "broken" not in p.parts]
    edits = 0
    for path in accepted:
        instance = instance_of(parse_yaml(SourceFile(path, path.read_text())).root)
        for edited in _leaf_edits(instance, ["", None, 0, True, 1.5, [], {}, "-1s", "bogus value"]):
            edits += 1
            for quick, full in _verdicts(edited):
                assert quick == full, (path, edited)
    assert edits > 1000


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_quick_schema_check_agrees_with_jsonschema_on_edited_configs(data):
    instance = data.draw(st.sampled_from(KES_INSTANCES))
    for _ in range(data.draw(st.integers(1, 3))):
        instance = _mutate(instance, data)
    for quick, full in _verdicts(instance):
        assert quick == full


ENV_ALPHABET = st.sampled_from(["A", "b", "_", "1", "=", "#", ";", " ", "\t", "\n", "\r", "'", '"', "\\", "$", "`",
                                "export ", "MINIO_X=", "x\n", "\\\n", "\x00", "é"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(ENV_ALPHABET, max_size=40).map("".join))
def test_plain_line_shortcut_reads_env_files_as_the_state_machine_does(text):
    assert read_systemd(text) == read_systemd(text, shortcut=False)


QUOTED_LINE_PARTS = st.sampled_from(["A", "MINIO_X", " ", "\t", "=", '"', "'", "#", ";", "\\", "$", "x y", "\r",
                                     "{1...4}", "é", "\x00"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.builds(lambda key, value, pad: f'{key}{pad}="{value}"{pad}',
                          st.lists(QUOTED_LINE_PARTS, max_size=4).map("".join),
                          st.lists(QUOTED_LINE_PARTS, max_size=6).map("".join),
                          st.sampled_from(["", " ", "\t ", "  "])), max_size=6).map("\n".join))
def test_quoted_line_shortcut_reads_env_files_as_the_state_machine_does(text):
    """`NAME="value"` lines, most of them within the shortcut's reach, some just outside it."""
    assert read_systemd(text) == read_systemd(text, shortcut=False)


@settings(max_examples=500, deadline=None)
@given(st.lists(ENV_ALPHABET, max_size=40).map("".join))
def test_line_lookups_of_systemd_reading_agree_with_a_scan(text):
    reading = read_systemd(text)
    for line in range(0, text.count("\n") + 3):
        assert reading.starting_at(line) is next((a for a in reading.assignments if a.line == line), None)
        assert reading.covering(line) is next((a for a in reading.assignments if a.line <= line <= a.end_line), None)


def test_plain_line_shortcut_on_a_typical_env_file():
    text = (REPO / "fixtures" / "examples" / "g2" / "minio.env").read_text()
    text += "  SPACED = value with  inner  space  \n=X=1\nNOEQUALS\n# c\n; c\nLAST=1"
    assert read_systemd(text) == read_systemd(text, shortcut=False)
    assert read_systemd(text).assignments


def _redact_naively(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


_SECRET_PIECES = st.sampled_from(["ab", "Zz9", "kes:v1:", "x", "=", " ", "#", "é", "hunter2", "-", "\n", "1234", "AGaV6"])
_SECRETS = st.lists(_SECRET_PIECES, min_size=1, max_size=5).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.sets(_SECRETS, max_size=6), st.lists(_SECRET_PIECES | _SECRETS, max_size=30).map("".join))
def test_redaction_prefilter_keeps_every_secret_that_occurs(secrets, text):
    from kescheck.report import _present, redact

    planted = text + "".join(sorted(secrets))[:40] + text[:7]
    assert {s for s in secrets if len(s) >= 4 and s in planted} <= set(_present(planted, secrets))
    assert redact(planted, secrets) == _redact_naively(planted, secrets)


def test_redaction_prefilter_on_a_report_larger_than_its_slices():
    from kescheck.report import _SCAN_ONCE_ABOVE, redact

    secrets = {f"S3cr3tValue{index:04d}xyz" for index in range(300)} | {"kes:v1:AGaV6VXHasF0FnaB60Wd", "a#b c"}
    assert len(secrets) > _SCAN_ONCE_ABOVE  # the one-pass path
    lines = [f"finding {index}: deployment-{index:05d} MINIO_ROOT_PASSWORD is wrong" for index in range(20_000)]
    for index, secret in enumerate(sorted(secrets)):
        lines[index * 61] += f" leaked={secret}"
    text = "\n".join(lines)
    assert len(text) > 3 * 262_144
    redacted = redact(text, secrets)
    assert redacted == _redact_naively(text, secrets)
    assert not any(secret in redacted for secret in secrets)


def test_lint_freezes_objects_and_collects_less_often_only_while_the_rules_run(tmp_path, monkeypatch):
    import gc

    from kescheck import engine
    from kescheck.parallel import BATCH_COLLECTION_THRESHOLD

    seen = []
    real = engine.run_rules
    monkeypatch.setattr(engine, "run_rules",
                        lambda *a, **k: seen.append((gc.get_freeze_count(), gc.get_threshold())) or real(*a, **k))
    (tmp_path / "kes-config.yaml").write_text("admin: {identity: disabled}\n")
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0 and before[0] < BATCH_COLLECTION_THRESHOLD
    lint([tmp_path])
    (frozen, during), = seen
    assert frozen > 0 and during == (BATCH_COLLECTION_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


# --- the text prefilter a directory walk applies before parsing --------------------------------------------

_KEYS = ["version", "address", "admin", "root", "tls", "policy", "cache", "api", "log", "keys", "keystore",
         "apiVersion", "kind", "metadata", "spec", "tlsConfig", "x-log"]


def _key_text(draw_style: str, key: str) -> str:
    return {"plain": key, "double": f'"{key}"', "single": f"'{key}'", "spaced": f"{key} "}[draw_style]


@st.composite
def kes_like_yaml(draw):
    """Top-level mappings of KES and other keys, written in block or flow style, with quoted, spaced,
    explicit (`? key`) keys, a BOM, comments and other line breaks."""
    keys = draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=7, unique=True))
    comment = draw(st.sampled_from(["", " # note"]))
    styles = st.sampled_from(["plain", "double", "single", "spaced"])
    values = st.sampled_from(["x", "{identity: disabled}", "[a, b]", "'q: v'", "{fs: {path: /p}}"])
    pairs = [(_key_text(draw(styles), k), draw(values)) for k in keys]
    layout = draw(st.sampled_from(["block", "flow", "explicit"]))
    if layout == "flow":
        text = "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    elif layout == "explicit":
        text = "".join(f"? {k}{comment}\n: {v}\n" for k, v in pairs)
    else:
        text = "".join(f"{k}: {v}\n" for k, v in pairs)
    prefix = draw(st.sampled_from(["", "\ufeff", "# comment\n", "---\n", "%YAML 1.2\n---\n"]))
    return prefix + text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r", "\x85", "\u2028"])))


@settings(max_examples=400, deadline=None)
@given(kes_like_yaml())
def test_walk_prefilter_never_drops_what_looks_like_kes(text):
    from kescheck.load.kesconfig import looks_like_kes_config, may_be_kes_config

    if looks_like_kes_config(parse_yaml(SourceFile(REPO / "x.yaml", text))):
        assert may_be_kes_config(text), text


def test_walk_prefilter_rejects_ordinary_kubernetes_yaml():
    from kescheck.load.kesconfig import may_be_kes_config

    text = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n"
            "    nginx.ingress.kubernetes.io/backend-protocol: HTTPS\nspec:\n  tls:\n    - hosts: [web.example.net]\n"
            "      secretName: web-tls\n  rules:\n    - host: web.example.net\n")
    assert not may_be_kes_config(text)


def test_a_walk_finds_a_flow_style_kes_config_and_skips_parsing_other_yaml(tmp_path, monkeypatch):
    import kescheck.engine as engine

    (tmp_path / "config.yaml").write_text("{address: '0.0.0.0:7373', admin: {identity: disabled}, "
                                          "keystore: {fs: {path: /var/lib/kes}}}\n")
    (tmp_path / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n")
    parsed = []
    real_parse = engine.parse_yaml
    monkeypatch.setattr(engine, "parse_yaml", lambda source: parsed.append(source.path.name) or real_parse(source))
    result = lint([tmp_path])
    assert [f.source.path.name for f in result.files] == ["config.yaml"] and result.files[0].kind == "kes"
    assert parsed == ["config.yaml"]


def test_collector_keys_equal_resolved_paths(tmp_path, monkeypatch):
    """The collector resolves each directory once; its keys must still be the fully resolved paths."""
    from kescheck.engine import _Collector, _key
    from kescheck.model import Options

    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "kes.yaml").write_text("address: 0.0.0.0:7373\n")
    (tmp_path / "linked-dir").symlink_to(real, target_is_directory=True)
    (tmp_path / "linked-file.yaml").symlink_to(real / "kes.yaml")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    monkeypatch.chdir(tmp_path)
    collector = _Collector(Options())
    (real / "sub" / "deeper.yaml").write_text("address: 0.0.0.0:7373\n")
    candidates = [real / "kes.yaml", tmp_path / "linked-dir" / "kes.yaml", tmp_path / "linked-file.yaml",
                  tmp_path / "linked-dir" / "sub" / "deeper.yaml", Path("linked-dir/sub/deeper.yaml"),
                  tmp_path / "real" / ".." / "linked-dir" / "sub" / "deeper.yaml", Path("/"), Path("/tmp"),
                  tmp_path / "dangling.yaml", tmp_path / "missing.yaml", real / "sub" / "..",
                  tmp_path / "linked-dir" / "sub" / ".." / "kes.yaml", tmp_path / "linked-dir",
                  Path("real/kes.yaml"), Path("linked-dir/kes.yaml"), Path("."), Path("..")]
    for path in candidates * 2:  # the second round answers from the directory cache
        assert collector.key(path) == _key(path), path
    assert collector.key(tmp_path / "linked-dir" / "kes.yaml") == (real / "kes.yaml").resolve()


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 65537, 300_000])
def test_read_bytes_reads_what_the_file_holds(tmp_path, size):
    """read_bytes asks for the size fstat gives plus one byte; the rest of the file must still arrive."""
    from kescheck.load.source import read_bytes

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    (tmp_path / "f").write_bytes(data)
    assert read_bytes(tmp_path / "f") == data


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux procfs")
def test_read_bytes_reads_a_file_whose_size_says_zero(tmp_path, monkeypatch):
    """A FUSE or network file may say 0 bytes and hold more: a read that stops at the size fstat gives would lose it
    (procfs files did too, before kescheck stopped reading /proc)."""
    from kescheck.load import source

    path = tmp_path / "minio.env"
    path.write_bytes(b"MINIO_KMS_KES_KEY_NAME=k\n" * 5000)
    real_fstat = os.fstat

    def says_zero(fd):
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid, 0,
                               info.st_atime, info.st_mtime, info.st_ctime))

    monkeypatch.setattr(source.os, "fstat", says_zero)
    assert source.read_bytes(path) == path.read_bytes()


def test_a_missing_file_shared_by_deployments_is_reported_for_each(tmp_path):
    """pem_of remembers absent files for the whole run; every deployment naming one still gets its note."""
    env = "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n" \
          "MINIO_KMS_KES_CERT_FILE=/nonexistent-kescheck/client.crt\nMINIO_KMS_KES_KEY_FILE=/nonexistent-kescheck/client.key\n"
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "minio.env").write_text(env)
    result = lint([tmp_path])
    noted = sorted((f.location.path.parent.name, f.location.line) for f in result.findings if f.code == "CRT001")
    assert noted == [(name, line) for name in ("a", "b", "c") for line in (3, 4)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["/", "/tmp", "/tmp/a", "/tmp/a b"]),
       st.lists(st.sampled_from(["", "/", "//", "a", "a b", "..", ".", "tmp", "ab"]), max_size=5))
def test_display_path_is_relative_to_as_plain_paths_compute_it(cwd, parts):
    """`display_path` compares text; `Path.relative_to(Path.cwd())` compares parts."""
    import os

    from kescheck.load.source import display_path

    Path(cwd).mkdir(parents=True, exist_ok=True)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        path = Path("/".join(parts) or ".")
        try:
            expected = path.absolute().relative_to(Path.cwd())
        except ValueError:
            expected = path.absolute()
        assert display_path(path) == expected
    finally:
        os.chdir(before)


_PLACEHOLDER_PARTS = ["HOSTNAME", "REGION", "CHANGEME", "ROOTUSER", "|", "|kescertpath|", "/path/to/", "/path/", "<",
                      ">", "<key-name>", "a", "-", "_", " ", "\n", "x.y", "HOSTNAMES", "9", "${", "}"]


@given(st.lists(st.sampled_from(_PLACEHOLDER_PARTS), max_size=8).map("".join))
def test_one_search_for_any_placeholder_finds_what_the_four_find(text):
    """KES206's pre-check (one search over all four placeholder patterns) never skips a value one of them matches."""
    from kescheck.rules import kes_risks

    plain = next(((match, label) for pattern, label in kes_risks._PLACEHOLDERS if (match := pattern.search(text))),
                 None)
    found = kes_risks._placeholder(text)
    assert (found is None) == (plain is None)
    if found is not None:
        assert (found[0].span(), found[1]) == (plain[0].span(), plain[1])
