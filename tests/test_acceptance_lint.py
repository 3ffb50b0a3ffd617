"""Acceptance checks of `kescheck lint` (issues 2, 3, 7) on fresh inputs: each test pins a bug found
by black-box testing, or an end-to-end acceptance scenario not covered elsewhere."""
from __future__ import annotations

import json

import pytest

from kescheck.engine import lint

VAULT_KES = """\
    version: v1
    address: 0.0.0.0:7373
    admin:
      identity: disabled
    tls:
      key: /etc/kes/private.key
      cert: /etc/kes/public.crt
    keystore:
      vault:
        endpoint: https://vault.example.net:8200
        approle:
          id: ${{VAULT_ROLE_ID}}
          secret: ${{VAULT_SECRET_ID}}
        tls:
    {tls}
    """


def _lint_json(cli, *args):
    run = cli("lint", *args, "--format", "json")
    assert run.status in (0, 1), run.stderr
    return run.status, json.loads(run.stdout)["findings"]


@pytest.mark.parametrize("present, missing", [("key", "cert"), ("cert", "key")])
def test_vault_client_tls_half_pair_names_the_missing_half(cli, write, present, missing):
    """The reason must say which half is missing, not the reverse case."""
    path = write("kes.yaml", VAULT_KES.format(tls=f"          {present}: /etc/kes/vault-client.{present}"))
    status, findings = _lint_json(cli, path)
    [found] = [f for f in findings if f["anchor"] == f"keystore.vault.tls.{missing}"]
    assert status == 1 and found["severity"] == "error" and found["line"] == 15
    assert f"`tls.{present}` without `tls.{missing}`" in found["message"]
    assert f"`tls.{missing}` without `tls.{present}`" not in found["message"]
