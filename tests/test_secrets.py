"""Planted canaries in every secret-bearing field kescheck knows never reach any output."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgen import issue
from kescheck.engine import lint
from kescheck.load.kesconfig import SECRET_PATHS
from kescheck.load.source import REDACTED, SourceFile
from kescheck.model import Options
from kescheck.report import FORMATS


def canary(name: str) -> str:
    return "CANARY" + re.sub(r"[^A-Za-z0-9]", "", name)[-24:] + "x9"


def nested_yaml(paths: list[str]) -> str:
    tree: dict = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = canary(path)

    def emit(node, indent=0):
        lines = []
        for key, value in node.items():
            if isinstance(value, dict):
                lines.append("  " * indent + f"{key}:")
                lines.extend(emit(value, indent + 1))
            else:
                lines.append("  " * indent + f"{key}: {value}")
                lines.append("  " * indent + f"{key}: {value}")  # duplicate key: a finding on every secret line
        return lines

    return "\n".join(emit(tree)) + "\n"


ENV_SECRETS = ["MINIO_KMS_KES_API_KEY", "MINIO_KMS_KES_KEY_PASSWORD", "MINIO_ROOT_PASSWORD", "MINIO_KMS_SECRET_KEY",
               "MINIO_KMS_API_KEY", "AWS_SECRET_ACCESS_KEY"]


@pytest.fixture
def planted(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("deploy/kes-config.yaml", "admin:\n  identity: disabled\n" + nested_yaml(list(SECRET_PATHS)))
    env_lines = []
    for name in ENV_SECRETS:
        env_lines += [f"{name}={canary(name)}", f"{name} = {canary(name)} # again"]
    write("deploy/minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n" + "\n".join(env_lines) + "\n")
    server = issue("kes.example.net", dns=("kes.example.net",))
    key_pem = server.key_pem().decode()
    write("deploy/inline-key.yaml", "keystore:\n  gcp:\n    secretmanager:\n      project_id: p\n      credentials:\n"
          "        private_key: |\n" + "".join(f"          {line}\n" for line in key_pem.splitlines())
          + "        private_key: x\nadmin: {identity: disabled}\n")
    write("deploy/server.key", key_pem)
    body_lines = [line for line in key_pem.splitlines() if "-----" not in line]
    return [canary(p) for p in SECRET_PATHS] + [canary(n) for n in ENV_SECRETS] + body_lines


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_canary_in_any_format(cli, planted, fmt):
    run = cli("lint", "deploy", "deploy/server.key", "deploy/minio.env", "--format", fmt, "--show-suppressed",
              "--color", "always")
    assert run.status in (1, 2)
    assert len(run.stdout) > 200
    leaked = [c for c in planted if c in run.stdout or c in run.stderr]
    assert leaked == []
    if fmt in ("rich", "plain"):
        assert run.stdout.count("********") >= 10  # the frames did show the secret lines, masked


def test_a_pem_key_named_on_the_command_line_is_refused_unread(cli, planted):
    run = cli("lint", "deploy/server.key")
    assert run.status == 2
    assert "PEM" in run.stderr
    assert "PRIVATE" not in run.stdout + run.stderr


# A secret written in the wrong shape, or in a file whose YAML does not parse, is still a secret.
MISSHAPEN = {
    "as-list": "      secret: [CANARYLISTx9, CANARYLISTTWOx9]\n",
    "as-mapping": "      secret: {CANARYMAPKEYx9: CANARYMAPVALx9}\n",
    "block-list": "      secret:\n        - CANARYBLOCKITEMx9\n",
    "broken-quote": '      secret: "CANARYQUOTEx9\n',
    "broken-colon": "      secret: CANARYCOLONx9: x\n",
    "broken-block": "      secret: |\n        CANARYBLOCKONEx9\n        CANARYBLOCKTWOx9\n\tbad: tab\n",
    "broken-flow": "      id: x\n    other: {endpoint: https://v, approle: {id: x, secret: CANARYFLOWx9}}\n",
    # a quoted string continued on lines that are not more indented than its key
    "broken-quote-continued": '      secret: "CANARYCONTONEx9\n      CANARYCONTTWOx9"\n\tbad: tab\n',
    "broken-quote-column-one": "      secret: 'CANARYCOLONEx9 ''quoted''\nCANARYCOLTWOx9'\n\tbad: tab\n",
    "broken-block-blank-line": "      secret: |\n        CANARYBLANKONEx9\n\n        CANARYBLANKTWOx9\n\tbad: tab\n",
    "broken-explicit-key": "      ? secret\n      : CANARYEXPLICITx9\n\tbad: tab\n",
}


@pytest.mark.parametrize("shape", sorted(MISSHAPEN))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_misshapen_and_unparsable_secrets_stay_hidden(cli, write, tmp_path, monkeypatch, shape, fmt):
    monkeypatch.chdir(tmp_path)
    text = ("admin: {identity: disabled}\nkeystore:\n  vault:\n    endpoint: https://v\n    approle:\n      id: x\n"
            + MISSHAPEN[shape] + "      secret: again\n")
    write("kes-config.yaml", text)
    canaries = re.findall(r"CANARY[A-Z]*x9", text)
    run = cli("lint", "kes-config.yaml", "--format", fmt, "--select", "KES0")
    assert run.status == 1, run.stdout + run.stderr
    assert [c for c in canaries if c in run.stdout + run.stderr] == []
    if fmt == "plain":
        assert "********" in run.stdout  # the frame did show the line, masked


def test_env_secrets_are_masked_even_when_no_env_rule_reads_the_file(cli, write, tmp_path, monkeypatch):
    """Env files are read lazily by the rules; the frame of a finding from another rule must still mask."""
    monkeypatch.chdir(tmp_path)
    secret = "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs"
    write("minio.env", f"MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_API_KEY={secret}\n".encode()
          + b"MINIO_KMS_KES_KEY_NAME=k\xff\n")
    run = cli("lint", "minio.env", "--select", "KES002", "--format", "plain")
    assert "KES002" in run.stdout and "MINIO_KMS_KES_API_KEY=" in run.stdout
    assert secret not in run.stdout and "AGaV6" not in run.stdout


# --- carets in code frames that show masked lines ----------------------------------------------------------


@st.composite
def line_with_spans(draw):
    text = draw(st.text(alphabet="abcdefgh=# ", min_size=1, max_size=40))
    cuts = sorted(draw(st.sets(st.integers(1, len(text) + 1), max_size=6)))
    spans, previous_end = [], 0
    for first, second in zip(cuts[::2], cuts[1::2]):
        if first > previous_end and second > first:
            spans.append((first, second))
            previous_end = second
    if draw(st.booleans()) and (not spans or spans[-1][1] <= len(text)):
        start = draw(st.integers(spans[-1][1] + 1 if spans else 1, len(text) + 1))
        spans.append((start, 10**6))  # to the end of the line, as multi-line and fallback masks do
    return text, spans


@settings(max_examples=300, deadline=None)
@given(line_with_spans())
def test_display_column_follows_the_masks(case):
    text, spans = case
    source = SourceFile(Path("x.env"), text + "\n")
    for start, stop in spans:
        source.mark_secret(1, start, stop, "")
    shown = source.display_line(1)
    for column in range(1, len(text) + 1):
        covering = next(((a, b) for a, b in spans if a <= column < b), None)
        at = source.display_column(1, column)
        if covering is None:
            assert shown[at - 1] == text[column - 1], (column, at, shown)
        else:
            assert shown[at - 1: at - 1 + len(REDACTED)] == REDACTED
            assert source.display_column(1, column + 1, end=True) == at + len(REDACTED)


def test_caret_of_a_finding_inside_a_masked_value_points_at_the_mask(cli, write):
    env = write("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                             "MINIO_KMS_KES_API_KEY=kes:v1:ACTpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw # from vault\n")
    run = cli("lint", env, "--format", "plain", "--select", "ENV002")
    lines = run.stdout.splitlines()
    shown = next(i for i, line in enumerate(lines) if line.lstrip().startswith("> 3 |"))
    mask_at = lines[shown].index(REDACTED)
    caret_line = lines[shown + 1]
    assert caret_line.index("^") == mask_at and caret_line.rstrip().endswith("^")
    assert len(caret_line.rstrip()) <= len(lines[shown])


@pytest.mark.parametrize("jwt,shown", [("/run/kes/token", True), ("./secrets/token", True),
                                       ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrZXMifQ.c2lnbmF0dXJl", False)])
def test_a_vault_token_path_is_shown_while_a_token_stays_masked(cli, write, jwt, shown):
    """KES reads a `jwt` holding `/` as the token file's path; a JWT never holds one, so only a token is masked."""
    path = write("kes.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n  vault:\n"
                             f"    endpoint: https://vault.example.net:8200\n    kubernetes: {{role: kes, jwt: {jwt}}}\n")
    out = cli("lint", path, "--format", "plain", "--format", "json", "--output", path.parent / "r.json").stdout
    out += (path.parent / "r.json").read_text()
    assert (jwt in out) is shown
    assert ("jwt: ********" in out) is not shown



