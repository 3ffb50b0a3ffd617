"""ENV rules on real env files: MinIO's refusals at the offending line, secrets never shown."""
import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from kescheck.engine import lint
from kescheck.findings import Severity
from kescheck.model import Options
from kescheck.rules import all_rules

API_KEY = "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs"
COMPLETE = (f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=minio-key\n"
            f"MINIO_KMS_KES_API_KEY={API_KEY}\n")


def findings(write, text, code=None):
    result = lint([write("minio.env", text)])
    return [f for f in result.findings if code is None or f.code == code]


def at(found):
    return [(f.code, f.location.line, f.location.column) for f in found]


def test_inline_comment_key_name_is_an_error_explaining_the_real_value(write):
    text = "MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio-key # default key\n"
    found = findings(write, text)
    key_name = [f for f in found if f.code == "ENV105"]
    assert at(key_name) == [("ENV105", 2, 24)]
    assert key_name[0].severity.label == "error"
    assert "`minio-key # default key`" in key_name[0].message and "not `minio-key`" in key_name[0].message
    assert at(f for f in found if f.code == "ENV002") == [("ENV002", 2, 34)]


@pytest.mark.parametrize("text,code,line,quoted", [
    ("MINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_API_KEY=x\n", "ENV051", 1,
     "kms: incomplete configuration for MinIO KES: missing 'MINIO_KMS_KES_ENDPOINT'"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_API_KEY=x\n", "ENV051", 1,
     "kms: incomplete configuration for MinIO KES: missing 'MINIO_KMS_KES_KEY_NAME'"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME =k\n", "ENV051", 2,
     "missing 'MINIO_KMS_KES_KEY_NAME'"),
    ("# kes\nMINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_CERT_FILE=/c\n"
     "MINIO_KMS_KES_KEY_FILE=/k\nMINIO_KMS_KES_API_KEY=\n", "ENV052", 6,
     "'MINIO_KMS_KES_API_KEY' and client certificate is present"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_CERT_FILE=/c\n", "ENV053", 3,
     "missing 'MINIO_KMS_KES_KEY_FILE'"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_KEY_FILE=/k\n", "ENV053", 3,
     "missing 'MINIO_KMS_KES_CERT_FILE'"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\n", "ENV053", 1,
     "missing authentication method"),
    (COMPLETE + "MINIO_KMS_SECRET_KEY=k:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n", "ENV050", 4,
     "kms: configuration for MinIO KES and static KMS key is present"),
    ("MINIO_KMS_SERVER=https://kms:7373\n" + COMPLETE, "ENV050", 2,
     "kms: configuration for MinIO KMS and MinIO KES is present"),
    ("MINIO_KMS_SERVER=https://kms:7373\nMINIO_KMS_ENCLAVE=e\nMINIO_KMS_API_KEY=k\n", "ENV051", 1,
     "kms: incomplete configuration for MinIO KMS: missing 'MINIO_KMS_SSE_KEY'"),
    ("MINIO_KMS_SECRET_KEY=k:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\nMINIO_KMS_SECRET_KEY_FILE=/run/k\n",
     "ENV056", 2, "'MINIO_KMS_SECRET_KEY' and 'MINIO_KMS_SECRET_KEY_FILE' are present"),
    ("MINIO_KMS_KES_ENDPOINT=\nMINIO_KMS_KES_KEY_NAME=k\n", "ENV054", 1, "kms: no KES server endpoint provided"),
    ("MINIO_KMS_KES_ENDPOINT=https://kes{1..3}:7373\n", "ENV055", 1, "kms: invalid endpoint 'https://kes{1..3}:7373'"),
    ("MINIO_KMS_KES_API_KEY=kes:v1:AAAA\n", "ENV057", 1, "kes: invalid API key"),
    ("MINIO_KMS_AUTO_ENCRYPTION=on\n", "ENV058", 1, "requires a valid KMS configuration: no KMS configured"),
])
def test_minio_refusals_are_errors_at_the_offending_line(write, text, code, line, quoted):
    found = findings(write, text, code)
    assert found, f"{code} did not fire"
    assert any(f.location.line == line and quoted in f.message for f in found), [(f.location, f.message) for f in found]
    assert all(f.severity.label == "error" for f in found)


