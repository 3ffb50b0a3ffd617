"""kescheck doctor and MinIO's systemd unit: where MinIO's settings come from on the host, and whether they reach it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kescheck.doctor.checks import Status
from kescheck.doctor.minio import find_service, unit_directories
from kescheck.load.source import InputError
from kescheck.load.systemd import MAX_DROP_INS
from kescheck.doctor.run import DoctorOptions, DoctorUsageError, run_doctor
from tests.kes_fixtures import DEFAULT_KEY, kes_pki, kes_server, kes_server_factory, stopper  # noqa: F401

START = "ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n"


def unit(*lines: str) -> str:
    return "[Unit]\nDescription=MinIO\n\n[Service]\nUser=minio-user\n" + "".join(f"{line}\n" for line in lines) + START


@pytest.fixture
def units(tmp_path):
    """A system unit directory of this test's own, as SYSTEMD_UNIT_PATH names it."""
    directory = tmp_path / "units"
    directory.mkdir()
    return directory


def doctor(units: Path, environ: dict | None = None, **options):
    options.setdefault("timeout", 3.0)
    return run_doctor(DoctorOptions(environ={"SYSTEMD_UNIT_PATH": str(units), **(environ or {})}, **options))


def service_check(report):
    settings = next(c for c in report.root.children if c.title.startswith("MinIO settings"))
    return next(c for c in settings.children if c.title.startswith("MinIO's systemd unit"))


def process_environment(kes_pki, kes_server) -> dict:
    return {"MINIO_KMS_KES_ENDPOINT": kes_server.url(), "MINIO_KMS_KES_KEY_NAME": DEFAULT_KEY,
            "MINIO_KMS_KES_CERT_FILE": str(kes_pki.minio_cert), "MINIO_KMS_KES_KEY_FILE": str(kes_pki.minio_key),
            "MINIO_KMS_KES_CAPATH": str(kes_pki.ca_file)}


# --- finding the unit --------------------------------------------------------------------------------

def test_the_unit_search_path(monkeypatch):
    from kescheck.doctor import minio

    monkeypatch.setattr(minio, "SYSTEM_UNIT_DIRECTORIES", ("/etc/systemd/system", "/lib/systemd/system"))
    assert unit_directories({}) == [Path("/etc/systemd/system"), Path("/lib/systemd/system")]
    assert unit_directories({"SYSTEMD_UNIT_PATH": "/a:/b"}) == [Path("/a"), Path("/b")]
    assert unit_directories({"SYSTEMD_UNIT_PATH": "/a:"}) == [Path("/a"), Path("/etc/systemd/system"),
                                                              Path("/lib/systemd/system")]


def two_unit_directories(tmp_path) -> tuple[Path, Path]:
    """/etc/systemd/system and /lib/systemd/system of a test, each with `minio.service.d/`; the unit in the second."""
    first, second = tmp_path / "etc", tmp_path / "lib"
    for directory in (first, second):
        (directory / "minio.service.d").mkdir(parents=True)
    (second / "minio.service").write_text(unit("EnvironmentFile=-/etc/default/minio"))
    return first, second


def test_the_unit_and_its_drop_ins_in_the_order_systemd_applies_them(tmp_path):
    first, second = two_unit_directories(tmp_path)
    (second / "minio.service.d" / "10-env.conf").write_text("[Service]\nEnvironmentFile=/lib/ignored.env\n")
    (first / "minio.service.d" / "10-env.conf").write_text("[Service]\nEnvironmentFile=\nEnvironmentFile=/etc/a.env\n")
    (second / "minio.service.d" / "20-more.conf").write_text("[Service]\nEnvironmentFile=/etc/b.env\n")
    (second / "minio.service.d" / "notes.txt").write_text("[Service]\nEnvironmentFile=/etc/c.env\n")
    service = find_service(None, {"SYSTEMD_UNIT_PATH": f"{first}:{second}"})
    assert service.files == [second / "minio.service", first / "minio.service.d" / "10-env.conf",
                             second / "minio.service.d" / "20-more.conf"]
    assert service.unit.env_file_paths() == [Path("/etc/a.env"), Path("/etc/b.env")]  # 10-env.conf reset the list
    assert service.unit.executable.source is None  # the unit's own file
    (first / "minio.service.d" / "30-start.conf").write_text("[Service]\nExecStart=\nExecStart=/opt/minio server /d\n")
    service = find_service(None, {"SYSTEMD_UNIT_PATH": f"{first}:{second}"})
    assert service.unit.executable.source.path == first / "minio.service.d" / "30-start.conf"
    assert (service.unit.executable.text, service.unit.executable.line) == ("/opt/minio", 3)


