"""Policy rules on real KES configs and MinIO env files with identities generated at test time."""
from __future__ import annotations

import textwrap

import pytest

from certgen import issue, new_api_key
from kescheck.engine import lint
from kescheck.findings import Severity
from kescheck.identity import identity_of_api_key, identity_of_certificate
from kescheck.model import Options
from kescheck.rules import all_rules

DOCUMENTED = """\
      - /v1/key/create/minio-*
      - /v1/key/generate/minio-*
      - /v1/key/decrypt/minio-*
      - /v1/key/list/*
      - /v1/status
      - /v1/metrics
      - /v1/api
"""


def pol(result, code=None):
    return [f for f in result.findings if f.code.startswith("POL") and (code is None or f.code == code)]


@pytest.fixture
def deployment(tmp_path):
    """Write a KES config whose policy `minio` lists MinIO's API-key identity, and MinIO's env file."""

    def make(allow: str, *, deny: str = "", key: str = "minio-default-key", head: str = "version: v1\n",
             keys: str = "", admin: str = "disabled", api_key: str | None = None, identities: str | None = None):
        api_key = api_key or new_api_key()
        identity = identity_of_api_key(api_key)
        admin = identity if admin == "minio" else admin
        text = head + textwrap.dedent(f"""\
            address: 0.0.0.0:7373
            admin:
              identity: {admin}
            tls:
              key: /etc/kes/kes.key
              cert: /etc/kes/kes.crt
            policy:
              minio:
                allow:
            """) + allow + (f"    deny:\n{deny}" if deny else "") + "    identities:\n" + (
            identities if identities is not None else f"      - {identity}\n") + keys + textwrap.dedent("""\
            keystore:
              fs:
                path: /var/lib/kes
            """)
        kes = tmp_path / "kes-config.yaml"
        kes.write_text(text)
        env = tmp_path / "minio.env"
        env.write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_API_KEY={api_key}\n"
                       f"MINIO_KMS_KES_KEY_NAME={key}\nMINIO_ROOT_USER_FILE=minio-root-user\n"
                       "MINIO_ROOT_PASSWORD_FILE=minio-root-password\n")
        return kes, env

    return make


def line_of(path, text):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_mid_path_star_in_a_version_v1_config_is_an_error_at_its_line(deployment):
    kes, env = deployment(DOCUMENTED + "      - /v1/key/*/minio-*\n")
    found = [f for f in pol(lint([kes, env])) if f.code == "POL003"]
    assert len(found) == 1
    assert found[0].severity is Severity.ERROR
    assert found[0].location.line == line_of(kes, "/v1/key/*/minio-*")
    assert found[0].location.column == 9
    assert "/v1/key/generate/minio-*" in found[0].fix  # the G2 equivalent is spelled out


def mid_star_message(deployment, pattern):
    kes, env = deployment(DOCUMENTED + f"      - {pattern}\n")
    [found] = pol(lint([kes, env]), "POL003")
    return found


def test_mid_star_message_names_every_api_the_glob_matched_including_removed_ones(deployment):
    found = mid_star_message(deployment, "/v1/policy/*/*")
    current, _, removed = found.message.partition("APIs current KES no longer has")
    assert all(f"`/v1/policy/{op}/*`" in current for op in ("describe", "read", "list"))
    assert all(f"`/v1/policy/{op}/*`" in removed for op in ("write", "show", "delete"))
    assert "2023-10-24" in removed
    # The fix lists only what current KES can still match.
    assert "`/v1/policy/read/*`" in found.fix and "write" not in found.fix and "show" not in found.fix

    found = mid_star_message(deployment, "/v1/identity/*/*")
    assert "`/v1/identity/forget/*`" in found.message and "`/v1/identity/delete/*`" in found.message
    assert "`/v1/identity/list/*`" in found.fix and "forget" not in found.fix


def test_mid_star_glob_that_only_matched_removed_apis_says_so(deployment):
    found = mid_star_message(deployment, "/v1/identity/*/*/*")  # /v1/identity/assign/POLICY/IDENTITY
    assert "matched no API path" not in found.message
    assert "it matched only APIs current KES no longer has: `/v1/identity/assign/*`" in found.message
    assert found.fix.startswith("Remove the pattern")


def test_same_glob_is_fine_for_kes_0_22(deployment):
    kes, env = deployment(DOCUMENTED + "      - /v1/key/*/minio-*\n")
    codes = {f.code for f in pol(lint([kes, env], Options(kes_version="0.22")))}
    assert "POL003" not in codes
    assert "POL023" in codes  # under glob it grants delete and import on minio-* keys


