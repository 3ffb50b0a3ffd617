"""MinIO's KMS settings in the environment of its containers: Compose `environment:` and Kubernetes `env:`, read as
an env file whose entries stand where the file writes them, paired with KES, and checked through the mounts."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from certgen import issue
from kescheck.engine import lint
from kescheck.identity import identity_of_certificate
from kescheck.load.containers import compose_services, is_minio_image
from kescheck.load.kubernetes import kubernetes_manifest
from kescheck.load.source import SourceFile
from kescheck.model import Options

CANARY = "Canary-Api-Key-Value-8f3a1c"


MINIO_STATEFULSET = ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: minio}\nspec:\n  template:\n    spec:\n"
                     "      containers:\n        - name: minio\n          image: quay.io/minio/minio\n          env:\n")
"""A StatefulSet whose MinIO container's `env:` is still open: a test adds its items (12 spaces in), from line 11."""


def minio_compose(*variables: str) -> str:
    """A Compose file whose service `minio` sets the KES endpoint (line 5) and `variables` (`NAME: value`)."""
    return ("services:\n  minio:\n    image: minio/minio\n    environment:\n"
            "      MINIO_KMS_KES_ENDPOINT: https://kes.example.net:7373\n"
            + "".join(f"      {variable}\n" for variable in variables))


def text_at(path: Path, line: int, column: int, length: int) -> str:
    return path.read_text().splitlines()[line - 1][column - 1:column - 1 + length]


@pytest.mark.parametrize("image, expected", [
    ("minio/minio", True), ("quay.io/minio/minio:RELEASE.2024-01-11T07-46-16Z", True), ("bitnami/minio:2024", True),
    ("minio/minio@sha256:0123abcd", True), ("minio/kes", False), ("minio/mc", False), ("minio-proxy:1", False)])
def test_minio_images_are_known_by_their_name(image, expected):
    assert is_minio_image(image) is expected


def test_a_compose_environment_in_both_forms():
    text = """\
services:
  minio:
    image: quay.io/minio/minio
    environment:
      MINIO_KMS_KES_ENDPOINT: "https://kes.example.net:7373"
      MINIO_KMS_KES_KEY_NAME: ${KEY_NAME}
      MINIO_KMS_KES_CAPATH:
      MINIO_ROOT_PASSWORD: pa$$word
  minio-list:
    image: minio/minio
    environment:
      - MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373
      - MINIO_KMS_KES_KEY_NAME
      - MINIO_KMS_KES_CERT_FILE=$CERT
  other:
    image: minio/minio
    environment: {MINIO_ROOT_USER: admin}
"""
    found = compose_services(SourceFile(Path("compose.yaml"), text))
    assert not found.kes and [env.label for env in found.minio] == ["the Compose service 'minio'",
                                                                   "the Compose service 'minio-list'"]
    mapping, listed = found.minio
    endpoint = mapping.get("MINIO_KMS_KES_ENDPOINT")
    assert endpoint.value == "https://kes.example.net:7373"
    assert (endpoint.line, endpoint.name_column, endpoint.value_column, endpoint.value_end_column) == (5, 7, 32, 60)
    assert mapping.get("MINIO_ROOT_PASSWORD").value == "pa$word"  # Compose's `$$` is one `$`
    # Compose fills in `${VAR}` and takes a bare name from the shell: set, to a value kescheck cannot know.
    assert set(mapping.unknown) == {"MINIO_KMS_KES_KEY_NAME", "MINIO_KMS_KES_CAPATH"}
    assert mapping.get("MINIO_KMS_KES_KEY_NAME") is None and mapping.defined("MINIO_KMS_KES_KEY_NAME")
    assert mapping.present("MINIO_KMS_KES_CAPATH").line == 7
    item = listed.get("MINIO_KMS_KES_ENDPOINT")
    assert (item.line, item.name_column, item.value_column) == (12, 9, 32)
    assert set(listed.unknown) == {"MINIO_KMS_KES_KEY_NAME", "MINIO_KMS_KES_CERT_FILE"}
    assert listed.entries == [item] and not listed.systemd.assignments


