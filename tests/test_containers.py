"""KES started by a container: Compose services and Kubernetes workloads, their `kes server` command lines, how
they join a deployment, and the SYS rules on them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kescheck.engine import lint
from kescheck.load.containers import compose_services, image_release, is_kes_image
from kescheck.load.kubernetes import kubernetes_manifest
from kescheck.load.source import SourceFile
from certgen import Issued, issue
from tests.test_fuzz import CI_BUDGET
from tests.test_minio_containers import MINIO_STATEFULSET

G2_CONFIG = """\
    admin: {identity: disabled}
    tls: {key: /etc/kes/server.key, cert: /etc/kes/server.crt, auth: "on", ca: /etc/kes/ca.crt}
    cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
    keystore: {fs: {path: /var/lib/kes}}
    """

KES_DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kes}\nspec:\n  template:\n    spec:\n"
                  "      containers:\n        - name: kes\n          image: minio/kes\n")
"""A Deployment 'kes' whose container of KES's image is still open: a test adds its settings."""


def compose(text: str):
    """The services of a Compose file that run `kes server`; None when it is no Compose file."""
    found = compose_services(SourceFile(Path("compose.yaml"), text))
    return found.kes if found is not None else None


def manifest_containers(text: str):
    found = kubernetes_manifest(SourceFile(Path("kes.yaml"), text))
    return list(found.containers.kes) if found is not None else []


def sys_findings(result) -> list:
    return [f for f in result.findings if f.code.startswith("SYS")]


def text_at(path: Path, line: int, column: int, length: int) -> str:
    return path.read_text().splitlines()[line - 1][column - 1:column - 1 + length]


# --- which containers run `kes server` -----------------------------------------------------------

@pytest.mark.parametrize("image, expected", [
    ("minio/kes", True), ("quay.io/minio/kes:2024-01-11T13-09-29Z", True), ("kes@sha256:0123abcd", True),
    ("registry.example.net:5000/mirror/kes:v0.22.3", True), ("minio/minio:latest", False),
    ("minio/kes-operator", False), ("kes.example.net/minio:1", False)])
def test_kes_images_are_known_by_their_name(image, expected):
    assert is_kes_image(image) is expected


def test_a_compose_command_string_is_split_into_words_where_they_stand():
    services = compose("services:\n  kes:\n    image: minio/kes\n"
                       "    command: server --config '/etc/kes/config file.yaml' --auth off\n")
    (kes,) = services
    assert kes.label == "the Compose service 'kes'"
    assert [(f.name, f.value.text if f.value else None) for f in kes.flags] == [
        ("config", "/etc/kes/config file.yaml"), ("auth", "off")]
    config = kes.config
    assert (config.line, config.column, config.end_column, config.quoted) == (4, 30, 57, True)
    assert kes.auth is False and (kes.command.line, kes.command.column) == (4, 5)


def test_compose_entrypoint_and_list_forms():
    services = compose("""\
services:
  own-image:
    image: example.net/tools:1
    entrypoint: ["/usr/local/bin/kes", "server"]
    command: ["--config", "/etc/kes/config.yaml", "--mlock"]
  not-kes:
    image: example.net/tools:1
    command: ["kes", "server", "--mlock"]
  kes-tool:
    image: minio/kes
    command: [identity, new]
  minio:
    image: minio/minio
    command: server /data
""")
    assert [s.label for s in services] == ["the Compose service 'own-image'"]
    assert [f.name for f in services[0].flags] == ["config", "mlock"]
    assert services[0].command.executable.text == "/usr/local/bin/kes"


def test_compose_files_and_other_yaml_are_told_apart():
    assert compose("services:\n  minio:\n    image: minio/minio\n") == []
    assert compose("apiVersion: v1\nkind: List\nservices: {}\n") is None
    assert compose("admin: {identity: disabled}\nservices:\n  kes: {image: minio/kes, command: server}\n") is None
    assert compose("version: '3'\nnetworks: {}\n") is None


def test_kubernetes_workloads_of_every_kind():
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: kes-pod}
spec:
  containers:
    - {name: kes, image: minio/kes, args: [server, --mlock]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: kes
              image: example.net/kes-bundle:1
              command: [/bin/kes, server]
              args: [--root, abc]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kes}
spec:
  template:
    spec:
      initContainers:
        - {name: init, image: minio/kes, args: [server, --auth=off]}
      containers:
        - {name: sidecar, image: busybox, args: [server]}
        - name: kes
          image: quay.io/minio/kes
          args:
            - server
            - "--config=$(CONFIG_PATH)"
            - --auth=$(KES_AUTH)