def test_documented_minio_policy_gives_only_the_describe_note(deployment):
    """The policy MinIO's docs show predates MinIO's describe polling (RELEASE.2024-04-18): POL026 notes that alone."""
    kes, env = deployment(DOCUMENTED)
    assert [f.code for f in pol(lint([kes, env]))] == ["POL026"]
    kes, env = deployment(DOCUMENTED + "      - /v1/key/describe/minio-*\n")
    assert pol(lint([kes, env])) == []


def test_slash_v1_is_a_warning_not_an_error(deployment):
    kes, env = deployment("      - /v1/*\n")
    found = pol(lint([kes, env]))
    assert found and all(f.severity is Severity.WARNING for f in found)
    [broad] = [f for f in found if f.code == "POL023"]
    assert "blanket" in broad.message and "key deletion" in broad.message and "policy API" in broad.message
    assert "/v1/key/generate/minio-default-key" in broad.fix  # the minimal policy for that key name


@pytest.mark.parametrize("blanket", ["/*", "/v1/key/*"])
def test_blanket_patterns_under_prefix_matching_warn(deployment, blanket):
    kes, env = deployment(f"      - {blanket}\n      - /v1/status\n")
    found = pol(lint([kes, env]), "POL023")
    assert len(found) == 1 and found[0].location.line == line_of(kes, f"- {blanket}")


def test_prefix_that_misses_the_key_names_key_and_operation(deployment):
    kes, env = deployment(DOCUMENTED, key="sse-key")
    errors = [f for f in pol(lint([kes, env])) if f.severity is Severity.ERROR]
    assert {f.code for f in errors} == {"POL021"}
    messages = " ".join(f.message for f in errors)
    assert "`sse-key`" in messages and "`generate`" in messages and "`decrypt`" in messages
    assert any("/v1/key/generate/sse-key" in f.fix for f in errors)
    assert errors[0].related and errors[0].related[0].path.name == "minio.env"


