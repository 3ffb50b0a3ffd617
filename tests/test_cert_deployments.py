"""End to end: real deployment directories (KES config + MinIO env + generated certificates)."""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from certgen import Issued, issue, new_api_key, new_key, with_sha1_signature
from kescheck.engine import lint
from kescheck.findings import Severity
from kescheck.identity import identity_of_api_key, identity_of_certificate
from kescheck.model import Options

PASSWORD = "s3cret-Pa55word"


@dataclass
class Layout:
    """A working deployment; tests bend one thing and expect exactly the matching error."""

    endpoint: str = "https://kes{1...3}.example.net:7373"
    server_dns: tuple[str, ...] = ("*.example.net",)
    client_days: float = 365
    client_not_before: float = -1
    client_key: str = "own"
    """own, fresh (does not match), encrypted (legacy PEM), pkcs8-encrypted."""
    client_password: str | None = None
    policy_identity: str = "client"
    """client, server (the wrong certificate) or apikey."""
    api_key: bool = False
    capath: str = "dir"
    """dir (directory of CAs), file (the CA file) or none."""
    kes_paths_absolute: bool = False
    tls_auth: str = "off"
    """off, or on: KES verifies client certificates against the private CA (`tls.ca`)."""
    extra_env: str = ""
    made: dict = field(default_factory=dict)

    def write(self, root: Path) -> Path:
        certs = root / "certs"
        certs.mkdir(parents=True)
        ca = issue("Example Private CA", ca=True, key_kind="rsa2048", days=3650)
        server = issue("kes", issuer=ca, dns=self.server_dns, eku=("server",))
        client = issue("minio", issuer=ca, days=self.client_days, not_before_days=self.client_not_before,
                       eku=("client",))
        (certs / "CAs").mkdir()
        (certs / "CAs" / "private-ca.crt").write_bytes(ca.cert_pem())
        server.write(certs, "kes-server")
        client.write(certs, "minio-client")
        key_path = certs / "minio-client.key"
        if self.client_key == "fresh":
            key_path.write_bytes(Issued(None, new_key("ec256")).key_pem())
        elif self.client_key == "encrypted":
            key_path.write_bytes(client.key_pem(PASSWORD.encode(), "sec1"))
        elif self.client_key == "pkcs8-encrypted":
            key_path.write_bytes(client.key_pem(PASSWORD.encode(), "pkcs8"))
        api_key = new_api_key()
        identity = {"client": identity_of_certificate(client.certificate),
                    "server": identity_of_certificate(server.certificate),
                    "apikey": identity_of_api_key(api_key)}[self.policy_identity]
        self.made = {"ca": ca, "server": server, "client": client, "api_key": api_key, "identity": identity}
        prefix = f"{certs}/" if self.kes_paths_absolute else "certs/"
        (root / "kes-config.yml").write_text(textwrap.dedent(f"""\
            address: 0.0.0.0:7373
            admin:
              identity: disabled
            tls:
              key: {prefix}kes-server.key
              cert: {prefix}kes-server.crt
              auth: "{self.tls_auth}"{f"{chr(10)}              ca: {prefix}CAs/private-ca.crt" if self.tls_auth == "on" else ""}
            policy:
              minio:
                allow:
                  - /v1/key/create/minio-*
                  - /v1/key/generate/minio-*
                  - /v1/key/decrypt/minio-*
                identities:
                  - {identity}
            cache:
              expiry:
                any: 5m0s
                unused: 30s
            keystore:
              vault:
                endpoint: https://vault.example.net:8200
                approle:
                  id: ${{VAULT_APPROLE_ID}}
                  secret: ${{VAULT_APPROLE_SECRET}}
            """))
        lines = [f"MINIO_KMS_KES_ENDPOINT={self.endpoint}", "MINIO_KMS_KES_KEY_NAME=minio-default"]
        if self.api_key:
            lines.append(f"MINIO_KMS_KES_API_KEY={api_key}")
        else:
            lines += [f"MINIO_KMS_KES_CERT_FILE={certs}/minio-client.crt", f"MINIO_KMS_KES_KEY_FILE={certs}/minio-client.key"]
            if self.client_password is not None:
                lines.append(f"MINIO_KMS_KES_KEY_PASSWORD={self.client_password}")
        if self.capath == "dir":
            lines.append(f"MINIO_KMS_KES_CAPATH={certs}/CAs")
        elif self.capath == "file":
            lines.append(f"MINIO_KMS_KES_CAPATH={certs}/CAs/private-ca.crt")
        (root / "minio.env").write_text("\n".join(lines) + "\n" + self.extra_env)
        return root


def mine(result):
    """Findings of this issue's families (other issues' rules may judge the same files too)."""
    return [f for f in result.findings if f.code.startswith("CRT") or f.code.startswith("DEP1")]


