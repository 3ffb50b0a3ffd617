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


SUBSTITUTED = ("version: v1\naddress: ${KES_ADDRESS}\nadmin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\n"
               "  auth: ${KES_AUTH}\npolicy:\n  minio:\n    allow: [/v1/status]\n    identities: ['${MINIO_IDENTITY}']\n"
               "api:\n  /v1/status:\n    skip_auth: ${SKIP}\ncache:\n  expiry:\n    any: ${CACHE_ANY}\n"
               "log:\n  error: ${LOG_LEVEL}\nkeystore:\n  vault:\n    endpoint: https://vault:8200\n"
               "    approle: {id: kes, secret: '${VAULT_SECRET}'}\n")
GOOD_VALUES = {"KES_ADDRESS": "0.0.0.0:7373", "KES_AUTH": "on", "MINIO_IDENTITY": ID_A, "SKIP": "true",
               "CACHE_ANY": "5m0s", "LOG_LEVEL": "INFO+2", "VAULT_SECRET": "0b1c-secret-value-9f"}


def test_values_substituted_from_the_kes_environment_are_judged_as_kes_judges_them(write):
    assert [c for c, *_ in run(write, SUBSTITUTED, kes_env=GOOD_VALUES) if c.startswith("KES01")] == []
    bad = dict(GOOD_VALUES, KES_AUTH="verify", MINIO_IDENTITY="minio client", CACHE_ANY="300", LOG_LEVEL="loud")
    found = [(c, line, m) for c, line, _, m in run(write, SUBSTITUTED, kes_env=bad) if c.startswith("KES01")]
    assert [(c, line) for c, line, _ in found] == [("KES012", 8), ("KES012", 12), ("KES012", 18), ("KES012", 20)]
    assert "`tls.auth` is `verify` once KES substitutes `${KES_AUTH}` from the KES environment, which KES does not " \
           "accept; KES refuses to start" in found[0][2]
    assert "`policy.minio.identities[0]` is `minio client` once KES substitutes `${MINIO_IDENTITY}`" in found[1][2]
    assert "`cache.expiry.any` is `300`" in found[2][2] and "`log.error` is `loud`" in found[3][2]
    assert not any(GOOD_VALUES["VAULT_SECRET"] in m for *_, m in run(write, SUBSTITUTED, kes_env=bad))


def test_only_text_settings_and_known_non_empty_values_are_judged_after_substitution(write):
    """`skip_auth` is a boolean KES decodes from the text; an empty value is KES108's; an unknown one is not judged;
    a secret is not shown."""
    odd = dict(GOOD_VALUES, SKIP="maybe", MINIO_IDENTITY="", KES_AUTH=None)
    assert [c for c, *_ in run(write, SUBSTITUTED, kes_env=odd) if c in ("KES011", "KES012")] == []
    text = SUBSTITUTED.replace("approle: {id: kes,", "approle: {id: '${APPROLE_ID}',")
    found = [c for c, *_ in run(write, text, kes_env=dict(GOOD_VALUES, APPROLE_ID="")) if c in ("KES108", "KES012")]
    assert found == ["KES108"]


def test_address_key_names_and_endpoints_are_judged_by_their_substituted_values(write):
    text = ("address: ${KES_ADDRESS}\n" + BASE + "keys:\n  - name: ${KEY_A}\n  - name: ${KEY_B}\nkeystore:\n  vault:\n"
            "    endpoint: ${VAULT_ADDR}\n    approle: {id: kes, secret: '${S}'}\n")
    good = {"KES_ADDRESS": "0.0.0.0:7373", "KEY_A": "minio-a", "KEY_B": "minio-b", "VAULT_ADDR": "https://vault:8200",
            "S": "x"}
    wanted = ("KES101", "KES104", "KES207")
    assert [c for c, *_ in run(write, text, kes_env=good) if c in wanted] == []
    bad = dict(good, KES_ADDRESS="localhost:7373", KEY_B="minio-a", VAULT_ADDR="http://vault:8200")
    found = {c: (line, m) for c, line, _, m in run(write, text, kes_env=bad) if c in wanted}
    assert found["KES101"][0] == 1 and "`address` (`localhost:7373` from `${KES_ADDRESS}`)" in found["KES101"][1]
    assert found["KES104"] == (9, "key `minio-a` is already defined at line 8: KES refuses to start "
                                  "(`key 'minio-a' is defined multiple times`)")
    assert found["KES207"][0] == 12 and "(`http://vault:8200` from `${VAULT_ADDR}`)" in found["KES207"][1]
    assert [c for c, *_ in run(write, text) if c in wanted] == []  # values unknown: nothing to judge


def test_identities_and_tls_paths_are_judged_by_their_substituted_values(write):
    text = ("admin:\n  identity: ${ADMIN}\ntls:\n  key: ${KES_KEY}\n  cert: /etc/kes/kes.crt\n"
            "policy:\n  minio:\n    allow: [/v1/status]\n    identities: ['${MINIO_ID}']\n" + FS)
    good = {"ADMIN": "disabled", "KES_KEY": "/etc/kes/kes.key", "MINIO_ID": ID_A}
    assert [c for c, *_ in run(write, text, kes_env=good) if c in ("KES200", "KES210")] == []
    bad = {"ADMIN": ID_A.upper(), "KES_KEY": "certs/kes.key", "MINIO_ID": "MINIO_IDENTITY"}
    found = sorted((c, line, m) for c, line, _, m in run(write, text, kes_env=bad) if c in ("KES200", "KES210"))
    assert [(c, line) for c, line, _ in found] == [("KES200", 2), ("KES200", 9), ("KES210", 4)]
    assert f"admin identity `{ID_A.upper()}` (from `${{ADMIN}}`) is upper-case hex" in found[0][2]
    assert "`tls.key` is the relative path `certs/kes.key` (from `${KES_KEY}`)" in found[2][2]


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