"""
    found = manifest_containers(text)
    assert [c.label for c in found] == ["container 'kes' of Pod 'kes-pod'", "container 'kes' of CronJob 'nightly'",
                                        "container 'kes' of StatefulSet 'kes'"]
    assert [f.name for f in found[1].flags] == ["root"]
    assert found[2].config.unexpanded and found[2].auth is None


def test_a_container_that_does_not_start_the_server_is_not_read():
    assert manifest_containers("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                               "    - {name: keys, image: minio/kes, args: [key, create, my-key]}\n"
                               "    - {name: shell, image: minio/kes, command: [sh, -c, 'kes server --mlock']}\n"
                               "    - {name: none, image: minio/kes}\n") == []


# --- the rules on them, end to end ----------------------------------------------------------------

def test_compose_findings_point_at_the_flag_in_the_file(write, tmp_path):
    compose_file = write("deploy/docker-compose.yml", """\
        services:
          kes:
            image: quay.io/minio/kes:2024-01-11T13-09-29Z
            command: server --config /etc/kes/config.yaml --auth=off --mlock
          minio:
            image: minio/minio
            command: server /data
        """)
    write("deploy/kes-config.yaml", G2_CONFIG)
    result = lint([tmp_path / "deploy"])
    found = {f.code: f for f in sys_findings(result)}
    assert sorted(found) == ["SYS002", "SYS004", "SYS013"]  # SYS013: the fs keystore is on no volume of the service
    for code, written in (("SYS002", "--mlock"), ("SYS004", "--auth=off")):
        location = found[code].location
        assert location.path == compose_file
        assert text_at(compose_file, location.line, location.column, len(written)) == written
    # The container joined the KES config beside it: the message says what that config decides.
    assert "`tls.auth: on` (line 2)" in found["SYS004"].message
    assert "although the Compose service 'kes' asks for `--auth=off`" in found["SYS004"].message


def test_a_workload_alone_is_a_deployment_of_its_own(write, tmp_path):
    path = write("k8s/kes.yaml", KES_DEPLOYMENT + '          args: ["server", "--config", "/etc/kes/config.yaml", '
                                                  '"--root", "disabled"]\n')
    result = lint([path])
    not_here, finding = sys_findings(result)
    assert finding.code == "SYS003" and text_at(path, finding.location.line, finding.location.column, 8) == '"--root"'
    assert not_here.code == "SYS006" and "no ConfigMap or Secret among the inputs holds" in not_here.message
    assert [f.kind for f in result.files] == ["containers"]
    assert result.file_notes()[path] == ["runs `kes server` in container 'kes' of Deployment 'kes'"]


def test_an_unclosed_quote_in_a_compose_command(write, tmp_path):
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n"
                                 "    command: 'server --config \"/etc/kes/config.yaml'\n")
    (finding,) = sys_findings(lint([path]))
    assert finding.code == "SYS001" and "quote that is never closed" in finding.message
    assert text_at(path, finding.location.line, finding.location.column, 2) == '"/'


def test_the_json_report_names_the_file_kind(cli, write, tmp_path):
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: [server, --mlock]\n")
    run = cli("lint", path, "--format", "json")
    report = json.loads(run.stdout)
    assert run.status == 1 and report["files"][0]["kind"] == "containers"
    assert [f["code"] for f in report["findings"]] == ["SYS002"]


def test_a_named_compose_file_without_kes_is_an_input_error(cli, write):
    run = cli("lint", write("compose.yaml", "services:\n  minio:\n    image: minio/minio\n    command: server /data\n"))
    assert run.status == 2
    assert "compose.yaml" in run.stderr + run.stdout and "none of whose services runs `kes server`" in run.stderr + run.stdout


def test_a_walk_passes_other_compose_files_and_manifests_by(write, tmp_path):
    write("apps/compose.yaml", "services:\n  web:\n    image: nginx\n    command: nginx -g 'daemon off;'\n")
    write("apps/server.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
                              "    - {name: web, image: nginx, args: [server]}\n")
    result = lint([tmp_path])
    assert result.files == [] and result.input_errors == [] and result.findings == []


def test_a_suppression_comment_in_a_compose_file(write):
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n"
                                 "    command: [server, --mlock]  # kescheck: ignore[SYS002] -- KES 0.20 on this host\n")
    result = lint([path])
    (finding,) = sys_findings(result)
    assert finding.suppressed_by is not None and not [f for f in result.active() if f.code.startswith("KSC")]


@pytest.mark.parametrize("fmt", ["rich", "plain", "json", "sarif", "github", "gitlab", "junit"])
def test_no_secret_beside_a_container_reaches_a_report(cli, write, fmt):
    manifest = write("kes.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: kes-env}\nstringData:\n"
                                 "  token: Qv8-secret-canary\n---\n" + KES_DEPLOYMENT +
                                 "          env:\n            - {name: KES_API_KEY, value: Qv8-env-canary}\n"
                                 "          args: [server, --mlock]\n          envFrom: [{secretRef: {name: kes-env}}]\n")
    services = write("compose/compose.yaml", """\
        services:
          kes:
            image: minio/kes
            environment:
              VAULT_TOKEN: Qv8-compose-canary
            command: server --mlock
            secrets: [token]
          minio:
            image: minio/minio
            environment: [MINIO_ROOT_PASSWORD=Qv8-list-canary]
        """)
    run = cli("lint", manifest, services, "--format", fmt, "--color", "always")
    assert "SYS002" in run.stdout
    assert "canary" not in run.stdout and "canary" not in run.stderr


# --- positions hold for any flags, in any YAML style ----------------------------------------------

FLAG_WORDS = ["--mlock", "--root=disabled", "--auth=off", "--key=/k", "--cert=/c", "--config=/etc/kes/c.yaml",
              "--addr=:7373", "--mlock"]


@given(st.lists(st.tuples(st.sampled_from(FLAG_WORDS), st.sampled_from(["plain", "single", "double"])),
                min_size=1, max_size=6),
       st.sampled_from(["k8s-block", "k8s-flow", "compose-list", "compose-string"]))
@CI_BUDGET
def test_every_flag_finding_points_at_its_word(tmp_path_factory, words, style):
    def quoted(word, how):
        return {"plain": word, "single": f"'{word}'", "double": f'"{word}"'}[how]

    if style == "k8s-block":
        items = "".join(f"            - {quoted(w, how)}\n" for w, how in words)
        text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: kes}\nspec:\n  containers:\n    - name: kes\n"
                f"      image: minio/kes\n      args:\n            - server\n{items}")
    elif style == "k8s-flow":
        items = ", ".join(quoted(w, how) for w, how in words)
        text = f"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - {{name: kes, image: minio/kes, args: [server, {items}]}}\n"
    elif style == "compose-list":
        items = ", ".join(quoted(w, how) for w, how in words)
        text = f"services:\n  kes:\n    image: minio/kes\n    command: [server, {items}]\n"
    else:
        items = " ".join(quoted(w, "double" if how == "double" else "plain") for w, how in words)
        text = f"services:\n  kes:\n    image: minio/kes\n    command: server {items}\n"
    path = tmp_path_factory.mktemp("flags") / "kes.yaml"
    path.write_text(text)
    result = lint([path], jobs=1)
    flagged = [f for f in sys_findings(result) if f.code in ("SYS002", "SYS003", "SYS004")]
    expected = {w.split("=")[0] for w, _ in words} & {"--mlock", "--root", "--auth", "--key", "--cert"}
    assert {f.location.path for f in flagged} <= {path}
    assert {re.match(r"""['"]?(--[a-z]+)""", text_at(path, f.location.line, f.location.column, 80))[1]
            for f in flagged} == expected