def errors(result):
    return [f for f in mine(result) if f.severity is Severity.ERROR]


def build(tmp_path, **changes) -> tuple[Path, Layout]:
    layout = Layout(**changes)
    return layout.write(tmp_path / "deployment"), layout


@pytest.mark.parametrize("changes", [
    {},
    {"api_key": True, "policy_identity": "apikey"},
    {"capath": "file", "kes_paths_absolute": True},
    {"client_key": "encrypted", "client_password": PASSWORD},
    {"endpoint": "https://kes1.example.net:7373,https://kes2.example.net:7373", "server_dns": ("kes1.example.net", "kes2.example.net")},
], ids=["ellipsis-under-wildcard", "api-key", "ca-file-absolute-paths", "encrypted-key-with-password", "explicit-sans"])
def test_correct_deployment_has_no_errors(changes, tmp_path, cli):
    root, _ = build(tmp_path, **changes)
    result = lint([root])
    assert len(result.deployments) == 1 and result.deployments[0].envs
    assert errors(result) == [], [f.message for f in errors(result)]
    run = cli("lint", root, "--format", "json", "--select", "CRT", "--select", "DEP1")
    assert run.status == 0, run.stdout


def single_error(result, code):
    found = errors(result)
    assert [f.code for f in found] == [code], [(f.code, f.message) for f in found]
    return found[0]


def test_server_cert_lacking_one_endpoint_host(tmp_path):
    root, _ = build(tmp_path, server_dns=("kes1.example.net", "kes2.example.net"))
    finding = single_error(lint([root]), "CRT021")
    assert "kes3.example.net" in finding.message and "kes-server.crt" in finding.message
    assert finding.location.path.name == "minio.env" and finding.location.line == 1


def test_wildcard_covers_one_label_only(tmp_path):
    root, _ = build(tmp_path, endpoint="https://a.kes.example.net:7373,https://example.net:7373")
    hosts = sorted(f.message.split("'")[1] for f in errors(lint([root])) if f.code == "CRT021")
    assert hosts == ["a.kes.example.net", "example.net"]


def test_ip_endpoint_needs_an_ip_san(tmp_path):
    root, _ = build(tmp_path, endpoint="https://10.0.0.5:7373", server_dns=("10.0.0.5",))
    finding = single_error(lint([root]), "CRT021")
    assert "'10.0.0.5'" in finding.message


def test_expired_client_certificate(tmp_path):
    root, _ = build(tmp_path, client_days=10, client_not_before=-40, tls_auth="on")
    finding = single_error(lint([root]), "CRT010")
    assert "minio-client.crt" in finding.message and "expired" in finding.message
    assert finding.location.line == 3 and finding.anchor == "MINIO_KMS_KES_CERT_FILE"


@pytest.mark.parametrize("days, not_before", [(10, -40), (365, 3)])
def test_the_dates_of_a_client_certificate_kes_does_not_verify_fail_nothing(tmp_path, days, not_before):
    """With `tls.auth` off KES takes any client certificate and reads only its identity: Go's handshake with an
    expired or not yet valid one succeeds."""
    root, _ = build(tmp_path, client_days=days, client_not_before=not_before)
    assert not [f for f in lint([root]).findings if f.code in ("CRT010", "CRT011", "CRT012")]


def test_expiry_is_judged_at_the_given_time(tmp_path):
    root, layout = build(tmp_path)
    until = layout.made["server"].certificate.not_valid_after_utc
    later = lint([root], Options(at=until + dt.timedelta(days=1)))
    assert "CRT010" in {f.code for f in later.findings}
    before = lint([root], Options(at=until - dt.timedelta(days=3), expiry_warning_days=7))
    warned = [f for f in before.findings if f.code == "CRT012"]
    assert any("kes-server.crt" in f.message for f in warned)
    assert not [f for f in lint([root], Options(at=until - dt.timedelta(days=3), expiry_warning_days=2)).findings
                if f.code == "CRT012" and "kes-server" in f.message]


@pytest.mark.parametrize("options", [{"expiry_warning_days": 3_000_000}, {"expiry_warning_days": 10**12},
                                     {"at": dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)}])
def test_an_expiry_window_past_the_last_representable_date(tmp_path, options):
    root, _ = build(tmp_path)
    found = lint([root], Options(**options)).findings
    assert not [f for f in found if "failed on this deployment" in f.message]
    if "expiry_warning_days" in options:  # every certificate expires inside such a window
        assert any(f.code == "CRT012" and "kes-server.crt" in f.message for f in found)
    else:  # and at the end of time every one has expired
        assert any(f.code == "CRT010" and "kes-server.crt" in f.message for f in found)