def test_a_unit_with_more_drop_ins_than_are_read(tmp_path):
    (tmp_path / "minio.service.d").mkdir()
    (tmp_path / "minio.service").write_text(unit("EnvironmentFile=-/etc/default/minio"))
    for number in range(MAX_DROP_INS):
        (tmp_path / "minio.service.d" / f"{number:03d}.conf").write_text("[Service]\n")
    assert len(find_service(tmp_path / "minio.service", {}).files) == MAX_DROP_INS + 1
    (tmp_path / "minio.service.d" / "999.conf").write_text("[Service]\n")
    with pytest.raises(InputError, match=f"65 drop-ins .*more than the {MAX_DROP_INS} kescheck reads"):
        find_service(tmp_path / "minio.service", {})
    assert find_service(None, {"SYSTEMD_UNIT_PATH": str(tmp_path)}) is None


def test_no_unit_and_a_unit_that_does_not_run_minio(units):
    assert find_service(None, {"SYSTEMD_UNIT_PATH": str(units)}) is None
    (units / "minio.service").write_text("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes.yaml\n")
    assert find_service(None, {"SYSTEMD_UNIT_PATH": str(units)}) is None


def test_a_named_unit_that_cannot_be_used_is_a_usage_error(tmp_path, cli):
    kes_unit = tmp_path / "kes.service"
    kes_unit.write_text("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes.yaml\n")
    with pytest.raises(DoctorUsageError, match="--minio-unit .*does not run `minio server`"):
        run_doctor(DoctorOptions(minio_unit=kes_unit, environ={}))
    run = cli("doctor", "--minio-unit", str(tmp_path / "absent.service"))
    assert run.status == 2 and "--minio-unit" in run.stderr


# --- where the settings come from ----------------------------------------------------------------------

def test_the_settings_are_those_of_the_file_the_unit_loads(kes_pki, kes_server, units, tmp_path, monkeypatch):
    from kescheck.doctor import minio

    default = tmp_path / "default-minio"
    default.write_text("MINIO_VOLUMES=/mnt/data\n")
    monkeypatch.setattr(minio, "DEFAULT_ENV_FILE", default)
    settings = kes_pki.env(kes_server.url(), name="minio-kms.env")
    (units / "minio.service").write_text(unit(f"EnvironmentFile={settings}", f"EnvironmentFile=-{default}"))
    report = doctor(units)
    assert report.inputs == [f"MinIO settings from {settings}, which minio.service loads"]
    assert report.status is Status.OK
    check = service_check(report)
    assert check.status is Status.OK and check.summary == f"minio.service loads {settings}"


# --- DOC006 ---------------------------------------------------------------------------------------------

def test_an_env_file_the_unit_does_not_load(kes_pki, kes_server, units):
    env = kes_pki.env(kes_server.url())
    (units / "minio.service").write_text(unit("EnvironmentFile=minio.env"))
    report = doctor(units, minio_env=env)
    check = service_check(report)
    assert check.status is Status.FAIL and check.rule.code == "DOC006"
    assert check.summary == (f"minio.service does not load {env} (it loads no env file; systemd ignores "
                             "EnvironmentFile=minio.env (not an absolute path)): MinIO starts without these KMS "
                             "settings and runs without KES")
    [finding] = [f for f in report.result.findings if f.code == "DOC006"]
    assert (finding.location.path, finding.location.line, finding.location.column) == \
        (units / "minio.service", 7, len("ExecStart=") + 1)
    assert report.exit_status() == 1


def test_variables_exported_in_a_shell_do_not_reach_the_service(kes_pki, kes_server, units):
    (units / "minio.service").write_text(unit())
    report = doctor(units, process_environment(kes_pki, kes_server))
    check = service_check(report)
    assert check.status is Status.FAIL and "MINIO_KMS_KES_* are set in the doctor's environment, but minio.service " \
        "gives MinIO none (it loads no env file): variables exported in a shell do not reach the service" in check.summary


def test_a_shell_that_holds_the_settings_the_unit_also_gives(kes_pki, kes_server, units):
    settings = kes_pki.env(kes_server.url())
    (units / "minio.service").write_text(unit(f"EnvironmentFile={settings}"))
    check = service_check(doctor(units, process_environment(kes_pki, kes_server)))
    assert check.status is Status.SKIP and f"gives MinIO those of {settings}" in check.summary


