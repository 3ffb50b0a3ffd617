"""Fuzzing the loaders test_fuzz.py does not reach: PEM files, systemd's env reading, settings files,
baselines and suppression comments, and the CLI over them (statuses 0/1/2; the doctor's 0-3).

Same budget switch as test_fuzz.py (KESCHECK_FUZZ_EXAMPLES); bench/fuzz_long.py runs both.
"""
from __future__ import annotations

import base64
import json
import string
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from certgen import issue
from conftest import run_cli
from kescheck.baseline import BaselineError, apply_baseline, load_baseline
from kescheck.engine import lint
from kescheck.load.envfile import parse_env, read_systemd
from kescheck.load.pem import load_ca_path, load_pem_file, load_private_key, load_private_key_unknown_password
from kescheck.load.source import SourceFile
from kescheck.model import Options
from kescheck.settings import SettingsError, load_settings
from kescheck.suppress import scan
from test_fuzz import CI_BUDGET, assert_sane

LEAF = issue("kes.example.net", dns=("kes.example.net",))
CA = issue("fuzz CA", ca=True)
CHAIN = issue("kes.example.net", issuer=CA, dns=("kes.example.net",))
REAL_PEMS = [LEAF.cert_pem(), LEAF.key_pem(), LEAF.key_pem(b"pw"), LEAF.key_pem(fmt="pkcs1"), CHAIN.cert_pem() + CA.cert_pem(),
             issue("ed", key_kind="ed25519").key_pem(), CA.cert_pem() + LEAF.key_pem()]
LABELS = ["CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PUBLIC KEY",
          "X509 CRL", "TRUSTED CERTIFICATE", "", "CERTIFICATE REQUEST"]


def mutate(data: bytes, draw) -> bytes:
    position = draw(st.integers(0, max(0, len(data) - 1)))
    insert = draw(st.binary(max_size=8) | st.sampled_from([b"\n", b"-----", b"=", b"\r\n", b" ", b"\x00", b"A" * 65]))
    return data[:position] + insert + data[position + draw(st.integers(0, 64)):]


def pem_inputs():
    real = st.sampled_from(REAL_PEMS)
    truncated = real.flatmap(lambda pem: st.integers(0, len(pem)).map(lambda n: pem[:n]))
    relabelled = st.tuples(real, st.sampled_from(LABELS), st.sampled_from(LABELS)).map(
        lambda t: t[0].replace(b"BEGIN ", f"BEGIN {t[1]} X".encode(), 1).replace(b"END ", f"END {t[2]} Y".encode(), 1))
    garbage_body = st.tuples(st.sampled_from(LABELS), st.binary(max_size=300)).map(
        lambda t: f"-----BEGIN {t[0]}-----\n".encode() + base64.encodebytes(t[1]) + f"-----END {t[0]}-----\n".encode())
    chains = st.integers(50, 400).map(lambda n: (CHAIN.cert_pem() + CA.cert_pem()) * n)
    return st.one_of(st.binary(max_size=2048), real.flatmap(lambda pem: st.builds(lambda d: pem, st.just(0))),
                     truncated, relabelled, garbage_body, chains,
                     st.tuples(real, st.data()).map(lambda t: mutate(t[0], t[1].draw)))


@CI_BUDGET
@given(pem_inputs(), st.one_of(st.none(), st.binary(max_size=12)))
def test_pem_loader_survives_anything(tmp_path_factory, data, password):
    path = tmp_path_factory.mktemp("pem") / "input.pem"
    path.write_bytes(data)
    pem = load_pem_file(path)
    assert pem.state is not None
    for block in pem.blocks:
        assert block.line >= 1
    load_private_key(pem, password)
    load_private_key_unknown_password(pem)
    load_ca_path(path.parent)


@CI_BUDGET
@given(pem_inputs(), pem_inputs())
def test_lint_survives_fuzzed_certificates_and_keys(tmp_path_factory, cert, key):
    directory = tmp_path_factory.mktemp("tls")
    (directory / "kes.crt").write_bytes(cert)
    (directory / "kes.key").write_bytes(key)
    (directory / "ca.crt").write_bytes(cert)
    config = directory / "kes-config.yaml"
    config.write_text("address: 0.0.0.0:7373\nadmin: {identity: disabled}\ntls:\n  key: kes.key\n  cert: kes.crt\n"
                      "  password: pw\n  auth: on\n  ca: ca.crt\nkeystore: {fs: {path: /k}}\n")
    env = directory / "minio.env"
    env.write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                   "MINIO_KMS_KES_CERT_FILE=kes.crt\nMINIO_KMS_KES_KEY_FILE=kes.key\nMINIO_KMS_KES_CAPATH=ca.crt\n")
    assert_sane(lint([config, env], Options(require_files=True)), [config, env])