def test_client_key_that_does_not_match(tmp_path):
    root, _ = build(tmp_path, client_key="fresh")
    finding = single_error(lint([root]), "CRT006")
    assert "minio-client.key" in finding.message and "minio-client.crt" in finding.message
    assert "does not belong" in finding.message


def test_encrypted_client_key_without_password(tmp_path):
    root, _ = build(tmp_path, client_key="encrypted")
    finding = single_error(lint([root]), "CRT007")
    assert "minio-client.key" in finding.message and "no MINIO_KMS_KES_KEY_PASSWORD is set" in finding.message


def test_encrypted_client_key_with_an_empty_password_says_it_is_empty(tmp_path):
    root, _ = build(tmp_path, client_key="encrypted", client_password="")
    finding = single_error(lint([root]), "CRT007")
    assert "MINIO_KMS_KES_KEY_PASSWORD is set but empty" in finding.message


def test_encrypted_client_key_with_wrong_password(tmp_path):
    root, _ = build(tmp_path, client_key="encrypted", client_password="not-the-password")
    finding = single_error(lint([root]), "CRT008")
    assert "minio-client.key" in finding.message


def test_pkcs8_encrypted_key_is_refused_even_with_its_password(tmp_path):
    root, _ = build(tmp_path, client_key="pkcs8-encrypted", client_password=PASSWORD)
    finding = single_error(lint([root]), "CRT009")
    assert "PKCS#8" in finding.message


def test_policy_holding_another_certificates_identity(tmp_path):
    root, layout = build(tmp_path, policy_identity="server")
    found = {f.code: f for f in errors(lint([root]))}
    assert set(found) == {"DEP100", "DEP104"}
    client_identity = identity_of_certificate(layout.made["client"].certificate)
    assert "minio-client.crt" in found["DEP100"].message and client_identity in found["DEP100"].message
    assert f"- {client_identity}" in found["DEP100"].fix and "policy 'minio'" in found["DEP100"].message
    assert "kes-server.crt" in found["DEP104"].message
    assert found["DEP104"].location.path.name == "kes-config.yml" and found["DEP104"].location.line == 15


def test_missing_files_are_notes_unless_required(tmp_path, cli):
    root, _ = build(tmp_path)
    (root / "certs" / "kes-server.key").unlink()
    notes = [f for f in mine(lint([root])) if f.code == "CRT001"]
    assert len(notes) == 1 and notes[0].severity is Severity.NOTE and "kes-server.key" in notes[0].message
    required = [f for f in mine(lint([root], Options(require_files=True))) if f.code == "CRT002"]
    assert len(required) == 1 and required[0].severity is Severity.ERROR
    assert cli("lint", root, "--require-files", "--select", "CRT").status == 1


def test_self_signed_server_without_capath_is_an_error(tmp_path):
    root, layout = build(tmp_path, capath="none")
    notes = [f for f in mine(lint([root])) if f.code == "CRT025"]
    assert notes and "Example Private CA" in notes[0].message  # CA-issued: the system roots must trust it
    (root / "certs" / "kes-server.crt").write_bytes(issue("kes", dns=("*.example.net",)).cert_pem())
    codes = {f.code for f in errors(lint([root]))}
    assert "CRT024" in codes


def test_certs_dir_from_minio_opts_stands_in_for_capath(tmp_path):
    """Without MINIO_KMS_KES_CAPATH MinIO verifies KES against <certs-dir>/CAs; the layout keeps its CA there."""
    root, layout = build(tmp_path, capath="none", extra_env=f'MINIO_OPTS="--console-address :9001 -S {tmp_path}/deployment/certs"\n')
    assert not [f for f in mine(lint([root])) if f.code in ("CRT024", "CRT025")]
    (root / "certs" / "CAs" / "private-ca.crt").write_bytes(issue("Another CA", ca=True).cert_pem())
    notes = [f for f in mine(lint([root])) if f.code == "CRT025"]
    assert len(notes) == 1 and f"{root}/certs/CAs" in notes[0].message and "--certs-dir in MINIO_OPTS" in notes[0].message


def test_self_signed_server_copied_into_certs_dir(tmp_path):
    root, layout = build(tmp_path, capath="none", extra_env='MINIO_OPTS="--certs-dir=certs"\n')
    server = issue("kes", dns=("*.example.net",))
    (root / "certs" / "kes-server.crt").write_bytes(server.cert_pem())
    (root / "certs" / "kes-server.key").write_bytes(server.key_pem())
    stale = issue("kes", dns=("*.example.net",))  # the same name, another key: the previous certificate
    (root / "certs" / "CAs" / "kes-server.crt").write_bytes(stale.cert_pem())
    finding = single_error(lint([root]), "CRT024")
    assert "certs/CAs" in finding.message and "do not verify it" in finding.message
    (root / "certs" / "CAs" / "kes-server.crt").write_bytes(server.cert_pem())
    assert errors(lint([root])) == []


