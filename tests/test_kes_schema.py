"""The KES config schemas: up to date, valid draft 2020-12, documented, and mapped back to YAML positions."""
from __future__ import annotations

import importlib.util
import json

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO
from kescheck.engine import lint
from kescheck.model import Options
from kescheck.schema import SCHEMA_FILES, load_schema, validator

GENERATIONS = sorted(SCHEMA_FILES)


def _builder():
    spec = importlib.util.spec_from_file_location("build_schemas", REPO / "tools" / "build_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("generation", GENERATIONS)
def test_committed_schema_is_what_the_builder_writes(generation):
    committed = (REPO / "schemas" / SCHEMA_FILES[generation]).read_text("utf-8")
    assert committed == _builder().render(int(generation[1])), "run: python tools/build_schemas.py"


@pytest.mark.parametrize("generation", GENERATIONS)
def test_schema_is_valid_and_documents_every_property(generation):
    schema = load_schema(generation)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] and schema["title"] and schema["description"]
    undocumented = []

    def visit(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    undocumented.append(f"{path}.{name}")
            for key, sub in node.items():
                visit(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for item in node:
                visit(item, path)

    visit(schema, "")
    assert not undocumented


def test_validator_is_built_once():
    assert validator("G2") is validator("g2".upper())


def test_schema_command_prints_the_schema_for_editors(cli):
    run = cli("schema", "--generation", "G1")
    assert run.status == 0
    assert json.loads(run.stdout)["$id"] == "urn:kescheck:schema:kes-config-g1"


def findings(path, **options):
    return [(f.code, f.location.line, f.location.column, f.message) for f in lint([path], Options(**options)).findings]


def test_misspelt_key_deep_in_the_tree_is_reported_at_its_own_line_with_a_suggestion(write):
    path = write("kes.yaml", """
        admin:
          identity: disabled
        tls:
          key: /etc/kes/kes.key
          cert: /etc/kes/kes.crt
        keystore:
          vault:
            endpoint: https://vault.example.net:8200
            approle:
              id: ${ROLE_ID}
              secert: ${SECRET_ID}
        """)
    found = [f for f in findings(path) if f[0] == "KES010"]
    assert [(line, column) for _, line, column, _ in found] == [(11, 7)]
    assert "did you mean `secret`?" in found[0][3]
    # the approle now lacks its secret: KES refuses, and the missing key is reported once, at `approle`
    missing = [f for f in findings(path) if f[0] == "KES013"]
    assert [(line, "secret" in message) for _, line, _, message in missing] == [(9, True)]


def test_top_level_typo_and_keystore_typo(write):
    path = write("kes.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\npolicies: {}\nkeystore:\n  vualt: {}\n")
    found = {(code, line): message for code, line, _, message in findings(path)}
    assert "did you mean `policy`?" in found[("KES010", 3)]
    assert "did you mean `vault`?" in found[("KES010", 5)]
    assert ("KES105", 4) in found  # and with the typo there is no keystore at all


@pytest.mark.parametrize("value,ok", [("5m0s", True), ("1.5h", True), ("300ms", True), ("0", True), ("${TTL}", True),
                                      ("7d", False), ("300", False), ("-1m", False), ("5 m", False)])
def test_cache_durations(write, value, ok):
    # quoted: a quoted "300" is text without a unit, which Go's duration parser refuses too
    path = write("kes.yaml", f"admin: {{identity: disabled}}\ntls: {{key: /k, cert: /c}}\ncache:\n  expiry:\n"
                             f"    any: '{value}'\n    unused: 30s\nkeystore: {{fs: {{path: /x}}}}\n")
    errors = [f for f in findings(path) if f[0] in ("KES011", "KES012")]
    assert (not errors) == ok, errors


def test_bare_integer_duration_is_a_type_error(write):
    path = write("kes.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\ncache:\n  expiry:\n    any: 300\n"
                             "    unused: 30s\nkeystore: {fs: {path: /x}}\n")
    assert [(c, line, col) for c, line, col, _ in findings(path) if c.startswith("KES01")] == [("KES011", 5, 10)]


@pytest.mark.parametrize("value,ok", [("on", True), ("OFF", True), ('""', True), ("On", True), ("yes", False),
                                      ("true", False), ("verify", False), ("${KES_AUTH}", True)])
def test_tls_auth_values(write, value, ok):
    path = write("kes.yaml", f"admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\n  auth: {value}\n"
                             "keystore:\n  fs:\n    path: /x\n")
    errors = [(c, line) for c, line, _, _ in findings(path) if c in ("KES011", "KES012")]
    assert errors == ([] if ok else [(errors[0][0], 6)])
    if not ok:
        assert len(errors) == 1  # reported once, by one rule


@pytest.mark.parametrize("value,ok", [("INFO", True), ("info+2", True), ("INFO+-2", True), ("-4", True), ("on", True),
                                      ("INFO +2", True), ("+8", True), ("12", True),
                                      ("INFO-2", False), ("true", False), ("LOUD", False), ("INFO+ 2", False),
                                      ("0x10", False), ("1_000", False), ("1e3", False), ("0o17", False),
                                      ('"0x10"', False)])
def test_log_levels(write, value, ok):
    path = write("kes.yaml", f"admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\nlog:\n  error: {value}\n"
                             "keystore:\n  fs:\n    path: /x\n")
    assert (not [f for f in findings(path) if f[0] in ("KES011", "KES012")]) == ok


def test_g1_log_accepts_only_on_off(write):
    path = write("kes.yaml", "admin:\n  identity: disabled\ntls:\n  key: /k\n  cert: /c\nlog:\n  error: INFO\n"
                             "keystore:\n  fs:\n    path: /x\n")
    assert [c for c, *_ in findings(path, kes_version="0.22") if c == "KES012"] == ["KES012"]
    assert [c for c, *_ in findings(path) if c == "KES012"] == []


def test_env_reference_passes_every_scalar_type(write):
    path = write("kes.yaml", """
        version: v1
        address: ${KES_ADDRESS}
        admin:
          identity: ${KES_ADMIN}
        tls:
          key: ${KEY}
          cert: ${CERT}
          auth: ${AUTH}
        cache:
          expiry:
            any: ${ANY}
            unused: ${UNUSED}
        api:
          /v1/metrics:
            skip_auth: ${SKIP}
            timeout: ${TIMEOUT}
        log:
          error: ${LEVEL}
        policy:
          minio:
            allow: [/v1/status]
            identities: ["${MINIO_ID}"]
        keystore:
          vault:
            endpoint: ${VAULT}
            version: ${KV}
            approle: {id: "${ID}", secret: "${SECRET}"}
        """)
    assert [f for f in findings(path) if f[0].startswith(("KES01", "KES1"))] == []


@pytest.mark.parametrize("text, code, what", [
    ("x\n", "KES011", "a single value"),
    ("hvs.CAESIJkescheckTokenNeverShown\n", "KES011", "a single value"),
    ("[]\n", "KES011", "a list"),
    ("- admin: {identity: disabled}\n- keystore: {fs: {path: /var/kes}}\n", "KES011", "a list"),
    ("~\n", "KES013", None),  # decoded as no settings at all, like `{}`
    ("%YAML 1.2\n---\nnull\n", "KES013", None),
])
def test_a_file_whose_top_level_is_no_mapping_is_refused(tmp_path, cli, text, code, what):
    path = tmp_path / "kes-config.yaml"
    path.write_text(text)
    result = lint([path])
    found = [f for f in result.findings if f.code == code]
    assert found and all(f.severity.label == "error" for f in found)
    if what:
        assert found[0].message == (f"the file holds {what} at its top level, but KES expects a mapping of settings "
                                    "(`admin:`, `tls:`, `keystore:`, ...); KES refuses to start: it cannot decode the "
                                    "file into its settings")
        assert (found[0].location.line, found[0].location.column) == (1, 1)
    run = cli("lint", str(path), "--format", "plain")
    assert run.status == 1 and "CAESIJ" not in run.stdout


@pytest.mark.parametrize("version", [None, "0.22", "2023-04-03"])
def test_a_policy_section_with_every_policy_commented_out_is_no_refusal(write, version):
    """KES reads `policy:` with nothing under it as no policy at all, and starts."""
    path = write("kes-config.yaml", """
        address: 0.0.0.0:7373
        admin:
          identity: disabled
        tls: {key: /k, cert: /c}
        policy:
        #  minio:
        #    allow: [/v1/key/generate/minio-*]
        keystore:
          fs: {path: /var/lib/kes}
        """)
    codes = {f.code for f in lint([path], Options(kes_version=version)).findings}
    assert not codes & {"KES010", "KES011", "KES013"}, codes


V013_CONFIG = """
    address: 0.0.0.0:7373
    root: 9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b
    tls: {key: /k, cert: /c}
    policy:
      minio:
        paths: [/v1/key/generate/minio-*]
        identites: [0c8a7e2b1f1e4d3c9b8a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a]
    cache:
      expiry: {any: 5m0s, unused: 30s, offline: 1h}
    keys:
      fs: {path: /var/kes}
    """


@pytest.mark.parametrize("version, refused", [("0.13", True), ("v0.13.5", True), ("0.12", True), ("0.14", False),
                                              ("0.17", False)])
def test_kes_up_to_0_13_refuses_every_key_it_does_not_know(write, version, refused):
    """Releases up to 0.13 decode the config strictly (kes-minio.md §3): a typo and a key of a later generation
    stop KES; later releases ignore both."""
    findings = lint([write("kes-config.yaml", V013_CONFIG)], Options(kes_version=version)).findings
    by_path = {(f.code, f.location.line): f.message for f in findings if f.code in ("KES010", "KES220")}
    if refused:
        assert set(by_path) == {("KES010", 7), ("KES010", 9)}
        assert all(f"KES {version} refuses to start" in message for message in by_path.values())
    else:
        assert set(by_path) == {("KES010", 7), ("KES220", 9)}
        assert not any("refuses" in message for message in by_path.values())


@pytest.mark.parametrize("written, refused, relaxes_tls", [
    ('"true"', True, False), ("'false'", True, False), ("t", True, False), ("1", True, False),
    ("true", False, True), ("yes", False, True), ('"on"', False, True), ('"off"', False, False), ("false", False, False),
])
def test_skip_auth_takes_what_kes_decodes_into_a_boolean(write, written, refused, relaxes_tls):
    """KES decodes `skip_auth` with yaml.v3: a YAML boolean, or text among YAML 1.1's words (y, yes, on, n, no, off in
    their three cases); quoted `"true"`, `t` or a number it refuses to decode."""
    path = write("kes-config.yaml", f"""
        admin: {{identity: disabled}}
        tls: {{key: /k, cert: /c}}
        api:
          /v1/metrics:
            skip_auth: {written}
        keystore:
          fs: {{path: /var/lib/kes}}
        """)
    codes = [f.code for f in lint([path]).findings]
    assert (("KES011" in codes) or ("KES012" in codes)) == refused, codes
    assert ("KES204" in codes) == relaxes_tls, codes


def test_quoted_refusals_name_the_value_route_and_policy(write):
    path = write("kes-config.yaml", """
        admin: {identity: disabled}
        tls: {key: /k, cert: /c, auth: verify}
        cache: {expiry: {any: 5m, unused: 1d, offline: -1s}}
        api:
          /v1/status: {timeout: -1s}
        policy:
          "bad name!": {allow: [/v1/status]}
        keystore: {fs: {path: /x}}
        """)
    messages = [f.message for f in lint([path]).findings if f.code == "KES012"]
    assert not [m for m in messages if "'<" in m], messages
    joined = "\n".join(messages)
    assert "invalid auth 'verify'" in joined and "invalid offline cache expiry '-1s'" in joined
    assert "invalid timeout '-1s' for API '/v1/status'" in joined and "policy name 'bad name!'" in joined
    assert "cannot unmarshal !!str `1d` into time.Duration" in joined  # not the refusal of a negative duration


def test_a_release_of_package_keserv_words_its_refusal_so(write):
    path = write("kes-config.yaml", "version: v2\nadmin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                                    "keystore: {fs: {path: /x}}\n")
    (message,) = [f.message for f in lint([path], Options(kes_version="0.22.3")).findings if f.code == "KES012"]
    assert "`keserv: invalid server config version 'v2'`" in message