def test_complete_kes_configuration_has_no_refusal(write):
    found = findings(write, COMPLETE)
    assert not [f for f in found if f.severity.label == "error"], at(found)


def test_ellipsis_ranges_are_expanded_and_each_endpoint_checked(write):
    found = findings(write, "MINIO_KMS_KES_ENDPOINT=https://kes{1...3}.example.net:7373,http://old:7373,,"
                            "https://play.min.io:7373\n")
    assert at(f for f in found if f.code == "ENV107") == [("ENV107", 1, 60)]
    play = [f for f in found if f.code == "ENV102"]
    assert at(play) == [("ENV102", 1, 77)]
    assert "anyone can read or destroy the keys" in play[0].message
    assert not [f for f in found if f.code == "ENV055"]


def test_unknown_names_get_a_suggestion(write):
    found = findings(write, "MINIO_KMS_KES_CA_PATH=/ca.crt\nMINIO_KES_ENDPOINT=https://k:7373\n"
                            "MINIO_KMS_KES_KEYNAME=k\nminio_kms_kes_capath=/x\nMINIO_KMS_KES_ENCLAVE=e\n", "ENV100")
    messages = [f.message for f in found]
    assert "did you mean MINIO_KMS_KES_CAPATH?" in messages[0] and "dead since RELEASE.2021-05-11" in messages[0]
    assert "did you mean MINIO_KMS_KES_ENDPOINT?" in messages[1]
    assert "did you mean MINIO_KMS_KES_KEY_NAME?" in messages[2]
    assert "case-sensitive" in messages[3]
    assert len(found) == 4  # the enclave variable is known: ENV101 reports it


def test_duplicate_points_at_both_lines(write):
    found = findings(write, "MINIO_KMS_KES_KEY_NAME=a\n# x\nMINIO_KMS_KES_KEY_NAME=b\n", "ENV007")
    assert at(found) == [("ENV007", 3, 1)]
    assert found[0].related[0].line == 1 and "first at line 1" in found[0].message


def test_relative_paths_name_the_working_directory(write):
    found = findings(write, "MINIO_KMS_KES_CERT_FILE=certs/client.crt\nMINIO_KMS_KES_KEY_FILE=~/client.key\n"
                            "MINIO_KMS_KES_CAPATH=/etc/ca.crt\n", "ENV106")
    assert at(found) == [("ENV106", 1, 25), ("ENV106", 2, 24)]
    assert "`~` is not expanded" in found[1].message and "working directory" in found[0].message
    assert f"looked for it at {Path.home()}" not in found[1].message  # kescheck does not expand it either
    assert found[1].message.endswith("/~/client.key)")


def test_systemd_only_readings_are_reported(write):
    found = findings(write, "MINIO_ROOT_USER=admin\\\nMINIO_KMS_KES_KEY_NAME=k\nexport MINIO_KMS_KES_ENDPOINT=https://k\n")
    assert ("ENV005", 2, 1) in at(found)
    line2 = next(f.message for f in found if f.code == "ENV005" and f.location.line == 2)
    assert "part of the value of `MINIO_ROOT_USER`" in line2
    line1 = next(f.message for f in found if f.code == "ENV005" and f.location.line == 1)
    assert "uses `admin\\`" in line1 and "reads `adminMINIO_KMS_KES_KEY_NAME=k`" in line1
    assert ("ENV006", 3, 1) in at(found)