def test_certs_dir_from_minio_opts_continued_over_lines(tmp_path):
    """MINIO_OPTS only reaches MinIO through the systemd unit, so systemd's reading of it counts."""
    root, layout = build(tmp_path, capath="none", extra_env=f"MINIO_OPTS=--console-address :9001 \\\n"
                                                         f"  --certs-dir {tmp_path}/deployment/certs\n")
    assert material_of(lint([root])).minio[0].certs_cas.path == root / "certs" / "CAs"


def test_an_empty_capath_leaves_the_certs_dir_out(tmp_path):
    """MinIO reads a set-but-empty MINIO_KMS_KES_CAPATH as the path "": the system roots alone verify KES."""
    root, layout = build(tmp_path, capath="none", extra_env='MINIO_KMS_KES_CAPATH=\nMINIO_OPTS="--certs-dir certs"\n')
    assert material_of(lint([root])).minio[0].certs_cas is None


_MINIO_UNIT = "[Service]\nEnvironmentFile=-/etc/default/minio\nExecStart=/usr/local/bin/minio server {}\n"


@pytest.mark.parametrize("command, opts, certs_dir", [
    ("--certs-dir {root}/certs /data", "", "{root}/certs"),  # written in the unit
    ("$MINIO_OPTS /data", "--certs-dir {root}/certs", "{root}/certs"),  # through MINIO_OPTS, as the stock unit
    ("--certs-dir /elsewhere $MINIO_OPTS", "--certs-dir {root}/certs", "{root}/certs"),  # the last one wins
    ("${{MINIO_OPTS}} -S {root}/certs /data", "--certs-dir=/elsewhere", "{root}/certs"),
    ("${{MINIO_OPTS}} /data", "--certs-dir={root}/certs", "{root}/certs"),  # braced: one word
    ("${{MINIO_OPTS}} /data", "--certs-dir {root}/certs", None),  # one word `--certs-dir /...`: no such flag
    ("/data", "--certs-dir {root}/certs", None),  # MINIO_OPTS set, but the unit never passes it
])
def test_certs_dir_from_minio_s_unit(tmp_path, command, opts, certs_dir):
    """MinIO's command line is its unit's `ExecStart=`: MINIO_OPTS reaches MinIO only where the unit writes it."""
    root, layout = build(tmp_path, capath="none", extra_env=f'MINIO_OPTS="{opts.format(root=tmp_path / "deployment")}"\n'
                         if opts else "")
    (root / "minio.service").write_text(_MINIO_UNIT.format(command.format(root=root)))
    found = material_of(lint([root])).minio[0].certs_cas
    assert (str(found.path) if found else None) == (certs_dir.format(root=root) + "/CAs" if certs_dir else None)


@pytest.mark.parametrize("file_opts, certs_dir", [("", "{root}/certs"), ("--certs-dir /elsewhere", "/elsewhere")])
def test_minio_opts_from_the_unit_s_own_environment(tmp_path, file_opts, certs_dir):
    """systemd fills `$MINIO_OPTS` from `Environment=` too; an env file's assignment overrides it."""
    root, _ = build(tmp_path, capath="none", extra_env=f'MINIO_OPTS="{file_opts}"\n' if file_opts else "")
    (root / "minio.service").write_text(f'[Service]\nEnvironment="MINIO_OPTS=--certs-dir {root}/certs"\n'
                                        "EnvironmentFile=-/etc/default/minio\nExecStart=/usr/local/bin/minio server "
                                        "$MINIO_OPTS /data\n")
    found = material_of(lint([root])).minio[0].certs_cas
    assert str(found.path) == certs_dir.format(root=root) + "/CAs"


def test_the_unit_s_certs_dir_is_named_in_findings(tmp_path):
    root, layout = build(tmp_path, capath="none")
    (root / "minio.service").write_text(_MINIO_UNIT.format(f"--certs-dir {root}/certs /data"))
    assert not [f for f in mine(lint([root])) if f.code in ("CRT024", "CRT025")]
    (root / "certs" / "CAs" / "private-ca.crt").write_bytes(issue("Another CA", ca=True).cert_pem())
    [note] = [f for f in mine(lint([root])) if f.code == "CRT025"]
    assert f"'{root}/certs/CAs' (--certs-dir of MinIO's unit)" in note.message


def material_of(result):
    from kescheck.material import material

    return material(result.deployments[0])