def test_identities_are_compared_as_kes_sees_them_after_substitution(write):
    """KES replaces `${VAR}` before it compares identities: conflicts hidden behind variables still stop it."""
    text = ("admin:\n  identity: ${KES_ADMIN_IDENTITY}\ntls:\n  key: /k\n  cert: /c\n"
            f"policy:\n  a:\n    allow: [/v1/status]\n    identities: [{ID_A}]\n"
            "  b:\n    allow: [/v1/status]\n    identities: ['${OTHER_IDENTITY}', '${PLAY}']\n" + FS)
    env = {"KES_ADMIN_IDENTITY": ID_A, "OTHER_IDENTITY": ID_A, "PLAY": PLAY_IDENTITY}
    found = [(c, line) for c, line, *_ in run(write, text, kes_env=env) if c in ("KES102", "KES103", "KES201")]
    assert sorted(found) == [("KES102", 9), ("KES102", 12), ("KES103", 12), ("KES201", 12)]
    assert [c for c, *_ in run(write, text) if c in ("KES102", "KES103", "KES201")] == []  # values not known
    same = text.replace("'${OTHER_IDENTITY}'", "'${KES_ADMIN_IDENTITY}'")  # one reference is one value, whatever it is
    assert [(c, line) for c, line, *_ in run(write, same) if c == "KES102"] == [("KES102", 12)]


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


CACHE_ANCHORS = [
    ("cache:\n  expiry:\n    any: 5m\n", (8, 5), "next to `any:`"),
    ("cache:\n  expiry:\n    offline: 1h\n", (7, 3), "under it"),
    ("cache: {expiry: {offline: 1h}}\n", (6, 9), "under it"),
    ("cache:\n  expiry:\n    any: 5m\n    unused:\n", (9, 5), "give `unused:` a value"),
    ("cache: {}\n", (6, 1), "add `expiry:`"),
    ("", (1, 1), "no `cache` section: add one at the top level"),
]
"""(cache section, where KES212 points, what it says to do): the deepest `cache.expiry` node the file has;
without a `cache` section, line 1 column 1 (not whichever key happens to come first)."""


@pytest.mark.parametrize("cache,where,advice", CACHE_ANCHORS)
def test_cache_unused_unset_points_at_the_cache_setting_or_says_where_to_add_it(write, cache, where, advice):
    head = "" if cache else "# KES server config\nversion: v1\n"
    text = head + BASE + cache + FS
    [found] = [(line, column, message) for c, line, column, message in run(write, text) if c == "KES212"]
    assert found[:2] == where
    assert advice in found[2]


SHELL_DEFAULT = "admin:\n  identity: ${KES_ADMIN:-disabled}\ntls:\n  key: /k\n  cert: /c\n" + FS


def test_shell_default_is_its_own_error_not_a_variable_to_set(write):
    found = [f for f in run(write, SHELL_DEFAULT) if f[0] in ("KES100", "KES213", "KES216")]
    assert [(c, line, column) for c, line, column, _ in found] == [("KES216", 2, 13)]
    message = found[0][3]
    assert "literally named `KES_ADMIN:-disabled`" in message
    assert "the default `disabled` is never applied, whether or not KES_ADMIN is set" in message
    assert "KES refuses to start" in message
    path = write("kes.yaml", SHELL_DEFAULT)
    [finding] = [f for f in lint([path]).findings if f.code == "KES216"]
    assert "`${KES_ADMIN}`" in finding.fix and "KES_ADMIN=disabled" in finding.fix


def test_shell_default_with_the_kes_environment(write):
    # KES_ADMIN is set, and it does not help: KES looks up `KES_ADMIN:-disabled`. One finding, not KES100 too.
    found = [(c, m) for c, _, _, m in run(write, SHELL_DEFAULT, kes_env={"KES_ADMIN": "disabled"})
             if c in ("KES100", "KES213", "KES216")]
    assert [c for c, _ in found] == ["KES216"] and "the KES environment has no variable of that name" in found[0][1]
    # An environment that really has a variable of that literal name: KES substitutes it, nothing to say.
    assert not [c for c, *_ in run(write, SHELL_DEFAULT, kes_env={"KES_ADMIN:-disabled": "disabled"})
                if c in ("KES100", "KES213", "KES216")]


def test_shell_default_on_kes_before_0_22_is_an_empty_value(write):
    [message] = [m for c, _, _, m in run(write, SHELL_DEFAULT, kes_version="0.21.0") if c == "KES216"]
    assert "silently uses an empty value" in message and "refuses" not in message


@pytest.mark.parametrize("value,expected", [
    ("${KES_ADMIN:=disabled}", "KES216"),
    ("${KES_ADMIN:?set KES_ADMIN}", "KES216"),
    ("${ KES_ADMIN:- disabled }", "KES216"),
    ("${KES-ADMIN}", "KES213"),  # may be a variable literally named KES-ADMIN (container env allows it)
    ("${KES_ADMIN}", "KES213"),
])
def test_shell_expansion_forms(write, value, expected):
    text = f"admin:\n  identity: '{value}'\ntls:\n  key: /k\n  cert: /c\n" + FS
    assert [c for c, *_ in run(write, text) if c in ("KES213", "KES216")] == [expected]


