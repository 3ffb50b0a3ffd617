"""The environment a Compose service or Kubernetes container starts KES with, which a config's `${VAR}` values
are judged against (KES100) when no --kes-env is given."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kescheck.engine import lint
from kescheck.model import Options
from tests.test_containers import KES_DEPLOYMENT

CONFIG = """\
    admin: {identity: "${KES_ADMIN}"}
    tls: {key: /etc/kes/server.key, cert: /etc/kes/server.crt}
    cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
    keystore:
      vault:
        endpoint: https://vault.example.net:8200
        approle: {id: "${VAULT_ROLE_ID}", secret: "${VAULT_SECRET_ID}"}
    """

SERVICE = textwrap.dedent("""\
    services:
      kes:
        image: minio/kes:2024-01-11T13-09-29Z
        command: server --config /etc/kes/config.yaml
        volumes: ["./config.yaml:/etc/kes/config.yaml:ro"]
    """)
"""A Compose file whose service 'kes' is still open: a test adds its settings, indented by four spaces."""

POD = KES_DEPLOYMENT.replace("minio/kes", "minio/kes:2024-01-11T13-09-29Z") + \
    "          args: [server, --config, /etc/kes/config.yaml]\n"
"""A Deployment whose container 'kes' is still open: a test adds its settings, indented by ten spaces."""


def unset_variables(result) -> list[str]:
    """The variables KES100 reports as not set, in file order."""
    return [f.message.split("`${")[1].split("}`")[0] for f in result.findings if f.code == "KES100"]


def deploy(write, tmp_path, compose_extra: str = "", config: str = CONFIG, **files: str):
    write("deploy/config.yaml", config)
    write("deploy/compose.yaml", SERVICE + compose_extra)
    for name, text in files.items():
        write(f"deploy/{name.replace('_', '.')}", text)
    return lint([tmp_path / "deploy"])


def test_env_file_then_environment_is_what_kes_starts_with(write, tmp_path):
    result = deploy(write, tmp_path, "    env_file: [kes.env]\n    environment:\n      KES_ADMIN: disabled\n"
                                     "      VAULT_ROLE_ID: ${ROLE_FROM_THE_SHELL}\n", kes_env="KES_ADMIN=\nVAULT_SECRET=typo-in-the-name\n")
    (deployment,) = result.deployments
    env = deployment.options.kes_env
    assert env["KES_ADMIN"] == "disabled"  # environment: wins over env_file:
    assert "VAULT_ROLE_ID" in env and env["VAULT_ROLE_ID"] is None  # set, to what Compose fills in
    assert {"PATH", "HOSTNAME", "HOME"} <= set(env)
    (finding,) = [f for f in result.findings if f.code == "KES100"]
    assert unset_variables(result) == ["VAULT_SECRET_ID"]
    origin = f"`environment:` and `env_file:` of the Compose service 'kes' in {tmp_path / 'deploy' / 'compose.yaml'}"
    assert f"the KES environment ({origin}) does not set" in finding.message
    assert (finding.location.path.name, finding.location.line) == ("config.yaml", 7)
    assert not [f for f in result.findings if f.code == "KES213"]  # the environment is known: no mere note


def test_values_of_an_env_file_outside_the_tree_are_masked(write, tmp_path):
    # The file might be any file of the machine kescheck runs on: a CI runner's proxy settings, say.
    proxy = "http://ci:kescheck-proxy-password@proxy.internal:3128"
    write("runner/runner.env", f"http_proxy={proxy}\nKES_ADMIN=disabled\n")
    result = deploy(write, tmp_path, f"    env_file: [{tmp_path / 'runner' / 'runner.env'}]\n")
    assert result.deployments[0].options.kes_env["http_proxy"] == proxy
    assert proxy in result.secrets and "disabled" not in result.secrets
    write("deploy/runner.env", f"http_proxy={proxy}\n")  # the repository's own file: only secret names are masked
    assert proxy not in deploy(write, tmp_path, "    env_file: [runner.env]\n").secrets


def test_a_service_without_environment_sets_only_what_docker_sets(write, tmp_path):
    result = deploy(write, tmp_path)
    assert unset_variables(result) == ["KES_ADMIN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"]
    assert all("the Compose service 'kes' in " in f.message and ", which sets no variables of its own) does not set"
               in f.message for f in result.findings if f.code == "KES100")


def test_kes_env_wins_over_the_container(write, tmp_path):
    write("deploy/config.yaml", CONFIG)
    write("deploy/compose.yaml", SERVICE)
    kes_env = {"KES_ADMIN": "disabled", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"}
    result = lint([tmp_path / "deploy"], Options(kes_env=kes_env))
    assert unset_variables(result) == []
    assert result.deployments[0].options.kes_env_origin is None


REFERENCED = ["KES_ADMIN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"]
"""The variables `CONFIG` refers to, in file order."""


def noted_variables(result) -> list[str]:
    """The variables KES213 notes as needed, in file order."""
    return [f.message.split("`")[1] for f in result.findings if f.code == "KES213"]


@pytest.mark.parametrize("env_file, readable", [
    ("env_file: missing.env", False),  # a file kept out of the repository: kescheck cannot tell what it sets
    ("env_file: [{path: missing.env, required: false}]", True),  # skipped, as Compose skips it
    ("env_file: ${ENV_DIR}/kes.env", False),
    ("env_file: kes.env", True),
], ids=["required-missing", "optional-missing", "variable-path", "present"])
def test_env_files_that_cannot_be_read(write, tmp_path, env_file, readable):
    result = deploy(write, tmp_path, f"    {env_file}\n    environment: {{KES_ADMIN: disabled}}\n",
                    kes_env="VAULT_ROLE_ID=r\nVAULT_SECRET_ID=s\n")
    options = result.deployments[0].options
    assert options.kes_env is not None and options.kes_env["KES_ADMIN"] == "disabled"
    if readable:
        assert not options.kes_env_uncertain and noted_variables(result) == []
        assert unset_variables(result) == ([] if "kes.env" in env_file else ["VAULT_ROLE_ID", "VAULT_SECRET_ID"])
    else:  # what `environment:` sets is known; the rest only the file that is not here can set
        assert set(options.kes_env_uncertain) == {"VAULT_ROLE_ID", "VAULT_SECRET_ID"}
        assert noted_variables(result) == ["VAULT_ROLE_ID", "VAULT_SECRET_ID"] and unset_variables(result) == []
        assert all("which kescheck cannot read here" in f.message for f in result.findings if f.code == "KES213")


@pytest.mark.parametrize("line, value", [
    ("KES_ADMIN=disabled", "disabled"),
    ("export KES_ADMIN=disabled", "disabled"),
    ("  KES_ADMIN = disabled  ", "disabled"),
    ("KES_ADMIN=", ""),
    ('KES_ADMIN="disabled"', "disabled"),
    ("KES_ADMIN='dis abled'", "dis abled"),
    ("KES_ADMIN='$literal'", "$literal"),  # single quotes: nothing is filled in
    ('KES_ADMIN="line\\nbreak"', None),  # Compose unescapes it: set, value not judged here
    ('KES_ADMIN="${ADMIN}"', None),
    ("KES_ADMIN=${ADMIN}", None),
    ("KES_ADMIN=disabled # a comment", None),
    ("KES_ADMIN", None),  # taken from the shell
])
def test_env_file_lines_as_compose_reads_them(write, tmp_path, line, value):
    result = deploy(write, tmp_path, "    env_file: kes.env\n", kes_env=f"# KES\n\n{line}\n")
    env = result.deployments[0].options.kes_env
    assert env["KES_ADMIN"] == value
    assert "KES_ADMIN" not in unset_variables(result)


@pytest.mark.parametrize("text", ['KES_ADMIN="first line\nsecond line"\n', "KES ADMIN=x\n", "KES_ADMIN: disabled\n",
                                  "KES_ADMIN='it''s'\n"],
                         ids=["quoted-over-two-lines", "blank-in-name", "yaml-style", "quote-inside-quotes"])
def test_an_env_file_kescheck_does_not_read_as_compose_may_set_anything(write, tmp_path, text):
    result = deploy(write, tmp_path, "    env_file: kes.env\n", kes_env=text)
    assert set(result.deployments[0].options.kes_env_uncertain) == set(REFERENCED)
    assert noted_variables(result) == REFERENCED and unset_variables(result) == []


@pytest.mark.parametrize("env_file", ["kes.env", "secrets/vault"])
def test_a_changed_env_file_of_kes_named_alone_checks_its_compose_file(write, tmp_path, env_file):
    """As the pre-commit hook names a changed file (`--by-content`): KES's env file is neither a KES config nor a MinIO
    env file, but the Compose file beside it starts KES with it, so that deployment is checked. Named outright, it is
    no MinIO env file either: Compose reads it for KES."""
    write("deploy/config.yaml", CONFIG)
    write("deploy/compose.yaml", SERVICE + f"    env_file: [{env_file}]\n")
    changed = write(f"deploy/{env_file}", "KES_ADMIN=disabled\nVAULT_ROLE_ID=r\nVAULT_SECRET=typo-in-the-name\n")
    for options in (Options(by_content=True), Options()):
        result = lint([changed], options)
        assert unset_variables(result) == ["VAULT_SECRET_ID"]
        assert [f.source.path.name for f in result.files] == ["compose.yaml", "config.yaml"]
        assert not [env for deployment in result.deployments for env in deployment.envs]


def test_compose_files_above_a_named_env_file_are_looked_for_up_to_its_work_tree(write, tmp_path, monkeypatch):
    write("outer/config.yaml", CONFIG)
    write("outer/compose.yaml", SERVICE + "    env_file: [repo/env/kes.env]\n")
    (tmp_path / "outer/repo/.git").mkdir(parents=True)
    changed = write("outer/repo/env/kes.env", "KES_ADMIN=disabled\n")
    assert lint([changed], Options(by_content=True)).files == []  # above the work tree: another project's
    monkeypatch.chdir(tmp_path / "outer/repo")  # as pre-commit names it: relative to the top of the work tree
    assert lint([Path("env/kes.env")], Options(by_content=True)).files == []
    write("outer/repo/config.yaml", CONFIG)
    write("outer/repo/compose.yaml", SERVICE + "    env_file: [env/kes.env]\n")
    result = lint([Path("env/kes.env")], Options(by_content=True))
    assert [f.source.path for f in result.files] == [Path("compose.yaml"), Path("config.yaml")]
    assert unset_variables(result) == ["VAULT_ROLE_ID", "VAULT_SECRET_ID"]


def test_an_env_file_named_beside_its_kes_config_does_not_look_above(write, tmp_path):
    """The Compose files above are looked for only when nothing beside the file can pair with it: a Compose file
    above must not lend its KES containers (and the release of their image) to the deployment beside the file."""
    write("compose.yaml", SERVICE.replace("2024-01-11T13-09-29Z", "v0.22.3"))
    write("deploy/config.yaml", CONFIG)
    env_file = write("deploy/minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                         "MINIO_KMS_KES_KEY_NAME=minio-key\nMINIO_KMS_KES_API_KEY=${API_KEY}\n")
    (deployment,) = lint([env_file], Options(by_content=True)).deployments
    assert deployment.containers == [] and deployment.kes.generation.name == "G2"


def test_a_file_named_alone_that_no_compose_file_reads_checks_nothing(write, tmp_path):
    write("deploy/config.yaml", CONFIG)
    write("deploy/compose.yaml", SERVICE + "    env_file: [kes.env]\n")
    write("deploy/kes.env", "KES_ADMIN=disabled\n")
    notes = write("deploy/notes.txt", "VAULT_SECRET_ID=not read by anyone\n")
    result = lint([notes], Options(by_content=True))
    assert (result.findings, result.files) == ([], [])


def test_a_secret_from_an_env_file_is_masked_in_every_report(cli, write, tmp_path):
    canary = "hvs.CANARYCONTAINERENV0123456789"
    result = deploy(write, tmp_path, "    env_file: kes.env\n",
                    kes_env=f"VAULT_SECRET_ID={canary}\nVAULT_ROLE_ID=kes-role\nKES_ADMIN=disabled\n")
    assert canary in result.secrets and "kes-role" not in result.secrets
    for fmt in ("plain", "json", "sarif"):
        run = cli("lint", str(tmp_path / "deploy"), "--format", fmt)
        assert str(tmp_path) in run.stdout
        assert canary not in run.stdout + run.stderr


def test_kubernetes_env_value_from_and_service_links(write, tmp_path):
    config = CONFIG.replace('"${VAULT_ROLE_ID}"', '"${VAULT_SERVICE_HOST}"')
    write("deploy/config.yaml", config)
    pod = POD + ("          env:\n            - {name: KES_ADMIN, value: disabled}\n"
                 "            - name: VAULT_SECRET_ID\n              valueFrom: {secretKeyRef: {name: kes, key: secret}}\n")
    path = write("deploy/kes.yaml", pod)
    result = lint([tmp_path / "deploy"])
    env = result.deployments[0].options.kes_env
    assert env["KES_ADMIN"] == "disabled" and env["VAULT_SECRET_ID"] is None
    assert env["VAULT_SERVICE_HOST"] is None  # a Service named vault sets it
    assert unset_variables(result) == []
    assert result.deployments[0].options.kes_env_origin.startswith("`env:` of container 'kes' of Deployment 'kes'")
    # Without service links, nothing sets it.
    path.write_text(path.read_text().replace("    spec:\n      containers:",
                                             "    spec:\n      enableServiceLinks: false\n      containers:"))
    assert unset_variables(lint([tmp_path / "deploy"])) == ["VAULT_SERVICE_HOST"]


def test_kubernetes_env_from_a_secret_or_config_map_not_in_the_manifest_may_set_what_env_does_not(write, tmp_path):
    write("deploy/config.yaml", CONFIG)
    write("deploy/kes.yaml", POD + "          envFrom: [{secretRef: {name: kes-env}}]\n"
                                   "          env: [{name: KES_ADMIN, value: disabled}]\n")
    result = lint([tmp_path / "deploy"])
    assert noted_variables(result) == ["VAULT_ROLE_ID", "VAULT_SECRET_ID"] and unset_variables(result) == []
    (note, _) = [f for f in result.findings if f.code == "KES213"]
    assert note.message.endswith("can get it only from `envFrom:` sources that are not in this manifest")


ENV_SOURCES = """\
---
apiVersion: v1
kind: Secret
metadata: {name: kes-vault}
stringData:
  VAULT_ROLE_ID: kes-role
