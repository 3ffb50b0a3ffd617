"""Patterns found in published KES configs and MinIO env files, written anew: each once gave a false
finding (on a config that works for the release it targets) or missed a real one."""
from __future__ import annotations

import textwrap

from certgen import new_api_key
from kescheck.engine import lint
from kescheck.identity import identity_of_api_key
from kescheck.model import Options


def codes(result, prefix=""):
    return sorted(f.code for f in result.findings if f.code.startswith(prefix))


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_paths_list_is_the_allow_list_of_an_old_config(tmp_path):
    """Up to KES 0.14 `policy.NAME.paths` was the allow list: a file of that era grants what it lists."""
    api_key = new_api_key()
    kes = write(tmp_path / "kes-old.yaml", f"""\
        address: 0.0.0.0:7373
        root: disabled
        tls:
          key: /etc/kes/server.key
          cert: /etc/kes/server.cert
        policy:
          storage:
            paths:
            - /v1/key/create/objects-*
            - /v1/key/generate/objects-*
            - /v1/key/decrypt/objects-*
            identities:
            - {identity_of_api_key(api_key)}
        keys:
          vault:
            endpoint: https://vault.example.net:8200
            approle:
              id: ${{ROLE_ID}}
              secret: ${{ROLE_SECRET}}
        """)
    env = write(tmp_path / "minio.env", f"""\
        MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373
        MINIO_KMS_KES_API_KEY={api_key}
        MINIO_KMS_KES_KEY_NAME=objects-default
        """)
    old = lint([kes, env], Options(kes_version="0.14"))
    assert codes(old, "POL") == []
    # Current KES ignores `paths`: the upgrade warning stays, and the policy is empty there.
    assert "KES221" in codes(old)
    current = lint([write(tmp_path / "kes-new.yaml", (tmp_path / "kes-old.yaml").read_text()
                          .replace("root: disabled", "admin:\n  identity: disabled")
                          .replace("keys:\n  vault:", "keystore:\n  vault:")), env], Options())
    assert "POL011" in codes(current, "POL")


ROOT_WITH_NEW_KEYS = """\
    address: 0.0.0.0:7373
    root: disabled
    tls:
      key: /etc/kes/server.key
      cert: /etc/kes/server.cert
    api:
      /v1/ready:
        skip_auth: false
    keystore:
      aws:
        secretsmanager:
          endpoint: secretsmanager.eu-west-1.amazonaws.com
          region: eu-west-1
    """


def test_root_beside_keys_of_current_kes_is_the_missing_admin_refusal(tmp_path):
    """`root:` next to `api:` (a KES >= 2023-04 key): no KES that reads `api` reads `root`, so the file has no
    admin and KES refuses to start; that is an error, not a note about upgrading."""
    result = lint([write(tmp_path / "kes.yaml", ROOT_WITH_NEW_KEYS)], Options())
    found = {f.code: f for f in result.findings}
    assert found["KES013"].severity.name == "ERROR" and "no admin identity" in found["KES013"].message
    assert found["KES013"].location.line == 1
    assert "`root` was renamed `admin.identity`" in found["KES220"].message and found["KES220"].location.line == 2
    assert "KES221" not in found


def test_kes_version_given_outweighs_root(tmp_path):
    """A `root:`-only file run on the KES the user names (0.24) cannot start: KES ignores `root`."""
    path = write(tmp_path / "kes.yaml", ROOT_WITH_NEW_KEYS.replace("    api:\n      /v1/ready:\n        skip_auth: false\n", ""))
    assert "KES013" not in codes(lint([path], Options()))  # alone, `root:` marks an old file
    assert "KES013" in codes(lint([path], Options(kes_version="0.24")))
    assert "KES013" not in codes(lint([path], Options(kes_version="0.14")))


HEAD = """\
        address: 0.0.0.0:7373
        admin:
          identity: disabled
        tls:
          key: /etc/kes/server.key
          cert: /etc/kes/server.cert
"""  # indented like the bodies it precedes, so that write() dedents them together