@pytest.mark.parametrize("value,name", [
    ("${KES_HOST}:${KES_PORT}", "KES_HOST}:${KES_PORT"),
    ("${A}${B}", "A}${B"),
    (" ${A} ${B} ", "A} ${B"),
])
def test_joined_references_are_one_name_to_kes(write, value, name):
    text = f"admin:\n  identity: '{value}'\ntls:\n  key: /k\n  cert: /c\n" + FS
    found = [(c, line, m) for c, line, _, m in run(write, text) if c in ("KES100", "KES213", "KES214", "KES216")]
    assert [(c, line) for c, line, _ in found] == [("KES216", 2)]
    assert f"literally named `{name}`" in found[0][2] and "references joined into one value" in found[0][2]
    assert not [c for c, *_ in run(write, text, kes_env={name: "disabled"}) if c == "KES216"]


def test_joined_references_in_a_typed_field_are_a_reference_to_the_schema_too(write):
    # KES fails on the variable lookup, before it reads the value as a duration: one finding, KES216's.
    text = "admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\ncache:\n  expiry:\n    any: ${A}${B}\n" + FS
    assert [(c, line) for c, line, *_ in run(write, text) if c in ("KES012", "KES216")] == [("KES216", 8)]


def test_a_reference_inside_a_longer_value_stays_literal(write):
    text = "address: 0.0.0.0:${KES_PORT}\nadmin:\n  identity: 'x-${A}'\ntls:\n  key: /k\n  cert: /c\n" + FS
    assert [(c, line) for c, line, *_ in run(write, text) if c in ("KES214", "KES216")] == [("KES214", 1), ("KES214", 3)]


def test_shell_default_of_a_secret_is_never_shown(write, cli):
    secret = "hunter2-approle-secret"
    path = write("kes.yaml", "admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\nkeystore:\n  vault:\n"
                             "    endpoint: https://vault.example.net:8200\n    approle:\n      id: kes\n"
                             f"      secret: ${{VAULT_SECRET:-{secret}}}\n")
    for output in ("plain", "json", "sarif"):
        result = cli("lint", path, "--format", output)
        assert secret not in result.stdout and "VAULT_SECRET:-" in result.stdout
    [finding] = [f for f in lint([path]).findings if f.code == "KES216"]
    assert (finding.location.line, finding.location.column) == (11, 15)
    assert "a secret, hidden here" in finding.message and "take the secret out of this file" in finding.fix


def _vault_kubernetes(jwt: str) -> str:
    return BASE + f"keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    kubernetes:\n" \
                  f"      role: kes\n      jwt: {jwt}\n"


def _token_findings(write, jwt: str, **options):
    return [(c, line, column, message) for c, line, column, message in run(write, _vault_kubernetes(jwt), **options)
            if c in ("CRT001", "CRT002", "KES107")]


def test_a_missing_vault_token_file_is_a_note_like_a_missing_certificate(write):
    found = _token_findings(write, "/var/run/secrets/kubernetes.io/serviceaccount/token")
    tokens = [f for f in found if f[1] == 11]
    assert [(c, line, column) for c, line, column, _ in tokens] == [("CRT001", 11, 12)]
    assert "'/var/run/secrets/kubernetes.io/serviceaccount/token', which does not exist here" in tokens[0][3]
    assert "the Kubernetes service account token" in tokens[0][3]
    required = [f for f in _token_findings(write, "/var/run/secrets/kubernetes.io/serviceaccount/token",
                                           require_files=True) if f[1] == 11]
    assert [(c, line, column) for c, line, column, _ in required] == [("KES107", 11, 12)]  # not CRT002 as well


def test_a_vault_token_path_that_is_a_directory_is_an_error_without_require_files(write, tmp_path):
    (tmp_path / "tokens").mkdir()
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
    assert [c for c, *_ in _token_findings(write, "./tokens")] == ["CRT001", "CRT001", "KES107"]  # + tls.key/cert
    assert [c for c, line, *_ in _token_findings(write, "./token") if line == 11] == []
    assert [c for c, line, *_ in _token_findings(write, "./token", require_files=True) if line == 11] == []


def test_the_vault_token_path_follows_kes_env_and_leaves_placeholders_and_old_releases_alone(write):
    at_token = lambda found: [c for c, line, *_ in found if line == 11]  # noqa: E731
    assert at_token(_token_findings(write, "${KES_JWT}")) == []  # unknown until --kes-env says
    assert at_token(_token_findings(write, "${KES_JWT}", kes_env={"KES_JWT": "/run/kes/token"})) == ["CRT001"]
    assert at_token(_token_findings(write, "${KES_JWT}", kes_env={"KES_JWT": "eyJhbGciOi.e30.c2ln"})) == []
    assert at_token(_token_findings(write, "/path/to/token")) == []  # KES206's placeholder
    assert at_token(_token_findings(write, "eyJhbGciOi.e30.c2ln")) == []  # the token itself (KES209's)
    assert at_token(_token_findings(write, "/run/kes/token", kes_version="0.21")) == []  # G1 sends the text instead


_EDGE_G1 = ("admin:\n  identity: disabled\ntls:\n  key: /etc/kes/kes.key\n  cert: /etc/kes/kes.crt\n"
            "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n    kubernetes:\n"
            "      role: kes\n      jwt: {jwt}\n      retry: 15s\n")
"""A glob-era (G1) config: KES 2023-04-03 to 2023-09-28 read its `jwt` file as current KES does."""


def _edge_token_findings(write, jwt: str, **options):
    return [(c, line, column, message) for c, line, column, message in run(write, _EDGE_G1.format(jwt=jwt), **options)
            if c in ("CRT001", "CRT002", "KES107") and line == 11]