def test_the_doctor_checked_another_file_than_the_unit_loads(kes_pki, kes_server, units):
    checked = kes_pki.env(kes_server.url(), name="checked.env")
    used = kes_pki.env(kes_server.url(), name="used.env")
    (units / "minio.service").write_text(unit(f"EnvironmentFile={used}"))
    report = doctor(units, minio_env=checked)
    check = service_check(report)
    assert check.status is Status.WARN and check.summary == (f"minio.service does not load {checked} but {used}: the "
                                                              "doctor checked settings MinIO does not use")
    assert report.exit_status() == 3


@pytest.mark.parametrize("line", ["PassEnvironment=MINIO_KMS_KES_ENDPOINT", "Environment=MINIO_KMS_KES_KEY_NAME=k",
                                  "EnvironmentFile=/etc/minio/%i.env", "Environment=MINIO_CONFIG_ENV_FILE=minio.env"])
def test_a_unit_whose_environment_may_hold_the_settings(kes_pki, kes_server, units, line):
    (units / "minio.service").write_text(unit(line))
    check = service_check(doctor(units, minio_env=kes_pki.env(kes_server.url())))
    assert check.status is Status.SKIP and "may give MinIO settings the doctor does not read" in check.summary


def test_no_unit_is_skipped(kes_pki, kes_server, units):
    check = service_check(doctor(units, minio_env=kes_pki.env(kes_server.url())))
    assert check.status is Status.SKIP and check.summary.startswith("no minio.service")


def test_the_cli_names_the_unit_and_reports_doc006_in_json(kes_pki, kes_server, tmp_path, cli):
    env = kes_pki.env(kes_server.url())
    named = tmp_path / "minio-tenant.service"
    named.write_text(unit())
    run = cli("doctor", "--minio-env", str(env), "--minio-unit", str(named), "--format", "json")
    assert run.status == 1
    [finding] = [f for f in json.loads(run.stdout)["findings"] if f["code"] == "DOC006"]
    assert finding["path"].endswith("minio-tenant.service") and finding["line"] == 6


def test_the_unit_s_certs_dir_holds_the_ca_that_verifies_kes(kes_pki, kes_server, units, tmp_path):
    certs = tmp_path / "minio-certs"
    (certs / "CAs").mkdir(parents=True)
    (certs / "CAs" / "ca.crt").write_bytes(kes_pki.ca_file.read_bytes())
    environ = process_environment(kes_pki, kes_server)
    del environ["MINIO_KMS_KES_CAPATH"]
    (units / "minio.service").write_text("[Service]\nEnvironment=MINIO_KMS_KES_KEY_NAME=x\n"
                                         f"ExecStart=/usr/local/bin/minio server --certs-dir {certs} /data\n")
    report = doctor(units, environ)
    trust = next(c for c in report.root.walk() if c.title == "trusted CAs for KES")
    assert trust.summary == (f"MINIO_KMS_KES_CAPATH is not set: the system roots and 1 CA certificate(s) from "
                             f"{certs}/CAs (--certs-dir of MinIO's unit) verify KES")
    assert not [c for c in report.root.walk() if c.status is Status.FAIL]
    (units / "minio.service").write_text("[Service]\nExecStart=/usr/local/bin/minio server /data\n")
    trust = next(c for c in doctor(units, environ).root.walk() if c.title == "trusted CAs for KES")
    assert "which kescheck does not know: neither MINIO_OPTS nor MinIO's unit names a --certs-dir)" in trust.summary


def test_the_static_checks_take_the_unit_that_loads_the_settings(kes_pki, kes_server, units):
    settings = kes_pki.env(kes_server.url())
    (units / "minio.service").write_text(unit(f"EnvironmentFile={settings}", "EnvironmentFile=relative.env"))
    report = doctor(units)
    assert [(f.code, f.location.path.name) for f in report.result.findings if f.code.startswith("SYS")] == \
        [("SYS008", "minio.service")]
    (units / "minio.service.d").mkdir()
    (units / "minio.service.d" / "user.conf").write_text("[Service]\nEnvironmentFile=also-relative.env\n")
    assert [(f.code, f.location.path.name) for f in doctor(units).result.findings if f.code.startswith("SYS")] == \
        [("SYS008", "minio.service"), ("SYS008", "user.conf")]  # lint reads the drop-ins beside the unit too
    other = units.parent / "other-units"
    (other / "minio.service.d").mkdir(parents=True)
    (other / "minio.service.d" / "user.conf").write_text("[Service]\nUser=minio\n")  # hides the one beside the unit
    report = doctor(units, {"SYSTEMD_UNIT_PATH": f"{other}:{units}"})
    assert not [f for f in report.result.findings if f.code.startswith("SYS")]  # lint would not merge it


