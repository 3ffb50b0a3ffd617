"""KES refusal, risk, env and generation rules on real YAML files."""
from __future__ import annotations

import json

import pytest

from kescheck.engine import lint
from kescheck.identity import PLAY_IDENTITY
from kescheck.model import Options

BASE = "admin:\n  identity: disabled\ntls:\n  key: /etc/kes/kes.key\n  cert: /etc/kes/kes.crt\n"
FS = "keystore:\n  fs:\n    path: /var/lib/kes\n"
ID_A = "9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b"


def run(write, text, **options):
    path = write("kes.yaml", text)
    return [(f.code, f.location.line, f.location.column, f.message) for f in lint([path], Options(**options)).findings]


def codes(found):
    return sorted({code for code, *_ in found})


def test_env_reference_is_a_note_without_env_and_an_error_with_env_missing_it(write):
    text = "admin:\n  identity: ${KES_ADMIN}\ntls:\n  key: /k\n  cert: /c\n" + FS
    assert [(c, line) for c, line, *_ in run(write, text) if c in ("KES100", "KES213")] == [("KES213", 2)]
    assert [(c, line) for c, line, *_ in run(write, text, kes_env={}) if c in ("KES100", "KES213")] == [("KES100", 2)]
    assert [c for c, *_ in run(write, text, kes_env={"KES_ADMIN": "disabled"}) if c in ("KES100", "KES213")] == []


def test_kes_env_option_reads_an_env_file(write, cli):
    config = write("kes.yaml", "admin:\n  identity: ${KES_ADMIN}\ntls:\n  key: /k\n  cert: /c\n" + FS)
    env = write("kes.env", "OTHER=1\n")
    run_ = cli("lint", config, "--kes-env", env, "--format", "json", "--select", "KES100")
    assert run_.status == 1
    assert [f["line"] for f in json.loads(run_.stdout)["findings"]] == [2]


def test_partial_and_policy_references(write):
    text = "address: 0.0.0.0:${PORT}\n" + BASE + "policy:\n  p:\n    allow:\n      - /v1/key/generate/${KEY}\n" + FS
    found = run(write, text)
    assert ("KES214", 1) in [(c, line) for c, line, *_ in found]
    assert ("KES215", 10) in [(c, line) for c, line, *_ in found]
    assert "KES101" not in codes(found)  # the literal `${` address is KES214's, not a second finding


@pytest.mark.parametrize("address,ok", [("0.0.0.0:7373", True), (":7373", True), ("[::]:7373", True),
                                        ("127.0.0.1:7373", True), ("localhost:7373", False), ("0.0.0.0", False),
                                        ("kes.example.net:7373", False), ("0.0.0.0:99999", False)])
def test_address(write, address, ok):
    found = run(write, f"address: {address}\n" + BASE + FS)
    assert ("KES101" not in codes(found)) == ok


def test_identity_conflicts_and_duplicates(write):
    text = (f"admin:\n  identity: {ID_A}\ntls:\n  key: /k\n  cert: /c\n  proxy:\n    identities: [{ID_A}]\n"
            f"policy:\n  a:\n    allow: [/v1/status]\n    identities: [{ID_A}, same-id]\n"
            f"  b:\n    allow: [/v1/status]\n    identities: [same-id]\n" + FS)
    found = [(c, line) for c, line, *_ in run(write, text)]
    assert ("KES102", 7) in found and ("KES102", 11) in found
    assert ("KES103", 14) in found


def test_keystore_count_and_vault_auth(write):
    two = BASE + "keystore:\n  fs:\n    path: /x\n  vault:\n    endpoint: https://v.example.net:8200\n"
    found = [(c, line) for c, line, *_ in run(write, two)]
    assert ("KES105", 9) in found and ("KES106", 9) in found
    none = BASE + "keystore:\n  kes:\n    endpoint:\n      - https://kes2.example.net:7373\n"
    found = [(c, line) for c, line, *_ in run(write, none)]
    assert ("KES105", 6) in found and ("KES220", 7) in found


def test_identity_warnings(write):
    text = BASE.replace("disabled", PLAY_IDENTITY) + (
        "policy:\n  minio:\n    allow: [/v1/status]\n    identities:\n      - MINIO_API_KEY_HASH\n"
        f"      - {ID_A.upper()}\n      - {ID_A[:40]}\n      - '${{MINIO_ID}}'\n") + FS
    found = run(write, text)
    assert [(c, line) for c, line, *_ in found if c in ("KES200", "KES201")] == [
        ("KES201", 2), ("KES200", 10), ("KES200", 11), ("KES200", 12)]