def test_an_edge_release_reads_the_vault_token_file_and_words_its_refusal_with_edge(write):
    missing = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert [(c, line, column) for c, line, column, _ in _edge_token_findings(write, missing, kes_version="2023-05-01")] \
        == [("CRT001", 11, 12)]
    [(code, _, _, message)] = _edge_token_findings(write, missing, kes_version="2023-05-01", require_files=True)
    assert code == "KES107" and "does not exist" in message
    assert "(`edge: failed to read vault kubernetes JWT from ...`)" in message and "kesconf:" not in message
    [(code, *_)] = _edge_token_findings(write, missing, kes_version="RELEASE.2023-09-28T19-40-28Z", require_files=True)
    assert code == "KES107"


def test_an_edge_release_refuses_a_vault_token_path_that_is_a_directory(write, tmp_path):
    (tmp_path / "tokens").mkdir()
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n")
    [(code, _, _, message)] = _edge_token_findings(write, "./tokens", kes_version="2023-05-01")
    assert code == "KES107" and "which KES cannot read" in message and "`edge: failed to read" in message
    assert _edge_token_findings(write, "./token", kes_version="2023-05-01", require_files=True) == []


@pytest.mark.parametrize("version", ["0.22", "v0.22.3", "2023-02-15", "0.17.4"])
def test_releases_before_2023_04_03_send_the_vault_token_text_when_there_is_no_such_file(write, tmp_path, version):
    (tmp_path / "tokens").mkdir()
    missing = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert _edge_token_findings(write, missing, kes_version=version) == []
    assert _edge_token_findings(write, missing, kes_version=version, require_files=True) == []
    assert _edge_token_findings(write, "./tokens", kes_version=version) == []  # left alone, as before



def _vault_kv(lines: str) -> str:
    return BASE + "keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n" + lines + \
        "    approle: {id: '${APPROLE_ID}', secret: '${APPROLE_SECRET}'}\n"


@pytest.mark.parametrize("lines,expected", [
    ("    engine: kv-v2\n", [(9, 13, "`kv-v2`, a K/V v2 mount by its name")]),
    ("    engine: kv-v2\n    version: v1\n", [(9, 13, "`version` is `v1`, so KES speaks the K/V v1 API")]),
    ("    engine: team/kv_v2-prod\n", [(9, 13, "`team/kv_v2-prod`, a K/V v2 mount")]),
    ("    engine: /secret/\n", [(9, 13, "where a Vault dev server mounts K/V v2")]),
    ("    engine: kv/data\n", [(9, 13, "the mount looks like `kv`, K/V v2; `version` is not set")]),
    ("    prefix: data/kes\n", [(9, 13, "`keystore.vault.prefix` starts with `data/`")]),
    ("    engine: kv-v2\n    version: v2\n", []),
    ("    engine: secret\n    version: v1\n", []),  # written down: the mount is v1
    ("    engine: kv/data\n    version: v1\n", []),
    ("    prefix: data/kes\n    version: v1\n", []),
    ("    engine: kv2\n", []),  # may as well be the second kv mount
    ("    engine: data\n", []),  # a mount called data, not the v2 API segment after a mount
    ("    engine: kv\n", []),  # KES's default mount, v1 or v2 alike
    ("", []),
    ("    engine: kv-v2\n    version: V2\n", []),  # KES012's: KES refuses the value
])
def test_vault_kv_version_warns_where_the_engine_path_points_at_v2(write, lines, expected):
    found = [(line, column, message) for code, line, column, message in run(write, _vault_kv(lines)) if code == "KES219"]
    assert [(line, column) for line, column, _ in found] == [(line, column) for line, column, _ in expected]
    for (_, _, message), (_, _, wanted) in zip(found, expected):
        assert wanted in message and "invalid K/V v1 format" in message


def test_vault_kv_version_follows_kes_env_for_engine_and_version(write):
    engine = _vault_kv("    engine: ${KV_ENGINE}\n")
    assert [c for c, *_ in run(write, engine) if c == "KES219"] == []  # unknown without --kes-env
    assert [c for c, *_ in run(write, engine, kes_env={"KV_ENGINE": "kv-v2"}) if c == "KES219"] == ["KES219"]
    version = _vault_kv("    engine: kv-v2\n    version: ${KV_VERSION}\n")
    assert [c for c, *_ in run(write, version) if c == "KES219"] == []
    assert [c for c, *_ in run(write, version, kes_env={"KV_VERSION": "v2"}) if c == "KES219"] == []
    assert [c for c, *_ in run(write, version, kes_env={"KV_VERSION": "v1"}) if c == "KES219"] == ["KES219"]


GLOB_POLICY = f"policy:\n  minio:\n    allow: [/v1/key/*/minio-*]\n    identities: [{ID_A}]\n"
API = "api:\n  /v1/status:\n    timeout: 15s\n"
ENTRUST = ("keystore:\n  entrust:\n    keycontrol:\n      endpoint: https://keycontrol.example.net\n      vault_id: v1\n"
           "      box_id: box\n      credentials: {username: kes, password: '${KEYCONTROL_PASSWORD}'}\n")


def generation(write, text, version):
    from kescheck.load.kesconfig import load_kes_config
    from kescheck.load.source import read_source

    path = write("kes.yaml", text)
    return load_kes_config(read_source(path), version).generation.name


def test_api_in_a_glob_era_release_keeps_glob_matching(write):
    """`api` arrived in KES 2023-04-03, before prefix matching (2023-10-24): a named release of that stretch
    keeps the glob generation, so a glob valid there is no POL003 error."""
    text = BASE + GLOB_POLICY + API + FS
    assert generation(write, text, "2023-05-01T00-00-00Z") == "G1"
    found = run(write, text, kes_version="2023-05-01T00-00-00Z")
    assert not {"POL003", "KES220", "KES010"} & set(codes(found)), found
    assert "POL003" in codes(run(write, text, kes_version="2023-11-09T17-35-47Z"))