def test_policy_lacking_generate_names_the_operation_and_pattern_to_add(deployment):
    kes, env = deployment("      - /v1/key/create/minio-*\n      - /v1/key/decrypt/minio-*\n      - /v1/status\n")
    errors = [f for f in pol(lint([kes, env])) if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == ["POL020"]
    assert "`generate`" in errors[0].message and "`minio-default-key`" in errors[0].message
    assert "/v1/key/generate/minio-*" in errors[0].fix


def test_deny_that_blocks_decrypt_is_named(deployment):
    kes, env = deployment(DOCUMENTED, deny="      - /v1/key/decrypt/*\n")
    [error] = pol(lint([kes, env]), "POL020")
    assert "deny pattern `/v1/key/decrypt/*`" in error.message and "`decrypt`" in error.message


def test_missing_create_is_a_note_unless_kes_creates_the_key(deployment):
    allow = "      - /v1/key/generate/minio-*\n      - /v1/key/decrypt/minio-*\n"
    kes, env = deployment(allow)
    [note] = pol(lint([kes, env]), "POL022")
    assert note.severity is Severity.NOTE and "minio-default-key" in note.message
    kes, env = deployment(allow, keys="keys:\n  - name: minio-default-key\n")
    assert pol(lint([kes, env]), "POL022") == []


def test_unneeded_apis_and_foreign_keys_warn(deployment):
    kes, env = deployment(DOCUMENTED + "      - /v1/key/delete/minio-*\n      - /v1/log/audit\n"
                                       "      - /v1/key/describe/*\n")
    found = pol(lint([kes, env]))
    broad = {f.location.line: f for f in found if f.code == "POL023"}
    assert set(broad) == {line_of(kes, "/v1/key/delete/minio-*"), line_of(kes, "/v1/log/audit")}
    [other] = [f for f in found if f.code == "POL024"]
    assert other.location.line == line_of(kes, "/v1/key/describe/*") and "`describe`" in other.message


def test_minio_docs_vault_snippet(deployment):
    kes, env = deployment("      - /v1/key/create/*\n      - /v1/key/generate/*\n      - /v1/key/decrypt/*\n"
                          "      - /v1/key/bulk/decrypt\n      - /v1/key/list/*\n      - /v1/status\n"
                          "      - /v1/metrics\n      - /v1/log/audit\n      - /v1/log/error\n")
    found = pol(lint([kes, env]))
    assert sorted(f.code for f in found) == ["POL006", "POL023", "POL023", "POL026"]
    assert not any(f.severity is Severity.ERROR for f in found)
    [optional_note] = [f for f in found if f.code == "POL026"]
    assert "`/v1/key/describe/minio-default-key`" in optional_note.message and "/v1/status" not in optional_note.message
    assert "`- /v1/key/describe/*`" in optional_note.fix  # mirrors how the policy names MinIO's keys


def test_minio_as_admin_is_one_finding_dep101_with_a_fix_for_that_case(deployment):
    """MinIO's API key is the admin: DEP101 says so once; POL025 (could not check) stays silent."""
    kes, env = deployment("      - /v1/status\n", admin="minio", identities="")
    result = lint([kes, env])
    about_minio = [f for f in result.findings if f.location.path.name == "minio.env"
                   or f.code.startswith(("POL02", "DEP10"))]
    assert [f.code for f in about_minio] == ["DEP101"]
    [admin] = about_minio
    assert admin.severity is Severity.WARNING
    assert "KES admin" in admin.message and "no MinIO policy to check" in admin.message
    assert (admin.location.path.name, admin.location.line, admin.location.column) == ("minio.env", 2, 1)
    rule = next(r for r in all_rules() if r.code == "DEP101")
    fix = admin.fix or rule.fix
    assert "separate admin identity" in fix and "readable" not in fix


def test_minio_as_admin_through_a_resolved_variable_is_dep101_only(deployment):
    api_key = new_api_key()
    # The policy names MinIO too (KES would refuse that: KES rules say so); the admin bypasses it anyway.
    kes, env = deployment("      - /v1/key/decrypt/minio-*\n", admin="${KES_ADMIN}", api_key=api_key)
    options = Options(kes_env={"KES_ADMIN": identity_of_api_key(api_key)})
    codes = [f.code for f in lint([kes, env], options).findings if f.code.startswith(("POL02", "DEP10"))]
    assert "DEP101" in codes and not [c for c in codes if c.startswith("POL02")]


def test_uncomputable_certificate_identity_is_said_once(tmp_path, deployment):
    kes, env = deployment("      - /v1/status\n")
    env.write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_CERT_FILE=missing.crt\n"
                   "MINIO_KMS_KES_KEY_FILE=missing.key\nMINIO_KMS_KES_KEY_NAME=minio-default-key\n")
    found = [f for f in pol(lint([kes, env])) if f.code.startswith("POL02")]
    assert [f.code for f in found] == ["POL025"] and found[0].location.path.name == "minio.env"
    assert "(the certificate it names is not here)" in found[0].message
    (tmp_path / "missing.crt").write_text("not a certificate\n")
    [found] = [f for f in pol(lint([kes, env])) if f.code == "POL025"]
    assert "(the certificate cannot be read or holds no usable client certificate)" in found.message


def test_certificate_identity_is_checked_too(tmp_path, deployment):
    cert = issue("minio", eku=("client",))
    cert_path, key_path = cert.write(tmp_path, "minio-client")
    identity = identity_of_certificate(cert.certificate)
    kes, env = deployment("      - /v1/key/decrypt/minio-*\n", identities=f"      - {identity}\n")
    env.write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_CERT_FILE={cert_path}\n"
                   f"MINIO_KMS_KES_KEY_FILE={key_path}\nMINIO_KMS_KES_KEY_NAME=minio-default-key\n")
    assert [f.code for f in pol(lint([kes, env])) if f.severity is Severity.ERROR] == ["POL020"]


def test_identity_given_as_variable_resolved_with_kes_env(deployment):
    api_key = new_api_key()
    kes, env = deployment("      - /v1/key/decrypt/minio-*\n", api_key=api_key, identities="      - ${MINIO_IDENTITY}\n")
    assert [f.code for f in pol(lint([kes, env]))] == ["POL025"]
    options = Options(kes_env={"MINIO_IDENTITY": identity_of_api_key(api_key)})
    assert "POL020" in {f.code for f in pol(lint([kes, env], options))}


def test_pattern_rules_in_a_glob_era_config(tmp_path):
    kes = tmp_path / "kes.yaml"
    kes.write_text(textwrap.dedent("""\
        root: disabled
        keystore:
          fs:
            path: /var/kes
        policy:
          app:
            allow:
              - /v1/key/*
              - /v1/key/generate/minio-[ab
              - /v1/key/hmac/*
            identities:
              - 9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b
        """))
    found = {f.code: f for f in pol(lint([kes]))}
    assert set(found) == {"POL002", "POL005", "POL006", "POL014"}
    assert "`/v1/key/*/*`" in found["POL002"].message  # `*` does not cross `/`
    assert "`/v1/key/*`" in found["POL014"].message  # dead now, every key API as a prefix on current KES
    assert "2024-02-29" in found["POL006"].message