def test_disabled_admin_is_not_a_placeholder(write):
    assert "KES200" not in codes(run(write, BASE + FS))


def test_skip_auth_rules(write):
    text = BASE + ("api:\n  /v1/key/decrypt/:\n    skip_auth: true\n  /version:\n    skip_auth: yes\n"
                   "  /v1/status:\n    skip_auth: true\n  /v1/key/generate:\n    skip_auth: true\n") + FS
    found = [(c, line) for c, line, *_ in run(write, text)]
    assert ("KES202", 8) in found and ("KES203", 10) in found
    assert ("KES205", 13) in found and ("KES202", 14) not in found  # no slash: KES ignores the entry
    assert [c for c, _ in found if c == "KES204"] == ["KES204"]
    message = next(m for c, _, _, m in run(write, text) if c == "KES205")
    assert "`/v1/key/generate/`" in message


def test_plaintext_secret_is_never_printed(write, cli):
    secret = "s3cr3t-approle-value-0000"
    path = write("kes.yaml", BASE + f"keystore:\n  vault:\n    endpoint: https://v.example.net:8200\n"
                                    f"    approle:\n      id: role\n      secret: {secret}\n")
    for fmt in ("json", "sarif", "rich"):
        run_ = cli("lint", path, "--format", fmt)
        assert "KES209" in run_.stdout
        assert secret not in run_.stdout + run_.stderr


def test_invalid_secret_value_is_not_echoed(write):
    path = write("kes.yaml", BASE + "keystore:\n  vault:\n    endpoint: https://v.example.net:8200\n"
                                    "    approle:\n      id: role\n      secret: [not, a, scalar]\n")
    result = lint([path])
    assert any(f.code == "KES011" for f in result.findings)


def test_doc_leftovers_and_http(write):
    text = BASE + ("keystore:\n  vault:\n    endpoint: http://HOSTNAME:8200\n    approle:\n"
                   "      id: VAULTAPPID\n      secret: ${S}\n    tls:\n      ca: '|kescertpath|/vault.crt'\n")
    found = [(c, line) for c, line, *_ in run(write, text)]
    assert ("KES206", 8) in found and ("KES207", 8) in found and ("KES206", 10) in found and ("KES206", 13) in found


def test_relative_tls_path_and_ca_without_auth(write):
    text = "admin:\n  identity: disabled\ntls:\n  key: kes.key\n  cert: /c\n  ca: ./ca.crt\n" + FS
    found = [(c, line) for c, line, *_ in run(write, text)]
    assert ("KES210", 4) in found and ("KES210", 6) in found and ("KES211", 6) in found


def test_cache_unused_unset_only_for_current_kes(write):
    text = BASE + "cache:\n  expiry:\n    any: 5m\n" + FS
    assert ("KES212", 8) in [(c, line) for c, line, *_ in run(write, text)]
    assert "KES212" not in codes(run(write, text, kes_version="0.22"))


def test_generation_keys(write):
    text = "version: v1\n" + BASE + ("policy:\n  p:\n    paths: [/v1/key/create/*]\n"
                                     "keystore:\n  vault:\n    endpoint: https://v.example.net:8200\n"
                                     "    approle:\n      id: a\n      secret: ${S}\n      retry: 15s\n")
    current = [(c, line) for c, line, *_ in run(write, text)]
    assert ("KES220", 9) in current and ("KES220", 16) in current
    older = [(c, line) for c, line, *_ in run(write, text, kes_version="0.22")]
    assert ("KES220", 9) in older  # `paths` ended with 0.15 (G0)
    assert ("KES221", 16) in older and ("KES220", 16) not in older  # `retry` is fine in G1, gone in current KES


def test_g0_file_is_checked_against_its_own_schema(write):
    text = "root: disabled\ntls:\n  key: /k\n  cert: /c\npolicy:\n  p:\n    paths: [/v1/key/create/*]\n" + FS
    found = run(write, text)
    assert [c for c in codes(found) if c.startswith(("KES01", "KES1"))] == []
    assert ("KES221", 1) in [(c, line) for c, line, *_ in found]


def test_an_empty_string_is_called_empty_even_for_a_secret(tmp_path):
    from kescheck.engine import lint

    kes = tmp_path / "kes-config.yaml"
    kes.write_text('admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n  entrust:\n    keycontrol:\n'
                   '      endpoint: https://keycontrol.example.net\n      vault_id: ""\n      box_id: box\n'
                   '      credentials: {username: admin, password: ""}\n')
    messages = [f.message for f in lint([kes]).findings if f.code == "KES012"]
    assert any("`keystore.entrust.keycontrol.vault_id` is empty" in m for m in messages), messages
    assert any("credentials.password` is empty" in m for m in messages), messages


