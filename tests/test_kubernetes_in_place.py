"""A KES config or MinIO env file linted inside a Kubernetes Secret gives the findings it gives as a file of its
own, at the manifest's lines and columns: checked on every fixture of the repository, a directory at a time so
that deployments pair as they do on disk."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from hypothesis import assume, given

from kescheck.engine import lint
from kescheck.load.kubernetes import kubernetes_manifest
from kescheck.load.source import SourceFile
from tests.test_fuzz import CI_BUDGET, kes_trees, to_yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SYSTEMD_ONLY = {"ENV005", "ENV006"}
"""What systemd would make of the file: no systemd reads a value mounted from a Secret."""
HEADER = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: minio\nstringData:\n  {key}: |\n"
OFFSET, INDENT = 7, 4


def _as_secret(text: str, name: str) -> str:
    return HEADER.format(name=name, key=name) + "".join(
        "    " + line if line.strip() else line for line in text.splitlines(keepends=True))


def _directories() -> list[Path]:
    return sorted({p.parent for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".yaml", ".env", "")})


def _findings(result, moved: set[str]) -> set[tuple[str, str, int, int]]:
    """(file name, code, line, column) of each finding, for a file in `moved` where it stands inside the Secret."""
    found = set()
    for f in result.findings:
        name, line, column = f.location.path.name, f.location.line, f.location.column
        if name in moved:
            if f.code in SYSTEMD_ONLY:
                continue
            line, column = (line + OFFSET, column + INDENT) if (line, column) != (1, 1) else (OFFSET + 1, INDENT + 1)
        found.add((name, f.code, line, column))
    return found


def _placeable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text or "\ufeff" in text:
        return None  # a literal block cannot hold these as they are
    return text


def test_every_fixture_gives_the_same_findings_inside_a_secret(tmp_path):
    compared = 0
    for directory in _directories():
        original = lint([directory])
        files = [f for f in original.files if f.path.parent == directory]
        if not files or any(f.kind == "unit" for f in files) or original.input_errors:
            continue
        mirror = tmp_path / directory.relative_to(FIXTURES)
        mirror.mkdir(parents=True)
        moved = set()
        for loaded in files:
            data = loaded.path.read_bytes()
            text = _placeable(data)
            manifest = _as_secret(text, loaded.path.name) if text is not None else None
            found = kubernetes_manifest(SourceFile(Path("manifest.yaml"), manifest)) if manifest is not None else None
            if found is not None and found.linted_in_place() is not None:
                (mirror / loaded.path.name).write_text(manifest, encoding="utf-8")
                moved.add(loaded.path.name)
            else:
                (mirror / loaded.path.name).write_bytes(data)
        inside = lint([mirror])
        assert inside.input_errors == [], (directory, inside.input_errors)
        assert sorted(f.path.name for f in inside.files) == sorted(f.path.name for f in files), directory
        assert sorted(f.path.name for f in inside.files if f.embedded) == sorted(moved), directory
        assert _findings(inside, set()) == _findings(original, moved), directory
        compared += len(moved)
    assert compared >= 80, compared  # the comparison must not go empty


def test_suppression_comments_inside_the_value_work_as_in_the_file(tmp_path):
    config = ("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n"
              "  fs: {path: /var/kes}  # kescheck: ignore[KES208] -- a lab\n")
    path = tmp_path / "kes-secret.yaml"
    path.write_text(_as_secret(config, "config.yaml"))
    by_code = defaultdict(list)
    for finding in lint([path]).findings:
        by_code[finding.code].append(finding)
    assert [f.suppressed_by for f in by_code["KES208"]] == ["inline: a lab"]


@CI_BUDGET
@given(kes_trees)
def test_random_kes_configs_give_the_same_findings_inside_a_secret(tmp_path_factory, tree):
    config = {"admin": {"identity": "disabled"}, "keystore": {"fs": {"path": "/var/kes"}}}
    config.update(tree if isinstance(tree, dict) else {"policy": tree})
    text = to_yaml(config).lstrip("\n")
    manifest = _as_secret(text, "config.yaml")
    found = kubernetes_manifest(SourceFile(Path("manifest.yaml"), manifest))
    assume(found is not None and found.linted_in_place() is not None and found.linted_in_place().what == "kes")
    directory = tmp_path_factory.mktemp("random")
    (directory / "plain").mkdir()
    (directory / "secret").mkdir()
    (directory / "plain" / "config.yaml").write_text(text, encoding="utf-8")
    (directory / "secret" / "config.yaml").write_text(manifest, encoding="utf-8")
    plain, inside = lint([directory / "plain" / "config.yaml"]), lint([directory / "secret" / "config.yaml"])
    assert inside.input_errors == [] and inside.files[0].embedded
    assert _findings(inside, set()) == _findings(plain, {"config.yaml"})
