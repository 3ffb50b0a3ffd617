"""Deployments: automatic pairing, settings-declared deployments, pre-commit style single files."""
import json
import textwrap

from certgen import issue
from kescheck.engine import lint
from kescheck.identity import identity_of_certificate
from kescheck.settings import load_settings

KES = """\
address: 0.0.0.0:{port}
admin:
  identity: disabled
tls:
  key: {dir}/kes-server.key
  cert: {dir}/kes-server.crt
policy:
  minio:
    allow: [/v1/key/generate/minio-*, /v1/key/decrypt/minio-*, /v1/key/create/minio-*]
    identities: [{identity}]
keys:
  - name: minio-key
keystore:
  fs:
    path: /var/lib/kes
"""


def deployment_dir(root, port=7373, env_extra="", endpoint="https://kes.example.net:7373"):
    """A directory as an operator keeps it: KES config, MinIO env file and real certificates."""
    root.mkdir(parents=True, exist_ok=True)
    ca = issue("ca", ca=True)
    server = issue("kes.example.net", issuer=ca, dns=("kes.example.net",))
    client = issue("minio", issuer=ca)
    ca.write(root, "ca")
    server.write(root, "kes-server")
    client.write(root, "minio-client")
    (root / "config.yml").write_text(KES.format(port=port, dir=root, identity=identity_of_certificate(client.certificate)))
    (root / "server.env").write_text(textwrap.dedent(f"""\
        MINIO_KMS_KES_ENDPOINT={endpoint}
        MINIO_KMS_KES_KEY_NAME=minio-key
        MINIO_KMS_KES_CERT_FILE={root}/minio-client.crt
        MINIO_KMS_KES_KEY_FILE={root}/minio-client.key
        MINIO_KMS_KES_CAPATH={root}/ca.crt
        """) + env_extra)
    return root


def test_directory_pairs_kes_config_and_env_and_sarif_points_at_env_line(tmp_path, cli, monkeypatch):
    root = deployment_dir(tmp_path / "deploy", env_extra="MINIO_KMS_KES_CA_PATH=/etc/ca.crt\n")
    result = lint([root])
    assert len(result.deployments) == 1
    deployment = result.deployments[0]
    assert deployment.kes is not None and [e.source.path.name for e in deployment.envs] == ["server.env"]
    monkeypatch.chdir(tmp_path)
    run = cli("lint", "deploy", "--format", "sarif")
    assert run.status == 1
    results = json.loads(run.stdout)["runs"][0]["results"]
    env_results = [r for r in results if r["ruleId"] == "ENV100"]
    assert len(env_results) == 1
    location = env_results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "deploy/server.env"
    assert location["region"]["startLine"] == 6 and location["region"]["startColumn"] == 1


def test_port_mismatch_is_found_across_files(tmp_path):
    root = deployment_dir(tmp_path / "d", port=7000)
    found = [f for f in lint([root]).findings if f.code == "DEP001"]
    assert [(f.location.path.name, f.location.line, f.location.column) for f in found] == [("server.env", 1, 24)]
    assert "KES listens on port 7000" in found[0].message
    assert found[0].related[0].path.name == "config.yml" and found[0].related[0].line == 1


def test_missing_port_compares_443_with_the_kes_default(tmp_path):
    root = deployment_dir(tmp_path / "d", endpoint="https://kes.example.net")
    text = (root / "config.yml").read_text().replace("address: 0.0.0.0:7373\n", "")
    (root / "config.yml").write_text(text)
    found = [f for f in lint([root]).findings if f.code in ("DEP001", "ENV108")]
    assert [f.code for f in found] == ["DEP001"]
    assert "443" in found[0].message and "0.0.0.0:7373" in found[0].message


def test_one_named_env_file_brings_its_whole_deployment(tmp_path):
    """pre-commit names only the changed file; the KES config beside it is checked and reported too."""
    root = deployment_dir(tmp_path / "d", port=7000)
    config = root / "config.yml"
    config.write_text(config.read_text() + "address: 0.0.0.0:7000\n")  # a KES finding in the file not named
    result = lint([root / "server.env"])
    assert len(result.deployments) == 1 and result.deployments[0].kes is not None
    paths = {(f.code, f.location.path.name) for f in result.findings}
    assert ("DEP001", "server.env") in paths
    assert ("KES001", "config.yml") in paths


def test_one_named_kes_config_brings_the_env_files_beside_it(tmp_path):
    root = deployment_dir(tmp_path / "d", port=7000)
    result = lint([root / "config.yml"])
    assert "DEP001" in {f.code for f in result.findings}


def test_unrelated_sibling_of_a_named_file_is_not_reported(tmp_path):
    root = deployment_dir(tmp_path / "d")
    (root / "other.yml").write_text(KES.format(port=7000, dir=root, identity="x" * 64) + "address: 1\n")
    (root / "b.env").write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7000\nMINIO_KMS_KES_KEY_NAME=k\n")
    result = lint([root / "server.env"])
    # two KES configs in the directory: no automatic pairing, and only the named file is checked
    assert [e.source.path.name for d in result.deployments for e in d.envs] == ["server.env"]
    assert {f.location.path.name for f in result.findings} <= {"server.env"}


