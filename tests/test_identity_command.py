"""`kescheck identity` against identities computed independently (openssl CLI, or hashlib over DER)."""
from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from certgen import issue, new_api_key

REFERENCE_API_KEY = "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs"
REFERENCE_IDENTITY = "ea9826089311fe44d7590408ede9150f7c637b6cab0a91ee6fe1aa5d9fb366f6"


def expected_identity(cert_path, certificate) -> str:
    """SHA-256 of the SubjectPublicKeyInfo: via openssl when installed, else over cryptography's DER."""
    if shutil.which("openssl"):
        pubkey = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-noout", "-pubkey"],
                                check=True, capture_output=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey,
                             check=True, capture_output=True).stdout
        return hashlib.sha256(der).hexdigest()
    der = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def test_reference_api_key_vector_and_key_never_echoed(cli):
    run = cli("identity", REFERENCE_API_KEY)
    assert run.status == 0
    assert run.stdout.strip() == REFERENCE_IDENTITY
    assert "AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs" not in run.stdout + run.stderr


@pytest.mark.parametrize("kind", ["rsa2048", "ec256", "ec384", "ed25519"])
def test_certificate_identity_matches_spki_hash(kind, tmp_path, cli):
    cert = issue("client", key_kind=kind)
    path = tmp_path / "client.crt"
    path.write_bytes(cert.cert_pem())
    run = cli("identity", path)
    assert run.status == 0, run.stderr
    assert run.stdout.strip() == expected_identity(path, cert.certificate)
    whole_cert_fingerprint = hashlib.sha256(cert.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert run.stdout.strip() != whole_cert_fingerprint


@pytest.mark.parametrize("ca_first", [True, False])
def test_chain_file_uses_the_non_ca_certificate(ca_first, tmp_path, cli):
    ca = issue("Example CA", ca=True, key_kind="rsa2048")
    leaf = issue("minio", issuer=ca)
    leaf_path = tmp_path / "leaf.crt"
    leaf_path.write_bytes(leaf.cert_pem())
    chain = tmp_path / "chain.crt"
    chain.write_bytes(ca.cert_pem() + leaf.cert_pem() if ca_first else leaf.cert_pem() + ca.cert_pem())
    run = cli("identity", chain)
    assert run.status == 0
    assert run.stdout.strip() == expected_identity(leaf_path, leaf.certificate)


def test_several_arguments_label_each_line_and_redact_api_keys(tmp_path, cli):
    cert = issue("client", key_kind="ec256")
    path = tmp_path / "client.crt"
    path.write_bytes(cert.cert_pem())
    api_key = new_api_key()
    run = cli("identity", path, api_key)
    assert run.status == 0
    lines = run.stdout.splitlines()
    assert lines[0] == f"{expected_identity(path, cert.certificate)}  {path}"
    assert lines[1].endswith("  kes:v1:…")
    assert api_key[7:] not in run.stdout + run.stderr


def test_api_key_file_and_stdin(tmp_path, cli):
    key_file = tmp_path / "minio.apikey"
    key_file.write_text(REFERENCE_API_KEY + "\n")
    assert cli("identity", key_file).stdout.strip() == REFERENCE_IDENTITY
    run = cli("identity", "-", stdin=REFERENCE_API_KEY)
    assert run.stdout.strip() == REFERENCE_IDENTITY


def test_bad_arguments_exit_2_without_traceback_or_secret(tmp_path, cli):
    bad_key = "kes:v1:" + "QUJD" * 3
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("hello\n")
    two_leaves = tmp_path / "two.crt"
    two_leaves.write_bytes(issue("a").cert_pem() + issue("b").cert_pem())
    run = cli("identity", bad_key, garbage, two_leaves, tmp_path / "absent.crt")
    assert run.status == 2
    assert "QUJDQUJD" not in run.stdout + run.stderr
    assert "invalid API key" in run.stderr
    assert "garbage.crt: no PEM certificate" in run.stderr
    assert "2 non-CA certificates" in run.stderr
    assert "absent.crt: no such file" in run.stderr
    assert run.stdout == ""


def test_private_key_file_gives_its_public_identity(tmp_path, cli):
    cert = issue("client", key_kind="ed25519")
    key = tmp_path / "client.key"
    key.write_bytes(cert.key_pem())
    crt = tmp_path / "client.crt"
    crt.write_bytes(cert.cert_pem())
    run = cli("identity", key)
    assert run.stdout.strip() == expected_identity(crt, cert.certificate)
    assert "PRIVATE" not in run.stdout + run.stderr


def test_an_api_key_without_its_optional_prefix_has_the_same_identity(tmp_path):
    """MinIO and KES take `kes:v1:` as optional: the identity a policy must list is the same."""
    from kescheck.engine import lint
    from kescheck.identity import identity_of_api_key

    bare = REFERENCE_API_KEY.removeprefix("kes:v1:")
    assert identity_of_api_key(bare) == identity_of_api_key(REFERENCE_API_KEY) == REFERENCE_IDENTITY
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                                       "policy: {minio: {allow: [/v1/key/generate/minio-*, /v1/key/decrypt/minio-*],"
                                       f" identities: [{'ab' * 32}]}}}}\nkeystore: {{fs: {{path: /var/kes}}}}\n")
    (tmp_path / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_API_KEY={bare}\n"
                                        "MINIO_KMS_KES_KEY_NAME=minio-key\n")
    codes = {f.code for f in lint([tmp_path]).findings}
    assert "DEP100" in codes and "ENV057" not in codes and "POL025" not in codes


def test_an_api_key_without_its_prefix_is_an_api_key(cli, tmp_path):
    """MinIO and KES take `kes:v1:` as optional; so do `kescheck identity` and `policy explain --identity`."""
    from kescheck.identity import identity_of_api_key

    api_key = new_api_key()
    bare = api_key.removeprefix("kes:v1:")
    expected = identity_of_api_key(api_key)
    run = cli("identity", bare)
    assert run.status == 0 and run.stdout.split()[0] == expected and bare not in run.stdout + run.stderr
    key_file = tmp_path / "minio.apikey"
    key_file.write_text(bare + "\n")
    assert cli("identity", key_file).stdout.split()[0] == expected
    config = tmp_path / "kes.yaml"
    config.write_text(f"admin: {{identity: disabled}}\npolicy:\n  minio:\n    allow: [/v1/status]\n    identities: [{expected}]\n"
                      "keystore: {fs: {path: /x}}\n")
    explained = cli("policy", "explain", config, "--identity", bare, "--path", "/v1/status")
    assert explained.status == 0 and bare not in explained.stdout + explained.stderr