def test_services_that_share_an_anchor_share_one_environment():
    text = """\
x-minio: &minio
  image: minio/minio
  environment:
    MINIO_KMS_KES_ENDPOINT: https://kes.example.net:7373
    MINIO_KMS_KES_KEY_NAME: minio-key
services:
  minio1: {<<: *minio, hostname: minio1}
  minio2:
    <<: *minio
    environment:
      <<: {MINIO_KMS_KES_KEY_NAME: other-key}
      MINIO_KMS_KES_ENDPOINT: https://kes2.example.net:7373
"""
    first, second = compose_services(SourceFile(Path("compose.yaml"), text)).minio
    assert first.label == "the Compose service 'minio1'" and first.get("MINIO_KMS_KES_KEY_NAME").line == 5
    assert [(e.name, e.value) for e in second.entries] == [("MINIO_KMS_KES_KEY_NAME", "other-key"),
                                                          ("MINIO_KMS_KES_ENDPOINT", "https://kes2.example.net:7373")]


def test_a_kubernetes_env_with_values_from_secrets():
    text = MINIO_STATEFULSET + """\
            - {name: MINIO_KMS_KES_ENDPOINT, value: "https://kes.example.net:7373"}
            - name: MINIO_KMS_KES_API_KEY
              valueFrom: {secretKeyRef: {name: kes, key: api-key}}
            - {name: MINIO_KMS_KES_KEY_NAME, value: "$(KEY_NAME)"}
            - {name: MINIO_KMS_KES_CAPATH}
"""
    (env,) = kubernetes_manifest(SourceFile(Path("minio.yaml"), text)).containers.minio
    assert env.label == "container 'minio' of StatefulSet 'minio'"
    assert env.get("MINIO_KMS_KES_ENDPOINT").value_column == 54
    assert set(env.unknown) == {"MINIO_KMS_KES_API_KEY", "MINIO_KMS_KES_KEY_NAME"}
    assert env.get("MINIO_KMS_KES_CAPATH").value == ""  # neither value nor valueFrom: the empty string


MINIO_ENV_FROM = MINIO_STATEFULSET.replace("          env:\n", "          envFrom:\n            - secretRef: {name: minio-kms}\n"
                                                                   "          env:\n")
"""`MINIO_STATEFULSET` whose container also takes the variables of the Secret 'minio-kms' (line 11); `env:` items
from line 13."""
MINIO_KMS_SECRET = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: minio-kms}\nstringData:\n"
"""A Secret 'minio-kms' whose keys are still open: a test adds them (2 spaces in)."""


def codes_in(path: Path) -> set[str]:
    return {f.code for f in lint([path]).findings}


def test_a_minio_container_whose_env_from_source_is_not_in_the_manifest_is_missing_nothing(write):
    """The API key and the root credentials usually come from a Secret that is not in the repository: that MinIO
    refuses to start without them would be a false alarm. What `env:` does set is still judged."""
    path = write("minio.yaml", MINIO_ENV_FROM + '            - {name: MINIO_KMS_KES_ENDPOINT, value: "http://kes:7373"}\n')
    (env,) = kubernetes_manifest(SourceFile(path, path.read_text())).containers.minio
    assert env.open_ended and env.defined("MINIO_KMS_KES_API_KEY") and env.present("MINIO_KMS_KES_API_KEY") is None
    codes = codes_in(path)
    assert not codes & {"ENV051", "ENV053", "ENV111"} and "ENV107" in codes
    assert lint([path]).file_notes()[path][-1] == ("container 'minio' of StatefulSet 'minio' may take further variables "
                                                   "from `envFrom:` sources that are not in this manifest: none is "
                                                   "reported missing")
    assert {"ENV051", "ENV053", "ENV111"} <= codes_in(write("minio.yaml", path.read_text().replace(
        "          envFrom:\n            - secretRef: {name: minio-kms}\n", "")))