EMBEDDED = "embedded-secret-value-31415"


@pytest.mark.parametrize("name,text", [
    # systemd appends the second line to MINIO_OPTS: its value holds the token's assignment
    ("minio.env", f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_OPTS=--console-address :9001 \\\n"
                  f"Environment=VAULT_TOKEN={EMBEDDED}\n"),
    # a unit without its section header, named as a config: read as YAML that does not parse
    ("kes.service", f"\t\nEnvironment=VAULT_TOKEN={EMBEDDED}\n"),
    ("kes.service", f"ExecStart=/usr/local/bin/kes server \\\nEnvironment=VAULT_TOKEN={EMBEDDED}\n"),
])
@pytest.mark.parametrize("fmt", ["plain", "json", "sarif"])
def test_a_secret_assigned_inside_another_value_stays_hidden(cli, write, name, text, fmt):
    path = write(name, text)
    result = cli("lint", path, "--format", fmt)
    assert EMBEDDED not in result.stdout + result.stderr


@pytest.mark.parametrize("setting, value", [
    ("keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    token: {}\n", "CANARYvaulttokenunderunknownkey9"),
    ("keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    approle: {{id: kes, secert: {}}}\n",
     "CANARYmisspeltapprolesecret9"),
    ("keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    auth: {{x: {}}}\n",
     "hvs.CANARYtokenbyitsform0123456789"),
    ("admin:\n  identity: disabled\n  note: {}\n", "kes:v1:CANARYapikeybyitsform0123456789"),
], ids=["vault-token-key", "misspelt-secret", "vault-token-form", "api-key-form"])
@pytest.mark.parametrize("fmt", ["plain", "json", "sarif"])
def test_a_secret_under_a_key_kes_does_not_know_stays_hidden(cli, write, tmp_path, setting, value, fmt):
    """KES010 reports the unknown key with a code frame of its line: the value there is still what its author
    meant to be secret."""
    config = "tls: {key: /k, cert: /c}\n" + setting.format(value)
    if not config.startswith("admin"):
        config = "admin: {identity: disabled}\n" + config
    path = write("kes-config.yaml", config)
    run = cli("lint", str(path), "--format", fmt)
    assert "KES010" in run.stdout and value not in run.stdout + run.stderr