def test_api_without_a_version_still_means_current_kes(write):
    text = BASE + GLOB_POLICY + API + FS
    assert generation(write, text, None) == "G2"
    assert ("POL003", 8) in [(c, line) for c, line, *_ in run(write, text)]


def test_api_before_its_release_is_a_key_kes_ignores(write):
    text = BASE + GLOB_POLICY + API + FS
    assert generation(write, text, "0.22") == "G1"
    found = run(write, text, kes_version="0.22")
    assert "POL003" not in codes(found)
    ignored = [(line, column, message) for code, line, column, message in found if code == "KES220"]
    assert len(ignored) == 1 and ignored[0][:2] == (10, 1), found
    assert "`api` is not a key KES 0.22 knows" in ignored[0][2] and "2023-04-03" in ignored[0][2]


def test_entrust_keystore_follows_the_named_release(write):
    text = BASE + GLOB_POLICY + ENTRUST
    assert generation(write, text, "2023-08-01") == "G1"
    assert not {"POL003", "KES220", "KES010", "KES222"} & set(codes(run(write, text, kes_version="2023-08-01")))
    before = run(write, text, kes_version="2023-05-01")
    assert [(line, "2023-07-26" in message) for code, line, _, message in before if code == "KES220"] == [(12, True)]
    refused = [message for code, _, _, message in before if code == "KES222"]
    assert len(refused) == 1 and "refuses to start" in refused[0] and "POL003" not in codes(before)
    in_memory = [message for code, _, _, message in run(write, text, kes_version="0.22") if code == "KES222"]
    assert len(in_memory) == 1 and "in memory" in in_memory[0]


def test_a_g2_only_key_still_decides_against_a_glob_era_release(write):
    text = BASE.replace("  cert: /etc/kes/kes.crt\n", "  cert: /etc/kes/kes.crt\n  auth: \"off\"\n") + GLOB_POLICY + FS
    assert generation(write, text, "2023-05-01") == "G2"


@pytest.mark.parametrize("version, introduced, older", [
    ("0.22", "2023-04-03", True), ("v0.22.3", "2023-02-15", True), ("2023-05-01T00-00-00Z", "2023-04-03", False),
    ("2023-04-03", "2023-04-03", False), ("2023-03-01", "2023-04-03", True), ("0.23.0", "2023-07-26", False),
    ("0.21.1", (0, 22, 0), True), ("0.22", (0, 22, 0), False), ("2023-02-15", (0, 22, 0), False), (None, "2023-04-03", False),
])
def test_release_order_across_semver_and_date_names(version, introduced, older):
    from kescheck.load.kesconfig import predates

    assert predates(version, introduced) is older


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


@pytest.mark.parametrize("text, zero", [("0", True), ("-0", True), ("+0s", True), ("0h0m", True), (" 0.0s ", True),
                                         ("1ns", False), ("1.5h", False), (".5m", False), ("0", True),
                                         ("\u0663s", None), ("5", None), ("5d", None), ("", None), ("s", None)])
def test_duration_zero_follows_go_syntax(text, zero):
    """Go's ParseDuration takes ASCII digits only: an Arabic-Indic `٣s` is no duration, though Python's `\\d` matches it."""
    from kescheck.rules.kes_risks import _duration_is_zero

    assert _duration_is_zero(text) is zero


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


def test_an_admin_that_is_no_identity_says_the_admin_is_off(write):
    text = "admin:\n  identity: disable\ntls:\n  key: /k\n  cert: /c\n" + FS
    [message] = [m for c, _, _, m in run(write, text) if c == "KES200"]
    assert "KES runs without an admin" in message and "write `disabled`" in message
    assert not [c for c, *_ in run(write, text.replace("disable\n", "disabled\n")) if c == "KES200"]


TWO_KEYSTORES = BASE + ("keystore:\n  vault:\n    endpoint: https://vault.example.net:8200\n"
                        "    approle: {id: kes, secret: '${S}'}\n  fs:\n    path: ${FS_PATH}\n")


@pytest.mark.parametrize("version, words", [
    ("0.17.1", "KES 0.17.1 refuses to start (`ambiguous configuration"),
    ("0.21.0", "KES 0.21.0 refuses to start (`yml: ambiguous KMS configuration"),
    ("0.22", "KES 0.22 silently uses `keystore.fs`"),
    ("2023-02-15T14-54-37Z", "silently uses `keystore.fs` (the first in its fixed order fs, generic, vault"),
    ("2023-05-01T00-00-00Z", "refuses to start (`edge: invalid keystore config: more than once keystore specified`)"),
    (None, "KES refuses to start (`more than once keystore specified`)"),
])
def test_two_keystores_as_each_release_treats_them(write, version, words):
    [(line, message)] = [(line, m) for c, line, _, m in run(write, TWO_KEYSTORES, kes_version=version) if c == "KES105"]
    assert line == 7 and "`keystore.vault` is a second keystore besides `keystore.fs`" in message
    assert words in message, message


