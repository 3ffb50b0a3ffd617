"""`kescheck policy explain` and `kescheck policy minimal` on real files."""
from __future__ import annotations

import textwrap

import pytest
from ruamel.yaml import YAML

from certgen import issue, new_api_key
from kescheck.engine import lint
from kescheck.identity import identity_of_api_key, identity_of_certificate

IDENTITY = "9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b"
ADMIN = "3f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"

CONFIG = f"""
    admin:
      identity: {ADMIN}
    keystore:
      fs:
        path: /var/kes
    policy:
      minio:
        allow:
          - /v1/key/generate/minio-*
          - /v1/key/*/minio-*
        deny:
          - /v1/key/generate/minio-secret*
        identities:
          - {IDENTITY}
    """


def test_explain_allow_names_the_deciding_pattern(cli, write):
    config = write("kes.yaml", CONFIG)
    run = cli("policy", "explain", config, "--identity", IDENTITY, "--path", "/v1/key/generate/minio-a")
    assert run.status == 0
    assert run.stdout.startswith("allow /v1/key/generate/minio-a")
    assert f"allow pattern `/v1/key/generate/minio-*` ({config}:9)" in run.stdout


def test_explain_deny_wins(cli, write):
    config = write("kes.yaml", CONFIG)
    run = cli("policy", "explain", config, "--identity", IDENTITY, "--path", "/v1/key/generate/minio-secret-1")
    assert run.status == 1
    assert run.stdout.startswith("deny ") and f"deny pattern `/v1/key/generate/minio-secret*` ({config}:12)" in run.stdout


def test_explain_follows_the_generation(cli, write):
    config = write("kes.yaml", CONFIG)
    path = "/v1/key/decrypt/minio-a"
    current = cli("policy", "explain", config, "--identity", IDENTITY, "--path", path)
    assert current.status == 1 and "no allow pattern" in current.stdout
    old = cli("policy", "explain", config, "--identity", IDENTITY, "--path", path, "--kes-version", "0.22")
    assert old.status == 0 and f"allow pattern `/v1/key/*/minio-*` ({config}:10)" in old.stdout


def test_explain_admin_and_unknown_identity(cli, write):
    config = write("kes.yaml", CONFIG)
    admin = cli("policy", "explain", config, "--identity", ADMIN, "--path", "/v1/key/delete/x")
    assert admin.status == 0 and "KES admin" in admin.stdout and f"{config}:2" in admin.stdout
    other = cli("policy", "explain", config, "--identity", "ab" * 32, "--path", "/v1/status")
    assert other.status == 1 and "no policy lists this identity" in other.stdout


def test_explain_with_certificate_and_api_key_files(cli, write, tmp_path):
    cert = issue("minio")
    cert_path, _ = cert.write(tmp_path, "minio")
    api_key = new_api_key()
    key_file = write("minio.apikey", api_key + "\n")
    config = write("kes.yaml", CONFIG.replace(IDENTITY, identity_of_certificate(cert.certificate))
                   + f"      - {identity_of_api_key(api_key)}\n")
    by_cert = cli("policy", "explain", config, "--identity", cert_path, "--path", "/v1/key/generate/minio-a")
    assert by_cert.status == 0 and identity_of_certificate(cert.certificate) in by_cert.stdout
    by_key = cli("policy", "explain", config, "--identity", key_file, "--path", "/v1/key/generate/minio-a")
    assert by_key.status == 0 and api_key not in by_key.stdout + by_key.stderr


def test_explain_bad_input_is_a_message_not_a_traceback(cli, write, tmp_path):
    config = write("kes.yaml", CONFIG)
    run = cli("policy", "explain", config, "--identity", "nonsense", "--path", "/v1/status")
    assert run.status == 2 and "neither an identity" in run.stderr
    run = cli("policy", "explain", config, "--identity", IDENTITY, "--path", "v1/status")
    assert run.status == 2 and "must be a URL path" in run.stderr
    run = cli("policy", "explain", tmp_path / "absent.yaml", "--identity", IDENTITY, "--path", "/v1/status")
    assert run.status == 2