def test_the_static_checks_see_what_the_unit_s_sandbox_hides(kes_pki, kes_server, units):
    settings = kes_pki.env(kes_server.url())
    hidden = kes_pki.minio_key.parent
    (units / "minio.service").write_text(unit(f"EnvironmentFile={settings}", f"InaccessiblePaths={hidden}"))
    found = [f for f in doctor(units).result.findings if f.code == "SYS017"]
    assert {f.message.split(" names ")[0] for f in found} >= {"MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE"}
    assert all(f.related[0].path.name == "minio.service" for f in found)


def test_on_the_kes_host_the_static_checks_take_kes_s_unit(write, units, tmp_path):
    config = write("etc/kes/config.yaml", "address: 127.0.0.1:1\nadmin: {identity: disabled}\n"
                                          "tls: {key: /etc/kes-kescheck/k, cert: /etc/kes-kescheck/c}\n"
                                          "keystore: {fs: {path: /var/kes}}\n")
    (units / "kes.service").write_text(f"[Service]\nExecStart=/usr/local/bin/kes server --config {config} --mlock\n")
    codes = {f.code for f in doctor(units, kes_config=config, timeout=0.5).result.findings}
    assert "SYS002" in codes  # --mlock, which current KES refuses
    (units / "kes.service").write_text("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/other.yaml --mlock\n")
    assert "SYS002" not in {f.code for f in doctor(units, kes_config=config, timeout=0.5).result.findings}
    (units / "kes.service").write_text(f"[Service]\nExecStart=/usr/local/bin/kes server --config {config} --mlock\n")
    other = tmp_path / "other-units"
    (other / "kes.service.d").mkdir(parents=True)  # drop-ins lint would not merge: the unit is not linted
    environ = {"SYSTEMD_UNIT_PATH": f"{other}:{units}"}
    assert "SYS002" not in {f.code for f in doctor(units, environ, kes_config=config, timeout=0.5).result.findings}
    (units / "kes.service.d").mkdir()  # drop-ins beside it are read with it
    (units / "kes.service").write_text("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/other.yaml\n")
    (units / "kes.service.d" / "start.conf").write_text(f"[Service]\nExecStart=\nExecStart=/usr/local/bin/kes "
                                                        f"server --config {config} --mlock\n")
    assert "SYS002" in {f.code for f in doctor(units, kes_config=config, timeout=0.5).result.findings}
    (units / "kes.service.d" / "start.conf").write_text(f"[Service]\nExecStart=\nExecStart=/usr/local/bin/kes "
                                                        f"server --config {config} --addr :7373\n")
    assert "SYS002" not in {f.code for f in doctor(units, kes_config=config, timeout=0.5).result.findings}
    (units / "kes.service.d" / "start.conf").write_text(f"[Service]\nExecStart=\nExecStart=/usr/local/bin/kes "
                                                        f"server --config {config} --mlock\n")
    found = [f for f in doctor(units, kes_config=config, timeout=0.5).result.findings if f.code == "SYS002"]
    assert [f.location.path.name for f in found] == ["start.conf"]


def test_a_named_unit_takes_its_drop_ins(kes_pki, kes_server, units, tmp_path):
    settings = kes_pki.env(kes_server.url())
    named = tmp_path / "minio-tenant1.service"
    named.write_text(unit())
    (units / "minio-tenant1.service.d").mkdir()
    (units / "minio-tenant1.service.d" / "env.conf").write_text(f"[Service]\nEnvironmentFile={settings}\n")
    report = doctor(units, minio_unit=named)
    assert report.inputs == [f"MinIO settings from {settings}, which minio-tenant1.service loads"]
    assert service_check(report).status is Status.OK


def test_a_drop_in_masked_with_dev_null_hides_the_one_of_a_later_directory(tmp_path):
    first, second = two_unit_directories(tmp_path)
    (second / "minio.service.d" / "10-env.conf").write_text("[Service]\nEnvironmentFile=\nEnvironmentFile=/x.env\n")
    (first / "minio.service.d" / "10-env.conf").symlink_to("/dev/null")
    service = find_service(None, {"SYSTEMD_UNIT_PATH": f"{first}:{second}"})
    assert service.files == [second / "minio.service"]
    assert service.unit.env_file_paths() == [Path("/etc/default/minio")]