def test_values_under_known_keys_that_are_no_secret_stay_shown(cli, write):
    path = write("kes-config.yaml", "admin: {identity: disabled}\ntls: {key: /etc/kes/VISIBLE.key, cert: /c}\n"
                                    "keystore: {fs: {path: /var/VISIBLE-keys}}\nbogus_key_path: /VISIBLE/x\n")
    run = cli("lint", str(path), "--format", "plain")
    assert "/etc/kes/VISIBLE.key" in run.stdout and "/VISIBLE/x" in run.stdout


@pytest.mark.parametrize("shape", sorted(name for name in MISSHAPEN if name.startswith("broken-")))
def test_every_line_of_a_secret_in_yaml_that_does_not_parse_is_masked(shape):
    """The code frames of the syntax error may show any line: each one that holds part of the secret is masked."""
    from kescheck.load.kesconfig import load_kes_config
    from kescheck.load.source import SourceFile

    text = "keystore:\n  vault:\n    approle:\n      id: x\n" + MISSHAPEN[shape] + "      secret: again\n"
    source = SourceFile(Path("kes.yaml"), text)
    config = load_kes_config(source)
    assert config.doc.root is None or shape == "broken-flow", "the shape must not parse"
    for number, line in enumerate(source.lines, start=1):
        for canary in re.finditer(r"CANARY[A-Z]*x9", line):
            assert any(span_line == number and first <= canary.start() + 1 and canary.end() < end
                       for span_line, first, end in source.secret_spans), (number, line)