SYSTEMD_ALPHABET = string.ascii_letters[:8] + string.digits[:3] + "_=\"'\\ \t\n\r#;$`{}-.:/\x00é"


@CI_BUDGET
@given(st.text(alphabet=SYSTEMD_ALPHABET, max_size=300))
def test_systemd_reading_survives_anything(text):
    reading = read_systemd(text)
    for assignment in reading.assignments:
        assert assignment.line >= 1
    env = parse_env(SourceFile(Path("fuzz.env"), text))
    for entry in env.entries:
        assert entry.line >= 1 and entry.name_column >= 1 and entry.value_column >= 1


UNIT_SECRET = "unit-secret-token-2718"
UNIT_LINES = ["[Unit]", "[Service]", "[Install]", "ExecStart=", "ExecStart=/usr/local/bin/kes server \\",
              "ExecStart=-@/usr/bin/kes kes server --config=kes.yaml", "  --auth off --mlock \\", "  --root disabled",
              "  --config kes.yaml", "--config", "--config=", "--addr :7373", "---auth", "--", "\"unterminated", "'x y'",
              "%i", "$KES_CONFIG", "# a comment \\", "; another", f"Environment=VAULT_TOKEN={UNIT_SECRET}",
              "EnvironmentFile=-/etc/default/kes", "ExecStart=/usr/local/bin/minio server /data", "\t", "",
              "ExecStart=/usr/local/bin/minio server $MINIO_OPTS --certs-dir /c ${MINIO_OPTS}", "EnvironmentFile=minio.env",
              f"Environment=MINIO_KMS_KES_API_KEY={UNIT_SECRET} MINIO_CONFIG_ENV_FILE=/etc/minio/%i.env",
              "Environment=MINIO_CONFIG_ENV_FILE=/nonexistent-kescheck/config.env", "EnvironmentFile="]
KES_FOR_UNITS = "admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: 'on'}\nkeystore: {fs: {path: /var/kes}}\n"


@CI_BUDGET
@given(st.lists(st.sampled_from(UNIT_LINES) | st.text(alphabet=SYSTEMD_ALPHABET, max_size=30), max_size=16),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.sampled_from([None, "0.20", "2023-05-01", "0.24"]))
def test_kes_units_survive_anything(tmp_path_factory, lines, newline, named, kes_version):
    directory = tmp_path_factory.mktemp("unit")
    unit = directory / "kes.service"
    unit.write_bytes(newline.join(lines).encode("utf-8", "surrogatepass"))
    (directory / "kes.yaml").write_text(KES_FOR_UNITS)
    (directory / "minio.env").write_text("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\n")
    options = Options(kes_version=kes_version)
    result = lint([unit if named else directory], options)
    assert_sane(result, [unit])
    version = ["--kes-version", kes_version] if kes_version else []
    for fmt in ("plain", "json", "sarif"):
        run = run_cli("lint", str(unit if named else directory), "--format", fmt, *version)
        assert run.status in (0, 1, 2)
        assert UNIT_SECRET not in run.stdout and UNIT_SECRET not in run.stderr