def test_a_keystore_whose_key_field_is_empty_is_none_to_kes_up_to_2023_02_15(write):
    """KES <= 2023-02-15 counts a backend by its key field: `${FS_PATH}` empty leaves Vault alone, no conflict;
    from 2023-04-03 every mapping counts."""
    assert "KES105" not in codes(run(write, TWO_KEYSTORES, kes_version="0.22", kes_env={"FS_PATH": "", "S": "x"}))
    assert "KES105" in codes(run(write, TWO_KEYSTORES, kes_version="0.22", kes_env={"FS_PATH": "/var/kes", "S": "x"}))
    # KES 0.21 substitutes an unset variable as empty: the same as FS_PATH=""
    assert "KES105" not in codes(run(write, TWO_KEYSTORES, kes_version="0.21.0", kes_env={"S": "x"}))


def test_two_keystores_in_a_root_era_file(write):
    text = "root: disabled\ntls: {key: /k, cert: /c}\nkeystore:\n  fs: {path: /var/kes}\n  generic: {endpoint: 'https://p:7373'}\n"
    [message] = [m for c, _, _, m in run(write, text) if c == "KES105"]
    assert "KES of generation G0 (KES <= 0.17.1) refuses to start" in message


VAULT_FROM_ENV = ("admin:\n  identity: ${KES_ADMIN}\ntls:\n  key: /k\n  cert: /c\nkeystore:\n  vault:\n"
                  "    endpoint: ${VAULT_ADDR}\n    approle: {id: kes, secret: '${VAULT_SECRET}'}\n")


@pytest.mark.parametrize("version, env, expected", [
    # KES <= 0.21 substitutes an unset variable as empty: no refusal, an admin-less config and an in-memory store
    ("0.21.0", {"VAULT_SECRET": "s"}, [("KES108", 2), ("KES222", 8)]),
    ("0.21.0", {"VAULT_SECRET": "s", "KES_ADMIN": "disabled", "VAULT_ADDR": ""}, [("KES222", 8)]),
    # KES 0.22.0 to 2023-02-15 refuse an unset variable, and run on memory with an empty one
    ("0.22", {"VAULT_SECRET": "s"}, [("KES100", 2), ("KES100", 8)]),
    ("2023-02-15T14-54-37Z", {"VAULT_SECRET": "s", "KES_ADMIN": "disabled", "VAULT_ADDR": " "}, [("KES222", 8)]),
    ("0.22", {"VAULT_SECRET": "s", "KES_ADMIN": "disabled", "VAULT_ADDR": "https://v:8200"}, []),
])
def test_keystore_key_field_after_env_resolution(write, version, env, expected):
    found = [(c, line) for c, line, *_ in run(write, VAULT_FROM_ENV, kes_version=version, kes_env=env)
             if c in ("KES100", "KES108", "KES222")]
    assert found == expected


def test_unset_variable_on_kes_0_21_is_named_as_such(write):
    found = {c: m for c, _, _, m in run(write, VAULT_FROM_ENV, kes_version="0.21.0", kes_env={"VAULT_SECRET": "s"})}
    assert "does not set, and KES 0.21.0 substitutes an empty value" in found["KES108"]
    assert "`keystore.vault.endpoint` is `${VAULT_ADDR}`" in found["KES222"] and "in memory only" in found["KES222"]
    refused = [m for c, _, _, m in run(write, VAULT_FROM_ENV, kes_version="0.22", kes_env={}) if c == "KES100"]
    assert any("(`keserv: env variable 'VAULT_ADDR' not found`)" in m for m in refused), refused


def test_a_keystore_without_its_key_field_is_no_keystore_up_to_2023_02_15(write):
    text = BASE + "keystore:\n  vault:\n    approle: {id: kes, secret: s}\n"
    [(line, message)] = [(line, m) for c, line, _, m in run(write, text, kes_version="0.22") if c == "KES222"]
    assert line == 7 and "`keystore.vault` has no `endpoint`" in message


GENERIC_AND_RETRY = BASE + ("keystore:\n  generic:\n    endpoint: 'https://plugin.example.net:7373'\n"
                            "  vault:\n    endpoint: https://v.example.net:8200\n"
                            "    approle: {id: kes, secret: '${S}', retry: 15s}\n")


def test_keys_removed_in_2023_04_03_are_ignored_by_the_glob_era_releases_after_it(write):
    found = [(line, m) for c, line, _, m in run(write, GENERIC_AND_RETRY, kes_version="2023-05-01T00-00-00Z")
             if c == "KES220"]
    assert [line for line, _ in found] == [7, 11]
    assert "KES 2023-05-01T00-00-00Z knows" in found[0][1] and "this release uses `keystore.vault`" in found[0][1]
    assert "`retry` settings were removed in KES 2023-04-03" in found[1][1]
    assert "KES220" not in codes(run(write, GENERIC_AND_RETRY, kes_version="2023-02-15T14-54-37Z"))


def test_a_generic_keystore_alone_is_refused_from_2023_04_03(write):
    text = BASE + "keystore:\n  generic:\n    endpoint: 'https://plugin.example.net:7373'\n"
    found = {c: m for c, _, _, m in run(write, text, kes_version="2023-05-01")}
    assert "edge: no keystore specified" in found["KES222"] and "with no other keystore" in found["KES220"]
    assert "KES222" not in codes(run(write, text, kes_version="0.22"))


TLS_AUTH = BASE + '  auth: "on"\n' + FS


def test_g2_key_with_a_glob_era_version_is_one_finding_at_the_key(write):
    """A G2-only key still decides the generation over --kes-version (reference §3), but the named release ignores
    it: KES220 says so at the key, with the generation kescheck used and why."""
    assert generation(write, TLS_AUTH, "0.22") == "G2"
    for version in ("0.22", "2023-05-01"):
        found = [(line, column, m) for c, line, column, m in run(write, TLS_AUTH, kes_version=version) if c == "KES220"]
        assert len(found) == 1 and found[0][:2] == (6, 3), found
        message = found[0][2]
        assert f"`tls.auth` is not a key KES {version} knows" in message and "KES 2023-11-09 introduced it" in message
        assert "kes server --auth" in message and "still checks the file as G2" in message and "G1" in message