@pytest.mark.parametrize("name, text", [
    ("minio.env", "MINIO_KMS_KES_ENDPOINT=https://minio:CANARYurlpass9x@kes.example.net:7373\n"
                  "MINIO_KMS_KES_KEY_NAME=minio-key\n"),
    ("kes.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                 "keystore: {vault: {endpoint: 'https://kes:CANARYurlpass9x@vault.example.net:8200', "
                 "approle: {id: a, secret: b}}}\n"),
    ("kes.service", "[Service]\nEnvironment=HTTPS_PROXY=http://ci:CANARYurlpass9x@proxy:3128\n"
                    "ExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n"),
])
@pytest.mark.parametrize("fmt", ["plain", "json", "sarif"])
def test_the_password_of_a_url_is_never_shown(cli, tmp_path, name, text, fmt):
    (tmp_path / name).write_text(text)
    result = lint([tmp_path / name])
    assert "CANARYurlpass9x" in result.secrets
    run = cli("lint", str(tmp_path / name), "--format", fmt, "--fail-on", "never")
    assert "CANARYurlpass9x" not in run.stdout + run.stderr


KES_ENV_LEAKS = {"API_KEY_AS_ADMIN": "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs",
                 "MINIO_KMS_KES_API_KEY": "AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs",
                 "VAULT_ADDR": "http://kes:Pa55w0rdXYZ@vault:8200", "DEFAULT_KEY": "hvs.CAESIJabcdefghijklmnop",
                 "KES_ADDRESS_SECRET": "kes-admin:LEAKPW12345", "VAULT_ENGINE_TOKEN": "kv-v2/LEAKENG999/"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_values_substituted_from_the_kes_environment_stay_hidden(cli, write, fmt):
    """Rules quote what a `${VAR}` becomes (KES012, KES101-104, KES200, KES207, KES210); a secret by its variable's
    name, a token or API key by its form, or a URL's password never shows, and the `--kes-env` file's secrets are
    masked in every report like the inputs' own."""
    config = write("config/kes.yml", "address: ${KES_ADDRESS_SECRET}\nadmin: {identity: '${API_KEY_AS_ADMIN}'}\ntls: {key: /k, cert: /c, proxy: {identities: "
                              "['${API_KEY_AS_ADMIN}']}}\npolicy: {minio: {allow: [/v1/status], identities: "
                              "['${MINIO_KMS_KES_API_KEY}', '${MINIO_KMS_KES_API_KEY}']}}\n"
                              "keys: [{name: '${DEFAULT_KEY}'}, {name: '${DEFAULT_KEY}'}]\n"
                              "keystore: {vault: {endpoint: '${VAULT_ADDR}', engine: '${VAULT_ENGINE_TOKEN}', "
                              "approle: {id: a, secret: b}}}\n")
    env = write("kes.env", "".join(f"{name}={value}\n" for name, value in KES_ENV_LEAKS.items()))
    run = cli("lint", config, "--kes-env", env, "--format", fmt)
    assert run.status == 1
    for value in KES_ENV_LEAKS.values():
        assert value.split("@")[0].rsplit(":", 1)[-1].strip("/").rsplit("/")[-1] not in run.stdout + run.stderr
    found = lint([config], Options(kes_env=dict(KES_ENV_LEAKS))).findings  # the messages themselves, unmasked
    assert {"KES012", "KES101", "KES102", "KES103", "KES104", "KES200", "KES207", "KES219"} <= {f.code for f in found}
    for value in KES_ENV_LEAKS.values():
        assert not any(value.split("@")[0].rsplit(":", 1)[-1].strip("/").rsplit("/")[-1] in f.message for f in found)


def test_the_kes_env_files_secrets_are_masked_by_every_report(write):
    from kescheck.cli import read_env_mapping

    env = write("kes.env", "".join(f"{name}={value}\n" for name, value in KES_ENV_LEAKS.items()) + "PLAIN=visible\n")
    values, secrets = read_env_mapping(env)
    assert values["PLAIN"] == "visible" and "visible" not in secrets
    assert {"Pa55w0rdXYZ", KES_ENV_LEAKS["API_KEY_AS_ADMIN"], KES_ENV_LEAKS["DEFAULT_KEY"]} <= secrets
    config = write("elsewhere/kes.yml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /k}}\n")
    assert secrets <= lint([config], Options(kes_env=values, kes_env_secrets=secrets)).secrets


ENCODED_LEAKS = {  # each format encodes one of these characters, which hid the secret from a search of the output
    "percent": ("MINIO_KMS_KES_ENDPOINT=http://minio:Pa%40ssLEAKa1@kes.example.net:7373", "Pa%40ssLEAKa1"),
    "ampersand": ("MINIO_KMS_KES_ENDPOINT=https://minio:Pa&ssLEAKb2<@kes.example.net/x", "Pa&ssLEAKb2<"),
    "backslash": ("MINIO_KMS_KES_CAPATH=https://u:LEAKc3\\pw@x.example.net/ca", "LEAKc3"),
    "quote": ('MINIO_KMS_KES_CAPATH=https://u:LEAK"d4@x.example.net/ca', 'LEAK"d4'),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", sorted(ENCODED_LEAKS))
def test_a_secret_a_format_escapes_is_masked_all_the_same(cli, write, fmt, case):
    line, secret = ENCODED_LEAKS[case]
    path = write("minio.env", f"{line}\nMINIO_KMS_KES_KEY_NAME=minio-key\n")
    run = cli("lint", str(path), "--format", fmt, "--fail-on", "never")
    assert run.status == 0 and "ENV" in run.stdout + run.stderr  # the line is reported on, its password masked
    assert "LEAK" not in run.stdout + run.stderr


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab", "junit"])
@pytest.mark.parametrize("password", ["null", "true", "false", "path", "testcase"])
def test_a_secret_that_is_a_word_of_the_format_leaves_it_well_formed(cli, write, fmt, password):
    example = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "g2"
    write("deploy/kes-config.yaml", (example / "kes-config.yaml").read_text())
    env = write("deploy/minio.env", (example / "minio.env").read_text() + f"MINIO_KMS_KES_KEY_PASSWORD={password}\n")
    run = cli("lint", str(env.parent), "--format", fmt, "--fail-on", "never")
    assert run.status == 0
    if fmt == "junit":
        import xml.etree.ElementTree as ET

        assert ET.fromstring(run.stdout).tag == "testsuites"
    else:
        json.loads(run.stdout)  # the password was marked secret, yet `null`/`true` of the syntax stay as they are