MANIFEST_LINES = ["apiVersion: v1", "kind: Secret", "kind: ConfigMap", "metadata: {name: kes}", "stringData:",
                  "data:", "binaryData:", "  server-config.yaml: |", "    admin: {identity: disabled}",
                  "    tls: {key: /k, cert: /c}", "    keystore: {fs: {path: /var/kes}}", "  config.env: |",
                  "    MINIO_KMS_KES_ENDPOINT=https://kes:7373", "  kes.yaml: YWRtaW46IHt9Cg==", "---", "{{ .Values }}",
                  "  x: [", "", "kind: Deployment", "metadata: {name: kes, namespace: a}", "spec:", "  template:",
                  "    spec:", "      containers:", "        - name: kes", "          image: minio/kes",
                  "          args: [server, --config, /etc/kes/config.yaml]", "          envFrom:",
                  "          envFrom: nope", "            - secretRef: {name: kes}",
                  "            - {configMapRef: {name: kes, optional: true}, prefix: X_}", "            - configMapRef: 7",
                  "          env: [{name: A, valueFrom: {}}]", "  KES_ADMIN: disabled", "  KEY: [1]", "  KEY: ~",
                  "          volumeMounts: [{name: tls, mountPath: /c}]", "          volumeMounts: [{name: tls, subPath: k}]",
                  "      volumes: [{name: tls, secret: {secretName: kes, items: [{key: k, path: c}]}}]",
                  "      volumes: [{name: tls, configMap: {name: kes}}]", "  k: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                  "  c: '-----BEGIN CERTIFICATE-----'", "    tls: {key: /c/k, cert: /c/c}",
                  "    keystore: {vault: {endpoint: 'https://v', kubernetes: {role: r, jwt: /c/t}}}",
                  "      automountServiceAccountToken: false", "      automountServiceAccountToken: [1]",
                  "      serviceAccountName: kes", "kind: ServiceAccount", "automountServiceAccountToken: false",
                  "      volumes: [{name: tls, projected: {sources: [{secret: {name: kes}}, {serviceAccountToken: {path: t}}]}}]",
                  "      volumes: [{name: tls, projected: {sources: [{downwardAPI: {items: [{path: t}]}}, 3]}}]",
                  "      volumes: [{name: tls, projected: 7}]", "          volumeMounts: [{name: tls, mountPath: /c, subPath: ''}]",
                  "          volumeMounts: [{name: tls, mountPath: /c/t, subPathExpr: $(X)}]",
                  "          readinessProbe: {httpGet: {path: /v1/ready, port: https}}", "          ports: [{name: https}]",
                  "          livenessProbe: {httpGet: {port: [1], scheme: 7, path: {}}}", "          startupProbe: 3",
                  "    api: {/v1/ready: {skip_auth: true}}", "    address: 0.0.0.0:7000", "apiVersion: minio.min.io/v2",
                  "kind: Tenant", "  kes: {image: minio/kes:v0.22.3, keyName: k, env: [{name: X, value: y}]}",
                  "  kes: 7", "  kes: {keyName: [], env: 3, image: {}}", "  env: [{name: MINIO_ROOT_USER, value: u}]"]


@CI_BUDGET
@given(st.lists(st.sampled_from(MANIFEST_LINES), max_size=16), st.booleans())
def test_kubernetes_manifests_survive_anything(tmp_path_factory, lines, named):
    directory = tmp_path_factory.mktemp("manifest")
    path = directory / "kes.yaml"
    path.write_text("\n".join(lines))
    result = lint([path if named else directory])
    assert_sane(result, [path])
    run = run_cli("lint", str(path if named else directory), "--format", "json")
    assert run.status in (0, 1, 2)


TOML_KEYS = ["select", "ignore", "severity", "per-path-ignores", "expiry-warning-days", "kes-version", "deployments",
             "suppressions", "rule", "path", "reason", "expires", "name", "kes", "env", "files", "KES201", "*.yaml",
             "tool", "kescheck"]
toml_scalars = st.one_of(st.text(alphabet=string.ascii_letters + string.digits + "-*./[]_", max_size=12),
                         st.integers(-3, 10**4), st.booleans(), st.sampled_from(["2020-01-01", "9999-12-31", "error",
                                                                                 "warning", "KES", "0.23"]))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def to_toml(table: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        if isinstance(v, int):
            return str(v)
        return json.dumps(v)

    lines = []
    for key, v in table.items():
        if isinstance(v, dict):
            lines.append(f'[{json.dumps(key)}]')
            lines += [f"{json.dumps(k)} = {value(i)}" for k, i in v.items()]
        elif isinstance(v, tuple):  # an array of tables
            for item in v:
                lines.append(f"[[{json.dumps(key)}]]")
                lines += [f"{json.dumps(k)} = {value(i)}" for k, i in item.items()]
    return "\n".join([f"{json.dumps(k)} = {value(v)}" for k, v in table.items() if not isinstance(v, (dict, tuple))]
                     + lines) + "\n"


settings_tables = st.dictionaries(
    st.sampled_from(TOML_KEYS),
    st.one_of(toml_values, st.dictionaries(st.sampled_from(TOML_KEYS), toml_values, max_size=3),
              st.lists(st.dictionaries(st.sampled_from(TOML_KEYS), toml_values, max_size=4), max_size=2).map(tuple)),
    max_size=5)


@CI_BUDGET
@given(st.one_of(settings_tables.map(to_toml), st.text(max_size=200)))
def test_settings_loader_and_lint_survive_random_toml(tmp_path_factory, text):
    directory = tmp_path_factory.mktemp("settings")
    path = directory / ".kescheck.toml"
    path.write_text(text, encoding="utf-8")
    try:
        settings = load_settings(path)
    except SettingsError as err:
        assert str(err)
        return
    config = directory / "kes-config.yaml"
    config.write_text("admin: {identity: disabled}\nadmin: {identity: x}\nkeystore: {fs: {path: /k}}\n")
    assert_sane(lint([config], Options(), settings), [config])
    assert run_cli("lint", config, "--config", path, "--format", "json").status in (0, 1, 2)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["path", "code", "anchor", "count", "x"]), inner, max_size=4),
                           max_leaves=12)