def test_typo_suggests_the_real_path(tmp_path):
    kes = tmp_path / "kes.yaml"
    kes.write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /x}}\npolicy:\n  app:\n    allow:\n"
                   "      - /v1/key/generte/*\n      - /v1/stauts\n    identities: [x]\n")
    messages = [f.message for f in pol(lint([kes]), "POL002")]
    assert any("`/v1/key/generate/*`" in m for m in messages)
    assert any("`/v1/status`" in m for m in messages)


def test_example_deployment_fixture_has_no_policy_error():
    from conftest import FIXTURES

    result = lint([FIXTURES / "examples" / "g2"])
    assert not [f for f in pol(result) if f.severity >= Severity.WARNING]


def test_broken_matcher_release_only_for_those_dates(deployment):
    kes, env = deployment(DOCUMENTED)
    for version, fires in (("2023-10-24T20-26-51Z", True), ("RELEASE.2023-10-27T22-05-35Z", True),
                           ("2023-11-09T17-35-47Z", False), ("0.22", False)):
        found = pol(lint([kes, env], Options(kes_version=version)), "POL013")
        assert bool(found) is fires, version


def test_a_template_placeholder_in_identities_is_one_type_error_not_an_empty_policy(tmp_path):
    from kescheck.engine import lint

    kes = tmp_path / "kes-config.yaml"
    kes.write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"
                   "policy:\n  minio:\n    allow: [/v1/key/create/minio-*]\n    identities:\n"
                   "      - {{client_minio_identity}}\n")
    codes = {f.code for f in lint([kes]).findings}
    assert "KES011" in codes and "POL012" not in codes


def test_glob_patterns_that_change_meaning_on_upgrade(tmp_path):
    text = ("admin:\n  identity: disabled\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\npolicy:\n  m:\n"
            "    allow:\n      - /v1/key/*/minio-*\n      - /v1/*\n      - /v1/key/generate/minio-*\n"
            "    deny:\n      - /v1/key/delete/m?\n"
            "    identities: [9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b]\n")
    path = tmp_path / "kes.yaml"
    path.write_text(text)
    found = {f.location.line: f.message for f in pol(lint([path], Options(kes_version="0.22")), "POL014")}
    assert sorted(found) == [8, 9, 12]
    assert "matches nothing" in found[8] and "`/v1/key/generate/minio-*`" in found[8]
    assert "also matches" in found[9] and "`/v1/log/audit`" in found[9]
    assert "deny pattern" in found[12]
    assert not pol(lint([path]), "POL014")  # the target is current KES: POL003/POL004 speak instead


# POL026: the optional APIs MinIO calls

def optional(result):
    return [f for f in result.findings if f.code == "POL026"]


def test_missing_optional_apis_are_one_note_naming_each_route_what_breaks_and_the_patterns(deployment):
    kes, env = deployment("      - /v1/key/create/minio-*\n      - /v1/key/generate/minio-*\n"
                          "      - /v1/key/decrypt/minio-*\n")
    [found] = optional(lint([kes, env]))
    assert found.severity is Severity.NOTE
    assert (found.location.path.name, found.location.line) == ("kes-config.yaml", line_of(kes, "/v1/key/create/"))
    message = found.message
    assert "`/v1/key/list/*` (`mc admin kms key list`" in message
    assert "`/v1/status` (MinIO cannot report the KMS status" in message
    assert "`/v1/key/describe/minio-default-key` (MinIO RELEASE.2024-04-18" in message
    assert found.fix == ("Add `- /v1/key/list/*`, `- /v1/status`, `- /v1/key/describe/minio-*` under "
                         "`policy.minio.allow`.")
    assert [f.code for f in lint([kes, env]).findings if f.code in ("POL020", "POL021")] == []


def test_only_the_missing_optional_api_is_named(deployment):
    kes, env = deployment(DOCUMENTED)
    [found] = optional(lint([kes, env]))
    assert "/v1/key/describe/minio-default-key" in found.message
    assert "/v1/status" not in found.message and "/v1/key/list/*" not in found.message