@pytest.mark.parametrize("opts,expected", [
    ("--certs-dir /etc/minio/certs", "/etc/minio/certs"),
    ("--certs-dir=/etc/minio/certs --console-address :9001", "/etc/minio/certs"),
    ("-S /srv/certs", "/srv/certs"),
    ("-S=/srv/certs", "/srv/certs"),
    ("-certs-dir /srv/certs", "/srv/certs"),
    ("--address :9000 --certs-dir a --certs-dir b", "b"),
    ("--console-address :9001", None),
    ("--certs-dir", None),
    ("---certs-dir /x", None),
    ("--certs-directory /x", None),
    ("", None),
])
def test_certs_dir_option(opts, expected):
    from kescheck.material import certs_dir_option

    assert certs_dir_option(opts) == expected


def test_stale_self_signed_copy_in_capath(tmp_path):
    root, layout = build(tmp_path, capath="file")
    stale = issue("Example Private CA", ca=True)  # same name, other key: a re-issued CA's old copy
    (root / "certs" / "CAs" / "private-ca.crt").write_bytes(stale.cert_pem())
    finding = single_error(lint([root]), "CRT023")
    assert "stale copy" in finding.message


def test_secrets_never_reach_any_output(tmp_path, cli):
    root, layout = build(tmp_path, client_key="encrypted", client_password=PASSWORD,
                         extra_env=f"MINIO_KMS_KES_API_KEY_UNUSED_NOTE=x\n")
    os.chmod(root / "certs" / "minio-client.key", 0o644)
    key_body = (root / "certs" / "minio-client.key").read_text().split("\n\n", 1)[1][:40]
    server_key_body = (root / "certs" / "kes-server.key").read_text().splitlines()[1]
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace('  auth: "off"', '  auth: "off"\n  password: kes-Key-Pa55'))
    for fmt in ("plain", "json", "sarif"):
        run = cli("lint", root, "--format", fmt)
        text = run.stdout + run.stderr
        for secret in (PASSWORD, "kes-Key-Pa55", key_body, server_key_body, "PRIVATE KEY-----"):
            assert secret not in text, (fmt, secret)
    assert "CRT060" in cli("lint", root, "--format", "json").stdout
    api_root, api_layout = build(tmp_path / "api", api_key=True, policy_identity="client")
    run = cli("lint", api_root, "--format", "json")
    assert api_layout.made["api_key"][7:] not in run.stdout + run.stderr
    assert "DEP100" in {f["code"] for f in json.loads(run.stdout)["findings"]}


def test_client_verification_needs_a_chain_to_tls_ca(tmp_path):
    root, layout = build(tmp_path)
    config = root / "kes-config.yml"
    other_ca = issue("Other CA", ca=True)
    (root / "certs" / "other-ca.crt").write_bytes(other_ca.cert_pem())
    config.write_text(config.read_text().replace('  auth: "off"', '  auth: "on"\n  ca: certs/other-ca.crt'))
    finding = single_error(lint([root]), "CRT030")
    assert "minio-client.crt" in finding.message and "other-ca.crt" in finding.message
    config.write_text(config.read_text().replace("certs/other-ca.crt", "certs/CAs/private-ca.crt"))
    assert errors(lint([root])) == []


def test_kes_password_reference_resolved_with_kes_env(tmp_path):
    root, layout = build(tmp_path)
    (root / "certs" / "kes-server.key").write_bytes(layout.made["server"].key_pem(b"kes-pass", "sec1"))
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace('  auth: "off"', '  auth: "off"\n  password: ${KES_KEY_PASSWORD}'))
    assert errors(lint([root])) == []  # unresolvable reference: not judged
    assert single_error(lint([root], Options(kes_env={"KES_KEY_PASSWORD": "wrong"})), "CRT008")
    assert errors(lint([root], Options(kes_env={"KES_KEY_PASSWORD": "kes-pass"}))) == []


def test_server_chain_with_the_ca_first_is_one_error_about_the_order(tmp_path):
    """Go pairs the key with the first certificate, so KES does not start (CRT006); the SAN and usage rules
    judge the leaf that KES will present once the order is fixed, not the CA in front of it."""
    root, layout = build(tmp_path)
    server, ca = layout.made["server"], layout.made["ca"]
    (root / "certs" / "kes-server.crt").write_bytes(ca.cert_pem() + server.cert_pem())
    finding = single_error(lint([root]), "CRT006")
    assert "belongs to certificate 2" in finding.message and "first" in finding.fix


def test_server_chain_with_the_ca_first_still_has_its_leaf_judged(tmp_path):
    root, layout = build(tmp_path, server_dns=("kes1.example.net",))
    server, ca = layout.made["server"], layout.made["ca"]
    (root / "certs" / "kes-server.crt").write_bytes(ca.cert_pem() + server.cert_pem())
    found = errors(lint([root]))
    assert sorted(f.code for f in found) == ["CRT006", "CRT021", "CRT021"]
    uncovered = [f.message for f in found if f.code == "CRT021"]
    assert ["kes2.example.net" in m for m in uncovered] == [True, False]
    assert all("kes1.example.net" in m for m in uncovered)  # the leaf's SAN, not the CA's