def test_a_minio_container_takes_the_keys_of_the_env_from_sources_in_its_manifest(write):
    path = write("minio.yaml", MINIO_ENV_FROM + '            - {name: MINIO_KMS_KES_ENDPOINT, value: "https://kes:7373"}\n'
                 + MINIO_KMS_SECRET + "  MINIO_KMS_KES_KEY_NAME: minio-key\n  MINIO_KMS_KES_APIKEY: kes:v1:typo\n")
    (env,) = kubernetes_manifest(SourceFile(path, path.read_text())).containers.minio
    assert env.open_ended is None
    assert env.unknown["MINIO_KMS_KES_KEY_NAME"].line == 11  # set at its `envFrom:` item, to a value not judged
    codes = codes_in(path)
    assert "ENV053" in codes and "ENV051" not in codes  # the Secret names the key, not the API key
    # A Secret's keys alone can be the KMS settings.
    only_from = write("minio.yaml", MINIO_ENV_FROM.replace("          env:\n", "") + MINIO_KMS_SECRET
                      + "  MINIO_KMS_KES_ENDPOINT: https://kes:7373\n")
    assert [env.label for env in kubernetes_manifest(SourceFile(only_from, only_from.read_text())).containers.minio] \
        == ["container 'minio' of StatefulSet 'minio'"]
    assert {"ENV051", "ENV053"} <= codes_in(only_from)


@pytest.mark.parametrize("env_file, open_ended", [
    ("[secrets.env]", True),  # kept out of the repository, as secrets are
    ("${SECRETS_DIR}/minio.env", True),  # cannot be placed: `.env` does not set the variable
    ("[{path: secrets.env, required: false}]", False),  # Compose skips it when it is not there
], ids=["required-not-here", "unplaceable", "optional-not-here"])
def test_a_minio_service_whose_env_file_is_not_here_is_missing_nothing(write, env_file, open_ended):
    path = write("compose.yaml", "services:\n  minio:\n    image: quay.io/minio/minio\n    env_file: " + env_file
                 + "\n    environment:\n      MINIO_KMS_KES_ENDPOINT: http://kes:7373\n")
    result = lint([path])
    codes = {f.code for f in result.findings}
    assert "ENV107" in codes  # what the service does set is judged either way
    assert bool(codes & {"ENV051", "ENV053", "ENV111"}) is not open_ended
    notes = result.file_notes()[path]
    assert any(note.endswith("which kescheck cannot read here: none is reported missing") for note in notes) is open_ended


KES_CONFIG = """\
address: 0.0.0.0:7373
admin: {identity: disabled}
tls: {key: /certs/kes.key, cert: /certs/kes.crt}
cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
policy:
  minio:
    allow: [/v1/key/create/minio-*, /v1/key/generate/minio-*, /v1/key/decrypt/minio-*]
    identities: [IDENTITY]
keystore: {fs: {path: /data/keys}}
"""

COMPOSE = """\
x-minio: &minio
  image: quay.io/minio/minio:RELEASE.2024-01-11T07-46-16Z
  command: server http://minio{1...2}/data
  environment:
    MINIO_KMS_KES_ENDPOINT: https://HOST:7373
    MINIO_KMS_KES_CERT_FILE: /certs/minio.crt
    MINIO_KMS_KES_KEY_FILE: /certs/minio.key
    MINIO_KMS_KES_CAPATH: /certs/ca.crt
    MINIO_KMS_KES_KEY_NAME: minio-default-key
  volumes: [./certs:/certs:ro]
services:
  minio1: {<<: *minio}
  minio2: {<<: *minio}
  kes:
    image: minio/kes:2024-01-11T13-09-29Z
    command: server --config /etc/kes/config.yaml
    volumes: [./kes:/etc/kes:ro, ./certs:/certs:ro]
"""


def _compose_project(write, tmp_path, host: str, bound: bool) -> tuple[Path, str]:
    """A Compose project of two MinIO services and KES, with its certificates; `bound`: the policy names MinIO's
    identity."""
    ca = issue("Example CA", ca=True)
    issue("kes", issuer=ca, dns=("kes.example.net",), eku=("server",)).write(tmp_path / "certs", "kes")
    client = issue("minio", issuer=ca, eku=("client",))
    client.write(tmp_path / "certs", "minio")
    (tmp_path / "certs" / "ca.crt").write_bytes(ca.cert_pem())
    identity = identity_of_certificate(client.certificate)
    write("kes/config.yaml", KES_CONFIG.replace("IDENTITY", identity if bound else "0" * 64))
    return write("compose.yaml", COMPOSE.replace("HOST", host)), identity