def test_all_optional_apis_allowed_or_denied_on_purpose_is_silent(deployment):
    kes, env = deployment(DOCUMENTED + "      - /v1/key/describe/minio-*\n")
    assert optional(lint([kes, env])) == []
    kes, env = deployment(DOCUMENTED, deny="      - /v1/key/describe/*\n")
    assert optional(lint([kes, env])) == []


def test_exact_list_pattern_is_explained(deployment):
    kes, env = deployment("      - /v1/key/generate/minio-*\n      - /v1/key/decrypt/minio-*\n      - /v1/key/list\n"
                          "      - /v1/status\n      - /v1/key/describe/minio-*\n")
    [found] = optional(lint([kes, env]))
    assert "`/v1/key/list` without `/*` matches no list request" in found.message
    assert "`- /v1/key/list/*`" in found.fix


def test_optional_apis_under_glob_matching(deployment):
    kes, env = deployment("      - /v1/key/generate/minio-*\n      - /v1/key/decrypt/minio-*\n      - /v1/key/list/*\n"
                          "      - /v1/status\n      - /v1/key/describe/*\n", head="")
    assert optional(lint([kes, env], Options(kes_version="0.22"))) == []


def test_a_policy_merged_from_another_with_a_merge_key_keeps_its_allow_list(tmp_path):
    """`<<: *minio` gives the second site the first's patterns (KES's YAML decoder merges): no empty policy."""
    config = tmp_path / "kes-config.yaml"
    config.write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\npolicy:\n  minio-site1: &minio\n"
                      "    allow: [/v1/key/generate/minio-*, /v1/key/decrypt/minio-*]\n"
                      f"    identities: [{'0' * 64}]\n  minio-site2:\n    <<: *minio\n    identities: [{'1' * 64}]\n"
                      "keystore: {fs: {path: /var/lib/kes}}\n")
    codes = {f.code for f in lint([config]).findings}
    assert not codes & {"KES001", "POL011"}, codes


@pytest.mark.parametrize("version, noted", [("0.23", True), ("2024-01-11T13-09-29Z", True), ("2024-02-29T08-09-37Z", False),
                                            (None, False)])
def test_a_route_a_later_release_added_is_noted_for_an_earlier_one(tmp_path, version, noted):
    """`/v1/key/hmac/` exists from KES 2024-02-29: for a release before it the pattern names no API it has."""
    config = tmp_path / "kes-config.yaml"
    config.write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\npolicy:\n  minio:\n"
                      f"    allow: [/v1/key/hmac/minio-default-key]\n    identities: [{'0' * 64}]\n"
                      "keystore: {fs: {path: /var/lib/kes}}\n")
    found = [f for f in lint([config], Options(kes_version=version)).findings if f.code == "POL006"]
    assert bool(found) == noted
    if noted:
        assert f"KES {version}" in found[0].message and "exists from KES 2024-02-29" in found[0].message


def test_a_pattern_that_matches_no_name_kes_accepts_grants_nothing(deployment):
    """Under prefix matching `?` and `[` are literal, and KES accepts no key name holding them: such a pattern is dead
    (POL004), not a grant of deletion (POL023) or of other keys (POL024), nor a prefix MinIO's key could be renamed to
    match (POL021)."""
    kes, env = deployment(DOCUMENTED + "      - /v1/key/delete/minio-?\n      - /v1/key/encrypt/[a-z]*\n", head="")
    codes = [f.code for f in pol(lint([kes, env]))]
    assert "POL004" in codes and not {"POL023", "POL024"} & set(codes), codes
    kes, env = deployment("      - /v1/key/generate/minio-?\n      - /v1/key/decrypt/minio-[a-z]*\n", head="")
    codes = [f.code for f in pol(lint([kes, env]))]
    assert codes.count("POL020") == 2 and "POL021" not in codes, codes


@pytest.mark.parametrize("pattern, change", [
    ("/v1/key/*", "matches no API here, but on current KES"),  # one segment under glob, every key API as a prefix
    ("/v1/key/generate/minio\\\\-*", "is a plain character there"),  # a glob escape, a literal backslash later
])
def test_glob_patterns_whose_meaning_an_upgrade_changes_are_noted(tmp_path, pattern, change):
    config = tmp_path / "kes-config.yaml"
    config.write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\npolicy:\n  minio:\n"
                      f"    allow: ['{pattern}']\n    identities: [{'0' * 64}]\n"
                      "keystore: {fs: {path: /var/lib/kes}}\n")
    found = [f for f in lint([config], Options(kes_version="0.22")).findings if f.code == "POL014"]
    assert len(found) == 1 and change in found[0].message, [f.message for f in found]