def test_g2_key_on_a_release_that_knows_it_is_no_finding(write):
    for version in (None, "2023-11-09T17-35-47Z", "0.23.0", "0.24"):
        assert "KES220" not in codes(run(write, TLS_AUTH, kes_version=version)), version


@pytest.mark.parametrize("version", ["2023-10-24T20-26-51Z", "2023-10-27T22-05-35Z"])
def test_tls_auth_on_the_first_g2_releases_is_ignored(write, version):
    [message] = [m for c, _, _, m in run(write, TLS_AUTH, kes_version=version) if c == "KES220"]
    assert "KES 2023-11-09 introduced it" in message and "never verifies them" in message
    assert "still checks" not in message  # these releases are G2 themselves: no generation conflict


def test_vault_login_namespace_before_2024_01_11(write):
    text = BASE + "keystore:\n  vault:\n    endpoint: https://v:8200\n    approle:\n      namespace: ns\n" \
                  "      id: a\n      secret: ${S}\n"
    found = [(line, m) for c, line, _, m in run(write, text, kes_version="2023-11-09T17-35-47Z") if c == "KES220"]
    assert [line for line, _ in found] == [10] and "KES 2024-01-11 introduced it" in found[0][1]
    assert "KES220" not in codes(run(write, text, kes_version="2024-01-11T13-09-29Z"))


LOG_LEVEL = BASE + "log:\n  error: INFO\n  audit: ${AUDIT}\n" + FS


@pytest.mark.parametrize("version,refusal", [
    ("2023-10-24T20-26-51Z", "edge: invalid error log config 'INFO'"),
    ("2023-10-27T22-05-35Z", "edge: invalid error log config 'INFO'"),
    ("2023-05-01", "edge: invalid error log config 'INFO'"),
    ("0.22", '"INFO" is an invalid error log configuration'),
    ("0.21", "yml: invalid error log configuration: allowed values are { on | off }"),
])
def test_log_levels_before_2023_11_09_are_refused(write, version, refusal):
    found = [(line, m) for c, line, _, m in run(write, LOG_LEVEL, kes_version=version) if c == "KES012"]
    assert len(found) == 1 and found[0][0] == 7 and refusal in found[0][1], found
    assert "accepts only `on` or `off`" in found[0][1]
    env = [(line, m) for c, line, _, m in run(write, LOG_LEVEL, kes_version=version, kes_env={"AUDIT": "warn"})
           if c == "KES012"]
    assert [line for line, _ in env] == [7, 8] and "${AUDIT}" in env[1][1]
    assert [line for c, line, *_ in run(write, LOG_LEVEL, kes_version=version, kes_env={"AUDIT": "Off"})
            if c == "KES012"] == [7]


def test_log_levels_from_2023_11_09(write):
    for version in (None, "2023-11-09T17-35-47Z", "0.23.0"):
        assert "KES012" not in codes(run(write, LOG_LEVEL, kes_version=version, kes_env={"AUDIT": "WARN+1"}))
    text = BASE + "log:\n  error: INFO-2\n" + FS
    [message] = [m for c, _, _, m in run(write, text, kes_version="2023-11-09T17-35-47Z") if c == "KES012"]
    assert "invalid log level" in message
    [message] = [m for c, _, _, m in run(write, text, kes_version="2023-10-24T20-26-51Z") if c == "KES012"]
    assert "edge: invalid error log config 'INFO-2'" in message  # one finding, in the release's words


AZURE = BASE + "keystore:\n  azure:\n    keyvault:\n      endpoint: https://kv.vault.azure.net\n"


@pytest.mark.parametrize("version,refusal", [
    ("2023-11-09T17-35-47Z", "kesconf: invalid Azure keyvault keystore: no authentication method specified"),
    ("0.23.0", "kesconf: invalid Azure keyvault keystore: no authentication method specified"),
    ("2024-05-03", "kesconf: invalid Azure keyvault keystore: no authentication method specified"),
    ("2023-10-24T20-26-51Z", "edge: invalid Azure keyvault keystore: no authentication method specified"),
    ("2023-05-01", "edge: invalid Azure keyvault keystore: no authentication method specified"),
    ("0.21", "failed to connect to Azure KeyVault: no client credentials or managed identity"),
])
def test_azure_without_login_is_refused_up_to_2024_05_03(write, version, refusal):
    found = [(line, m) for c, line, _, m in run(write, AZURE, kes_version=version) if c == "KES106"]
    assert len(found) == 1 and found[0][0] == 8 and refusal in found[0][1], found


@pytest.mark.parametrize("version", [None, "2024-06-17T15-47-05Z", "0.24", "0.22"])
def test_azure_without_login_elsewhere_is_no_refusal(write, version):
    assert "KES106" not in codes(run(write, AZURE, kes_version=version))


def test_azure_with_a_login_is_no_refusal(write):
    managed = AZURE + "      managed_identity:\n        client_id: ${AZ_ID}\n"
    for version in ("2024-04-12", "0.21"):
        assert "KES106" not in codes(run(write, managed, kes_version=version))
    # KES <= 0.21 looks at the values: a managed identity whose ID the environment leaves empty is none
    assert "KES106" in codes(run(write, managed, kes_version="0.21", kes_env={"AZ_ID": ""}))
    assert "KES106" not in codes(run(write, managed, kes_version="2024-04-12", kes_env={"AZ_ID": ""}))