def test_refusals_carry_the_prefix_of_the_target_release(tmp_path):
    from kescheck.engine import lint
    from kescheck.model import Options

    kes = tmp_path / "kes-config.yaml"
    kes.write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: \"off\"}\nkeystore: {vault: {endpoint: 'https://v:8200'}}\n"
                   "cache: {expiry: {any: -5m}}\n")
    for version, prefix in ((None, "`kesconf: "), ("2023-11-09T17-35-47Z", "`kesconf: "), ("2023-10-24T20-26-51Z", "`edge: ")):
        messages = [f.message for f in lint([kes], Options(kes_version=version)).findings if f.code in ("KES012", "KES106")]
        assert len(messages) == 2 and all(prefix in m for m in messages), (version, messages)


def test_offline_cache_disabled_where_kes_has_one(write):
    text = BASE + "cache:\n  expiry:\n    any: 5m\n    unused: 20s\n" + FS
    found = [(c, line) for c, line, *_ in run(write, text) if c == "KES224"]
    assert found == [("KES224", 7)]  # at `expiry:`
    assert "KES224" in codes(run(write, text, kes_version="0.17.3"))
    assert "KES224" not in codes(run(write, text, kes_version="0.17.2"))
    assert "KES224" not in codes(run(write, "root: disabled\ntls: {key: /k, cert: /c}\n" + FS))


def test_offline_cache_zero_and_env_values(write):
    zero = BASE + "cache:\n  expiry:\n    unused: 20s\n    offline: 0h0m\n" + FS
    assert [(c, line) for c, line, *_ in run(write, zero) if c == "KES224"] == [("KES224", 9)]
    hours = BASE + "cache:\n  expiry:\n    unused: 20s\n    offline: 6h\n" + FS
    assert "KES224" not in codes(run(write, hours))
    env = BASE + "cache:\n  expiry:\n    unused: 20s\n    offline: ${KES_OFFLINE}\n" + FS
    assert "KES224" not in codes(run(write, env))
    assert "KES224" not in codes(run(write, env, kes_env={"KES_OFFLINE": "12h"}))
    assert "KES224" in codes(run(write, env, kes_env={"KES_OFFLINE": "0s"}))


def test_offline_cache_without_cache_section_points_at_the_file(write):
    found = [(c, line) for c, line, *_ in run(write, BASE + FS) if c == "KES224"]
    assert found == [("KES224", 1)]


PROXY_ID = "0c8a7e2b1f1e4d3c9b8a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a"
TLS_HEAD = "admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\n"


def test_tls_proxy_needs_both_halves_on_glob_era_kes(write):
    ids_only = TLS_HEAD + f"  proxy:\n    identities:\n      - {PROXY_ID}\n" + FS
    assert [(c, line) for c, line, *_ in run(write, ids_only, kes_version="0.21") if c == "KES217"] == [("KES217", 7)]  # at `identities:`
    header_only = TLS_HEAD + "  proxy:\n    header:\n      cert: X-Tls-Client-Cert\n" + FS
    assert "KES217" not in codes(run(write, header_only, kes_version="0.22"))  # no proxy: the header does nothing
    both = TLS_HEAD + f"  proxy:\n    identities: [{PROXY_ID}]\n    header: {{cert: '${{HEADER}}'}}\n" + FS
    assert "KES217" not in codes(run(write, both, kes_version="0.22"))
    assert "KES217" in codes(run(write, both, kes_version="0.22", kes_env={"HEADER": ""}))
    g0 = f"root: disabled\ntls: {{key: /k, cert: /c}}\nproxy:\n  identities: [{PROXY_ID}]\n" + FS
    assert "KES217" in codes(run(write, g0))


def test_tls_proxy_is_ignored_by_current_kes(write):
    both = "version: v1\n" + TLS_HEAD + f"  proxy:\n    identities: [{PROXY_ID}]\n    header: {{cert: X-Cert}}\n" + FS
    found = [(c, line) for c, line, *_ in run(write, both) if c in ("KES217", "KES218")]
    assert found == [("KES218", 7)]
    assert "KES218" not in codes(run(write, "version: v1\n" + TLS_HEAD + "  proxy:\n    header: {cert: X-Cert}\n" + FS))
    assert "KES218" not in codes(run(write, both, kes_version="2023-09-01"))
