"""kescheck doctor --kes-config: the checks on the KES host."""
from __future__ import annotations

import errno
import json
import os

import pytest

from kescheck.doctor.checks import Status
from kescheck.doctor.host import CAP_IPC_LOCK, decode_vfs_capabilities, file_capabilities
from kescheck.doctor.run import DoctorOptions, run_doctor
from tests.kes_fixtures import closed_port, kes_pki, kes_server, kes_server_factory, stopper  # noqa: F401


def vfs_cap(revision: int, permitted: int, effective: bool, rootid: int | None = None) -> bytes:
    magic = (revision << 24) | (1 if effective else 0)
    words = 1 if revision == 1 else 2
    raw = magic.to_bytes(4, "little")
    for index in range(words):
        raw += ((permitted >> (32 * index)) & 0xFFFFFFFF).to_bytes(4, "little") + (0).to_bytes(4, "little")
    if rootid is not None:
        raw += rootid.to_bytes(4, "little")
    return raw


@pytest.mark.parametrize("revision,rootid", [(1, None), (2, None), (3, 0)])
def test_decode_capability_revisions(revision, rootid):
    caps = decode_vfs_capabilities(vfs_cap(revision, 1 << CAP_IPC_LOCK, True, rootid))
    assert caps.has(CAP_IPC_LOCK) and caps.effective
    other = decode_vfs_capabilities(vfs_cap(revision, 1 << 12, False, rootid))  # cap_net_admin only
    assert not other.has(CAP_IPC_LOCK) and not other.effective


def test_decode_high_word_capability():
    caps = decode_vfs_capabilities(vfs_cap(2, 1 << 38, True))  # cap_checkpoint_restore lives in word 2
    assert caps.has(38) and not caps.has(CAP_IPC_LOCK)


def test_decode_rejects_garbage():
    with pytest.raises(ValueError):
        decode_vfs_capabilities(b"\x00\x00\x00\x09" + b"\x00" * 16)
    with pytest.raises(ValueError):
        decode_vfs_capabilities(b"\x01")


def kes_config(write, pki, port: int, key_mode: int = 0o600) -> os.PathLike:
    os.chmod(pki.server_key, key_mode)
    return write("kes/config.yaml", f"""
        address: 127.0.0.1:{port}
        admin:
          identity: {pki.admin_identity}
        tls:
          key: {pki.server_key}
          cert: {pki.server_cert}
        policy:
          minio:
            allow:
              - /v1/key/generate/minio-*
              - /v1/key/decrypt/minio-*
            identities:
              - {pki.minio_identity}
        keystore:
          fs:
            path: /var/lib/kes/keys
        """)


def host_checks(report):
    return next(c for c in report.root.children if c.title.startswith("KES host"))


def fake_kes_binary(directory, capabilities: bytes | None):
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / "kes"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    if capabilities is not None:
        try:
            os.setxattr(binary, "security.capability", capabilities)
        except OSError as err:
            if err.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                pytest.skip(f"cannot set file capabilities here: {err.strerror}")
            raise
    return binary


def test_kes_host_ok(kes_pki, kes_server, write, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    config = kes_config(write, kes_pki, kes_server.port)
    report = run_doctor(DoctorOptions(kes_config=config, timeout=3.0, environ={}))
    node = host_checks(report)
    assert [c.status for c in node.children] == [Status.OK, Status.OK, Status.OK, Status.SKIP]
    assert "no `kes` binary" in node.children[-1].summary
    # The fs keystore and the unset cache expiry are static lint warnings (exit 3); nothing fails.
    assert report.exit_status() == 3


def test_kes_not_listening_and_exposed_key(kes_pki, closed_port, write, tmp_path, monkeypatch, cli):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    config = kes_config(write, kes_pki, closed_port, key_mode=0o644)
    run = cli("doctor", "--kes-config", config, "--format", "json")
    assert run.status == 1
    record = json.loads(run.stdout)
    codes = {f["code"]: f for f in record["findings"]}
    assert set(codes) >= {"DOC040", "DOC042"}
    assert codes["DOC040"]["line"] == 1 and codes["DOC040"]["anchor"].startswith("address")
    assert codes["DOC042"]["line"] == 5  # the tls.key line


def test_kes_binary_with_cap_ipc_lock(kes_pki, kes_server, write, tmp_path, monkeypatch):
    binary = fake_kes_binary(tmp_path / "bin", vfs_cap(2, 1 << CAP_IPC_LOCK, True))
    monkeypatch.setenv("PATH", str(binary.parent))
    assert file_capabilities(str(binary)).has(CAP_IPC_LOCK)
    report = run_doctor(DoctorOptions(kes_config=kes_config(write, kes_pki, kes_server.port), environ={}))
    assert host_checks(report).children[-1].status is Status.OK


def test_kes_binary_without_capabilities(kes_pki, kes_server, write, tmp_path, monkeypatch):
    binary = fake_kes_binary(tmp_path / "bin", None)
    monkeypatch.setenv("PATH", str(binary.parent))
    report = run_doctor(DoctorOptions(kes_config=kes_config(write, kes_pki, kes_server.port), environ={}))
    mlock = host_checks(report).children[-1]
    assert mlock.status is Status.WARN and mlock.cause == "kes-binary-cannot-mlock"
    assert "setcap cap_ipc_lock=+ep" in mlock.advice
    assert report.exit_status() == 3 and report.exit_status(fail_on_warning=True) == 1