VAULT_EMPTY = BASE + "keystore:\n  vault:\n    endpoint: \"\"\n    approle:\n      id: ${ID}\n      secret: s3\n"


@pytest.mark.parametrize("version", ["2023-04-03T16-41-28Z", "2023-05-01", "2023-09-28T19-40-28Z"])
def test_empty_keystore_field_on_the_edge_releases_of_generation_g1(write, version):
    """KES 2023-04-03 to 2023-09-28 (package `edge`) check keystores as current KES does (C2): an empty vault
    endpoint, literal or from an empty `${VAR}`, is refused although the G1 schema lets it pass."""
    assert generation(write, VAULT_EMPTY, version) == "G1"
    found = [(c, line, m) for c, line, _, m in run(write, VAULT_EMPTY, kes_version=version, kes_env={"ID": ""})
             if c in ("KES012", "KES013", "KES108", "KES221", "KES222")]
    assert [(c, line) for c, line, _ in found] == [("KES012", 8), ("KES108", 10)], found
    assert "`edge: invalid vault keystore: no endpoint specified`" in found[0][2]
    assert f"KES {version} refuses to start" in found[0][2]
    assert "`edge: invalid vault keystore: invalid approle config: no approle ID specified`" in found[1][2]


def test_empty_keystore_field_before_the_edge_releases_is_kes222s(write):
    found = codes(run(write, VAULT_EMPTY, kes_version="0.22", kes_env={"ID": "x"}))
    assert "KES222" in found and not {"KES012", "KES013", "KES108"} & set(found)


def test_edge_g1_releases_refuse_vault_without_login_and_ignore_keys_they_do_not_know(write):
    text = BASE + "keystore:\n  vault:\n    endpoint: https://v:8200\n"
    [message] = [m for c, _, _, m in run(write, text, kes_version="2023-05-01") if c == "KES106"]
    assert "`edge: invalid vault keystore: no authentication method specified`" in message
    assert "KES106" not in codes(run(write, text, kes_version="0.22"))
    entrust = BASE + "keystore:\n  entrust:\n    keycontrol:\n      endpoint: \"\"\n"
    assert not {"KES012", "KES013"} & set(codes(run(write, entrust, kes_version="2023-05-01")))  # before 2023-07-26
    assert "KES012" in codes(run(write, entrust, kes_version="2023-08-01"))


ADMIN_FROM_ENV = "admin:\n  identity: ${KES_ADMIN}\ntls:\n  key: /k\n  cert: /c\n" + FS


@pytest.mark.parametrize("version", ["0.21", "0.17.6"])
def test_env_note_says_kes_up_to_0_21_substitutes_an_empty_value(write, version):
    [message] = [m for c, _, _, m in run(write, ADMIN_FROM_ENV, kes_version=version) if c == "KES213"]
    assert f"KES {version} does not refuse to start without it, but silently substitutes an empty value" in message


@pytest.mark.parametrize("version", [None, "0.22", "2023-05-01", "0.24"])
def test_env_note_on_releases_that_refuse_an_unset_variable(write, version):
    [message] = [m for c, _, _, m in run(write, ADMIN_FROM_ENV, kes_version=version) if c == "KES213"]
    assert "silently" not in message


@pytest.mark.parametrize("policy_name", ["minio", "minio.tenant-a"])
def test_an_empty_policy_identity_is_named_as_such_whatever_dots_the_policy_name_holds(write, policy_name):
    text = BASE + FS + f"policy:\n  {policy_name}:\n    allow: ['/v1/key/generate/*']\n    identities: ['${{MINIO_ID}}']\n"
    [(line, message)] = [(line, m) for c, line, _, m in run(write, text, kes_env={"MINIO_ID": ""}) if c == "KES108"]
    assert line == 12 and f"`policy.{policy_name}.identities[0]`" in message
    assert "an empty policy identity is refused" in message
    assert not [c for c, *_ in run(write, text, kes_env={"MINIO_ID": ""}) if c == "KES206"]


@pytest.mark.parametrize("version", ["2023-13-45", "2023-02-30", "RELEASE.2023-00-10", "\u096f.\u0968\u0968", "0.x"])
def test_a_kes_version_that_names_no_release_is_a_usage_error(cli, tmp_path, version):
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    run = cli("lint", str(tmp_path / "kes.yaml"), "--kes-version", version)
    assert run.status == 2 and "unrecognised KES version" in run.stderr


@pytest.mark.parametrize("version", ["0.22", "v0.23.0", "2024-02-29T00-00-00Z", "RELEASE.2023-11-09T17-35-47Z"])
def test_kes_versions_that_name_a_release(cli, tmp_path, version):
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    assert cli("lint", str(tmp_path / "kes.yaml"), "--kes-version", version).status in (0, 1)


@pytest.mark.parametrize("keystore, refused", [("fs: {path: /var/lib/kes/keys}", True),
                                               ("vault: {endpoint: 'https://v:8200', approle: {id: a, secret: b}}", False)])
def test_a_listed_key_the_fs_keystore_cannot_create_stops_kes(write, keystore, refused):
    """KES up to 2023-09-28 accepts any key name, but creates the keys under `keys:` at start; the fs keystore has
    always refused `/`, `\\` and `.` in a name, so KES exits."""
    path = write("kes-config.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                                    f"keys:\n  - name: minio.default\n  - name: minio-ok\nkeystore:\n  {keystore}\n")
    found = [f for f in lint([path], Options(kes_version="0.22")).findings if f.code == "KES012"]
    assert [(f.location.line, "fs: key name contains invalid character" in f.message) for f in found] == \
        ([(4, True)] if refused else [])
