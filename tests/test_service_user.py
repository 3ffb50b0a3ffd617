"""SYS016: the user a unit runs KES or MinIO as must be able to read the files the server opens (permission bits of
the file and of the directories above it, on the host kescheck runs on)."""
from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from certgen import issue
from conftest import findings_of
from kescheck.service_user import ServiceUser, unreadable

try:
    NOBODY = pwd.getpwnam("nobody")
except KeyError:
    NOBODY = None
pytestmark = pytest.mark.skipif(NOBODY is None or os.geteuid() == NOBODY.pw_uid, reason="needs a user 'nobody'")
ROOT = os.geteuid() == 0


@pytest.fixture
def open_dir():
    """A directory every user may enter (pytest's own temporary directories are the running user's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="kescheck-sys016-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def kes_deployment(root: Path, unit_lines: str = "User=nobody\n") -> Path:
    server = issue("kes", dns=("kes.example.net",))
    cert, key = server.write(root, "kes")
    for path in (cert, key):
        path.chmod(0o644)
    (root / "config.yaml").write_text(f"admin: {{identity: disabled}}\ntls: {{key: {key}, cert: {cert}}}\n"
                                      "keystore: {fs: {path: /var/kes}}\n")
    (root / "kes.service").write_text(f"[Service]\n{unit_lines}ExecStart=/usr/local/bin/kes server --config "
                                      f"{root / 'config.yaml'}\n")
    return key


def sys016(root: Path):
    return findings_of(root, "SYS016")


def test_a_key_only_its_owner_may_read(open_dir):
    key = kes_deployment(open_dir)
    assert sys016(open_dir) == []
    key.chmod(0o600)
    [finding] = sys016(open_dir)
    owner = pwd.getpwuid(os.geteuid()).pw_name
    assert finding.message.startswith(f"tls.key names {key}, but kes.service runs KES as user 'nobody', who cannot "
                                      f"read it: {key} is -rw------- ({owner}:")
    assert finding.message.endswith("and other users' permissions do not let nobody read it; KES refuses to start")
    assert (finding.location.path.name, finding.location.line) == ("config.yaml", 2)
    assert [(r.path.name, r.line) for r in finding.related] == [("kes.service", 2)]


def test_a_directory_the_user_may_not_enter(open_dir):
    kes_deployment(open_dir)
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    (private / "kes.crt").write_bytes((open_dir / "kes.crt").read_bytes())
    (open_dir / "config.yaml").write_text((open_dir / "config.yaml").read_text().replace(
        f"cert: {open_dir / 'kes.crt'}", f"cert: {private / 'kes.crt'}"))
    [finding] = sys016(open_dir)
    assert f"{private} is drwx------" in finding.message and "do not let nobody enter it" in finding.message


@pytest.mark.skipif(not ROOT, reason="giving a file to another user needs root")
def test_owner_and_group_permissions_count(open_dir):
    key = kes_deployment(open_dir)
    key.chmod(0o600)
    os.chown(key, NOBODY.pw_uid, -1)
    assert sys016(open_dir) == []
    os.chown(key, 0, NOBODY.pw_gid)
    key.chmod(0o640)
    assert sys016(open_dir) == []  # the user's primary group
    key.chmod(0o604)
    [finding] = sys016(open_dir)  # the group's bits apply, not the other users' ones
    assert "its group's permissions do not let nobody read it" in finding.message


@pytest.mark.parametrize("unit_lines", ["", "User=root\n", "User=kescheck-no-such-user\n",
                                        "User=nobody\nDynamicUser=yes\n", "User=%i\n"])
def test_users_not_judged(open_dir, unit_lines):
    kes_deployment(open_dir, unit_lines).chmod(0o000)  # root reads it all the same
    assert sys016(open_dir) == []


@pytest.mark.parametrize("capabilities, judged", [
    ("AmbientCapabilities=CAP_IPC_LOCK\n", True),  # what KES's units grant: no file access
    ("AmbientCapabilities=CAP_IPC_LOCK CAP_DAC_READ_SEARCH\n", False),
    ("AmbientCapabilities=CAP_IPC_LOCK\nAmbientCapabilities=CAP_DAC_OVERRIDE\n", False),  # lines add up
    ("AmbientCapabilities=CAP_DAC_OVERRIDE\nAmbientCapabilities=\n", True),  # an empty one resets the set
    ("AmbientCapabilities=~CAP_DAC_OVERRIDE\n", False),  # every capability but that one: CAP_DAC_READ_SEARCH too
    ("AmbientCapabilities=~CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH\n", True),
    ("AmbientCapabilities=cap_dac_read_search\n", False),  # systemd reads the names in any case
])
def test_a_capability_that_reads_any_file_is_not_judged(open_dir, capabilities, judged):
    kes_deployment(open_dir, f"User=nobody\n{capabilities}").chmod(0o600)
    assert len(sys016(open_dir)) == (1 if judged else 0)


def test_supplementary_groups_add_up_over_lines():
    import grp

    from kescheck.load.source import SourceFile
    from kescheck.load.systemd import read_unit
    from kescheck.service_user import service_user

    first, second = [group for group in grp.getgrall() if NOBODY.pw_name not in group.gr_mem][1:3]

    def gids(lines: str) -> frozenset[int]:
        text = f"[Service]\nUser=nobody\n{lines}ExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n"
        return service_user(read_unit(SourceFile(Path("kes.service"), text))).gids

    both = gids(f"SupplementaryGroups={first.gr_name}\nSupplementaryGroups={second.gr_name}\n")
    assert {first.gr_gid, second.gr_gid} <= both
    reset = gids(f"SupplementaryGroups={first.gr_name}\nSupplementaryGroups=\nSupplementaryGroups={second.gr_name}\n")
    assert second.gr_gid in reset and (first.gr_gid not in reset or first.gr_gid == NOBODY.pw_gid)


def _acl_granting_read(uid: int) -> bytes:
    """A POSIX access ACL in the kernel's xattr form: owner rw, user `uid` r, group none, mask r, others none."""
    import struct

    entries = [(0x01, 6, 0xFFFFFFFF), (0x02, 4, uid), (0x04, 0, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
               (0x20, 0, 0xFFFFFFFF)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


def test_a_file_with_an_acl_is_not_judged(open_dir):
    key = kes_deployment(open_dir)
    key.chmod(0o600)
    try:
        os.setxattr(key, "system.posix_acl_access", _acl_granting_read(NOBODY.pw_uid))
    except OSError:
        pytest.skip("this file system takes no POSIX ACLs")
    assert sys016(open_dir) == []


def test_minio_s_unit_and_its_client_key(open_dir):
    client = issue("minio")
    cert, key = client.write(open_dir, "client")
    cert.chmod(0o644)
    key.chmod(0o600)
    capath = open_dir / "cas"
    capath.mkdir()
    capath.chmod(0o704)  # others may list it but not open what is in it
    (open_dir / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                        f"MINIO_KMS_KES_KEY_NAME=minio-key\nMINIO_KMS_KES_CERT_FILE={cert}\n"
                                        f"MINIO_KMS_KES_KEY_FILE={key}\nMINIO_KMS_KES_CAPATH={capath}\n")
    (open_dir / "minio.service").write_text(f"[Service]\nUser=nobody\nEnvironmentFile={open_dir / 'minio.env'}\n"
                                            "ExecStart=/usr/local/bin/minio server /data\n")
    findings = {f.message.split(" names ")[0]: f for f in sys016(open_dir)}
    assert sorted(findings) == ["MINIO_KMS_KES_CAPATH", "MINIO_KMS_KES_KEY_FILE"]
    assert findings["MINIO_KMS_KES_KEY_FILE"].message.endswith("MinIO cannot load it and refuses to start")
    assert findings["MINIO_KMS_KES_CAPATH"].message.endswith("verifies KES against the system roots alone")
    assert (findings["MINIO_KMS_KES_KEY_FILE"].location.path.name, findings["MINIO_KMS_KES_KEY_FILE"].location.line) \
        == ("minio.env", 4)


def test_unreadable_answers_nothing_it_cannot_know(open_dir):
    user = ServiceUser("nobody", NOBODY.pw_uid, frozenset({NOBODY.pw_gid}))
    assert unreadable(open_dir / "absent", user) is None
    (open_dir / "file").write_text("x")
    (open_dir / "file").chmod(0o644)
    assert unreadable(open_dir / "file", user) is None
    (open_dir / "file").chmod(0o600)
    assert unreadable(open_dir / "file", user).startswith(f"{open_dir / 'file'} is -rw-------")


def test_only_files_where_the_server_opens_them_are_judged(open_dir):
    key = kes_deployment(open_dir)
    key.chmod(0o600)
    config = open_dir / "config.yaml"
    config.write_text(config.read_text().replace(str(key), "kes.key"))  # relative: opened from KES's working directory
    assert sys016(open_dir) == []
    config.write_text(config.read_text().replace("kes.key", str(key)))
    unit = open_dir / "kes.service"
    unit.write_text(unit.read_text().replace(str(config), "/etc/kes/config.yaml"))  # a unit kept in a repository
    assert sys016(open_dir) == []
    (open_dir / "minio.env").write_text(f"MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                        f"MINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_CERT_FILE={open_dir / 'kes.crt'}\n"
                                        f"MINIO_KMS_KES_KEY_FILE={key}\n")
    (open_dir / "minio.service").write_text("[Service]\nUser=nobody\nEnvironmentFile=/etc/default/minio\n"
                                            "ExecStart=/usr/local/bin/minio server /data\n")
    assert sys016(open_dir) == []


def test_settings_written_in_minio_s_unit(open_dir):
    client = issue("minio")
    cert, key = client.write(open_dir, "client")
    key.chmod(0o600)
    (open_dir / "minio.service").write_text(
        "[Service]\nUser=nobody\nEnvironment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373 "
        f"MINIO_KMS_KES_KEY_NAME=k\nEnvironment=MINIO_KMS_KES_CERT_FILE={cert} MINIO_KMS_KES_KEY_FILE={key}\n"
        "ExecStart=/usr/local/bin/minio server /data\n")
    [finding] = sys016(open_dir)
    assert finding.message.startswith(f"MINIO_KMS_KES_KEY_FILE names {key}, but minio.service runs MinIO as user "
                                      "'nobody', who cannot read it")
    assert (finding.location.path.name, finding.location.line) == ("minio.service", 4)


def test_minio_s_certs_directory(open_dir):
    cas = open_dir / "certs" / "CAs"
    cas.mkdir(parents=True)
    (open_dir / "certs").chmod(0o755)
    cas.chmod(0o700)
    env = open_dir / "minio.env"
    env.write_text("MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                   "MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    (open_dir / "minio.service").write_text(f"[Service]\nUser=nobody\nEnvironmentFile={env}\n"
                                            f"ExecStart=/usr/local/bin/minio server --certs-dir {open_dir / 'certs'} /d\n")
    [finding] = sys016(open_dir)
    assert finding.message.startswith(f"--certs-dir of MinIO's unit names {cas}, but minio.service runs MinIO as user "
                                      f"'nobody', who cannot read it: {cas} is drwx------")
    assert finding.message.endswith("MinIO cannot read the CAs there, which it verifies KES against without "
                                    "MINIO_KMS_KES_CAPATH")
    assert (finding.location.path.name, finding.location.line) == ("minio.service", 4)
    cas.chmod(0o755)
    assert sys016(open_dir) == []


def test_kes_s_own_config(open_dir):
    kes_deployment(open_dir)
    config = open_dir / "config.yaml"
    config.chmod(0o644)
    assert sys016(open_dir) == []
    config.chmod(0o600)  # a config holding a keystore secret, made private by the administrator
    [finding] = sys016(open_dir)
    assert finding.message.startswith(f"`--config {config}`: kes.service runs KES as user 'nobody', who cannot read it: "
                                      f"{config} is -rw-------")
    assert finding.message.endswith("KES refuses to start")
    assert (finding.location.path.name, finding.location.line) == ("kes.service", 3)
    assert [(r.path.name, r.line) for r in finding.related] == [("kes.service", 2)]