SECRETS = {
    "MINIO_KMS_KES_API_KEY": API_KEY,
    "MINIO_ROOT_PASSWORD": "Sup3rS3cretRootPassw0rd",
    "MINIO_KMS_SECRET_KEY": "my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=",
    "MINIO_KMS_KES_KEY_PASSWORD": "ClientKeyPassw0rd!",
    "MINIO_KMS_API_KEY": "k1:kms-api-key-value-0123456789",
    # misspelt or retired names hold secrets too
    "MINIO_KMS_SECRET_KEYS": "old-key:Lo4nDq0bNyXo1cG8ow2kNlDDmbzD4z5PpQq1Vh7hbqE=",
    "MINIO_KMS_MASTER_KEY": "legacy-key:6368616e676520746869732070617373776f726420746f206120736563726574",
    "MINIO_KMS_KES_APIKEY": "kes:v1:ACTpoGqx3rHHjT938Hfu5hVVQJHZWSqVI2Xp1KlYxFVw",
    "MINIO_KMS_KES_CLIENT_AUTH": "kes:v1:AD9E7FSYWrMD+VjhI6q545cYT9YOyFxZb7UnjEepYDRc",
}


def test_readers_agree_on_spaces_inside_quotes(write):
    """Both readers keep what is inside the quotes; only MinIO's KMS code trims, on use."""
    found = findings(write, 'MINIO_OPTS="--address :9091 --console-address :9092   "\n'
                            'MINIO_KMS_KES_KEY_NAME="minio-key "\nMINIO_ROOT_USER= admin\n', "ENV005")
    assert found == []


def test_a_line_systemd_continues_is_not_an_invalid_name(write):
    found = findings(write, "MINIO_OPTS=\\\n  --address 127.0.0.1:9000 \\\n  --certs-dir=/etc/minio/certs/\n")
    codes = [(f.code, f.location.line) for f in found if f.code in ("ENV005", "ENV010", "ENV001")]
    assert ("ENV010", 3) not in codes and ("ENV005", 1) in codes and ("ENV001", 2) in codes


def test_no_secret_value_appears_in_any_output(tmp_path, cli):
    lines = ["MINIO_KMS_KES_ENDPOINT=https://play.min.io:7373",
             "MINIO_KMS_KES_KEY_NAME=minio-key # note"]
    for name, value in SECRETS.items():
        # Each secret sits in a line that several rules point at (duplicates, comments, quotes, spaces).
        lines += [f"{name}={value}", f"{name} = \"{value}\" # again", f"export {name}='{value}"]
    lines += [SECRETS["MINIO_KMS_KES_API_KEY"], f"MINIO_KMS_KES_API_KEY={API_KEY}\\", "continued"]
    path = tmp_path / "minio.env"
    path.write_text("\n".join(lines) + "\n")
    for fmt in ("rich", "plain", "json", "sarif"):
        run = cli("lint", path, "--format", fmt, "--color", "always" if fmt == "rich" else "never")
        assert run.status == 1
        output = run.stdout + run.stderr
        assert "ENV0" in output or "ENV0" in json.dumps(output)
        for value in SECRETS.values():
            assert value not in output, (fmt, value)
            assert value.split(":")[-1] not in output, (fmt, value)


# DEP100 and above need certificates; their deployments are built in tests/test_cert_deployments.py.
ENV_AND_DEP = [r for r in all_rules() if r.family == "ENV" or r.family == "DEP" and int(r.code[3:]) < 100]


def test_every_env_and_dep_rule_has_a_broken_fixture_and_pass_and_fail_examples():
    for rule in ENV_AND_DEP:
        assert any(e.fails for e in rule.examples) and any(not e.fails for e in rule.examples), rule.code
        # An env file for the env file rules; a deployment directory for the others (and for ENV011, about Compose).
        assert ((FIXTURES / "broken" / "env" / f"{rule.code}-{rule.name}.env").is_file() and rule.family == "ENV"
                or (FIXTURES / "broken" / "deployments" / f"{rule.code}-{rule.name}").is_dir()), rule.code


@pytest.mark.parametrize("path", sorted((FIXTURES / "broken" / "env").glob("*.env")) +
                         sorted((FIXTURES / "broken" / "deployments").iterdir()), ids=lambda p: p.name)