def test_minimal_policy_is_yaml_that_passes_the_minio_rules(cli, write, tmp_path):
    api_key = new_api_key()
    key_file = write("minio.apikey", api_key)
    run = cli("policy", "minimal", "--key-name", "minio-sse", "--prefix", "minio-", "--identity", key_file)
    assert run.status == 0
    policy = YAML(typ="safe").load(run.stdout)["policy"]["minio"]
    assert "/v1/key/generate/minio-*" in policy["allow"] and "/v1/key/delete/minio-*" not in policy["allow"]
    assert policy["identities"] == [identity_of_api_key(api_key)]
    config = write("kes.yaml", "admin:\n  identity: disabled\nkeystore:\n  fs:\n    path: /x\n" + run.stdout)
    env = write("minio.env", f"MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_API_KEY={api_key}\n"
                             "MINIO_KMS_KES_KEY_NAME=minio-sse\n")
    assert [f.code for f in lint([config, env]).findings if f.code.startswith("POL")] == []


def test_minimal_refuses_a_prefix_that_misses_the_key(cli):
    run = cli("policy", "minimal", "--key-name", "sse-key", "--prefix", "minio-")
    assert run.status == 2 and "does not cover" in run.stderr
    run = cli("policy", "minimal", "--key-name", "minio.key")
    assert run.status == 2 and "not a name KES accepts" in run.stderr


def test_explain_on_a_release_whose_matcher_matches_no_pattern_ending_in_a_star(cli, write):
    config = write("kes.yaml", CONFIG)  # minio-a is allowed by patterns ending in `*` alone
    for release, status in (("2023-10-24T20-26-51Z", 1), ("RELEASE.2023-10-27T19-33-09Z", 1),
                            ("2023-11-09T17-35-47Z", 0)):
        run = cli("policy", "explain", config, "--identity", IDENTITY, "--path", "/v1/key/generate/minio-a",
                  "--kes-version", release)
        assert run.status == status, (release, run.stdout)
        assert ("matches no pattern ending in `*` (POL013)" in run.stdout) is (status == 1)


def test_explain_self_describe_needs_no_policy(cli, write):
    config = write("kes.yaml", CONFIG)
    for identity in (IDENTITY, "ab" * 32):
        run = cli("policy", "explain", config, "--identity", identity, "--path", "/v1/identity/self/describe")
        assert run.status == 0 and run.stdout.startswith("allow /v1/identity/self/describe")
        assert "whatever its policy" in run.stdout


def test_explain_resolves_a_variable_admin_identity_with_kes_env(cli, write):
    config = write("kes.yaml", CONFIG.replace(f"identity: {ADMIN}", "identity: ${ADMIN_ID}"))
    env = write("kes.env", f"ADMIN_ID={ADMIN}\n")
    run = cli("policy", "explain", config, "--identity", ADMIN, "--path", "/v1/key/delete/x", "--kes-env", env)
    assert run.status == 0 and "KES admin" in run.stdout


@pytest.mark.parametrize("extra, answered", [("  other:\n    allow: [/v1/status]\n    identities: [{id}]\n", "`minio`"),
                                              ("", "the admin")])
def test_explain_says_when_kes_would_refuse_the_config(cli, write, extra, answered):
    """An identity two policies claim, or the admin also listed in a policy: KES refuses to start (KES102/KES103)."""
    identity = IDENTITY if extra else ADMIN
    text = textwrap.dedent(CONFIG) + extra.format(id=IDENTITY)
    if not extra:
        text = text.replace(f"  - {IDENTITY}", f"  - {ADMIN}")
    config = write("kes.yaml", text)
    run = cli("policy", "explain", config, "--identity", identity, "--path", "/v1/status")
    assert "KES refuses to start with this config" in run.stdout and f"the answer below is {answered}'s" in run.stdout