data:
  VAULT_SECRET: c2VjcmV0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kes-settings}
data:
  ADMIN: disabled
"""
"""A Secret whose key misspells VAULT_SECRET_ID, and a ConfigMap whose key takes a prefix to be KES_ADMIN."""


def test_kubernetes_env_from_takes_the_keys_of_the_secrets_and_config_maps_of_the_manifest(write, tmp_path):
    write("deploy/config.yaml", CONFIG)
    env_from = ("          envFrom:\n            - secretRef: {name: kes-vault}\n"
                "            - {configMapRef: {name: kes-settings}, prefix: KES_}\n"
                "            - configMapRef: {name: not-here, optional: true}\n")
    write("deploy/kes.yaml", POD + env_from + ENV_SOURCES)
    result = lint([tmp_path / "deploy"])
    env = result.deployments[0].options.kes_env
    assert env["KES_ADMIN"] == "disabled" and env["VAULT_ROLE_ID"] is None and env["VAULT_SECRET"] is None
    assert unset_variables(result) == ["VAULT_SECRET_ID"]
    assert result.deployments[0].options.kes_env_origin.startswith("`envFrom:` of container 'kes' of Deployment 'kes'")
    assert "kes-role" in result.secrets
    # `env:` wins over `envFrom:`, and a later `envFrom:` source over an earlier one.
    write("deploy/kes.yaml", POD + env_from + "            - configMapRef: {name: kes-settings}\n"
          "          env: [{name: VAULT_SECRET_ID, value: from-env}, {name: KES_ADMIN, value: enabled}]\n"
          + ENV_SOURCES.replace("ADMIN: disabled", "ADMIN: disabled\n  VAULT_SECRET: from-the-config-map"))
    env = lint([tmp_path / "deploy"]).deployments[0].options.kes_env
    assert (env["VAULT_SECRET_ID"], env["KES_ADMIN"], env["VAULT_SECRET"]) == ("from-env", "enabled",
                                                                                "from-the-config-map")


@pytest.mark.parametrize("env_from, sources, noted", [
    ("[{secretRef: {name: kes-vault}}, {configMapRef: {name: not-here}}]", ENV_SOURCES,  # may be in the cluster
     ["KES_ADMIN", "VAULT_SECRET_ID"]),  # the Secret that is here sets VAULT_ROLE_ID
    ("[{secretRef: {name: kes-vault}}]", ENV_SOURCES.replace("metadata: {name: kes-vault}",
                                                             "metadata: {name: kes-vault, namespace: other}"),
     REFERENCED),
    ("[{configMapRef: {name: kes-settings}}]", ENV_SOURCES + "binaryData: {blob: AAEC}\n", REFERENCED),
    ("[{configMapRef: {name: kes-settings}, secretRef: {name: kes-vault}}]", ENV_SOURCES, REFERENCED),
    ("{configMapRef: {name: kes-settings}}", ENV_SOURCES, REFERENCED),
], ids=["required-source-elsewhere", "other-namespace", "binary-data", "two-references-in-one-item", "not-a-list"])
def test_kubernetes_env_from_that_cannot_be_known_here(write, tmp_path, env_from, sources, noted):
    write("deploy/config.yaml", CONFIG)
    pod = POD.replace("metadata: {name: kes}", "metadata: {name: kes, namespace: kes}") if "namespace" in sources \
        else POD
    write("deploy/kes.yaml", pod + f"          envFrom: {env_from}\n" + sources)
    result = lint([tmp_path / "deploy"])
    assert noted_variables(result) == noted and unset_variables(result) == []


def test_kes_containers_that_set_different_environments_give_none(write, tmp_path):
    two = SERVICE + "    environment: {KES_ADMIN: disabled}\n" + SERVICE.replace("services:\n", "").replace(
        "  kes:", "  kes-2:") + "    environment: {KES_ADMIN: disabled, VAULT_ROLE_ID: r}\n"
    write("deploy/config.yaml", CONFIG)
    path = write("deploy/compose.yaml", two)
    result = lint([tmp_path / "deploy"])
    (deployment,) = result.deployments
    assert len(deployment.containers) == 2 and deployment.options.kes_env is None
    # The same environment in both (a YAML anchor, say) is KES's environment.
    path.write_text(path.read_text().replace(", VAULT_ROLE_ID: r", ""))
    assert unset_variables(lint([tmp_path / "deploy"])) == ["VAULT_ROLE_ID", "VAULT_SECRET_ID"]
