"""MinIO's systemd unit: what it runs, the env files it gives MinIO, how it joins a deployment, and SYS015."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES
from kescheck.engine import lint
from kescheck.load.source import SourceFile
from kescheck.load.systemd import read_minio_unit, read_unit
from kescheck.model import Options

KMS_ENV = """\
    MINIO_VOLUMES=/mnt/data
    MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373
    MINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs
    MINIO_KMS_KES_KEY_NAME=minio-key
    """
START = "ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n"


def minio_unit(text: str):
    return read_minio_unit(SourceFile(Path("minio.service"), text))


def unit_text(*lines: str) -> str:
    return "[Unit]\nDescription=MinIO\n\n[Service]\nUser=minio-user\n" + "".join(f"{line}\n" for line in lines) + START


def found(result, code: str):
    return [f for f in result.findings if f.code == code]


# --- reading the unit ----------------------------------------------------------------------------

def test_the_stock_unit_runs_minio_server_and_loads_its_env_file():
    read = minio_unit((FIXTURES / "systemd" / "docs-copy" / "minio.service").read_text())
    assert read.executable.text == "/usr/local/bin/minio" and (read.executable.line, read.executable.column) == (11, 11)
    assert [word.text for word in read.arguments] == ["$MINIO_OPTS", "$MINIO_VOLUMES"]
    assert [(word.text, path) for word, path in read.env_files()] == [("/etc/default/minio", "/etc/default/minio")]
    assert read.setting("User") == "minio-user" and not read.sets_kms()


def test_what_runs_minio_and_what_does_not():
    assert minio_unit("[Service]\nExecStart=+@/opt/minio/minio minio server /data\n").executable.text == "/opt/minio/minio"
    assert minio_unit("[Service]\nExecStart=/usr/local/bin/minio gateway nas /data\n") is None
    assert minio_unit("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n") is None
    assert minio_unit("[Service]\nExecStart=/usr/local/bin/minio server /data\nExecStart=\n") is None
    assert minio_unit('[Service]\nExecStart=/usr/local/bin/minio server "/data\n') is None  # systemd refuses the line
    assert read_unit(SourceFile(Path("minio.service"), unit_text())).command is None


def test_env_files_in_the_order_they_are_read_and_what_is_left_out():
    read = minio_unit(unit_text("EnvironmentFile=-/etc/default/minio", "EnvironmentFile=minio.env",
                                "EnvironmentFile=/etc/minio/%i.env", "EnvironmentFile=/etc/minio/extra.env",
                                'Environment="MINIO_CONFIG_ENV_FILE=/etc/minio/config.env" MINIO_KMS_KES_KEY_NAME=k'))
    assert [path for _, path in read.env_files()] == ["/etc/default/minio", "/etc/minio/extra.env",
                                                      "/etc/minio/config.env"]
    assert read.sets_kms()
    relative = minio_unit(unit_text("Environment=MINIO_CONFIG_ENV_FILE=config.env"))
    assert relative.env_files() == [] and relative.assigned("MINIO_CONFIG_ENV_FILE").text == "MINIO_CONFIG_ENV_FILE=config.env"
    assert minio_unit(unit_text("Environment=MINIO_CONFIG_ENV_FILE=/etc/minio/%i.env")).env_files() == []
    literal = minio_unit(unit_text("Environment=MINIO_CONFIG_ENV_FILE=/etc/minio/${TENANT}.env"))  # not expanded
    assert [path for _, path in literal.env_files()] == ["/etc/minio/${TENANT}.env"]


# --- discovery and pairing -------------------------------------------------------------------------

def test_a_walk_reads_minio_units_and_a_named_one_is_no_longer_refused():
    result = lint([FIXTURES / "systemd" / "docs-copy" / "minio.service"])
    assert not result.input_errors
    kinds = {f.path.name: f.kind for f in result.files}
    assert kinds == {"minio.service": "unit", "kes.service": "unit", "kes-config.yaml": "kes"}  # its deployment
    [deployment] = result.deployments
    assert deployment.unit is not None and [u.source.path.name for u in deployment.minio_units] == ["minio.service"]
    [minio] = [f for f in result.files if f.path.name == "minio.service"]
    assert result.file_notes()[minio.source.path] == ["systemd unit that runs `minio server`"]


def test_the_unit_joins_the_env_file_beside_it(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text())
    [deployment] = lint([tmp_path]).deployments
    assert [env.source.path.name for env in deployment.envs] == ["minio.env"]
    assert [unit.source.path.name for unit in deployment.minio_units] == ["minio.service"]


def test_the_env_file_the_unit_loads_is_loaded_and_joined_wherever_it_is(write, tmp_path):
    env = write("etc/default/minio", KMS_ENV)
    write("etc/default/other.env", KMS_ENV)
    unit = write("systemd/minio.service", unit_text(f"EnvironmentFile={env}"))
    result = lint([unit])  # named alone, as pre-commit names it
    [deployment] = [d for d in result.deployments if d.minio_units]
    assert [e.source.path.name for e in deployment.envs] == ["minio"]
    assert not found(result, "SYS015")
    assert any(f.location.path.name == "minio" for f in result.findings)  # the env file is checked with the unit
    result = lint([tmp_path / "etc" / "default" / "other.env", unit])  # two env files: the one it loads
    [deployment] = [d for d in result.deployments if d.minio_units]
    assert [e.source.path.name for e in deployment.envs] == ["minio"]


def test_a_unit_joins_the_only_env_file_among_the_inputs(write, tmp_path):
    env = write("etc/minio/kms.env", KMS_ENV)
    unit = write("etc/systemd/system/minio.service", unit_text())
    [deployment] = lint([unit, env]).deployments
    assert [e.source.path for e in deployment.envs] == [env] and len(deployment.minio_units) == 1
    other = write("etc/minio/second.env", KMS_ENV)
    deployments = lint([unit, env, other]).deployments  # which of two would be a guess
    assert [d for d in deployments if d.minio_units] == [d for d in deployments if not d.envs]


# --- SYS015 ------------------------------------------------------------------------------------------

def test_a_unit_that_loads_no_env_file(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text())
    [missing] = found(lint([tmp_path]), "SYS015")
    assert missing.severity.label == "error"
    assert (missing.location.path.name, missing.location.line, missing.location.column) == ("minio.service", 6, 11)
    assert "loads no env file (no `EnvironmentFile=`, no `MINIO_CONFIG_ENV_FILE`)" in missing.message
    assert "minio.env" in missing.message and "runs without KES" in missing.message
    assert [(r.path.name, r.line, r.column) for r in missing.related] == [("minio.env", 2, 1)]


@pytest.mark.parametrize("lines", [
    ("EnvironmentFile=-/etc/default/minio",),  # not here: it may be this env file where it is installed
    ("EnvironmentFile=/etc/default/minio",),
    ("Environment=MINIO_CONFIG_ENV_FILE=/etc/minio/config.env",),
    ("Environment=MINIO_CONFIG_ENV_FILE=config.env",),  # relative: opened from a working directory not known here
    ("Environment=MINIO_KMS_KES_ENDPOINT=https://kes:7373 MINIO_KMS_KES_KEY_NAME=k",),  # the unit's own settings
    ("EnvironmentFile=/etc/minio/${TENANT}.env",),
    ("EnvironmentFile=/etc/minio/%i.env",),
    ("PassEnvironment=MINIO_KMS_KES_ENDPOINT",),
    ("PAMName=login",),
])
def test_a_unit_whose_environment_may_hold_the_settings_is_not_judged(write, tmp_path, lines):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text(*lines))
    assert not found(lint([tmp_path]), "SYS015")


def test_drop_ins_beside_the_unit_may_load_the_file(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text())
    assert found(lint([tmp_path]), "SYS015")
    write("minio.service.d/override.conf", "[Service]\nEnvironmentFile=/etc/default/minio\n")
    assert not found(lint([tmp_path]), "SYS015")


def test_a_drop_in_that_loads_the_env_file(write, tmp_path):
    env = write("config/minio.env", KMS_ENV)
    write("minio.service", unit_text())
    write("minio.service.d/env.conf", f"[Service]\nEnvironmentFile={env}\n")
    result = lint([tmp_path / "minio.service"])
    assert not found(result, "SYS015")
    assert [e.source.path for d in result.deployments for e in d.envs] == [env]  # loaded with the unit, and joined
    write("minio.service.d/env.conf", f"[Service]\nEnvironmentFile={env}\nEnvironmentFile=\n")  # then reset
    [finding] = found(lint([tmp_path / "minio.service", env]), "SYS015")
    assert finding.location.path.name == "minio.service"


def test_kms_settings_of_a_drop_in_count_as_set(write, tmp_path):
    write("minio.service", unit_text("Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373 "
                                     f"MINIO_KMS_KES_API_KEY={API_KEY}"))
    assert [f.message for f in lint([tmp_path]).findings if f.code == "ENV051"]  # no key name
    write("minio.service.d/key.conf", "[Service]\nEnvironment=MINIO_KMS_KES_KEY_NAME=minio-key\n")
    result = lint([tmp_path])
    [environment] = result.deployments[0].envs
    assert environment.source.path.name == "minio.service" and environment.defined("MINIO_KMS_KES_KEY_NAME")
    assert not found(result, "ENV051")
    write("minio.service", unit_text())
    write("minio.service.d/key.conf", "[Service]\nEnvironment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373 "
                                      "MINIO_KMS_KES_KEY_NAME=minio-key\n")
    assert lint([tmp_path]).deployments[0].envs == []  # every assignment in a drop-in: not judged here


def test_an_env_file_without_kms_settings_needs_no_loading(write, tmp_path):
    write("minio.env", "MINIO_VOLUMES=/mnt/data\nMINIO_ROOT_USER=admin\n")
    write("minio.service", unit_text())
    assert not found(lint([tmp_path]), "SYS015")


def test_an_ignored_path_is_sys008_alone(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text('EnvironmentFile="/etc/default/minio"'))
    result = lint([tmp_path])
    [ignored] = found(result, "SYS008")
    assert "starts MinIO without the variables of that file" in ignored.message
    assert not found(result, "SYS015")


def test_a_unit_that_loads_other_files_that_are_here(write, tmp_path):
    other = write("etc/default/minio", "MINIO_VOLUMES=/mnt/data\n")
    settings = write("etc/minio/kms.env", KMS_ENV)
    write("etc/kes/config.yaml", "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /v}}\n")
    unit = write("etc/systemd/system/minio.service", unit_text(f"EnvironmentFile=-{other}"))
    result = lint([unit, settings, tmp_path / "etc" / "kes" / "config.yaml"])
    [wrong] = found(result, "SYS015")
    assert f"MinIO's unit loads {other}, not {settings}, which holds MinIO's KMS settings" in wrong.message
    assert [(r.path, r.line) for r in wrong.related] == [(settings, 2)]
    assert (wrong.location.line, wrong.location.column) == (6, len("EnvironmentFile=-") + 1)
    write("etc/systemd/system/minio.service", unit_text(f"EnvironmentFile=-{other}", f"EnvironmentFile={settings}"))
    assert not found(lint([unit, settings, tmp_path / "etc" / "kes" / "config.yaml"]), "SYS015")
    write("etc/systemd/system/minio.service", unit_text(f"EnvironmentFile=-{other}",
                                                        f"Environment=MINIO_CONFIG_ENV_FILE={settings}"))
    assert not found(lint([unit, settings, tmp_path / "etc" / "kes" / "config.yaml"]), "SYS015")


def test_a_changed_unit_named_as_pre_commit_names_it(write, tmp_path):
    from kescheck.model import Options

    write("minio.env", KMS_ENV)
    unit = write("minio.service", unit_text())
    write("backup.service", "[Service]\nExecStart=/usr/local/bin/mc mirror /data s3/backup\n")
    result = lint([unit, tmp_path / "backup.service"], Options(by_content=True))
    assert not result.input_errors and [f.code for f in result.findings if f.code.startswith("SYS")] == ["SYS015"]


def test_a_suppression_comment_in_the_unit(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", "[Service]\n# kescheck: ignore[SYS015] -- the settings come from a drop-in elsewhere\n"
                           + START)
    result = lint([tmp_path])
    assert [f.suppressed_by for f in found(result, "SYS015")] == ["inline: the settings come from a drop-in elsewhere"]
    assert not [f for f in result.findings if f.code == "KSC001"]


# --- the files the unit names ------------------------------------------------------------------------

def test_a_missing_env_file_the_unit_requires(write, tmp_path):
    write("minio.env", KMS_ENV)
    write("minio.service", unit_text("EnvironmentFile=/nonexistent-kescheck/minio"))
    [note] = found(lint([tmp_path]), "SYS006")
    assert "so kescheck could not check the settings this unit starts MinIO with" in note.message
    assert note.message.endswith(f"kescheck checked {tmp_path / 'minio.env'} as MinIO's settings instead")
    [error] = found(lint([tmp_path], Options(require_files=True)), "SYS007")
    assert "systemd does not start MinIO" in error.message


# --- KMS settings in the unit's Environment= ----------------------------------------------------------------

API_KEY = "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs"


def test_kms_settings_in_environment_lines_are_minio_s_environment(write, tmp_path, cli):
    write("minio.service", unit_text('Environment="MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373" '
                                     "MINIO_KMS_KES_KEY_NAME=minio-key",
                                     f"Environment=MINIO_KMS_KES_API_KEY={API_KEY} MINIO_KMS_KES_CAPATH=/nonexistent-ca"))
    result = lint([tmp_path])
    [deployment] = result.deployments
    [environment] = deployment.envs
    assert environment.label == "MinIO's unit" and environment.source.path.name == "minio.service"
    endpoint = environment.get("MINIO_KMS_KES_ENDPOINT")
    assert (endpoint.value, endpoint.line, endpoint.name_column, endpoint.value_column) == \
        ("https://kes.example.net:7373", 6, 14, 37)
    capath = environment.get("MINIO_KMS_KES_CAPATH")
    line = f"Environment=MINIO_KMS_KES_API_KEY={API_KEY} MINIO_KMS_KES_CAPATH="
    assert (capath.line, capath.value_column, capath.value_end_column) == (7, len(line) + 1, len(line) + 1 + 15)
    [absent] = [f for f in result.findings if f.code == "CRT001"]
    assert (absent.location.path.name, absent.location.line, absent.location.column) == ("minio.service", 7, len(line) + 1)
    assert not found(result, "SYS015")
    for fmt in ("json", "sarif", "plain"):
        run = cli("lint", str(tmp_path), "--format", fmt)
        assert API_KEY not in run.stdout and "AGaV6VXHasF0" not in run.stdout


def test_the_unit_s_settings_are_judged_like_an_env_file_s(write, tmp_path):
    write("minio.service", unit_text("Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373"))
    [incomplete] = [f for f in lint([tmp_path]).findings if f.code == "ENV051"]
    assert incomplete.location.path.name == "minio.service" and "MINIO_KMS_KES_KEY_NAME" in incomplete.message
    write("minio.service", unit_text("# kescheck: ignore[ENV051] -- the key name comes from a drop-in on the host",
                                     "Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373"))
    assert [f.suppressed_by for f in lint([tmp_path]).findings if f.code == "ENV051"] == \
        ["inline: the key name comes from a drop-in on the host"]


def test_a_file_the_unit_loads_may_set_the_rest(write, tmp_path):
    missing = "Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373"
    write("minio.service", unit_text(missing, "EnvironmentFile=/nonexistent-kescheck/minio"))
    assert not [f for f in lint([tmp_path]).findings if f.code == "ENV051"]  # that file may set the key name
    extra = write("extra.env", "MINIO_VOLUMES=/mnt/data\nMINIO_OPTS=--quiet\n")
    write("minio.service", unit_text(missing, f"EnvironmentFile={extra}"))
    assert [f for f in lint([tmp_path]).findings if f.code == "ENV051"]  # read here: it does not
    settings = write("settings.env", KMS_ENV)
    write("minio.service", unit_text(missing, f"EnvironmentFile={settings}"))
    [deployment] = [d for d in lint([tmp_path]).deployments if d.minio_units]
    assert [e.source.path.name for e in deployment.envs] == ["settings.env"]  # the file's settings win


def test_what_the_unit_s_files_set_counts_as_set(write, tmp_path):
    kms = ("Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373 MINIO_KMS_KES_KEY_NAME=minio-key "
           f"MINIO_KMS_KES_API_KEY={API_KEY}")
    credentials = write("etc/credentials.env", "MINIO_ROOT_USER=admin\nMINIO_ROOT_PASSWORD=from-a-vault-kescheck\n")
    unit = write("systemd/minio.service", unit_text(kms))
    assert [f for f in lint([unit]).findings if f.code == "ENV111"]
    write("systemd/minio.service", unit_text(kms, f"EnvironmentFile={credentials}"))
    assert not [f for f in lint([unit]).findings if f.code == "ENV111"]
    write("systemd/minio.service", unit_text(kms, "PassEnvironment=MINIO_ROOT_USER MINIO_ROOT_PASSWORD"))
    assert not [f for f in lint([unit]).findings if f.code == "ENV111"]


def test_a_comment_after_a_value_is_part_of_it_in_a_unit(write, tmp_path):
    write("minio.service", unit_text("Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373 "
                                     "# kescheck: ignore[ENV051]"))  # no reason: not even a bad directive
    result = lint([tmp_path])
    assert [f.suppressed_by for f in result.findings if f.code == "ENV051"] == [None]
    assert not [f for f in result.findings if f.code.startswith("KSC")]


def test_the_installed_env_file_may_hold_the_rest_of_the_settings(write, tmp_path):
    """`EnvironmentFile=-/etc/default/minio` is skipped by systemd when absent, but in a repository it is the file
    that will be installed there: the settings the unit's Environment= lacks may be in it."""
    endpoint = "Environment=MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373"
    write("minio.service", unit_text(endpoint, "EnvironmentFile=-/nonexistent-kescheck/minio"))
    result = lint([tmp_path])
    assert not [f for f in result.findings if f.code == "ENV051"]
    [environment] = result.deployments[0].envs
    assert environment.open_ended == "minio.service's EnvironmentFile /nonexistent-kescheck/minio, which is not here"
    assert result.file_notes()[tmp_path / "minio.service"] == [
        "systemd unit that runs `minio server`", "MinIO's unit may take further variables from minio.service's "
        "EnvironmentFile /nonexistent-kescheck/minio, which is not here: none is reported missing"]


@pytest.mark.parametrize("loads, judged", [("Environment=MINIO_CONFIG_ENV_FILE={env}\n", False),
                                           ("EnvironmentFile={env}\n", True)])
def test_an_env_file_only_minio_s_reader_reads_is_not_judged_as_systemd_reads_it(tmp_path, loads, judged):
    """A unit that hands the file to MinIO (`MINIO_CONFIG_ENV_FILE`) and loads none with `EnvironmentFile=`: systemd
    never reads it, so its `export` lines are no ENV006 warnings."""
    env = tmp_path / "minio.env"
    env.write_text("export MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\nMINIO_KMS_KES_KEY_NAME=k\n")
    (tmp_path / "minio.service").write_text("[Service]\n" + loads.format(env=env)
                                            + "ExecStart=/usr/local/bin/minio server /data\n")
    codes = {f.code for f in lint([tmp_path]).findings}
    assert ("ENV006" in codes) == judged, codes
