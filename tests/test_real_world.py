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