def test_older_kes_verifies_client_certificates_by_default(tmp_path):
    """KES up to 2023-09-28 verifies client certificates unless `--auth=off`: an API key never verifies."""
    api_key = new_api_key()
    server = issue("kes", dns=("kes.example.net",))
    server.write(tmp_path, "server")
    (tmp_path / "kes-config.yaml").write_text(textwrap.dedent(f"""\
        address: 0.0.0.0:7373
        root: disabled
        tls:
          key: server.key
          cert: server.crt
        policy:
          minio:
            paths: [/v1/key/create/minio-*, /v1/key/generate/minio-*, /v1/key/decrypt/minio-*]
            identities: [{identity_of_api_key(api_key)}]
        """))
    (tmp_path / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                        f"MINIO_KMS_KES_KEY_NAME=minio-key\nMINIO_KMS_KES_API_KEY={api_key}\n"
                                        "MINIO_KMS_KES_CAPATH=server.crt\n")
    found = [f for f in lint([tmp_path]).findings if f.code == "CRT034"]
    assert len(found) == 1 and found[0].severity is Severity.WARNING
    assert found[0].location.path.name == "minio.env" and found[0].location.line == 3
    assert "--auth=off" in found[0].message and "G0" in found[0].message
    newer = lint([tmp_path], Options(kes_version="2023-11-09"))
    assert not [f for f in newer.findings if f.code == "CRT034"]


def older_kes(root: Path, tls_ca: str | None) -> None:
    """Make the layout's config one of KES <= 2023-09-28: no `tls.auth` (a G2-only key), optionally a `tls.ca`."""
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace('  auth: "off"\n', f"  ca: {tls_ca}\n" if tls_ca else ""))


def verification_findings(result):
    return [(f.code, f.severity) for f in mine(result) if f.code in ("CRT030", "CRT031", "CRT032", "CRT034")]


def test_older_kes_verifies_a_foreign_ca_client_certificate_against_tls_ca(tmp_path, cli):
    """FM-03: KES 0.22 requires and verifies client certificates unless started with --auth=off."""
    root, layout = build(tmp_path)
    (root / "certs" / "other-ca.crt").write_bytes(issue("Other CA", ca=True).cert_pem())
    older_kes(root, "certs/other-ca.crt")
    finding = single_error(lint([root], Options(kes_version="0.22")), "CRT030")
    assert "KES 0.22" in finding.message and "--auth=off" in finding.message and "other-ca.crt" in finding.message
    assert "--kes-auth off" in finding.fix and finding.location.path.name == "minio.env"
    assert verification_findings(lint([root], Options(kes_version="2023-05-01T00-00-00Z"))) == [("CRT030", Severity.ERROR)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=False))) == []
    assert cli("lint", root, "--kes-version", "0.22", "--kes-auth", "off", "--select", "CRT03").status == 0
    assert cli("lint", root, "--kes-version", "0.22", "--select", "CRT03").status == 1
    (root / ".kescheck.toml").write_text('kes-version = "0.22"\nkes-auth = "off"\n')
    assert cli("lint", root, "--select", "CRT03").status == 0
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace("certs/other-ca.crt", "certs/CAs/private-ca.crt"))
    assert verification_findings(lint([root], Options(kes_version="0.22"))) == []


def test_older_kes_before_tls_ca_verifies_against_the_system_roots_alone(tmp_path):
    root, _ = build(tmp_path)
    (root / "certs" / "other-ca.crt").write_bytes(issue("Other CA", ca=True).cert_pem())
    older_kes(root, "certs/other-ca.crt")
    result = lint([root], Options(kes_version="0.21.1"))
    assert verification_findings(result) == []  # the system roots may hold the issuer: kescheck cannot tell
    assert [f.code for f in result.findings if f.code == "KES220"] == ["KES220"]


def test_older_kes_refuses_a_server_only_client_certificate(tmp_path):
    root, layout = build(tmp_path)
    client = issue("minio", issuer=layout.made["ca"], eku=("server",))
    client.write(root / "certs", "minio-client")
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace(layout.made["identity"], identity_of_certificate(client.certificate)))
    older_kes(root, "certs/CAs/private-ca.crt")
    finding = single_error(lint([root], Options(kes_version="0.22")), "CRT032")
    assert "clientAuth" in finding.message and "--auth=off" in finding.message
    config.write_text(config.read_text().replace("  ca: certs/CAs/private-ca.crt\n", ""))
    # no tls.ca: the system roots decide the chain, the usage is still checked
    assert verification_findings(lint([root], Options(kes_version="0.17.6"))) == [("CRT032", Severity.ERROR)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=False))) == []


