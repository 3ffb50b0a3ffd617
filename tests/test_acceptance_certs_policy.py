"""Acceptance checks for certificates, identities and policies on deployments built the way operators
build them (issues 4 and 5), plus the bugs those checks found. Every file is generated at test time."""
from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization

from tests.certgen import issue

FORMATS = ("plain", "json", "sarif", "github", "junit", "gitlab", "rich")

MINIO_POLICY = ("/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*",
                "/v1/key/list/*", "/v1/status", "/v1/metrics", "/v1/api")


def spki_sha256(certificate) -> str:
    """The KES identity, computed here independently of kescheck."""
    return hashlib.sha256(certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def deployment(tmp_path, *, tls_key: str | None = None, allow=MINIO_POLICY, endpoint="https://kes.example.net:7373",
               server_dns=("kes.example.net",), key_name="minio-default-key"):
    """CA + KES server certificate + MinIO client certificate, a G2 KES config and a MinIO env file."""
    ca = issue("Test CA", ca=True, key_kind="rsa", days=3650)
    server = issue("kes", issuer=ca, dns=server_dns, eku=("server",))
    client = issue("minio", issuer=ca, eku=("client",))
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    server_cert, server_key = server.write(tmp_path / "kes", "server")
    client_cert, client_key = client.write(tmp_path / "minio", "client")
    minio_id = spki_sha256(client.certificate)
    admin_id = spki_sha256(issue("admin", key_kind="ed25519").certificate)
    key_value = tls_key if tls_key is not None else str(server_key)
    allow_lines = "".join(f"    - {pattern}\n" for pattern in allow)
    (tmp_path / "kes" / "config.yaml").write_text(
        f"version: v1\naddress: 0.0.0.0:7373\nadmin:\n  identity: {admin_id}\n"
        f"tls:\n  key: {key_value}\n  cert: {server_cert}\n  auth: on\n  ca: {tmp_path / 'ca.pem'}\n"
        f"policy:\n  minio:\n    allow:\n{allow_lines}    identities:\n    - {minio_id}\n"
        "cache:\n  expiry:\n    any: 5m0s\n    unused: 30s\n"
        "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    approle:\n"
        "      id: ${VAULT_ROLE_ID}\n      secret: ${VAULT_SECRET_ID}\n")
    (tmp_path / "minio" / "minio.env").write_text(
        f"MINIO_KMS_KES_ENDPOINT={endpoint}\nMINIO_KMS_KES_KEY_NAME={key_name}\n"
        f"MINIO_KMS_KES_CERT_FILE={client_cert}\nMINIO_KMS_KES_KEY_FILE={client_key}\n"
        f"MINIO_KMS_KES_CAPATH={tmp_path / 'ca.pem'}\n")
    return {"server": server, "client": client, "ca": ca, "minio_id": minio_id}


@pytest.mark.parametrize("fmt", FORMATS)
def test_private_key_pasted_into_tls_key_never_reaches_the_output(tmp_path, cli, fmt):
    """Operators paste the PEM into `tls.key` instead of naming the file; the report must not repeat it."""
    key = issue("kes").key_pem().decode()
    block = "|\n" + "".join(f"    {line}\n" for line in key.splitlines())
    deployment(tmp_path, tls_key=block)
    result = cli("lint", tmp_path, "-f", fmt, "--color", "never")
    body = [line for line in key.splitlines() if not line.startswith("-----")]
    assert "tls.key" in result.stdout + result.stderr or "config.yaml" in result.stdout
    for line in body:
        assert line not in result.stdout + result.stderr


def test_private_key_pasted_into_tls_key_is_an_error_at_its_line(tmp_path, cli):
    """KES opens `tls.key` as a file name, so pasted PEM stops it at start: not a "file not here" note."""
    key = issue("kes").key_pem().decode()
    deployment(tmp_path, tls_key="|\n" + "".join(f"    {line}\n" for line in key.splitlines()))
    result = cli("lint", tmp_path, "-f", "json")
    findings = json.loads(result.stdout)["findings"]
    pasted = [f for f in findings if f["code"] == "CRT004"]
    assert result.status == 1
    assert [(f["severity"], f["line"]) for f in pasted] == [("error", 6)]
    assert pasted[0]["path"].endswith("config.yaml")
    assert "PEM text" in pasted[0]["message"] and "file" in pasted[0]["message"]
    assert not [f for f in findings if f["code"] in ("CRT001", "CRT002")]


def lint_json(cli, path, *args):
    result = cli("lint", path, "-f", "json", *args)
    return result.status, json.loads(result.stdout)["findings"]


def test_minio_as_admin_is_a_warning_not_an_error(tmp_path, cli):
    parts = deployment(tmp_path)
    config = tmp_path / "kes" / "config.yaml"
    text = config.read_text()
    admin = text.split("identity: ")[1].split("\n")[0]
    # MinIO's certificate is the admin; the policy keeps an unrelated client so KES still starts.
    other = spki_sha256(issue("other").certificate)
    config.write_text(text.replace(admin, "ADMIN").replace(parts["minio_id"], other).replace("ADMIN", parts["minio_id"]))
    status, findings = lint_json(cli, tmp_path)
    assert status == 0, [f["message"] for f in findings if f["severity"] == "error"]
    admin_findings = [f for f in findings if f["code"] == "DEP101"]
    assert [f["severity"] for f in admin_findings] == ["warning"]
    assert admin_findings[0]["path"].endswith("minio.env") and "client.crt" in admin_findings[0]["message"]


def test_whole_certificate_fingerprint_as_identity_names_the_file_and_the_right_value(tmp_path, cli):
    parts = deployment(tmp_path)
    fingerprint = hashlib.sha256(parts["client"].certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    config = tmp_path / "kes" / "config.yaml"
    config.write_text(config.read_text().replace(parts["minio_id"], fingerprint))
    status, findings = lint_json(cli, tmp_path)
    wrong = [f for f in findings if f["code"] == "DEP103"]
    assert status == 1
    assert [(f["severity"], f["path"].endswith("config.yaml")) for f in wrong] == [("error", True)]
    line = config.read_text().splitlines()[wrong[0]["line"] - 1]
    assert fingerprint in line
    assert "client.crt" in wrong[0]["message"] and parts["minio_id"] in wrong[0]["message"] + (wrong[0]["fix"] or "")


@pytest.mark.parametrize("with_intermediate", [True, False])
def test_client_signed_by_an_intermediate_needs_the_intermediate(tmp_path, cli, with_intermediate):
    """tls.auth on, tls.ca = root only: KES verifies with the intermediates the client sends."""
    parts = deployment(tmp_path)
    intermediate = issue("Intermediate", issuer=parts["ca"], ca=True)
    client = issue("minio", issuer=intermediate, eku=("client",))
    chain = client.cert_pem() + (intermediate.cert_pem() if with_intermediate else b"")
    (tmp_path / "minio" / "client.crt").write_bytes(chain)
    (tmp_path / "minio" / "client.key").write_bytes(client.key_pem())
    config = tmp_path / "kes" / "config.yaml"
    config.write_text(config.read_text().replace(parts["minio_id"], spki_sha256(client.certificate)))
    status, findings = lint_json(cli, tmp_path)
    errors = [f for f in findings if f["severity"] == "error"]
    if with_intermediate:
        assert status == 0, [f["message"] for f in errors]
    else:
        assert [(f["code"], f["path"].endswith("minio.env")) for f in errors] == [("CRT030", True)]
        assert "client.crt" in errors[0]["message"] and "tls.ca" in errors[0]["message"]


def test_ellipsis_over_ip_sans_names_the_uncovered_address(tmp_path, cli):
    parts = deployment(tmp_path, endpoint="https://10.0.0.{1...3}:7373")
    server = issue("kes", issuer=parts["ca"], ips=("10.0.0.1", "10.0.0.2"), eku=("server",))
    server.write(tmp_path / "kes", "server")
    status, findings = lint_json(cli, tmp_path, "--select", "CRT")
    errors = [f for f in findings if f["severity"] == "error"]
    assert status == 1
    assert [(f["code"], f["line"]) for f in errors] == [("CRT021", 1)]
    assert "'10.0.0.3'" in errors[0]["message"] and "10.0.0.1" not in errors[0]["message"].split("(")[0]


def test_line_to_add_for_a_flow_identity_list_ignores_brackets_in_a_trailing_comment(tmp_path):
    from certgen import new_api_key
    from kescheck.engine import lint
    from kescheck.identity import identity_of_api_key

    api_key = new_api_key()
    (tmp_path / "kes-config.yaml").write_text(
        "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\npolicy:\n  minio:\n"
        "    allow: [/v1/key/generate/minio-*, /v1/key/decrypt/minio-*]\n"
        f"    identities: [{'a' * 64}]  # kescheck: ignore[KES203] -- lab\n")
    (tmp_path / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://127.0.0.1:7373\nMINIO_KMS_KES_API_KEY={api_key}\n"
                                        "MINIO_KMS_KES_KEY_NAME=minio-key\n")
    fix = next(f.fix for f in lint([tmp_path]).findings if f.code == "DEP100")
    assert f"identities: [{'a' * 64}, {identity_of_api_key(api_key)}]  # kescheck: ignore[KES203] -- lab" in fix