def test_documentation_stand_ins_are_placeholders(tmp_path):
    """The MinIO AWS and Vault tutorials leave `REGION`, `AWSACCESSKEY` and a `/path/to/` engine to fill in."""
    kes = write(tmp_path / "kes.yaml", HEAD + """\
        keystore:
          aws:
            secretsmanager:
              endpoint: secretsmanager.REGION.amazonaws.com
              region: eu-central-1
              credentials:
                accesskey: AWSACCESSKEY
                secretkey: ${AWSSECRETKEY}
        """)
    found = [f for f in lint([kes], Options()).findings if f.code == "KES206"]
    assert [(f.location.line, f.location.column) for f in found] == [(10, 17), (13, 20)]
    assert "`REGION`" in found[0].message and "AWSACCESSKEY" not in found[1].message
    (tmp_path / "vault").mkdir()
    vault = write(tmp_path / "vault" / "kes.yaml", HEAD + """\
        keystore:
          vault:
            endpoint: https://vault.example.net:8200
            engine: /path/to/kv
            approle:
              id: ${ROLE_ID}
              secret: ${ROLE_SECRET}
        """)
    found = [f for f in lint([vault], Options()).findings if f.code == "KES206"]
    assert [(f.location.line, f.message) for f in found] == [
        (10, "`keystore.vault.engine` still holds the documentation placeholder `/path/to/`")]
    env = write(tmp_path / "minio.env", "MINIO_KMS_KES_CERT_FILE=/path/to/client.crt\n")
    assert "ENV110" in codes(lint([env], Options()))


def test_root_era_config_with_tls_proxy_and_root_switched_off(tmp_path):
    """Configs of the `root:` era (KES <= 0.14) read the proxy under `tls:` and switched root off with `_`."""
    kes = write(tmp_path / "kes-config.yaml", """\
        address: 0.0.0.0:7373
        root: _
        tls:
          key: /etc/kes/server.key
          cert: /etc/kes/server.crt
          proxy:
            identities: []
            header:
              cert: X-Tls-Client-Cert
        policy:
          minio:
            paths: [/v1/key/create/*, /v1/key/generate/*, /v1/key/decrypt/*]
            identities: [7f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e]
        keys:
          fs:
            path: /var/lib/kes
        """)
    for version in (None, "0.13.0"):
        result = lint([kes], Options(kes_version=version))
        assert not [f for f in result.findings if f.code in ("KES200", "KES220", "KES010")], \
            [(f.code, f.message) for f in result.findings]


def test_cache_bug_warning_only_for_releases_that_have_the_bug(tmp_path):
    kes = write(tmp_path / "kes-config.yaml", """\
        address: 0.0.0.0:7373
        admin:
          identity: disabled
        tls:
          key: /etc/kes/server.key
          cert: /etc/kes/server.crt
          auth: "off"
        cache:
          expiry:
            any: 5m0s
        keystore:
          fs:
            path: /var/lib/kes
        """)
    fired = {version: "KES212" in codes(lint([kes], Options(kes_version=version)))
             for version in (None, "0.23.0", "2024-03-28T12-56-37Z", "2024-04-12T13-50-00Z", "0.24.0")}
    assert fired == {None: True, "0.23.0": False, "2024-03-28T12-56-37Z": False, "2024-04-12T13-50-00Z": True,
                     "0.24.0": True}


def test_releases_0_17_3_to_0_17_5_read_the_singular_identity_key(tmp_path):
    """kes#180: these releases read `policy.NAME.identity` and ignore `identities`."""
    identity = "2a1c4b1bc9e0cf5f3ed5b42d6c1f4e9a3c2b8e5a7d6f1e0c9b8a7d6e5f4c3b2a"
    head = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\npolicy:\n  minio:\n" \
           "    allow: [/v1/key/create/minio-*]\n"
    singular = write(tmp_path / "singular.yaml", head + f"    identity: [{identity}]\n")
    plural = write(tmp_path / "plural.yaml", head + f"    identities: [{identity}]\n")
    policy_codes = ("KES010", "KES223", "POL012")
    on_release = Options(kes_version="0.17.4")
    assert [c for c in codes(lint([singular], on_release)) if c in policy_codes] == []
    assert [c for c in codes(lint([plural], on_release)) if c in policy_codes] == ["KES223"]
    fixed = Options(kes_version="0.17.6")
    assert [c for c in codes(lint([singular], fixed)) if c in policy_codes] == ["KES010", "POL012"]
    assert [c for c in codes(lint([plural], fixed)) if c in policy_codes] == []