def test_older_kes_with_a_self_signed_client_is_one_finding(tmp_path):
    """A self-signed client certificate on KES <= 2023-09-28 is CRT034's warning (the deployment probably runs
    --auth=off), not a CRT030 error as well; with --kes-auth on it is CRT030's (or CRT031's) error."""
    root, layout = build(tmp_path)
    client = issue("minio", eku=("client",))
    client.write(root / "certs", "minio-client")
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace(layout.made["identity"], identity_of_certificate(client.certificate)))
    older_kes(root, "certs/CAs/private-ca.crt")
    assert verification_findings(lint([root], Options(kes_version="0.22"))) == [("CRT034", Severity.WARNING)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=True))) == [("CRT030", Severity.ERROR)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=False))) == []
    config.write_text(config.read_text().replace("  ca: certs/CAs/private-ca.crt\n", ""))
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=True))) == [("CRT031", Severity.ERROR)]


def test_older_kes_with_an_api_key_follows_kes_auth(tmp_path):
    root, _ = build(tmp_path, api_key=True, policy_identity="apikey")
    older_kes(root, None)
    assert verification_findings(lint([root], Options(kes_version="0.22"))) == [("CRT034", Severity.WARNING)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=True))) == [("CRT031", Severity.ERROR)]
    assert verification_findings(lint([root], Options(kes_version="0.22", kes_auth=False))) == []
    assert verification_findings(lint([root], Options(kes_version="2023-11-09T17-35-47Z", kes_auth=True))) == []


def test_tls_auth_on_is_ignored_by_releases_before_it(tmp_path):
    """`tls.auth` arrived in KES 2023-11-09: 2023-10-24 and 2023-10-27 request client certificates and never verify
    them, so `tls.auth: on` with a CA that does not issue MinIO's certificate breaks nothing there (KES220 says the
    key is ignored)."""
    root, layout = build(tmp_path)
    config = root / "kes-config.yml"
    other_ca = issue("Other CA", ca=True)
    (root / "certs" / "other-ca.crt").write_bytes(other_ca.cert_pem())
    config.write_text(config.read_text().replace('  auth: "off"', '  auth: "on"\n  ca: certs/other-ca.crt'))
    assert single_error(lint([root], Options(kes_version="2023-11-09T17-35-47Z")), "CRT030")
    for version in ("2023-10-24T20-26-51Z", "2023-10-27T22-05-35Z"):
        result = lint([root], Options(kes_version=version))
        assert errors(result) == []
        assert [f.location.line for f in result.findings if f.code == "KES220"] == [
            n for n, line in enumerate(config.read_text().splitlines(), 1) if line.strip().startswith("auth:")]


JUNK_CERTIFICATE = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b"\x30\x03\x02\x01\x01" + b"junk" * 10)
                    + b"-----END CERTIFICATE-----\n")


@pytest.mark.parametrize("junk_first", [True, False])
def test_a_capath_block_that_does_not_parse_is_passed_over_as_minio_does(tmp_path, junk_first):
    """Go's AppendCertsFromPEM adds the blocks that parse: the good CA still verifies KES."""
    root, _ = build(tmp_path, capath="file")
    ca = root / "certs" / "CAs" / "private-ca.crt"
    ca.write_bytes(JUNK_CERTIFICATE + ca.read_bytes() if junk_first else ca.read_bytes() + JUNK_CERTIFICATE)
    assert errors(lint([root])) == []
    ca.write_bytes(JUNK_CERTIFICATE)
    finding = single_error(lint([root]), "CRT004")
    assert "1 CERTIFICATE block in it does not parse" in finding.message


def test_an_expired_ca_that_no_chain_needs_fails_nothing(tmp_path):
    """Go builds every chain it can and checks validity on the one it uses: an old root kept beside its successor
    in MINIO_KMS_KES_CAPATH during a rotation is no error; the only root that verifies KES, expired, is."""
    root, _ = build(tmp_path, capath="dir")
    old = issue("Example Private CA", ca=True, days=10, not_before_days=-400)
    (root / "certs" / "CAs" / "old-ca.crt").write_bytes(old.cert_pem())
    assert errors(lint([root])) == []
    kes = issue("kes", issuer=old, dns=("*.example.net",), eku=("server",))
    kes.write(root / "certs", "kes-server")  # now issued by the expired root alone
    expired = [f for f in errors(lint([root])) if f.code == "CRT010"]
    assert [("old-ca.crt" in f.message) for f in expired] == [True]