def test_a_compose_project_is_checked_as_one_deployment(write, tmp_path):
    compose_file, identity = _compose_project(write, tmp_path, "kes", bound=False)
    result = lint([tmp_path])
    (deployment,) = result.deployments
    assert deployment.kes is not None and [env.label for env in deployment.envs] == ["the Compose service 'minio1'"]
    assert result.file_notes()[compose_file] == ["runs `kes server` in the Compose service 'kes'",
                                                 "MinIO's KMS settings in the Compose service 'minio1'"]
    by_code = {f.code: f for f in result.findings}
    assert "CRT001" not in by_code  # every certificate was found through the services' mounts
    unbound, not_in_san = by_code["DEP100"], by_code["CRT021"]
    assert unbound.location.path == compose_file and identity in unbound.message
    assert text_at(compose_file, unbound.location.line, unbound.location.column, 16) == "/certs/minio.crt"
    assert text_at(compose_file, not_in_san.location.line, not_in_san.location.column, 17) == "https://kes:7373"[:17]
    assert "host 'kes' of MINIO_KMS_KES_ENDPOINT is not covered" in not_in_san.message


def test_a_compose_project_that_is_right_has_no_such_findings(write, tmp_path):
    _compose_project(write, tmp_path, "kes.example.net", bound=True)
    codes = {f.code for f in lint([tmp_path]).findings}
    assert not codes & {"DEP100", "CRT021", "CRT001", "ENV051", "ENV053"}


def test_values_kescheck_cannot_know_count_as_set(write, tmp_path):
    path = write("compose.yaml", minio_compose("MINIO_KMS_KES_KEY_NAME: ${KES_KEY_NAME}",
                                               "MINIO_KMS_KES_API_KEY: ${KES_API_KEY}",
                                               "MINIO_KMS_KES_CERT_FILE: /certs/minio.crt"))
    findings = lint([path]).findings
    codes = {f.code for f in findings}
    assert "ENV051" not in codes and "ENV105" not in codes  # the key name is set, to a value not known here
    (conflict,) = [f for f in findings if f.code == "ENV052"]  # MinIO refuses an API key next to a certificate
    assert conflict.location.path == path


def test_a_named_compose_file_with_minio_alone_is_read(cli, write):
    path = write("compose.yaml", f"""\
        services:
          minio:
            image: minio/minio
            environment:
              - MINIO_KMS_KES_ENDPOINT=https://play.min.io:7373
              - MINIO_KMS_KES_KEY_NAME=my-key
              - MINIO_KMS_KES_API_KEY={CANARY}
        """)
    run = cli("lint", path, "--format", "json")
    report = json.loads(run.stdout)
    assert run.status == 1 and report["files"][0]["kind"] == "containers"
    assert {"ENV102", "ENV057"} <= {f["code"] for f in report["findings"]}
    for fmt in ("json", "sarif", "rich", "github", "junit", "gitlab"):
        assert CANARY not in cli("lint", path, "--format", fmt).stdout


def test_a_suppression_comment_on_an_environment_line(write):
    path = write("compose.yaml", """\
        services:
          minio:
            image: minio/minio
            environment:
              MINIO_KMS_KES_ENDPOINT: https://play.min.io:7373  # kescheck: ignore[ENV102] -- the sandbox is intended
              MINIO_KMS_KES_KEY_NAME: my-key
        """)
    (finding,) = [f for f in lint([path]).findings if f.code == "ENV102"]
    assert finding.suppressed_by is not None