def test_broken_fixture_fires_its_rule(path: Path):
    code = path.name.split("-")[0]
    result = lint([path])
    assert code in {f.code for f in result.findings}


def test_example_deployment_env_is_clean():
    result = lint([FIXTURES / "examples" / "g2"])
    assert [f.source.path.name for f in result.files] == ["kes-config.yaml", "minio.env"]
    assert len(result.deployments) == 1 and len(result.deployments[0].envs) == 1
    assert not [f for f in result.findings if f.code.startswith(("ENV", "DEP"))]


def test_lines_after_a_lone_carriage_return_are_numbered_as_minio_numbers_them(write, cli, monkeypatch, tmp_path):
    """A lone CR ends a line for systemd and for many editors, not for MinIO: findings, their code frames and the
    masked secret spans all follow MinIO's numbering, so each frame shows the line its finding is about."""
    monkeypatch.chdir(tmp_path)
    write("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes:7373\rX=1\nMINIO_KMS_KES_KEY_NAME=k\n"
                       "MINIO_ROOT_PASSWORD=pw7\nMINIO_KMS_KES_KEY_NAME=k2\nMINIO_KMS_KES_API_KEY=kes:v1:abc\n")
    result = lint([tmp_path / "minio.env"])
    source = result.files[0].source
    repeated = next(f for f in result.findings if f.code == "ENV007")
    assert repeated.location.line == 4 and source.lines[3] == "MINIO_KMS_KES_KEY_NAME=k2"
    assert any(line == 3 for line, _, _ in source.secret_spans)  # MINIO_ROOT_PASSWORD's line
    shown = cli("lint", "minio.env", "--format", "plain").stdout
    assert "> 4 | MINIO_KMS_KES_KEY_NAME=k2" in shown
    assert "MINIO_ROOT_PASSWORD=" in shown and "pw7" not in shown


def test_a_placeholder_path_is_one_finding(write):
    found = findings(write, COMPLETE.replace(f"MINIO_KMS_KES_API_KEY={API_KEY}\n", "")
                     + "MINIO_KMS_KES_CERT_FILE=|kescertpath|/client.crt\nMINIO_KMS_KES_KEY_FILE=<path-to-key>\n")
    assert sorted((f.code, f.location.line) for f in found if f.location.line >= 3) == [("ENV110", 3), ("ENV110", 4)]


# ENV111: root credentials, judged over all env files of a deployment together

ROOT_KES = """\
admin:
  identity: disabled
tls:
  key: /etc/kes/kes.key
  cert: /etc/kes/kes.crt
policy:
  minio:
    allow:
      - /v1/key/generate/minio-key
      - /v1/key/decrypt/minio-key
{extra}    identities:
      - {identity}
keystore:
  fs:
    path: /var/lib/kes
"""


def root_deployment(write, env_text, *, allow="", second_env=None, options=None):
    from certgen import new_api_key
    from kescheck.identity import identity_of_api_key
    api_key = new_api_key()
    kes = write("deploy/kes-config.yaml", ROOT_KES.format(extra=allow, identity=identity_of_api_key(api_key)))
    envs = [write("deploy/minio.env", f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                      f"MINIO_KMS_KES_KEY_NAME=minio-key\nMINIO_KMS_KES_API_KEY={api_key}\n" + env_text)]
    if second_env is not None:
        envs.append(write("deploy/minio-secrets.env", second_env))
    return [f for f in lint([kes, *envs], options or Options()).findings if f.code == "ENV111"]


def test_root_credentials_missing_is_a_note_at_the_kes_endpoint_line(write):
    [found] = findings(write, COMPLETE, "ENV111")
    assert found.severity is Severity.NOTE
    assert (found.location.line, found.location.column) == (1, 1)
    assert "does not set MinIO's root credentials" in found.message and "minioadmin:minioadmin" in found.message


