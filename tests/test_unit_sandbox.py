"""SYS017: the file-system sandbox of KES's or MinIO's unit (systemd.exec(5)) must not hide a file the server opens."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import findings_of
from kescheck.load.source import SourceFile
from kescheck.load.systemd import read_unit

CONFIG = ("admin: {identity: disabled}\ntls: {key: /etc/kes/certs/kes.key, cert: /etc/kes/certs/kes.crt}\n"
          "keystore: {fs: {path: /var/lib/kes}}\n")


def unit(lines: str, config: str = "/etc/kes/config.yaml"):
    text = f"[Service]\nUser=kes\n{lines}ExecStart=/usr/local/bin/kes server --config {config}\n"
    return read_unit(SourceFile(Path("kes.service"), text))


@pytest.mark.parametrize("lines, path, setting", [
    ("PrivateTmp=yes\n", "/tmp/kes/kes.key", "PrivateTmp"),
    ("PrivateTmp=true\n", "/var/tmp/kes.key", "PrivateTmp"),
    ("PrivateTmp=disconnected\n", "/tmp/kes.key", "PrivateTmp"),
    ("DynamicUser=yes\n", "/tmp/kes.key", "DynamicUser"),  # implies PrivateTmp=yes
    ("DynamicUser=yes\nPrivateTmp=no\n", "/var/tmp/kes.key", "DynamicUser"),  # which `no` does not turn off
    ("ProtectHome=yes\n", "/root/certs/kes.key", "ProtectHome"),
    ("ProtectHome=true\n", "/run/user/1000/kes.key", "ProtectHome"),
    ("ProtectHome=tmpfs\n", "/home/kes/kes.key", "ProtectHome"),
    ("InaccessiblePaths=-/etc/kes/private /opt\n", "/etc/kes/private/kes.key", "InaccessiblePaths"),
    ("InaccessiblePaths=/opt\nInaccessiblePaths=/etc/kes/certs\n", "/etc/kes/certs/kes.key", "InaccessiblePaths"),
    ('InaccessiblePaths="/etc/kes/certs"\n', "/etc/kes/certs/kes.key", "InaccessiblePaths"),
    ("InaccessiblePaths=/etc/kes/certs/kes.key\n", "/etc/kes/certs/kes.key", "InaccessiblePaths"),
    ("TemporaryFileSystem=/etc/kes:ro\n", "/etc/kes/kes.key", "TemporaryFileSystem"),
    ("ProtectHome=yes\nReadOnlyPaths=/\n", "/root/kes.key", "ProtectHome"),  # above the hidden directory: no help
    ("ProtectHome=yes\n", "/root/../root/kes.key", "ProtectHome"),
    ("ProtectHome=yes\nExecStartPre=/bin/true\n", "/root/kes.key", "ProtectHome"),  # nothing fills an inaccessible one
    ("PrivateTmp=yes\nExecStartPre=/bin/true\nExecStartPre=\n", "/tmp/kes.key", "PrivateTmp"),  # the list reset
    ("PrivateTmp=YES\n", "/tmp/kes.key", "PrivateTmp"),  # booleans in any case
    # systemd ignores a value it cannot parse and keeps the one before
    ("PrivateTmp=yes\nPrivateTmp=maybe\n", "/tmp/kes.key", "PrivateTmp"),
    ("ProtectHome=yes\nProtectHome=readonly\n", "/root/kes.key", "ProtectHome"),
    ("DynamicUser=yes\nDynamicUser=sometimes\n", "/tmp/kes.key", "DynamicUser"),
    # nothing shows a file below an inaccessible directory again: systemd drops every mount below it
    ("ProtectHome=yes\nBindReadOnlyPaths=/srv/certs:/root/certs\n", "/root/certs/kes.key", "ProtectHome"),
    ("ProtectHome=yes\nBindReadOnlyPaths=-/root/certs\n", "/root/certs/kes.key", "ProtectHome"),
    ("ProtectHome=yes\nBindPaths=%h/certs\n", "/root/certs/kes.key", "ProtectHome"),
    ("InaccessiblePaths=/etc/kes\nBindReadOnlyPaths=/etc/kes/certs\n", "/etc/kes/certs/kes.key", "InaccessiblePaths"),
    # in an emptied directory, only a bind mount brings the file back: the others remount what is there
    ("InaccessiblePaths=/etc/kes\nReadOnlyPaths=/etc/kes/certs\n", "/etc/kes/certs/kes.key", "InaccessiblePaths"),
    ("TemporaryFileSystem=/etc/kes\nReadOnlyPaths=/etc/kes/certs\n", "/etc/kes/certs/kes.key", "TemporaryFileSystem"),
    ("PrivateTmp=yes\nReadWritePaths=-/tmp/kes\n", "/tmp/kes/kes.key", "PrivateTmp"),
    ("ProtectHome=tmpfs\nBindReadOnlyPaths=/srv/certs:/home/kes/other\n", "/home/kes/certs/kes.key", "ProtectHome"),
])
def test_what_hides_a_file(lines, path, setting):
    found = unit(lines).hidden_by_sandbox(path)
    assert found is not None and found[0] == setting


@pytest.mark.parametrize("lines, path", [
    ("", "/tmp/kes.key"),
    ("PrivateTmp=yes\n", "/tmpfiles/kes.key"),
    ("PrivateTmp=no\n", "/tmp/kes.key"),
    ("DynamicUser=no\nPrivateTmp=no\n", "/tmp/kes.key"),
    ("ProtectHome=read-only\n", "/root/kes.key"),
    ("ProtectHome=TMPFS\n", "/home/kes/kes.key"),  # the words only as written: systemd ignores this line
    ("PrivateTmp=Disconnected\n", "/tmp/kes.key"),
    ("DynamicUser=sure\n", "/tmp/kes.key"),
    ("DynamicUser=yes\n", "/home/kes/kes.key"),  # implies ProtectHome=read-only
    ("ProtectHome=yes\n", "/homes/kes.key"),
    ("InaccessiblePaths=/etc/kes/certs\nInaccessiblePaths=\n", "/etc/kes/certs/kes.key"),  # reset
    ("ProtectHome=tmpfs\nBindReadOnlyPaths=/srv/certs:/home/kes/certs\n", "/home/kes/certs/kes.key"),
    ("ProtectHome=tmpfs\nBindReadOnlyPaths=-/home/kes\n", "/home/kes/certs/kes.key"),
    ("TemporaryFileSystem=/etc/kes\nBindReadOnlyPaths=/etc/kes/certs\n", "/etc/kes/certs/kes.key"),
    ("PrivateTmp=yes\nBindPaths=/srv/tmp-kes:/tmp/kes\n", "/tmp/kes/kes.key"),
    ("ProtectHome=tmpfs\nBindPaths=%h/certs\n", "/root/certs/kes.key"),  # where it lands is not known
    ("ProtectHome=yes\nBindPaths=/srv/home:/home\n", "/home/kes/kes.key"),  # on the hidden directory itself
    ("RootDirectory=/srv/kes-root\nProtectHome=yes\n", "/root/kes.key"),
    ("RootImage=/srv/kes.raw\nPrivateTmp=yes\n", "/tmp/kes.key"),
    ("InaccessiblePaths=%h/private\n", "/root/private/kes.key"),
    ("PrivateTmp=yes\n", "/tmp/%i.key"),
    ("PrivateTmp=yes\nExecStartPre=/bin/cp /etc/kes/kes.key /tmp/kes.key\n", "/tmp/kes.key"),  # filled at start
    ("TemporaryFileSystem=/etc/kes\nExecStartPre=/usr/local/bin/fetch-certs /etc/kes\n", "/etc/kes/kes.key"),
])
def test_what_does_not_hide_it_or_cannot_be_known(lines, path):
    assert unit(lines).hidden_by_sandbox(path) is None


def deployment(root: Path, kes_unit: str, config: str = CONFIG, config_path: str = "/etc/kes/config.yaml") -> Path:
    (root / "config.yaml").write_text(config)
    (root / "kes.service").write_text(f"[Service]\nUser=kes\n{kes_unit}ExecStart=/usr/local/bin/kes server "
                                      f"--config {config_path}\n")
    return root


def sys017(root: Path):
    return findings_of(root, "SYS017")


def test_a_key_in_a_private_tmp(tmp_path):
    deployment(tmp_path, "ProtectSystem=strict\nPrivateTmp=yes\n", CONFIG.replace("/etc/kes/certs/kes.key",
                                                                                    "/tmp/kes.key"))
    [finding] = sys017(tmp_path)
    assert finding.message == ("tls.key names /tmp/kes.key, but kes.service starts KES in a sandbox that hides it: "
                               "`PrivateTmp=yes` gives the service a private, empty /tmp; KES refuses to start")
    assert (finding.location.path.name, finding.location.line, finding.location.column) == ("config.yaml", 2, 12)
    assert [(r.path.name, r.line) for r in finding.related] == [("kes.service", 4)]
    assert finding.severity.label == "error"


def test_a_dynamic_user_keeps_its_private_tmp_whatever_private_tmp_says(tmp_path):
    deployment(tmp_path, "DynamicUser=yes\nPrivateTmp=no\n", CONFIG.replace("/etc/kes/certs/kes.key", "/tmp/kes.key"))
    [finding] = sys017(tmp_path)
    assert ("`DynamicUser=yes` implies `PrivateTmp=yes` (`PrivateTmp=no` does not turn it off), which gives the "
            "service a private, empty /tmp") in finding.message
    assert [(r.path.name, r.line) for r in finding.related] == [("kes.service", 3)]


def test_the_config_itself_in_a_hidden_home(tmp_path):
    deployment(tmp_path, "ProtectHome=tmpfs\n", config_path="/home/kes/config.yaml")
    [finding] = sys017(tmp_path)
    assert finding.message.startswith("`--config /home/kes/config.yaml`: `ProtectHome=tmpfs` makes /home empty")
    assert finding.message.endswith("so KES cannot read its config and refuses to start")
    assert (finding.location.path.name, finding.location.line) == ("kes.service", 4)
    assert finding.anchor == "kes-server:--config"


def test_minio_s_client_files_and_its_capath(tmp_path):
    (tmp_path / "minio.env").write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                                        "MINIO_KMS_KES_CERT_FILE=/etc/minio/certs/client.crt\n"
                                        "MINIO_KMS_KES_KEY_FILE=/etc/minio/certs/client.key\n"
                                        "MINIO_KMS_KES_CAPATH=/root/kes-ca.crt\n")
    (tmp_path / "minio.service").write_text("[Service]\nUser=minio-user\nProtectHome=yes\n"
                                            "EnvironmentFile=-/etc/default/minio\n"
                                            "ExecStart=/usr/local/bin/minio server /data\n")
    [finding] = sys017(tmp_path)
    assert finding.message.startswith("MINIO_KMS_KES_CAPATH names /root/kes-ca.crt, but minio.service starts MinIO")
    assert finding.message.endswith("verifies KES against the system roots alone")
    assert (finding.location.path.name, finding.location.line) == ("minio.env", 5)
    (tmp_path / "minio.service").write_text((tmp_path / "minio.service").read_text().replace(
        "ProtectHome=yes", "InaccessiblePaths=/etc/minio/certs"))
    assert sorted(f.message.split(" names ")[0] for f in sys017(tmp_path)) == ["MINIO_KMS_KES_CERT_FILE",
                                                                               "MINIO_KMS_KES_KEY_FILE"]


def test_drop_ins_are_part_of_the_sandbox(tmp_path, monkeypatch):
    from kescheck.load import systemd

    deployment(tmp_path, "InaccessiblePaths=/etc/kes/certs\n")
    assert len(sys017(tmp_path)) == 2
    drop_ins = tmp_path / "kes.service.d"
    drop_ins.mkdir()
    (drop_ins / "10-bind.conf").write_text("[Service]\nBindReadOnlyPaths=/srv/kes-certs:/etc/kes/certs\n")
    assert sys017(tmp_path) == []  # mounted into the sandbox again
    (drop_ins / "10-bind.conf").write_text("[Service]\nInaccessiblePaths=\nProtectHome=yes\n")
    assert sys017(tmp_path) == []  # the list reset
    (drop_ins / "20-private.conf").write_text("[Service]\nPrivateTmp=yes\nTemporaryFileSystem=/etc/kes\n")
    found = sys017(tmp_path)  # the config, its certificate and its key
    assert len(found) == 3 and all("`TemporaryFileSystem=` mounts an empty file system on /etc/kes" in f.message
                                   for f in found)
    assert {(r.path.name, r.line) for f in found for r in f.related} == {("20-private.conf", 3)}
    monkeypatch.setattr(systemd, "MAX_DROP_INS", 1)  # drop-ins kescheck cannot all read: not judged
    assert sys017(tmp_path) == []


def test_relative_paths_are_not_judged(tmp_path):
    deployment(tmp_path, "InaccessiblePaths=/etc/kes/certs\n", CONFIG.replace("/etc/kes/certs/", ""))
    assert sys017(tmp_path) == []  # KES opens them from its working directory


def test_minio_s_certs_directory(tmp_path):
    (tmp_path / "minio.env").write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                                        "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    start = "ExecStart=/usr/local/bin/minio server --certs-dir /root/.minio/certs /data\n"
    (tmp_path / "minio.service").write_text(f"[Service]\nUser=minio-user\nProtectHome=yes\n"
                                            f"EnvironmentFile=-/etc/default/minio\n{start}")
    [finding] = sys017(tmp_path)  # without MINIO_KMS_KES_CAPATH, MinIO trusts <certs-dir>/CAs
    assert finding.message.startswith("--certs-dir of MinIO's unit names /root/.minio/certs/CAs, but minio.service")
    assert finding.message.endswith("MinIO cannot read the CAs there, which it verifies KES against without "
                                    "MINIO_KMS_KES_CAPATH")
    assert (finding.location.path.name, finding.location.line, finding.location.column) == \
        ("minio.service", 5, len("ExecStart=/usr/local/bin/minio server --certs-dir ") + 1)
    (tmp_path / "minio.service").write_text("[Service]\nUser=minio-user\nProtectHome=yes\n"
                                            "EnvironmentFile=-/etc/default/minio\nExecStart=/usr/local/bin/minio server /d\n")
    (tmp_path / "minio.service.d").mkdir()
    (tmp_path / "minio.service.d" / "start.conf").write_text(f"[Service]\nExecStart=\n{start}")
    [finding] = sys017(tmp_path)
    assert (finding.location.path.name, finding.location.line) == ("start.conf", 3)