def test_a_run_with_certificates_writes_nothing_to_stderr(tmp_path, write):
    _compose_project(write, tmp_path, "kes.example.net", bound=True)
    run = subprocess.run([sys.executable, "-m", "kescheck", "lint", str(tmp_path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert run.stderr == "" and json.loads(run.stdout)["files"]


def test_what_a_container_environment_lacks_is_reported_at_its_key(write):
    path = write("compose.yaml", minio_compose())
    findings = {f.code: f for f in lint([path]).findings}
    for code in ("ENV051", "ENV053"):  # no key name; no way to authenticate
        assert (findings[code].location.line, findings[code].location.column) == (4, 5)
    assert "the environment of the Compose service 'minio' does not set MinIO's root credentials" in \
        findings["ENV111"].message


def test_a_variable_that_overrides_a_merged_one_is_no_duplicate(write):
    path = write("compose.yaml", """\
        x-kms: &kms
          MINIO_KMS_KES_ENDPOINT: https://kes.example.net:7373
          MINIO_KMS_KES_KEY_NAME: minio-key
        services:
          minio:
            image: minio/minio
            environment:
              <<: *kms
              MINIO_KMS_KES_KEY_NAME: other-key
        """)
    (env,) = lint([path]).deployments[0].envs
    assert [(e.name, e.value) for e in env.entries] == [("MINIO_KMS_KES_ENDPOINT", "https://kes.example.net:7373"),
                                                       ("MINIO_KMS_KES_KEY_NAME", "other-key")]


def test_anchors_merged_into_anchors_are_read_once():
    """Each level merges every mapping of the level below six times: expanded, 6**8 merges; read once, a few dozen."""
    levels = ["x-level0: &level0 {MINIO_KMS_KES_KEY_NAME: minio-key}\n"]
    for depth in range(1, 9):
        sources = ", ".join([f"*level{depth - 1}"] * 6)
        levels.append(f"x-level{depth}: &level{depth} {{<<: [{sources}], MINIO_LEVEL_{depth}: '{depth}'}}\n")
    text = "".join(levels) + ("services:\n  minio:\n    image: minio/minio\n    environment:\n      <<: *level8\n"
                              "      MINIO_KMS_KES_ENDPOINT: https://kes.example.net:7373\n")
    (env,) = compose_services(SourceFile(Path("compose.yaml"), text)).minio
    assert env.get("MINIO_KMS_KES_KEY_NAME").line == 1 and env.get("MINIO_LEVEL_8").value == "8"


def test_a_merged_secret_is_masked_where_every_service_overrides_it(cli, write):
    path = write("compose.yaml", f"""\
        x-common: &common
          MINIO_ROOT_PASSWORD: {CANARY}
          MINIO_KMS_KES_ENDPOINT: https://play.min.io:7373
          MINIO_KMS_KES_KEY_NAME: minio-key
        services:
          minio:
            image: minio/minio
            environment:
              <<: *common
              MINIO_ROOT_PASSWORD: ${{ROOT_PASSWORD}}
        """)
    run = cli("lint", path, "--format", "rich")  # ENV102's code frame shows line 2
    assert "ENV102" in run.stdout and "MINIO_ROOT_PASSWORD" in run.stdout and CANARY not in run.stdout


def test_quotes_compose_keeps_are_reported_at_the_quote(write):
    path = write("compose.yaml", 'services:\n  minio:\n    image: minio/minio\n    environment:\n'
                                 '      - MINIO_KMS_KES_ENDPOINT="https://kes.example.net:7373"\n'
                                 '      - MINIO_KMS_KES_KEY_NAME=minio-key\n')
    (finding,) = [f for f in lint([path]).findings if f.code == "ENV011"]
    assert text_at(path, finding.location.line, finding.location.column, 9) == '"https://'
    assert finding.message.startswith('Compose gives MINIO_KMS_KES_ENDPOINT `"https://kes.example.net:7373"`')


def test_a_kubernetes_minio_joins_the_kes_config_beside_it(write, tmp_path):
    path = write("deploy/minio.yaml", MINIO_STATEFULSET + """\
            - {name: MINIO_KMS_KES_ENDPOINT, value: "https://kes.example.net:7000"}
            - {name: MINIO_KMS_KES_KEY_NAME, value: minio-key}
            - name: MINIO_KMS_KES_API_KEY
              valueFrom: {secretKeyRef: {name: kes, key: api-key}}
""")
    write("deploy/kes-config.yaml", KES_CONFIG.replace("IDENTITY", "0" * 64))
    result = lint([tmp_path / "deploy"])
    (deployment,) = result.deployments
    assert deployment.kes is not None and [e.label for e in deployment.envs] == ["container 'minio' of StatefulSet 'minio'"]
    (mismatch,) = [f for f in result.findings if f.code == "DEP001"]  # KES listens on 7373
    location = mismatch.location
    assert location.path == path and text_at(path, location.line, location.column, 28) == "https://kes.example.net:7000"
    assert "ENV053" not in {f.code for f in result.findings}  # the API key comes from a Secret


# --- env files Compose reads for a MinIO service (`env_file:`) --------------------------------------

MINIO_ENV_FILE = """\
# MinIO's KMS settings, read by Compose for the service minio
MINIO_KMS_KES_ENDPOINT=https://HOST:7373
MINIO_KMS_KES_CERT_FILE=/certs/minio.crt
MINIO_KMS_KES_KEY_FILE=/certs/minio.key
MINIO_KMS_KES_CAPATH=/certs/ca.crt
MINIO_KMS_KES_KEY_NAME=minio-default-key
"""

COMPOSE_WITH_ENV_FILE = """\
services:
  minio:
    image: quay.io/minio/minio:RELEASE.2024-01-11T07-46-16Z
    command: server /data
    env_file: [minio.env]
    environment:
      MINIO_ROOT_USER: admin
      MINIO_ROOT_PASSWORD: ${MINIO_ROOT_PASSWORD}
    volumes: [./certs:/certs:ro]
  kes:
    image: minio/kes:2024-01-11T13-09-29Z
    command: server --config /etc/kes/config.yaml
    volumes: [./kes:/etc/kes:ro, ./certs:/certs:ro]
"""


def _env_file_project(write, tmp_path, host: str, bound: bool) -> tuple[Path, Path]:
    """The project of `_compose_project`, whose MinIO service takes its KMS settings from `minio.env`."""
    _compose_project(write, tmp_path, host, bound)
    env_file = write("minio.env", MINIO_ENV_FILE.replace("HOST", host))
    return write("compose.yaml", COMPOSE_WITH_ENV_FILE), env_file


def test_an_env_file_compose_reads_for_minio_is_the_services_environment(write, tmp_path):
    compose_file, env_file = _env_file_project(write, tmp_path, "kes", bound=False)
    result = lint([tmp_path])
    (deployment,) = result.deployments
    (environment,) = deployment.envs
    assert environment.source.path == env_file and environment.label == "the Compose service 'minio'"
    assert {compose_file, env_file} <= {f.source.path for f in result.files}  # both are reported as checked
    assert result.file_notes()[env_file] == ["MinIO's KMS settings in the Compose service 'minio', which Compose "
                                             "reads from this env file"]
    by_code = {f.code: f for f in result.findings}
    assert "CRT001" not in by_code  # its certificate paths are found through the service's mounts
    unbound, not_in_san = by_code["DEP100"], by_code["CRT021"]
    assert unbound.location.path == env_file
    assert text_at(env_file, unbound.location.line, unbound.location.column, 16) == "/certs/minio.crt"
    assert not_in_san.location.path == env_file and not_in_san.location.line == 2
    assert "ENV111" not in by_code  # the root credentials come from `environment:`, a value Compose fills in


def test_a_right_project_with_an_env_file_has_no_such_findings(write, tmp_path):
    _env_file_project(write, tmp_path, "kes.example.net", bound=True)
    codes = {f.code for f in lint([tmp_path]).findings}
    assert not codes & {"DEP100", "CRT021", "CRT001", "ENV051", "ENV053", "ENV111"}


def test_an_env_file_is_read_as_compose_reads_it_not_as_minio_or_systemd_would(write, tmp_path):
    _, env_file = _env_file_project(write, tmp_path, "kes.example.net", bound=True)
    env_file.write_text(env_file.read_text().replace("minio-default-key", "minio-default-key # the default key")
                        + 'export MINIO_KMS_KES_CAPATH="/certs/ca.crt"\n')
    result = lint([tmp_path])
    (environment,) = result.deployments[0].envs
    assert environment.get("MINIO_KMS_KES_KEY_NAME") is None  # Compose cuts the comment: present, not judged
    assert environment.present("MINIO_KMS_KES_KEY_NAME") is not None
    assert environment.get("MINIO_KMS_KES_CAPATH").value == "/certs/ca.crt"  # Compose removes the quotes
    # No rule about how MinIO's or systemd's readers split lines speaks about a file neither reads.
    assert not [f for f in result.findings if f.location.path == env_file and f.code <= "ENV011"], \
        [f.code for f in result.findings]


def test_kms_settings_in_environment_with_an_env_file_beside_them(write, tmp_path):
    compose_file, identity = _compose_project(write, tmp_path, "kes.example.net", bound=True)
    env_file = write("minio.env", "MINIO_ROOT_USER=admin\nMINIO_ROOT_PASSWORD=CANARY-root-password-1\n")
    compose_file.write_text(compose_file.read_text().replace(
        "  volumes: [./certs:/certs:ro]\n", "  volumes: [./certs:/certs:ro]\n  env_file: minio.env\n", 1))
    result = lint([tmp_path])
    (deployment,) = result.deployments
    assert [env.source.path for env in deployment.envs] == [compose_file]  # the env file is no env file of its own
    assert env_file not in [f.source.path for f in result.files]
    assert deployment.envs[0].present("MINIO_ROOT_PASSWORD") is not None
    assert not {f.code for f in result.findings} & {"ENV111", "DEP100", "CRT001"}
    assert "CANARY-root-password-1" in result.secrets


def test_an_env_file_loaded_before_its_compose_file_is_still_the_services(write, tmp_path):
    _, env_file = _env_file_project(write, tmp_path, "kes", bound=False)
    result = lint([env_file, tmp_path / "compose.yaml", tmp_path / "kes" / "config.yaml"])
    (deployment,) = result.deployments
    assert [env.source.path for env in deployment.envs] == [env_file]
    assert "DEP100" in {f.code for f in result.findings}


# --- `.env`: what Compose fills in a Compose file's `${VAR}` with -----------------------------------

@pytest.mark.parametrize("text, expected", [
    ("plain", "plain"), ("$$HOME", "$HOME"), ("${TAG}", "v1"), ("$TAG-x", "v1-x"), ("a${TAG}b${TAG}", "av1bv1"),
    ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${TAG:-d}", "v1"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${TAG:?needed}", "v1"), ("${EMPTY:?needed}", None), ("${UNSET:-d}", None), ("${UNSET}", None),
    ("${SECRET}", None), ("${TAG:-${UNSET}}", None), ("${}", None), ("$", None), ("cost: 5$", None),
    ("${1BAD}", None)])
def test_compose_interpolation_from_dot_env(text, expected):
    from kescheck.load.containers import interpolate

    # UNSET: the shell may set it where Compose runs; SECRET: set in `.env` to a value kescheck cannot know.
    assert interpolate(text, {"TAG": "v1", "EMPTY": "", "SECRET": None}) == expected


def test_a_compose_project_filled_in_from_its_dot_env(write, tmp_path):
    _compose_project(write, tmp_path, "kes.example.net", bound=True)
    dot_env = write(".env", "KES_TAG=v0.22.3\nKES_HOST=kes\nCERTS=./certs\nMINIO_ROOT_PASSWORD=CANARY-dot-env-pw\n"
                            "MINIO_ROOT_USER=admin\n")
    compose_file = write("compose.yaml", COMPOSE.replace("HOST", "${KES_HOST}").replace("./certs:/certs:ro", '"${CERTS}:/certs:ro"')
                         .replace("minio/kes:2024-01-11T13-09-29Z", "minio/kes:${KES_TAG}"))
    result = lint([tmp_path])
    (deployment,) = result.deployments
    assert deployment.options.kes_version == "v0.22.3"  # the image tag `.env` fills in names the release
    (environment,) = deployment.envs
    assert environment.get("MINIO_KMS_KES_ENDPOINT").value == "https://kes:7373"
    by_code = {f.code: f for f in result.findings}
    assert "CRT001" not in by_code  # the certificates were found through `${CERTS}:/certs`
    # `kes` is not in the KES certificate's SAN: the endpoint `.env` fills in is checked.
    assert "host 'kes' of MINIO_KMS_KES_ENDPOINT is not covered" in by_code["CRT021"].message
    assert by_code["CRT021"].location.path == compose_file
    # `.env` is Compose's, not an env file of MinIO's, and its secret values are never shown.
    assert dot_env not in [f.source.path for f in result.files]
    assert "CANARY-dot-env-pw" in result.secrets


def test_a_variable_dot_env_does_not_set_stays_unknown(write, tmp_path):
    _compose_project(write, tmp_path, "kes.example.net", bound=True)
    write(".env", "OTHER=1\n")
    write("compose.yaml", COMPOSE.replace("HOST", "${KES_HOST}").replace("minio/kes:2024-01-11T13-09-29Z",
                                                                         "minio/kes:${KES_TAG:-v0.22.3}"))
    result = lint([tmp_path])
    (deployment,) = result.deployments
    assert deployment.options.kes_version is None  # the shell may set KES_TAG where Compose runs
    assert deployment.envs[0].get("MINIO_KMS_KES_ENDPOINT") is None
    assert deployment.envs[0].present("MINIO_KMS_KES_ENDPOINT") is not None


def test_an_anchor_defined_twice_writes_nothing_to_stderr(tmp_path, write):
    """YAML allows it (an alias takes the latest definition); ruamel warns about it on stderr."""
    write("compose.yaml", "x-a: &common {image: minio/minio}\nx-b: &common {image: minio/minio}\n"
                          + minio_compose().replace("    image: minio/minio\n", "    <<: *common\n"))
    write("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: &m {name: kes}\nspec: &m\n  containers:\n"
                      "    - {name: kes, image: minio/kes, args: [server, --mlock]}\n")
    run = subprocess.run([sys.executable, "-m", "kescheck", "lint", str(tmp_path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert run.stderr == ""
    assert {record["path"] for record in json.loads(run.stdout)["files"]} == {str(tmp_path / "compose.yaml"),
                                                                              str(tmp_path / "pod.yaml")}


def test_an_env_file_named_alone_is_checked_as_its_services_environment(write, tmp_path):
    """As pre-commit names a changed file: its Compose file beside it makes it the MinIO service's environment."""
    _, env_file = _env_file_project(write, tmp_path, "kes", bound=False)
    result = lint([env_file])
    (deployment,) = result.deployments
    assert [env.source.path for env in deployment.envs] == [env_file]
    assert "DEP100" in {f.code for f in result.findings if f.location.path == env_file}


def test_an_env_file_in_a_subdirectory_named_alone_is_checked_as_its_services_environment(write, tmp_path):
    """Compose names it from the directory above (`env_file: [env/minio.env]`), where pre-commit's lone file has no
    KES config beside it and no git work tree to search: the Compose file above is found by its default name."""
    _, env_file = _env_file_project(write, tmp_path, "kes", bound=False)
    moved = write("env/minio.env", env_file.read_text())
    env_file.unlink()
    write("compose.yaml", COMPOSE_WITH_ENV_FILE.replace("[minio.env]", "[env/minio.env]"))
    result = lint([moved], Options(by_content=True))
    (deployment,) = result.deployments
    assert [env.source.path for env in deployment.envs] == [moved]
    assert "DEP100" in {f.code for f in result.findings if f.location.path == moved}


def test_a_changed_dot_env_named_alone_checks_its_compose_file(write, tmp_path):
    """As the pre-commit hook names it (`--by-content`): `.env` is no env file of MinIO's, but what it changes is
    what the Compose file beside it gives MinIO, so that deployment is checked."""
    _compose_project(write, tmp_path, "kes.example.net", bound=True)
    dot_env = write(".env", "KES_HOST=kes\nMINIO_ROOT_USER=admin\n")
    compose_file = write("compose.yaml", COMPOSE.replace("HOST", "${KES_HOST}"))
    result = lint([dot_env], Options(by_content=True))
    assert [f.location.path for f in result.findings if f.code == "CRT021"] == [compose_file]
    assert dot_env not in [f.source.path for f in result.files]


def test_a_compose_minio_certs_dir_holds_the_cas_without_capath(write, tmp_path):
    """`minio server --certs-dir /certs` in the service's command, its CAs bind-mounted from here: MinIO trusts the
    KES certificate copied there, so a self-signed one is no error (CRT024)."""
    from certgen import issue

    kes = issue("kes", dns=("kes",), eku=("server",))
    write("certs/CAs/kes.crt", kes.cert_pem())
    write("kes/server.crt", kes.cert_pem())
    write("kes/server.key", kes.key_pem())
    write("config.yaml", "admin: {identity: disabled}\ntls: {key: /kes/server.key, cert: /kes/server.crt}\n"
                         "keystore: {fs: {path: /keys}}\n")
    compose = ("services:\n  kes:\n    image: minio/kes\n    command: server --config /c.yaml\n"
               "    volumes: ['./kes:/kes', 'keys:/keys']\n"
               "  minio:\n    image: minio/minio\n    command: {command}\n    volumes: ['./certs:/certs']\n"
               "    environment:\n      MINIO_KMS_KES_ENDPOINT: https://kes:7373\n      MINIO_KMS_KES_KEY_NAME: k\n"
               "      MINIO_KMS_KES_API_KEY: kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    write("compose.yaml", compose.replace("{command}", "server --certs-dir /certs /data"))
    assert "CRT024" not in {f.code for f in lint([tmp_path]).findings}
    write("compose.yaml", compose.replace("{command}", "server /data"))
    assert "CRT024" in {f.code for f in lint([tmp_path]).findings}