@pytest.mark.parametrize("credentials", [
    "MINIO_ROOT_USER=admin\nMINIO_ROOT_PASSWORD=Sup3rS3cretRootPassw0rd\n",
    "MINIO_ACCESS_KEY=admin\nMINIO_SECRET_KEY=Sup3rS3cretRootPassw0rd\n",
    "MINIO_ROOT_USER_FILE=minio-root-user\nMINIO_ROOT_PASSWORD_FILE=minio-root-password\n",
    "MINIO_ACCESS_KEY_FILE=access\nMINIO_SECRET_KEY_FILE=secret\n",
    "MINIO_ROOT_USER=admin\nMINIO_ROOT_PASSWORD=\n",  # committed without its secret: injected at deploy time
    "MINIO_CONFIG_ENV_FILE=/etc/minio/secrets.env\n",
    'MINIO_OPTS="--certs-dir /etc/minio/certs --config /etc/minio/config.yaml"\n',
    "MINIO_OPTS=--config=/etc/minio/config.yaml\n",
])
def test_root_credentials_from_any_source_minio_reads_are_enough(write, credentials):
    assert findings(write, COMPLETE + credentials, "ENV111") == []


def test_root_credentials_in_a_second_env_file_of_the_deployment_count(write):
    assert root_deployment(write, "", second_env="MINIO_ROOT_USER=admin\nMINIO_ROOT_PASSWORD=pw-from-vault\n") == []
    [found] = root_deployment(write, "", second_env="MINIO_BROWSER=off\n")
    assert "no environment of this deployment" in found.message and "minio-secrets.env" in found.message


def test_no_finding_without_kes(write):
    assert findings(write, "MINIO_VOLUMES=/mnt/data\n", "ENV111") == []
    assert findings(write, "MINIO_KMS_SECRET_KEY=my-key:IyqsU3kMFloCNup4BsZtf/rmfHVcTgznO2F25CkEH1g=\n", "ENV111") == []


def test_root_access_off_with_hmac_allowed_derives_the_credentials(write):
    assert root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n", allow="      - /v1/key/hmac/minio-key\n") == []
    assert root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n", allow="      - /v1/key/hmac/minio-*\n") == []


def test_root_access_off_without_a_kes_config_gets_the_benefit_of_the_doubt(write):
    assert findings(write, COMPLETE + "MINIO_API_ROOT_ACCESS=off\n", "ENV111") == []


def test_root_access_off_but_hmac_not_allowed_says_so_at_the_root_access_line(write):
    [found] = root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n")
    assert (found.location.path.name, found.location.line) == ("minio.env", 4)
    assert "does not allow `/v1/key/hmac/minio-key`" in found.message and "minioadmin:minioadmin" in found.message
    assert "- /v1/key/hmac/minio-key" in found.fix and "policy.minio.allow" in found.fix
    assert [(r.path.name, r.line) for r in found.related] == [("kes-config.yaml", 7)]


def test_root_access_off_but_hmac_denied_names_the_deny(write):
    allow = "      - /v1/key/hmac/minio-key\n    deny:\n      - /v1/key/hmac/*\n"
    [found] = root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n", allow=allow)
    assert "denies `/v1/key/hmac/minio-key`" in found.message and "`/v1/key/hmac/*`" in found.message


@pytest.mark.parametrize("version", ["0.22", "0.23.0", "2024-01-11T13-09-29Z"])
def test_root_access_off_with_a_kes_before_2024_02_29_has_no_hmac_api(write, version):
    [found] = root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n", allow="      - /v1/key/hmac/minio-key\n",
                              options=Options(kes_version=version))
    assert "has no `/v1/key/hmac/` API" in found.message and "KES 2024-02-29" in found.message


def test_root_access_off_with_kes_2024_02_29_derives_the_credentials(write):
    assert root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n", allow="      - /v1/key/hmac/minio-key\n",
                           options=Options(kes_version="2024-02-29T08-12-28Z")) == []