def test_pre_commit_passes_changed_files_by_content(write):
    """`kescheck lint --by-content` (the pre-commit hooks): a Compose file that starts KES is read, others are not."""
    from kescheck.model import Options

    kes = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: [server, --mlock]\n")
    web = write("web/compose.yaml", "services:\n  web:\n    image: nginx\n")
    result = lint([kes, web], Options(by_content=True))
    assert [f.path for f in result.files] == [kes] and result.input_errors == []
    assert [f.code for f in sys_findings(result)] == ["SYS002"]


def test_reading_a_manifest_marks_its_secret_values():
    """Reports mask marked values everywhere (messages included), and code frames skip marked spans."""
    source = SourceFile(Path("kes.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  a: c2VjcmV0\n"
                                          "stringData:\n  b: |\n    two\n    lines\n---\n" + KES_DEPLOYMENT +
                                          "          env: [{name: VAULT_TOKEN, value: hvs.x}, {name: LOG, value: info}]\n"
                                          "          args: [server]\n")
    assert len(manifest_containers_of(source)) == 1
    assert source.secret_values == {"c2VjcmV0", "two\nlines\n", "hvs.x"}
    hidden = {line for line, start, end in source.secret_spans if end > start}
    assert {5, 8, 9, 20} <= hidden and not hidden & {1, 2, 3, 4, 6, 18, 19, 21}


def manifest_containers_of(source: SourceFile):
    return list(kubernetes_manifest(source).containers.kes)


def test_a_containers_auth_flag_tells_how_old_kes_verifies_clients(write, tmp_path):
    """KES <= 2023-09-28 honours `--auth`: the MinIO Operator's `--auth=off` switches client verification off."""
    from kescheck.model import Options

    write("deploy/compose.yaml", "services:\n  kes:\n    image: minio/kes:v0.22.3\n"
                                 "    command: [server, --config, /etc/kes/config.yaml, --auth=off]\n"
                                 "    volumes: ['kes-keys:/var/kes']\n")
    write("deploy/config.yaml", "address: 0.0.0.0:7373\nroot: disabled\ntls: {key: /k, cert: /c}\n"
                                "keys: {fs: {path: /var/kes}}\n")
    result = lint([tmp_path / "deploy"], Options(kes_version="0.22"))
    (deployment,) = result.deployments
    assert deployment.kes is not None and deployment.kes_auth is False
    assert deployment.kes_auth_origin() == (f"as the Compose service 'kes' in {tmp_path / 'deploy' / 'compose.yaml'} "
                                            "says at line 4")
    assert not sys_findings(result)


def test_a_secret_value_under_a_repeated_key_is_marked_too():
    source = SourceFile(Path("kes.yaml"), "apiVersion: v1\nkind: Secret\nstringData:\n  token: first-value\n"
                                          "  token: second-value\n")
    kubernetes_manifest(source)
    assert source.secret_values == {"first-value", "second-value"}


# --- the release KES's image tag names ------------------------------------------------------------

@pytest.mark.parametrize("image, release", [
    ("minio/kes:v0.22.3", "v0.22.3"), ("registry.example.net:5000/mirror/kes:0.22.3", "0.22.3"),
    ("quay.io/minio/kes:2024-01-11T13-09-29Z@sha256:0123abcd", "2024-01-11T13-09-29Z"),
    ("minio/kes", None), ("minio/kes:latest", None), ("minio/kes:edge", None), ("minio/kes@sha256:0123abcd", None),
    ("minio/kes:${KES_TAG}", None), ("registry.example.net:5000/kes", None), ("bitnami/kes:2024.1.11-debian-12-r0", None),
    ("bitnami/kes:2023.5.2", None), ("bitnami/kes:2023.9.28", None),
    ("minio/minio:RELEASE.2024-01-11T07-46-16Z", None), ("example.net/kes-tools:v0.22.3", None)])
def test_the_release_an_image_tag_names(image, release):
    assert image_release(image) == release


API_CONFIG = """\
    admin: {identity: disabled}
    tls: {key: /k, cert: /c}
    api:
      /v1/key/decrypt/: {skip_auth: true}
    keystore: {fs: {path: /var/kes}}
    """


def test_a_kes_image_tag_decides_the_release_the_config_is_checked_for(write, tmp_path):
    compose_file = write("deploy/compose.yaml", "services:\n  kes:\n    image: minio/kes:v0.22.3\n"
                                                "    command: server --config /etc/kes/config.yaml\n")
    config = write("deploy/config.yaml", API_CONFIG)
    result = lint([tmp_path / "deploy"])
    (deployment,) = result.deployments
    assert deployment.options.kes_version == "v0.22.3" and deployment.release_image is deployment.containers[0]
    image = f"the image minio/kes:v0.22.3 of the Compose service 'kes' in {compose_file}"
    assert deployment.kes.generation_reason == f"G1 (KES 0.17.2 - 0.22 and up to 2023-09-28), from {image}"
    assert result.file_notes()[config] == [f"KES config: {deployment.kes.generation_reason}"]
    codes = {f.code: f for f in result.findings}
    assert "`api` is not a key KES v0.22.3 knows" in codes["KES220"].message
    # That release ignores `api`, so what `skip_auth` would do there is not reported.
    assert not {"KES202", "KES203", "KES204", "KES205"} & set(codes)
    # Without the tag, the same files are checked for the current KES, which reads `api`.
    compose_file.write_text(compose_file.read_text().replace(":v0.22.3", ":latest"))
    assert {"KES202", "KES204"} <= {f.code for f in lint([tmp_path / "deploy"]).findings}


def test_the_release_that_never_starts_is_reported_at_the_image(write, tmp_path):
    path = write("deploy/kes.yaml", KES_DEPLOYMENT.replace("minio/kes", "quay.io/minio/kes:2023-09-28T19-40-28Z")
                 + "          args: [server, --config, /etc/kes/config.yaml]\n")
    write("deploy/config.yaml", G2_CONFIG)
    (finding,) = [f for f in lint([tmp_path / "deploy"]).findings if f.code == "KES223"]
    assert finding.location.path == path
    assert text_at(path, finding.location.line, finding.location.column, 9) == "quay.io/m"
    assert "container 'kes' of Deployment 'kes' runs it (quay.io/minio/kes:2023-09-28T19-40-28Z)" in finding.message


def test_kes_version_wins_over_the_image_tag_and_the_difference_is_reported(write, tmp_path):
    from kescheck.model import Options

    path = write("deploy/kes.yaml", KES_DEPLOYMENT.replace("minio/kes", "minio/kes:v0.22.3")
                 + "          args: [server, --config, /etc/kes/config.yaml]\n")
    write("deploy/config.yaml", API_CONFIG)
    result = lint([tmp_path / "deploy"], Options(kes_version="2024-01-11"))
    (deployment,) = result.deployments
    assert deployment.options.kes_version == "2024-01-11" and deployment.release_image is None
    (finding,) = [f for f in result.findings if f.code == "SYS010"]
    assert text_at(path, finding.location.line, finding.location.column, 17) == "minio/kes:v0.22.3"
    assert finding.message == ("container 'kes' of Deployment 'kes' runs KES v0.22.3 (minio/kes:v0.22.3), but "
                               "--kes-version names KES 2024-01-11, so kescheck checks the config for that release")
    assert "KES220" not in {f.code for f in result.findings}
    assert not [f for f in lint([tmp_path / "deploy"], Options(kes_version="0.22")).findings if f.code == "SYS010"]


def test_containers_that_run_different_releases_name_none(write, tmp_path):
    path = write("deploy/compose.yaml", """\
        services:
          kes-a:
            image: minio/kes:v0.22.3
            command: server --config /etc/kes/config.yaml
          kes-b:
            image: minio/kes:0.22.3
            command: server --config /etc/kes/config.yaml
          kes-c:
            image: minio/kes:2024-01-11T13-09-29Z
            command: server --config /etc/kes/config.yaml
        """)
    write("deploy/config.yaml", API_CONFIG)
    result = lint([tmp_path / "deploy"])
    (deployment,) = result.deployments
    assert deployment.options.kes_version is None and deployment.kes.generation.name == "G2"
    (finding,) = [f for f in result.findings if f.code == "SYS010"]  # kes-b's tag is kes-a's release
    assert finding.location.line == 9 and text_at(path, 9, finding.location.column, 9) == "minio/kes"
    assert "the Compose service 'kes-a' runs KES v0.22.3 (line 3)" in finding.message


# --- what a Compose service mounts from this host -------------------------------------------------

MOUNTING_SERVICE = """\
services:
  kes:
    image: minio/kes
    command: server --config /etc/kes/config.yaml
    volumes:
      - ./kes:/etc/kes:ro
      - kesdata:/data
      - type: bind
        source: ./certs
        target: /certs/
      - /tmp
      - ~/kes:/home
    configs:
      - kesconf
      - source: kesconf
        target: /etc/kes/other.yaml
    secrets:
      - vault
configs:
  kesconf: {file: ./config.yaml}
secrets:
  vault: {file: ./vault-secret.txt}
"""


def test_the_files_a_compose_service_mounts_from_this_host():
    (kes,) = compose_services(SourceFile(Path("deploy/compose.yaml"), MOUNTING_SERVICE)).kes
    assert [(m.target, m.host, m.line) for m in kes.mounts] == [
        ("/etc/kes", Path("deploy/kes"), 6), ("/certs", Path("deploy/certs"), 8),
        ("/kesconf", Path("deploy/config.yaml"), 14), ("/etc/kes/other.yaml", Path("deploy/config.yaml"), 15),
        ("/run/secrets/vault", Path("deploy/vault-secret.txt"), 18)]
    expected = {"/etc/kes/config.yaml": Path("deploy/kes/config.yaml"), "/certs": Path("deploy/certs"),
                "/etc/kes/../kes/x.pem": Path("deploy/kes/x.pem"), "/etc/kes/other.yaml": Path("deploy/config.yaml"),
                "/run/secrets/vault": Path("deploy/vault-secret.txt"), "/certsx/a": None, "/data/kes.key": None,
                "/home/kes.key": None, "certs/kes.key": None, "/etc/${NAME}/x": None}
    assert {path: kes.on_host(path) for path in expected} == expected


def _mounting_deployment(write, tmp_path, server: Issued) -> Path:
    write("deploy/compose.yaml", """\
        services:
          kes:
            image: minio/kes:2024-01-11T13-09-29Z
            command: server --config /etc/kes/config.yaml
            volumes: ["./kes:/etc/kes:ro", "./certs:/certs:ro"]
        """)
    server.write(tmp_path / "deploy" / "certs", "server")
    return write("deploy/kes/config.yaml", """\
        admin: {identity: disabled}
        tls: {key: /certs/server.key, cert: /certs/server.crt}
        cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
        keystore: {fs: {path: /data/keys}}
        """)


def test_the_certificates_a_container_mounts_are_checked_here(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = _mounting_deployment(write, tmp_path, issue("kes", dns=("kes.example.net",), days=10, not_before_days=-20))
    result = lint([Path("deploy")])
    (deployment,) = result.deployments
    assert deployment.kes.source.path == Path("deploy/kes/config.yaml") and len(deployment.containers) == 1
    by_code = {f.code: f for f in result.findings}
    assert "CRT001" not in by_code  # both files were found through the mount
    expired = by_code["CRT010"]
    assert (expired.location.path, expired.location.line) == (Path("deploy/kes/config.yaml"), 2)
    assert "'/certs/server.crt' (deploy/certs/server.crt here, mounted into the container)" in expired.message
    assert text_at(config, 2, expired.location.column, 17) == "/certs/server.crt"
    # Without the mount, the same config names files that are not here.
    compose_file = tmp_path / "deploy" / "compose.yaml"
    compose_file.write_text(compose_file.read_text().replace(', "./certs:/certs:ro"', ""))
    codes = {f.code for f in lint([Path("deploy")]).findings}
    assert "CRT001" in codes and "CRT010" not in codes


def test_a_compose_file_named_alone_brings_the_config_it_mounts(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _mounting_deployment(write, tmp_path, issue("kes", dns=("kes.example.net",)))
    result = lint([Path("deploy/compose.yaml")])
    (deployment,) = result.deployments
    assert deployment.kes is not None and deployment.kes.source.path == Path("deploy/kes/config.yaml")
    assert sorted(str(f.source.path) for f in result.files) == ["deploy/compose.yaml", "deploy/kes/config.yaml"]


def test_each_container_joins_the_config_it_mounts(write, tmp_path):
    write("deploy/compose.yaml", """\
        services:
          kes-a:
            image: minio/kes
            command: server --config /etc/kes/config.yaml --mlock
            configs: [{source: config-a, target: /etc/kes/config.yaml}]
          kes-b:
            image: minio/kes
            command: server --config /etc/kes/config.yaml
            volumes: ["./b/kes.yaml:/etc/kes/config.yaml"]
          kes-c:
            image: minio/kes
            command: server --config /etc/kes/config.yaml
        configs:
          config-a: {file: ./a/kes.yaml}
        """)
    write("deploy/a/kes.yaml", G2_CONFIG)
    write("deploy/b/kes.yaml", G2_CONFIG)
    result = lint([tmp_path / "deploy"])
    joined = {c.label: (d.kes.source.path.parent.name if d.kes else None) for d in result.deployments
              for c in d.containers}
    # kes-c mounts nothing, and two KES configs are among the inputs: it is a deployment of its own.
    assert joined == {"the Compose service 'kes-a'": "a", "the Compose service 'kes-b'": "b",
                      "the Compose service 'kes-c'": None}
    (mlock,) = [f for f in result.findings if f.code == "SYS002"]
    assert mlock.location.line == 4


def test_a_config_mounted_from_a_file_that_is_not_here(write, tmp_path, monkeypatch):
    from kescheck.model import Options

    monkeypatch.chdir(tmp_path)
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n"
                                 "    command: [server, --config, /etc/kes/config.yaml]\n"
                                 "    volumes: ['./kes:/etc/kes:ro']\n")
    (note,) = [f for f in lint([path]).findings if f.code == "SYS006"]
    assert text_at(path, note.location.line, note.location.column, 20) == "/etc/kes/config.yaml"
    assert note.message == ("`--config` names /etc/kes/config.yaml, mounted from kes/config.yaml, which does not exist "
                            "here, so kescheck could not check the config the Compose service 'kes' starts")
    (error,) = [f for f in lint([path], Options(require_files=True)).findings if f.code == "SYS007"]
    assert error.location == note.location and "has no config to start KES with" in error.message
    write("kes/config.yaml", G2_CONFIG)
    assert not [f for f in lint([path]).findings if f.code in ("SYS006", "SYS007")]


# --- a manifest that holds the KES config and the workload that runs it -----------------------------

CONFIG_AND_WORKLOAD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: kes-config}
data:
  config.yaml: |
    admin: {identity: disabled}
    tls: {key: /certs/tls.key, cert: /certs/tls.crt}
    cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
    keystore:
      vault:
        endpoint: https://vault.example.net:8200
        approle: {id: "${VAULT_ROLE_ID}", secret: "${VAULT_SECRET_ID}"}
        token: hvs.CANARYMANIFESTTOKEN0123456789
---
""" + KES_DEPLOYMENT.replace("minio/kes", "quay.io/minio/kes:2024-01-11T13-09-29Z") + """\
          args: [server, --config, /etc/kes/config.yaml, --mlock]
          env:
            - {name: VAULT_ROLE_ID, value: kes}
"""


MINIO_IN_MANIFEST = "---\n" + MINIO_STATEFULSET + """\
            - {name: MINIO_KMS_KES_ENDPOINT, value: "http://kes:7373"}
            - {name: MINIO_KMS_KES_KEY_NAME, value: minio-key}
            - {name: MINIO_KMS_KES_API_KEY, valueFrom: {secretKeyRef: {name: kes, key: api-key}}}
"""


def test_a_manifest_with_the_config_and_its_workload_checks_both(cli, write, tmp_path):
    path = write("kes.yaml", CONFIG_AND_WORKLOAD)
    result = lint([tmp_path])
    (deployment,) = result.deployments
    assert deployment.kes is not None and [c.label for c in deployment.containers] == [
        "container 'kes' of Deployment 'kes'"]
    assert deployment.options.kes_version == "2024-01-11T13-09-29Z"  # the image's tag decides the generation
    assert result.file_notes()[path][1] == "runs `kes server` in container 'kes' of Deployment 'kes'"
    by_code = {f.code: f for f in result.findings}
    mlock = by_code["SYS002"]
    assert (mlock.location.path, mlock.location.line) == (path, 24) and text_at(path, 24, mlock.location.column, 7) == "--mlock"
    # The container's `env:` is KES's environment: VAULT_SECRET_ID is set nowhere.
    assert [f.message.split("`${")[1].split("}`")[0] for f in result.findings if f.code == "KES100"] == [
        "VAULT_SECRET_ID"]
    plain = cli("lint", str(tmp_path), "--format", "plain").stdout
    assert "> 24 |           args: [server, --config, /etc/kes/config.yaml, --mlock]" in plain  # the manifest's line
    assert "CANARYMANIFESTTOKEN" not in plain
    # Frames come from the whole manifest, which masks the config's secrets where they stand.
    (loaded,) = result.files
    assert loaded.shown is not loaded.source and "CANARY" not in loaded.shown.display_line(13)


def test_a_manifest_with_the_config_kes_and_minio_checks_all_three(write, tmp_path):
    """MinIO's StatefulSet in the same manifest: its environment joins the config's deployment, and the manifest stays
    the KES config it holds (its environment once took the manifest's place, and nothing was checked at all)."""
    path = write("kes.yaml", CONFIG_AND_WORKLOAD + MINIO_IN_MANIFEST)
    result = lint([path])
    (deployment,) = result.deployments
    assert deployment.kes is not None and [e.label for e in deployment.envs] == ["container 'minio' of StatefulSet 'minio'"]
    assert {"SYS002", "KES100", "ENV107"} <= {f.code for f in result.findings if f.location.path == path}
    assert [loaded.kind for loaded in result.files] == ["kes"]


def test_a_suppression_comment_beside_the_workload_of_a_manifest_with_a_config(write, tmp_path):
    write("kes.yaml", CONFIG_AND_WORKLOAD.replace(
        "          args: [server", "          # kescheck: ignore[SYS002] -- the image is pinned to 0.20 by the operator\n"
                                   "          args: [server"))
    result = lint([tmp_path])
    (mlock,) = [f for f in result.findings if f.code == "SYS002"]
    assert mlock.suppressed_by is not None


def test_an_old_config_keeps_its_fs_keystore_under_keys(write):
    write("config.yaml", "root: disabled\ntls: {key: /k, cert: /c}\nkeys: {fs: {path: /keys}}\n")
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes:v0.13.0\n"
                                 "    command: server --config /etc/kes/c.yaml\n")
    [found] = [f.message for f in lint([path.parent]).findings if f.code == "SYS013"]
    assert found.startswith("`keys.fs.path` /keys is on no volume of the Compose service 'kes'")


@pytest.mark.parametrize("service, problem", [
    ("", "is on no volume of the Compose service 'kes': it is in the container's own file system, which Compose "
         "discards whenever it recreates the container"),
    ("read_only: true\n", "whose own file system is read-only (`read_only: true`): KES cannot store a key there"),
    ("tmpfs: /var/lib/kes\n", "is on the `tmpfs` volume mounted at '/var/lib/kes' (line 5 of"),
    ("volumes: [{type: volume, source: keys, target: /var/lib/kes/keys, read_only: true}]\n",
     "is on the read-only volume mounted at '/var/lib/kes/keys'"),
    ("volumes: ['keys:/var/lib/kes:ro']\n", "is on the read-only volume mounted at '/var/lib/kes'"),
    ("volumes: ['keys:/var/lib/kes']\n", None),
    ("volumes: ['./keys:/var/lib/kes/keys:rw']\n", None),
    ("volumes: [{type: tmpfs, target: /var}, {type: bind, source: ./k, target: /var/lib/kes}]\n", None),
], ids=["no-volume", "read-only-root", "tmpfs", "long-read-only", "short-read-only", "named", "bind", "deepest"])
def test_where_a_compose_service_keeps_the_fs_keystore(write, service, problem):
    write("config.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/lib/kes/keys}}\n")
    path = write("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config /etc/kes/c.yaml\n"
                 + "".join(f"    {line}\n" for line in service.splitlines()))
    found = [f.message for f in lint([path.parent]).findings if f.code == "SYS013"]
    assert [problem in message for message in found] == ([True] if problem else []), found


# --- services Compose merges: compose.override.yaml and extends: -------------------------------------------------

MERGED_CONFIG = ("admin: {identity: disabled}\ntls: {key: /certs/kes.key, cert: /certs/kes.crt}\n"
                 "cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}\nkeystore: {fs: {path: /data/keys}}\n")
BASE_SERVICE = ("services:\n  kes:\n    image: minio/kes:2024-01-11T13-09-29Z\n"
                "    command: server --config /etc/kes/config.yaml\n    volumes: [./kes:/etc/kes:ro, keys:/data]\n"
                "volumes:\n  keys:\n")


def _merged_deployment(tmp_path, files: dict[str, str]):
    (tmp_path / "kes").mkdir()
    (tmp_path / "kes" / "config.yaml").write_text(MERGED_CONFIG)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return lint([tmp_path])


def test_an_override_file_replaces_the_command_and_image_of_the_base_service(tmp_path):
    result = _merged_deployment(tmp_path, {"compose.yaml": BASE_SERVICE, "compose.override.yaml": (
        "services:\n  kes:\n    image: minio/kes:v0.22.3\n    command: server --config /etc/kes/config.yaml --mlock\n")})
    codes = [f.code for f in result.findings if f.severity.label in ("error", "warning")]
    assert "SYS013" not in codes and "SYS010" not in codes  # the keys volume comes from the base file
    assert [(f.location.path.name, f.location.line) for f in result.findings if f.code == "SYS002"] == \
        [("compose.override.yaml", 4)]  # the override's command is the one that runs
    [config] = [f for f in result.files if f.kes is not None]
    assert config.kes.generation.name == "G1"  # v0.22.3, the override's image
    # the base's command is not what runs: the override's service alone starts KES
    assert [c.source.path.name for d in result.deployments for c in d.containers] == ["compose.override.yaml"]


def test_an_override_file_that_sets_only_the_image(tmp_path):
    result = _merged_deployment(tmp_path, {"docker-compose.yml": BASE_SERVICE,
                                           "docker-compose.override.yml": "services:\n  kes:\n    image: minio/kes:v0.22.3\n"})
    [config] = [f for f in result.files if f.kes is not None]
    assert config.kes.generation.name == "G1" and "docker-compose.override.yml" in config.kes.generation_reason
    assert not [f for f in result.findings if f.code in ("SYS010", "SYS013")]


@pytest.mark.parametrize("files", [
    {"compose.yaml": "services:\n  kes:\n    extends: {file: common.yaml, service: kes}\n"
                     "    volumes: [./kes:/etc/kes:ro, keys:/data]\nvolumes:\n  keys:\n",
     "common.yaml": "services:\n  kes:\n    image: minio/kes:2024-01-11T13-09-29Z\n"
                    "    command: server --config /etc/kes/config.yaml\n"},
    {"compose.yaml": "services:\n  kes-base:\n    image: minio/kes:2024-01-11T13-09-29Z\n"
                     "    command: server --config /etc/kes/config.yaml\n"
                     "  kes:\n    extends: kes-base\n    volumes: [./kes:/etc/kes:ro, keys:/data]\nvolumes:\n  keys:\n"},
], ids=["another-file", "same-file"])
def test_a_service_that_extends_or_is_extended_is_not_judged_by_what_it_keeps_elsewhere(tmp_path, files):
    result = _merged_deployment(tmp_path, files)
    assert not [f for f in result.findings if f.code == "SYS013"]


def test_a_compose_file_without_a_partner_is_still_judged(tmp_path):
    result = _merged_deployment(tmp_path, {"compose.yaml": BASE_SERVICE.replace(", keys:/data", "")})
    assert [f.code for f in result.findings if f.code == "SYS013"] == ["SYS013"]


@pytest.mark.parametrize("style", [">", "|"])
def test_a_compose_command_written_as_a_block_is_split_at_its_line_breaks(write, tmp_path, style):
    """Compose splits a string command at line breaks too: `--mlock` on a line of its own is a flag."""
    write("compose.yaml", f"services:\n  kes:\n    image: minio/kes:v0.22.3\n    command: {style}\n      server\n"
                          "      --config /etc/kes/config.yaml\n      --mlock\n")
    codes = [f.code for f in lint([tmp_path]).findings if f.code.startswith("SYS")]
    assert "SYS002" in codes


@pytest.mark.parametrize("base, override", [("compose.yaml", "docker-compose.override.yml"),
                                            ("docker-compose.yml", "compose.override.yaml")])
def test_compose_takes_the_first_override_file_whatever_the_base_file_is_called(write, tmp_path, base, override):
    """Compose merges the first of compose.override.yml, compose.override.yaml, docker-compose.override.yml,
    docker-compose.override.yaml with its base file: the override's image is the one that runs."""
    write(base, "services:\n  kes:\n    image: minio/kes:v0.22.3\n    command: server --config /etc/kes/config.yaml "
                "--mlock\n")
    write(override, "services:\n  kes:\n    image: minio/kes:v0.20.0\n")
    codes = [f.code for f in lint([tmp_path]).findings]
    assert "SYS002" not in codes, codes  # KES v0.20 still has --mlock


def test_an_override_that_sets_only_the_command_runs_the_base_file_s_image(write, tmp_path):
    """Compose merges the override's `command:` into the base file's service: KES v0.22.3 refuses `--mlock`."""
    write("compose.yaml", "services:\n  kes:\n    image: minio/kes:v0.22.3\n    command: server --config "
                          "/etc/kes/config.yaml\n")
    write("compose.override.yaml", "services:\n  kes:\n    command: server --config /etc/kes/config.yaml --mlock\n")
    found = [f for f in lint([tmp_path]).findings if f.code == "SYS002"]
    assert [f.location.path.name for f in found] == ["compose.override.yaml"]