baselines = st.one_of(json_values, st.fixed_dictionaries(
    {"format": st.sampled_from(["kescheck-baseline", "other"]), "version": st.sampled_from([1, 2, "1"]),
     "findings": json_values | st.lists(st.fixed_dictionaries(
         {"path": st.sampled_from(["kes-config.yaml", "../x", ""]), "code": st.sampled_from(["KES001", "X"]),
          "anchor": json_values}, optional={"count": json_values}), max_size=4)}))


@CI_BUDGET
@given(st.one_of(baselines.map(json.dumps), st.text(max_size=100)))
def test_baseline_loader_survives_random_json(tmp_path_factory, text):
    directory = tmp_path_factory.mktemp("baseline")
    path = directory / "baseline.json"
    path.write_text(text, encoding="utf-8")
    config = directory / "kes-config.yaml"
    config.write_text("admin: {identity: disabled}\nadmin: {identity: x}\nkeystore: {fs: {path: /k}}\n")
    try:
        keys = load_baseline(path)
    except BaselineError as err:
        assert str(err)
    else:
        assert isinstance(keys, Counter)
        result = lint([config])
        assert len(apply_baseline(result.findings, keys, path)) == len(result.findings)
    assert run_cli("lint", config, "--baseline", path, "--format", "sarif").status in (0, 1, 2)


directive_texts = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "[], -=:#", max_size=50).map(lambda t: "# kescheck:" + t),
    st.builds(lambda kind, codes, reason, option: f"# kescheck: {kind}[{codes}]{option} -- {reason}",
              st.sampled_from(["ignore", "ignore-file", "IGNORE", "disable", ""]),
              st.sampled_from(["KES001", "KES201,KES212", "", "kes-yaml", "*", "ENV0"]),
              st.text(max_size=10), st.sampled_from(["", " expires=2020-01-01", " expires=never", " until=x"])))


@CI_BUDGET
@given(st.lists(st.tuples(st.integers(0, 12), directive_texts, st.booleans()), max_size=5), st.booleans())
def test_suppression_comments_survive_anything(tmp_path_factory, placements, env_file):
    lines = (["MINIO_KMS_KES_ENDPOINT=https://kes:7373", "MINIO_KMS_KES_KEY_NAME=k # comment", "MINIO_KMS_KES_ENDPOINT=x"]
             if env_file else
             ["admin:", "  identity: disabled", "admin: {identity: x}", "tls:", "  key: |", "    # kescheck: not me",
              "  cert: c", "keystore: {fs: {path: /k}}", "cache: {expiry: {any: 5m}}"])
    for where, text, inline in placements:
        index = min(where, len(lines) - 1)
        if inline:
            lines[index] = lines[index] + " " + text
        else:
            lines.insert(index, text)
    directory = tmp_path_factory.mktemp("suppress")
    path = directory / ("minio.env" if env_file else "kes-config.yaml")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = SourceFile(path, path.read_text())
    for directive in scan(source, "env" if env_file else "kes"):
        assert 1 <= directive.line <= len(source.lines) and directive.column >= 1
    assert_sane(lint([path]), [path])
    assert run_cli("lint", path, "--format", "github").status in (0, 1, 2)