def test_settings_declare_a_deployment_across_directories(tmp_path, monkeypatch):
    kes_dir = deployment_dir(tmp_path / "kes", port=7000)
    (tmp_path / "minio").mkdir()
    (kes_dir / "server.env").rename(tmp_path / "minio" / "prod.env")
    (tmp_path / ".kescheck.toml").write_text(textwrap.dedent("""\
        [deployments.prod]
        kes = "kes/config.yml"
        env = ["minio/prod.env"]
        base-dir = "kes"
        """))
    settings = load_settings(tmp_path / ".kescheck.toml")
    result = lint([tmp_path / "minio" / "prod.env"], settings=settings)
    assert [d.name for d in result.deployments] == ["prod"]
    assert result.deployments[0].base_dir == tmp_path / "kes"
    assert "DEP001" in {f.code for f in result.findings}
    # the same without settings: the env file alone, no KES config to compare with
    alone = lint([tmp_path / "minio" / "prod.env"])
    assert alone.deployments[0].kes is None and "DEP001" not in {f.code for f in alone.findings}


def test_a_declared_file_outside_the_tree_is_read_only_as_what_its_content_shows(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    root = deployment_dir(tmp_path / "repo" / "kes", port=7000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials").write_text("[default]\naws_secret_access_key = kescheck-secret-key/EXAMPLE\n")
    (tmp_path / "repo" / ".kescheck.toml").write_text(textwrap.dedent(f"""\
        [deployments.prod]
        kes = "{outside / 'credentials'}"
        env = ["kes/server.env"]
        """))
    result = lint([root / "server.env"], settings=load_settings(tmp_path / "repo" / ".kescheck.toml"))
    assert [(d.name, d.kes) for d in result.deployments] == [("prod", None)]
    assert all(f.location.path.parent == root for f in result.findings)


def test_pyproject_deployments_are_used_by_the_cli(tmp_path, cli, monkeypatch):
    deployment_dir(tmp_path / "a", port=7000)
    deployment_dir(tmp_path / "b")
    # b's KES listens where a's MinIO connects and trusts a's client certificate.
    a_config = (tmp_path / "a" / "config.yml").read_text()
    (tmp_path / "b" / "kes.yml").write_text(a_config.replace("0.0.0.0:7000", "0.0.0.0:7373"))
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.kescheck.deployments.east]
        kes = "b/kes.yml"
        env = ["a/server.env"]
        """))
    monkeypatch.chdir(tmp_path)
    run = cli("lint", "a/server.env", "--format", "json")
    report = json.loads(run.stdout)
    assert run.status == 0, report["findings"]
    assert {f["path"] for f in report["files"]} == {"a/server.env", "b/kes.yml"}


def test_settings_naming_a_missing_file_is_an_input_error(tmp_path, cli, monkeypatch):
    deployment_dir(tmp_path / "a")
    (tmp_path / ".kescheck.toml").write_text('[deployments.x]\nkes = "a/absent.yml"\nenv = ["a/server.env"]\n')
    monkeypatch.chdir(tmp_path)
    run = cli("lint", "a/server.env")
    assert run.status == 2 and "absent.yml" in run.stderr


def test_editor_backups_do_not_spoil_automatic_pairing(tmp_path):
    """`config.yml.bak` beside `config.yml` would be a second KES config, and the env file would pair with neither."""
    root = deployment_dir(tmp_path / "d", port=7000)
    for backup in ("config.yml.bak", "config.yml~", "config.yml.orig", "server.env.old"):
        (root / backup).write_text((root / ("server.env" if "env" in backup else "config.yml")).read_text())
    for named in ([root], [root / "server.env"]):
        result = lint(named)
        assert [(d.kes.source.path.name, [e.source.path.name for e in d.envs]) for d in result.deployments] == \
            [("config.yml", ["server.env"])]
        assert "DEP001" in {f.code for f in result.findings}
    explicit = lint([root / "config.yml.bak"]).files  # named by the user: checked like any config
    assert next(f.kind for f in explicit if f.source.path.name == "config.yml.bak") == "kes"


def test_a_script_that_sets_minio_variables_is_not_taken_for_an_env_file_in_a_walk(tmp_path):
    root = deployment_dir(tmp_path / "d")
    (root / "deploy-helper").write_text(textwrap.dedent("""\
        #!/usr/bin/env python3
        import os
        MINIO_KMS_KES_KEY_NAME = "minio-key"
        MINIO_KMS_KES_ENDPOINT = "https://kes.example.net:7373"


        def main():
            for name in sorted(os.environ):
                if name.startswith("MINIO_"):
                    print(name)
            return 0
        """))
    result = lint([root])
    assert sorted(f.source.path.name for f in result.files) == ["config.yml", "server.env"]
    named = lint([root / "deploy-helper"]).files  # named: the user asked for it
    assert next(f.kind for f in named if f.source.path.name == "deploy-helper") == "env"


def test_an_env_file_with_a_long_continued_value_is_still_found_in_a_walk(tmp_path):
    root = deployment_dir(tmp_path / "d")
    (root / "server.env").write_text((root / "server.env").read_text() + "MINIO_OPTS=\\\n  --address :9000 \\\n"
                                     "  --console-address :9001 \\\n  --certs-dir /etc/minio/certs \\\n  --quiet\n")
    assert sorted(f.source.path.name for f in lint([root]).files) == ["config.yml", "server.env"]