def test_a_sha1_signature_on_a_trusted_ca_is_not_checked(tmp_path):
    root, layout = build(tmp_path, capath="dir")
    anchor = issue("Signing Root", ca=True, key_kind="rsa2048")
    intermediate = with_sha1_signature(issue("Example Intermediate", ca=True, issuer=anchor), anchor)
    (root / "certs" / "CAs" / "intermediate.crt").write_bytes(intermediate.cert_pem())
    assert [f for f in errors(lint([root])) if f.code == "CRT041"] == []


@pytest.mark.parametrize("host, dns, ips, covered", [
    ("::ffff:10.0.0.5", (), ("10.0.0.5",), True),  # Go's net.IP.Equal: one address in two forms
    ("10.0.0.5", (), ("::ffff:10.0.0.5",), True),
    ("kes.example.net", ("kes.example.net.",), (), False),  # a SAN with a trailing dot matches no host in Go
    ("kes.example.net.", ("kes.example.net",), (), True),  # the host's trailing dot is dropped
    ("KES.Example.net", ("kes.example.NET",), (), True),
])
def test_host_matching_as_go_does_it(host, dns, ips, covered):
    from kescheck.certs import SubjectNames, host_covered

    assert host_covered(host, SubjectNames(dns, ips)) is covered


@pytest.mark.parametrize("key_kind", ["ed448", "secp256k1"])
def test_a_certificate_key_go_cannot_load_stops_the_server(tmp_path, key_kind):
    """Go's tls.X509KeyPair loads RSA, ECDSA on the NIST curves and Ed25519 keys only: KES does not start."""
    root, layout = build(tmp_path)
    ca = issue("Example Private CA", ca=True, key_kind="rsa2048")
    server = issue("kes", issuer=ca, dns=("*.example.net",), eku=("server",), key_kind=key_kind)
    server.write(root / "certs", "kes-server")
    finding = next(f for f in errors(lint([root])) if f.code == "CRT004")
    assert "which Go's TLS stack cannot load" in finding.message and "kes-server.crt" in finding.message


def test_a_cross_signed_copy_of_the_intermediate_does_not_hide_the_trusted_one(tmp_path):
    """Go tries every parent with the right name and key: the leaf's chain reaches the trusted root through the copy
    of the intermediate that root signed, whatever comes first in the file."""
    from kescheck.certs import chain_to

    old_root, new_root = issue("Old Root", ca=True), issue("New Root", ca=True)
    intermediate = issue("R3", ca=True, issuer=new_root)
    cross = Issued(x509_reissued(intermediate, old_root), intermediate.key)
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net",))
    assert chain_to(leaf.certificate, [cross.certificate, intermediate.certificate], [new_root.certificate]).trusted
    result = chain_to(leaf.certificate, [cross.certificate], [new_root.certificate])
    assert not result.trusted and "Old Root" in result.reason


def x509_reissued(issued, issuer):
    """`issued`'s certificate (same subject and key) signed by `issuer` instead."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(issued.certificate.subject)
            .issuer_name(issuer.certificate.subject).public_key(issued.key.public_key()).serial_number(7)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(issuer.key, hashes.SHA256()))


def test_a_later_certificate_of_a_chain_is_named_by_its_place_in_the_file(tmp_path):
    root, layout = build(tmp_path)
    intermediate = issue("Example Intermediate", issuer=layout.made["ca"], ca=True, days=10)
    server_file = root / "certs" / "kes-server.crt"
    server_file.write_bytes(server_file.read_bytes() + intermediate.cert_pem())
    (finding,) = [f for f in lint([root]).findings if f.code == "CRT012"]
    assert finding.message.startswith("certificate 2 (CN=Example Intermediate) of the file of the KES server "
                                      "certificate 'certs/kes-server.crt'"), finding.message


def test_a_host_the_certificate_does_not_cover_is_marked_in_its_own_list_entry(tmp_path):
    endpoints = "https://kes1.example.net:7373,https://kes2.example.net:7373,https://kes3.example.net:7373"
    root, _ = build(tmp_path, endpoint=endpoints, server_dns=("kes1.example.net", "kes2.example.net"))
    (finding,) = [f for f in lint([root]).findings if f.code == "CRT021"]
    start = len("MINIO_KMS_KES_ENDPOINT=") + endpoints.index("https://kes3") + 1
    assert (finding.location.column, finding.location.end_column) == (start, start + len("https://kes3.example.net:7373"))
    assert "kes3.example.net" in finding.message


@pytest.mark.parametrize("version, bound", [("0.17.4", True), ("0.17.6", False)])
def test_kes_0_17_3_to_0_17_5_bind_the_identities_listed_under_identity(tmp_path, version, bound):
    """Those releases read a policy's identities from `identity` (kes#180): MinIO listed there is bound."""
    root, _ = build(tmp_path)
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace("    identities:\n", "    identity:\n"))
    codes = {f.code for f in lint([root], Options(kes_version=version)).findings}
    assert ("DEP100" not in codes) == bound, codes