@CI_BUDGET
@given(st.lists(st.sampled_from(["MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:{port}", "MINIO_KMS_KES_ENDPOINT=",
                                 "MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:{port}/{{1...3}}", "MINIO_KMS_KES_KEY_NAME=k",
                                 "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs",
                                 "MINIO_KMS_KES_API_KEY=kes:v1:broken", "MINIO_KMS_KES_CERT_FILE=/nonexistent",
                                 "MINIO_KMS_KES_KEY_FILE=/dev/null", "MINIO_KMS_KES_CAPATH=/", "MINIO_KMS_SECRET_KEY=a:b",
                                 "MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:{port},https://{{a...b}}"]), max_size=8),
       st.text(alphabet=SYSTEMD_ALPHABET, max_size=40))
def test_doctor_statuses_on_random_settings(tmp_path_factory, lines, noise):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on: no probe leaves the host
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path_factory.mktemp("doctor") / "minio.env"
    path.write_text("\n".join(line.format(port=port) for line in lines) + "\n" + noise, encoding="utf-8")
    run = run_cli("doctor", "--minio-env", path, "--timeout", "0.5", "--format", "json")
    assert run.status in (0, 1, 2, 3)
    if run.status != 2:
        document = json.loads(run.stdout)
        assert document["doctor"]["exit_status"] == run.status
        for finding in document["findings"]:
            assert finding["line"] >= 1 and finding["column"] >= 1


COMPOSE_ENV_ALPHABET = "AB_=\"'#$\\` \t\r\n{}xport-:1"
COMPOSE_LINES = ["services:", "  minio:", "    image: minio/minio", "  kes:", "    image: minio/kes",
                 "    command: server --config /etc/kes/config.yaml", "    env_file: minio.env",
                 "    env_file: [minio.env, {path: other.env, required: false}]", "    env_file: {path: minio.env}",
                 "    env_file: ${DIR}/minio.env", "    environment:", "      MINIO_KMS_KES_KEY_NAME: ${KEY}",
                 "      - MINIO_KMS_KES_API_KEY=kes:v1:x", "      KES_ADMIN:", "    volumes: [./certs:/certs]",
                 "    <<: *x", "x: &x {env_file: minio.env}", "  [", "", "    read_only: true", "    tmpfs: [/var/kes, 3]",
                 "    tmpfs: /keys:size=1m", "    volumes: [keys:/var/kes:ro, {type: tmpfs, target: /k}, {target: 7}]",
                 "    volumes: [{type: volume, source: k, target: /var/lib/kes, read_only: yes}, /anon]"]
ENV_FILE_LINES = ["MINIO_KMS_KES_ENDPOINT=https://kes:7373", "MINIO_KMS_KES_CERT_FILE=/certs/minio.crt",
                  "export MINIO_KMS_KES_KEY_NAME='minio key'", 'MINIO_KMS_KES_CAPATH="/certs/${CA}"', "KES_ADMIN",
                  "MINIO_ROOT_PASSWORD=s3cr3t # c", 'X="open', "A B=c", "# comment", ""]


@CI_BUDGET
@given(st.lists(st.sampled_from(COMPOSE_LINES), max_size=14),
       st.lists(st.sampled_from(ENV_FILE_LINES) | st.text(alphabet=COMPOSE_ENV_ALPHABET, max_size=30), max_size=8),
       st.booleans())
def test_compose_projects_with_env_files_survive_anything(tmp_path_factory, compose_lines, env_lines, named):
    directory = tmp_path_factory.mktemp("compose")
    compose = directory / "compose.yaml"
    compose.write_text("\n".join(compose_lines))
    (directory / "minio.env").write_text("\n".join(env_lines))
    result = lint([compose] if named else [directory])
    assert_sane(result, [compose, directory / "minio.env"])
    run = run_cli("lint", str(compose if named else directory), "--format", "json")
    assert run.status in (0, 1, 2)


@CI_BUDGET
@given(st.text(alphabet=COMPOSE_ENV_ALPHABET, max_size=200))
def test_compose_env_file_reading_points_where_the_file_writes(text):
    from kescheck.load.containers import read_compose_env_file

    source = SourceFile(Path("minio.env"), text)
    read = read_compose_env_file(source)
    for entry, known in read or []:
        line = source.lines[entry.line - 1]
        assert line[entry.name_column - 1:].startswith(entry.name)
        if known:
            written = line[entry.value_column - 1:entry.value_end_column - 1]
            assert written == f"{entry.quote}{entry.value}{entry.quote}"