def test_root_access_other_than_exactly_off_does_not_derive(write):
    [found] = findings(write, COMPLETE + "MINIO_API_ROOT_ACCESS=false\n", "ENV111")
    assert "MINIO_API_ROOT_ACCESS is `false`" in found.message and "exactly `off`" in found.message


def test_root_credentials_note_never_prints_values(write):
    [found] = root_deployment(write, "MINIO_API_ROOT_ACCESS=off\n")
    assert "kes:v1:" not in found.message and "kes:v1:" not in (found.fix or "")


def test_a_byte_order_mark_hides_the_first_name(tmp_path):
    (tmp_path / "minio.env").write_bytes(b"\xef\xbb\xbfMINIO_KMS_KES_KEY_NAME=minio-key\n"
                                         b"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n")
    (tmp_path / "kes.yaml").write_bytes(b"\xef\xbb\xbfadmin: {identity: disabled}\n")  # YAML parsers skip the mark
    found = [f for f in lint([tmp_path]).findings if f.code == "ENV012"]
    assert [(f.location.path.name, f.location.line, f.location.column, f.severity) for f in found] == \
        [("minio.env", 1, 1, Severity.ERROR)]
    assert found[0].message == ("this file starts with a UTF-8 byte order mark, which MinIO's reader and systemd keep "
                                "as part of the first name: MINIO_KMS_KES_KEY_NAME is not set")
    (tmp_path / "minio.env").write_bytes(b"MINIO_KMS_KES_KEY_NAME=minio-key\n\xef\xbb\xbf\n")  # not at the start
    assert [f for f in lint([tmp_path]).findings if f.code == "ENV012"] == []


@pytest.mark.parametrize("keystore, version, fires", [
    ("vault: {endpoint: 'https://vault:8200', approle: {id: a, secret: b}}", "0.22", False),  # no name rule yet
    ("fs: {path: /var/kes}", "0.22", True),  # the fs keystore always refused `.`
    ("vault: {endpoint: 'https://vault:8200', approle: {id: a, secret: b}}", "2023-10-24T20-26-51Z", True),
    ("vault: {endpoint: 'https://vault:8200', approle: {id: a, secret: b}}", None, True),
])
def test_key_names_are_checked_by_the_rule_of_the_release(write, keystore, version, fires):
    write("kes.yaml", f"admin: {{identity: disabled}}\ntls: {{key: /k, cert: /c}}\nkeystore: {{{keystore}}}\n")
    path = write("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=minio.default\n")
    found = [f for f in lint([path.parent], Options(kes_version=version)).findings if f.code == "ENV105"]
    assert bool(found) is fires


def test_an_empty_api_key_beside_certificate_variables_is_explained_as_the_refusal_it_causes(write):
    path = write("minio.env", "MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                              "MINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\nMINIO_KMS_KES_KEY_FILE=/etc/minio/client.key\n"
                              "MINIO_KMS_KES_API_KEY=\n")
    messages = {f.code: f.message for f in lint([path]).findings if f.code in ("ENV052", "ENV054")}
    assert set(messages) == {"ENV052", "ENV054"}
    assert "refuses to start (ENV052)" in messages["ENV054"] and "check passes" not in messages["ENV054"]


def test_two_services_of_one_compose_file_without_root_credentials_are_each_named_once(write, tmp_path):
    write("compose.yaml", "services:\n  minio:\n    image: minio/minio\n    environment:\n"
                          "      MINIO_KMS_KES_ENDPOINT: https://kes:7373\n      MINIO_KMS_KES_KEY_NAME: k\n"
                          "  minio2:\n    image: minio/minio\n    environment:\n"
                          "      MINIO_KMS_KES_ENDPOINT: https://kes:7373\n      MINIO_KMS_KES_KEY_NAME: k\n")
    messages = [f.message for f in lint([tmp_path]).findings if f.code == "ENV111"]
    assert messages and all(m.count("'minio'") == 1 and m.count("'minio2'") == 1 for m in messages), messages
