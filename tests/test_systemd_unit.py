"""The systemd unit that starts KES: its command line, how it joins a deployment, and the SYS rules."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import FIXTURES, findings_of
from example_files import materialize
from kescheck.engine import lint
from kescheck.load.source import SourceFile
from kescheck.load.systemd import looks_like_unit, read_minio_unit, read_unit
from kescheck.model import Options
from kescheck.rules import find_rule

G2_CONFIG = """\
    admin: {identity: disabled}
    tls: {key: /etc/kes/server.key, cert: /etc/kes/server.crt}
    cache: {expiry: {any: 5m0s, unused: 30s, offline: 6h}}
    keystore: {fs: {path: /var/lib/kes}}
    """


def unit(text: str):
    return read_unit(SourceFile(Path("kes.service"), text))


def codes(result, code_prefix: str = "SYS") -> list[str]:
    return sorted(f.code for f in result.findings if f.code.startswith(code_prefix))


# --- reading the command line ------------------------------------------------------------------

def test_flags_in_every_form_with_their_positions():
    read = unit("[Unit]\nDescription=KES\n\n[Service]\n"
                "ExecStart=-/usr/local/bin/kes server --config=/etc/kes/config.yaml --auth off \\\n"
                "  # a comment line inside the continuation\n"
                "  -addr :7373 --mlock --root=disabled --key /k --cert=/c\n")
    flags = {f.name: f for f in read.flags}
    assert list(flags) == ["config", "auth", "addr", "mlock", "root", "key", "cert"]
    assert read.config.text == "/etc/kes/config.yaml" and (read.config.line, read.config.column) == (5, 47)
    assert (flags["auth"].word.line, flags["auth"].word.column) == (5, 68)
    assert flags["auth"].written == "--auth off" and read.auth is False
    assert (flags["addr"].word.line, flags["addr"].word.column, flags["addr"].value.text) == (7, 3, ":7373")
    assert flags["mlock"].value is None and (flags["mlock"].word.line, flags["mlock"].word.column) == (7, 15)
    assert flags["root"].value.text == "disabled" and flags["key"].value.text == "/k"
    assert read.command.executable.text == "/usr/local/bin/kes" and not read.problems


def test_prefixes_quotes_and_argv0():
    read = unit('[Service]\nExecStart=+@/opt/kes/bin/kes kes server --config "/etc/kes/my config.yaml" '
                "--auth='on'\n")
    assert read.command.executable.text == "/opt/kes/bin/kes"
    assert read.config.text == "/etc/kes/my config.yaml" and read.auth is True


def test_the_last_exec_start_counts_and_an_empty_one_resets():
    read = unit("[Service]\nExecStart=/usr/local/bin/kes server --mlock\nExecStart=\n"
                "ExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n")
    assert [f.name for f in read.flags] == ["config"]


def test_environment_files_are_recorded():
    read = unit("[Service]\nEnvironmentFile=-/etc/default/kes\nEnvironmentFile=/etc/kes/env\n"
                "ExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n")
    assert [(e.path.text, e.optional, e.path.line) for e in read.environment_files] == \
        [("/etc/default/kes", True, 2), ("/etc/kes/env", False, 3)]


def test_flags_after_an_argument_count_but_not_after_double_dash():
    """Current KES parses with pflag, which reads flags on after a word that is no flag; `--` ends them."""
    read = unit("[Service]\nExecStart=/usr/local/bin/kes server --config c.yaml extra --mlock\n")
    assert [f.name for f in read.flags] == ["config", "mlock"] and [w.text for w in read.command.arguments] == ["extra"]
    read = unit("[Service]\nExecStart=/usr/local/bin/kes server -- --mlock\n")
    assert read.flags == () and [w.text for w in read.command.arguments] == ["--mlock"]


@pytest.mark.parametrize("command,problem", [
    ('--config "/etc/kes/config.yaml', "never closed"),
    ("--config /etc/kes/config.yaml --addr", "flag needs an argument: --addr"),
    ("---config x", "bad flag syntax"),
])
def test_broken_command_lines_are_problems_not_exceptions(command, problem):
    read = unit(f"[Service]\nExecStart=/usr/local/bin/kes server {command}\n")
    assert read.command is not None and any(problem in p.message for p in read.problems)


def runs_kes(text: str) -> bool:
    """What the engine asks of a unit: does it start `kes server`?"""
    return looks_like_unit(text) and unit(text).command is not None


def test_recognition_by_content():
    assert runs_kes("[Service]\nExecStart=/usr/local/bin/kes server --config c.yaml\n")
    assert runs_kes("[Service]\nExecStart=kes server\n")
    minio = (FIXTURES / "systemd" / "docs-copy" / "minio.service").read_text()
    assert looks_like_unit(minio) and not runs_kes(minio)
    assert not runs_kes("[Service]\nExecStart=/usr/bin/kes identity new\n")
    assert not runs_kes("[Unit]\nDescription=kes server\n")
    assert not looks_like_unit("admin:\n  identity: disabled\n")


def test_random_input_never_raises():
    rng = random.Random(7)
    alphabet = ["[Service]\n", "ExecStart=", "kes", " server", " --auth", "=", "\"", "'", "\\", "\n", " ", "-", "@",
                "--config", "x", "#", ";", "EnvironmentFile=", "\r\n", "\\\n", "minio", "/", "Environment=",
                "MINIO_CONFIG_ENV_FILE", "%i", " $MINIO_OPTS"]
    alphabet += ["PrivateTmp=yes\n", "ProtectHome=", "tmpfs", "InaccessiblePaths=", "BindPaths=", ":", "/tmp",
                 "/root", "RootDirectory="]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        drop_in = SourceFile(Path("u.service.d/x.conf"), "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
        unit = read_unit(SourceFile(Path("u.service"), text), (drop_in,))
        unit.hidden_by_sandbox(rng.choice(["/tmp/k.key", "/root/x/k.key", "/etc/kes/k", "/"]))
        assert all(word.source in (None, drop_in) for _, word in unit.environment)
        minio = read_minio_unit(SourceFile(Path("u.service"), text), (drop_in,))
        if minio is not None:
            assert minio.executable.text.endswith("minio") and all(path.startswith("/") for _, path in minio.env_files())
        looks_like_unit(text)


# --- discovery and pairing -------------------------------------------------------------------------

def test_walk_reads_the_kes_unit_beside_minio_s():
    result = lint([FIXTURES / "systemd" / "docs-copy"])
    kinds = {f.path.name: f.kind for f in result.files}
    assert kinds == {"kes.service": "unit", "kes-config.yaml": "kes", "minio.service": "unit"}
    assert not result.input_errors
    [deployment] = result.deployments
    assert deployment.unit is not None and deployment.kes is not None
    assert deployment.unit.source.path.name == "kes.service" and len(deployment.minio_units) == 1


def test_a_named_unit_that_starts_neither_server_is_refused_clearly(write):
    result = lint([write("backup.service", "[Service]\nExecStart=/usr/local/bin/mc mirror /data s3/backup\n")])
    [error] = result.input_errors
    assert "runs neither `kes server` nor `minio server`" in error.reason and result.exit_status(None) == 2


def test_the_unit_pairs_with_the_config_its_config_flag_names(write, tmp_path):
    write("etc/kes/config.yaml", G2_CONFIG.rstrip(" ") + "    policy:\n      p: {allow: [/v1/key/*/x], identities: []}\n")
    write("etc/kes/other.yaml", G2_CONFIG)
    unit_path = write("systemd/kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config ../etc/kes/config.yaml\n")
    result = lint([unit_path])  # the config is not among the inputs: loaded as a partner
    [deployment] = [d for d in result.deployments if d.unit is not None]
    assert deployment.kes is not None and deployment.kes.source.path.name == "config.yaml"
    assert any(f.location.path.name == "config.yaml" for f in result.findings)
    result = lint([tmp_path / "etc" / "kes", unit_path])  # two configs among the inputs: the named one
    [deployment] = [d for d in result.deployments if d.unit is not None]
    assert deployment.kes.source.path.name == "config.yaml"
    assert "SYS006" not in codes(result)


def test_a_file_outside_the_tree_is_read_only_when_its_content_shows_a_config(write, tmp_path, cli):
    outside = tmp_path / "outside"
    write("outside/shadow", "root:$6$kescheck-secret-hash$xyz:19000:0:99999:7:::\n")
    write("outside/credentials", "[default]\naws_secret_access_key = kescheck-secret-key/EXAMPLE\n")
    write("outside/kes.yaml", G2_CONFIG.rstrip(" ") + "    policy:\n      p: {allow: [/v1/key/*/x], identities: []}\n")
    for target in ("shadow", "credentials"):
        write("repo/kes.service", f"[Service]\nExecStart=/usr/local/bin/kes server --config {outside / target}\n")
        write("repo/compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config /c/k.yaml\n"
                                   f"    volumes: ['{outside / target}:/c/k.yaml']\n")
        for fmt in ("plain", "json", "sarif"):
            run = cli("lint", tmp_path / "repo", "--format", fmt)
            assert "kescheck-secret" not in run.stdout + run.stderr
        notes = [f for f in lint([tmp_path / "repo"]).findings if f.code == "SYS006"]
        assert len(notes) == 2 and all("which is no KES config by its content, so kescheck did not read it" in f.message
                                       for f in notes)
    (tmp_path / "repo" / "compose.yaml").unlink()
    write("repo/kes.service", f"[Service]\nExecStart=/usr/local/bin/kes server --config {outside / 'kes.yaml'}\n")
    result = lint([tmp_path / "repo" / "kes.service"])  # a KES config by its content: read, as on a host
    assert [f.location.path.name for f in result.findings if f.code == "POL003"] == ["kes.yaml"]
    (tmp_path / "repo" / "config.yaml").symlink_to(outside / "shadow")  # a link out of the repository
    run = cli("lint", tmp_path / "repo" / "config.yaml")
    assert run.status == 2 and "a symbolic link to" in run.stderr and "kescheck-secret" not in run.stdout + run.stderr


def test_a_file_of_the_work_tree_is_read_as_the_config_it_is_named_as(write, tmp_path):
    (tmp_path / ".git").mkdir()
    write("etc/kes/config.yaml", "admin: {identity: disabled\n")  # broken, and no KES config by its content
    unit_path = write("systemd/kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config "
                                             "../etc/kes/config.yaml\n")
    assert [f.code for f in lint([unit_path]).findings if f.code in ("KES001", "SYS006")] == ["KES001"]
    (tmp_path / ".git").rmdir()  # outside the unit's directory, in no work tree: read by its content
    assert [f.code for f in lint([unit_path]).findings if f.code in ("KES001", "SYS006")] == ["SYS006"]


def test_a_unit_naming_an_absent_config_pairs_with_the_only_config(write, tmp_path):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config /nonexistent-kescheck/config.yaml\n")
    result = lint([tmp_path])
    [deployment] = result.deployments
    assert deployment.unit is not None and deployment.kes is not None
    assert codes(result) == ["SYS006"]
    result = lint([tmp_path], Options(require_files=True))
    [missing] = [f for f in result.findings if f.code == "SYS007"]
    assert "open /nonexistent-kescheck/config.yaml: no such file or directory" in missing.message


def test_a_config_named_with_a_variable_is_not_resolved(write, tmp_path):
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config ${KES_CONFIG}\n")
    assert codes(lint([tmp_path])) == []


# --- release-aware flag rules --------------------------------------------------------------------

def test_docs_copy_unit_on_current_kes():
    result = lint([FIXTURES / "systemd" / "docs-copy"])
    assert codes(result) == ["SYS002", "SYS004", "SYS006"]
    [ignored] = [f for f in result.findings if f.code == "SYS004"]
    assert "tls.auth: on" in ignored.message and "verifies client certificates" in ignored.message
    assert "although the unit asks for `--auth=off`" in ignored.message
    assert (ignored.location.line, ignored.location.column) == (15, 5)


def test_clean_unit_gives_no_unit_finding_beyond_the_absent_config():
    assert codes(lint([FIXTURES / "systemd" / "clean"])) == ["SYS006"]


@pytest.mark.parametrize("version,expected", [
    ("0.20", []),  # --mlock and --auth both still work
    ("0.22", ["SYS002"]),  # --mlock refused, --auth honoured
    ("2023-10-24T20-26-51Z", ["SYS002", "SYS004"]),
    ("2023-11-09T17-35-47Z", ["SYS002", "SYS004"]),
    ("0.24", ["SYS002", "SYS004"]),
])
def test_flag_rules_follow_the_release(write, tmp_path, version, expected):
    write("kes-config.yaml", G2_CONFIG if version[0] != "0" or version >= "0.23" else
          "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/lib/kes}}\n")
    write("kes.service", "[Service]\nWorkingDirectory=/etc/kes\n"
                         "ExecStart=/usr/local/bin/kes server --config kes-config.yaml --mlock --auth=off\n")
    assert codes(lint([tmp_path], Options(kes_version=version))) == expected


@pytest.mark.parametrize("written, opened", [("kes-config.yaml", "/kes-config.yaml"), ("./conf/kes.yaml", "/conf/kes.yaml"),
                                             ("../kes.yaml", "/kes.yaml")])
def test_a_relative_config_path_is_opened_from_the_root_directory(write, tmp_path, written, opened):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", f"[Service]\nExecStart=/usr/local/bin/kes server --config {written}\n")
    [relative] = [f for f in lint([tmp_path]).findings if f.code == "SYS009"]
    assert f"so KES opens {opened}," in relative.message
    assert (relative.location.line, relative.location.column) == (2, len("ExecStart=/usr/local/bin/kes server --config ") + 1)
    write("kes.service", f"[Service]\nWorkingDirectory=/etc/kes\nExecStart=/usr/local/bin/kes server --config {written}\n")
    assert "SYS009" not in codes(lint([tmp_path]))


def test_broken_cli_release_is_reported_once_by_kes223(write, tmp_path):
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml --mlock --auth=off\n")
    result = lint([tmp_path / "kes.service"], Options(kes_version="2023-09-28T19-40-28Z"))
    assert codes(result, "") == ["KES223", "SYS006"]  # the flags are not reported: that release never starts
    assert [f.location.line for f in result.findings if f.code == "KES223"] == [2]
    write("kes-config.yaml", G2_CONFIG)
    result = lint([tmp_path], Options(kes_version="2023-09-28T19-40-28Z"))
    assert [f.location.path.name for f in result.findings if f.code == "KES223"] == ["kes-config.yaml"]
    assert codes(result) == []


def test_root_flag_is_refused():
    read = "[Service]\nExecStart=/usr/local/bin/kes server --root=disabled --config c.yaml\n"
    rule = find_rule("SYS003")
    from kescheck.model import Deployment
    assert list(rule.check(Deployment("d", None, [], None, Options(), unit=unit(read))))
    assert not list(rule.check(Deployment("d", None, [], None, Options(kes_version="0.13"), unit=unit(read))))


# --- --auth from the unit ----------------------------------------------------------------------------

def _older_kes_with_untrusted_client(tmp_path: Path, unit_auth: str | None):
    """CRT030's example of KES 0.22 with `tls.ca` that does not verify MinIO's certificate, plus a unit."""
    example = find_rule("CRT030").examples[1]
    materialize(example.files, tmp_path)
    if unit_auth is not None:
        (tmp_path / "kes.service").write_text(
            f"[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml {unit_auth}\nWorkingDirectory=/etc/kes\n")
    return dict(example.options)


@pytest.mark.parametrize("unit_auth,fires", [(None, True), ("--auth=off", False), ("--auth off", False),
                                             ("--auth=on", True)])
def test_the_units_auth_decides_client_verification(tmp_path, unit_auth, fires):
    options = _older_kes_with_untrusted_client(tmp_path, unit_auth)
    result = lint([tmp_path], Options(**options))
    found = [f for f in result.findings if f.code == "CRT030"]
    assert bool(found) == fires
    if unit_auth == "--auth=on":
        assert "as the unit" in found[0].message and "kes.service says at line 2" in found[0].message


def test_kes_auth_wins_and_a_disagreement_is_one_finding(tmp_path):
    options = _older_kes_with_untrusted_client(tmp_path, "--auth=off")
    result = lint([tmp_path], Options(**options, kes_auth=True))
    assert sorted(f.code for f in result.findings if f.code in ("CRT030", "SYS005")) == ["CRT030", "SYS005"]
    assert "as --kes-auth says" in next(f.message for f in result.findings if f.code == "CRT030")
    result = lint([tmp_path], Options(**options, kes_auth=False))  # they agree: nothing about the unit
    assert codes(result) == [] and "CRT030" not in codes(result, "")


def test_inline_suppression_in_a_unit(write, tmp_path):
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml \\\n"
                         "    # kescheck: ignore[SYS002] -- KES 0.20 on this host until the upgrade\n"
                         "    --mlock\n")
    write("kes-config.yaml", G2_CONFIG)
    result = lint([tmp_path])
    assert [f.suppressed_by is not None for f in result.findings if f.code == "SYS002"] == [True]
    assert "KSC001" not in codes(result, "")


def test_secrets_in_environment_lines_are_never_shown(write, tmp_path, cli):
    write("kes.service", "[Service]\nEnvironment=\"VAULT_TOKEN=hvs.not-to-be-shown-anywhere\" KES_ADDR=:7373\n"
                         "ExecStart=/usr/local/bin/kes server --mlock --config /nonexistent-kescheck/config.yaml\n")
    run = cli("lint", tmp_path, "--format", "plain")
    assert run.status == 1 and "SYS002" in run.stdout
    assert "hvs.not-to-be-shown-anywhere" not in run.stdout + run.stderr and "KES_ADDR=:7373" in run.stdout


def test_a_drop_in_that_replaces_exec_start(write, tmp_path):
    write("kes.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server "
                                         "--config /nonexistent-kescheck/config.yaml --auth=off\n")
    result = lint([tmp_path])
    assert [f.kind for f in result.files] == ["unit"] and codes(result) == ["SYS004", "SYS006"]


@pytest.mark.parametrize("version,fires", [(None, True), ("2023-11-09T17-35-47Z", True), ("0.22", False)])
def test_a_stray_argument_is_refused_by_current_kes(write, tmp_path, version, fires):
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server /etc/kes/config.yaml\n")
    found = [f for f in lint([tmp_path], Options(kes_version=version)).findings if f.code == "SYS001"]
    assert bool(found) == fires
    if fires:
        assert "too many arguments" in found[0].message and "write `--config`" in found[0].message


@pytest.mark.parametrize("arguments, reported", [("$KES_OPTS", None), ("${KES_ARGS}", None),
                                                 ("/etc/kes/config.yaml $KES_OPTS", "/etc/kes/config.yaml"),
                                                 ("$KES_OPTS /etc/kes/config.yaml", "/etc/kes/config.yaml")])
def test_a_word_systemd_replaces_is_no_argument_kescheck_can_judge(write, tmp_path, arguments, reported):
    """`$KES_OPTS` becomes flags (or nothing) before KES sees it; only a word KES gets as written is surely an argument."""
    write("kes.service", f"[Service]\nEnvironmentFile=-/etc/default/kes\nExecStart=/usr/local/bin/kes server {arguments}\n")
    found = [f for f in lint([tmp_path]).findings if f.code == "SYS001"]
    assert [f.message.split("`")[1] for f in found] == ([reported] if reported else [])


@pytest.mark.parametrize("flags, version, unknown", [
    ("--confg=/etc/kes/config.yaml", None, ["--confg"]),
    ('"--config /etc/kes/config.yaml"', None, ["--config /etc/kes/config.yaml"]),  # flag and value in one word
    ("--config /etc/kes/config.yaml --dev", "0.22", ["--dev"]),
    ("--config /etc/kes/config.yaml --quiet", "0.17.4", []),
    ("--config /etc/kes/config.yaml --quiet", None, ["--quiet"]),
    ("--config /etc/kes/config.yaml --mlock --root=x --help", None, []),  # SYS002, SYS003; help is a flag
])
def test_a_flag_kes_server_does_not_know_is_refused(write, tmp_path, flags, version, unknown):
    write("kes.service", f"[Service]\nExecStart=/usr/local/bin/kes server {flags}\n")
    found = [f for f in lint([tmp_path], Options(kes_version=version)).findings
             if f.code == "SYS001" and "is no flag of" in f.message]
    assert [f.message.split("`")[1] for f in found] == unknown


# --- the environment the unit gives KES ----------------------------------------------------------

_ENV_CONFIG = """\
    admin: {identity: '${KES_ADMIN}'}
    tls: {key: /etc/kes/server.key, cert: /etc/kes/server.crt}
    keystore:
      vault:
        endpoint: https://vault.example.net:8200
        approle: {id: '${VAULT_ROLE_ID}', secret: '${VAULT_SECRET_ID}'}
    """


def _env_deployment(write, tmp_path, unit_lines: str, env_files: dict[str, str] | None = None):
    for name, text in (env_files or {}).items():
        write(name, text)
    write("kes-config.yaml", _ENV_CONFIG)
    write("kes.service", "[Unit]\nDescription=KES\n[Service]\n" + unit_lines.replace("@DIR@", str(tmp_path)) +
          "ExecStart=/usr/local/bin/kes server --config /nonexistent-kescheck/config.yaml\n")
    return tmp_path


_FULL_ENV = "KES_ADMIN=disabled\nVAULT_ROLE_ID=6f2c1a4e-role\nVAULT_SECRET_ID='s3cr3t-approle-value-never-shown'\n"


def test_variables_come_from_the_units_environment_file(write, tmp_path):
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env\n", {"kes.env": _FULL_ENV})
    result = lint([tmp_path])
    [deployment] = result.deployments
    assert deployment.options.kes_env["VAULT_SECRET_ID"] == "s3cr3t-approle-value-never-shown"  # systemd's quoting
    assert deployment.options.kes_env_origin == f"kes.service's EnvironmentFile {tmp_path}/kes.env"
    assert not {"KES100", "KES213"} & set(codes(result, "KES"))
    assert "s3cr3t-approle-value-never-shown" in result.secrets  # every report masks it


def test_a_byte_order_mark_hides_the_first_variable_of_kes_s_environment_file(write, tmp_path):
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env\n",
                    {"kes.env": b"\xef\xbb\xbf" + _FULL_ENV.encode()})
    result = lint([tmp_path])
    [unset] = [f for f in result.findings if f.code == "KES100"]
    assert "KES_ADMIN" in unset.message and "starts with a byte order mark, which systemd keeps" in unset.message
    write("kes.env", b"\xef\xbb\xbf# KES's environment\n" + _FULL_ENV.encode())  # the mark only hides a comment
    assert not [f for f in lint([tmp_path]).findings if f.code == "KES100"]


def test_a_variable_the_environment_file_does_not_set_is_a_refusal(write, tmp_path):
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env\n",
                    {"kes.env": "KES_ADMIN=disabled\nVAULT_ROLE_ID=6f2c1a4e-role\n"})
    result = lint([tmp_path])
    [unset] = [f for f in result.findings if f.code == "KES100"]
    assert "${VAULT_SECRET_ID}" in unset.message
    assert f"the KES environment (kes.service's EnvironmentFile {tmp_path}/kes.env) does not set" in unset.message
    assert "KES213" not in codes(result, "KES")


def test_environment_lines_count_and_environment_files_override_them(write, tmp_path):
    # systemd.exec(5): settings from EnvironmentFile= override those of Environment=, whatever the order of the lines;
    # among Environment= lines the later assignment wins, and an empty Environment= resets the list.
    _env_deployment(write, tmp_path, 'Environment=KES_ADMIN=old VAULT_ROLE_ID=gone\nEnvironment=\n'
                                     'EnvironmentFile=@DIR@/kes.env\n'
                                     'Environment="KES_ADMIN=from-unit" VAULT_ROLE_ID=first\n'
                                     'Environment=VAULT_ROLE_ID=second\n',
                    {"kes.env": "KES_ADMIN=disabled\nVAULT_SECRET_ID=s3cr3t-approle-value-never-shown\n"})
    result = lint([tmp_path])
    [deployment] = result.deployments
    env = deployment.options.kes_env
    assert (env["KES_ADMIN"], env["VAULT_ROLE_ID"]) == ("disabled", "second")
    assert "Environment= and EnvironmentFile" in deployment.options.kes_env_origin
    assert not {"KES100", "KES213"} & set(codes(result, "KES"))


def test_an_optional_environment_file_that_is_missing_is_skipped(write, tmp_path):
    _env_deployment(write, tmp_path, "EnvironmentFile=-@DIR@/absent.env\nEnvironmentFile=@DIR@/kes.env\n",
                    {"kes.env": _FULL_ENV})
    result = lint([tmp_path], Options(require_files=True))
    assert result.deployments[0].options.kes_env["KES_ADMIN"] == "disabled"
    assert not {"KES100", "KES213", "SYS006"} & set(codes(result, ""))
    assert [f.message for f in result.findings if f.code == "SYS007"] == [
        "`--config` names /nonexistent-kescheck/config.yaml, which does not exist: KES refuses to start "
        "(`open /nonexistent-kescheck/config.yaml: no such file or directory`)"]


def test_a_missing_environment_file_may_set_what_the_unit_does_not(write, tmp_path):
    """The unit's `Environment=` is known (KES_ADMIN is set, though the file may give it another value); the variables
    it does not set only the file that is not here can set: noted (KES213), not reported missing (KES100)."""
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled\nEnvironmentFile=/nonexistent-kescheck/kes.env\n"
                                     "EnvironmentFile=-/nonexistent-kescheck/optional.env\n")
    result = lint([tmp_path])
    options = result.deployments[0].options
    assert options.kes_env["KES_ADMIN"] is None  # set, to a value the file may change
    assert set(options.kes_env_uncertain) == {"VAULT_ROLE_ID", "VAULT_SECRET_ID"}
    assert "KES100" not in codes(result, "KES")
    notes = [f.message for f in result.findings if f.code == "KES213"]
    assert len(notes) == 2 and all(m.endswith("can get it only from kes.service's EnvironmentFile "
                                              "/nonexistent-kescheck/kes.env, which kescheck cannot read here")
                                   for m in notes)
    [note] = [f for f in result.findings if f.code == "SYS006" and "EnvironmentFile" in f.message]
    assert note.location.line == 5 and note.location.column == len("EnvironmentFile=") + 1
    assert note.message.endswith("so kescheck does not know what it adds to the environment this unit starts KES "
                                 "with (give the whole environment with --kes-env FILE)")
    result = lint([tmp_path], Options(require_files=True))
    [missing] = [f for f in result.findings if f.code == "SYS007" and "EnvironmentFile" in f.message]
    assert "systemd does not start KES (`Failed to load environment files" in missing.message
    assert "SYS006" not in codes(result)


@pytest.mark.parametrize("path", ["/etc/kes/%i.env", "/etc/kes/*.env", "/etc/${ENV_DIR}/kes.env"])
def test_an_environment_file_path_systemd_expands_leaves_the_environment_unknown(write, tmp_path, path):
    _env_deployment(write, tmp_path, f"EnvironmentFile={path}\n")
    result = lint([tmp_path])
    assert result.deployments[0].options.kes_env is None and "KES213" in codes(result, "KES")
    assert not [f for f in result.findings if f.code == "SYS006" and "EnvironmentFile" in f.message]


@pytest.mark.parametrize("value, why", [
    ('"@DIR@/kes.env"', "in quotes"), ("'@DIR@/kes.env'", "in quotes"), ("-kes.env", "relative"),
    ("./kes.env", "relative"), ("${ENV_DIR}/kes.env", "relative"), ("-", "empty"),
])
def test_an_environment_file_that_is_no_absolute_path_is_ignored_as_systemd_ignores_it(write, tmp_path, value, why):
    """systemd logs `EnvironmentFile= path is not absolute, ignoring` and reads nothing (it expands `%` specifiers
    in the path, not `$VAR`, and keeps quotes): KES starts without the file's variables."""
    _env_deployment(write, tmp_path, f"EnvironmentFile={value}\n", {"kes.env": _FULL_ENV})
    result = lint([tmp_path])
    [deployment] = result.deployments
    assert deployment.options.kes_env is not None and "KES_ADMIN" not in deployment.options.kes_env
    assert "KES100" in codes(result, "KES")  # the config's ${KES_ADMIN} is unset under systemd
    [ignored] = [f for f in result.findings if f.code == "SYS008"]
    assert f"({why}" in ignored.message and "systemd ignores this line" in ignored.message
    dash = value.startswith("-") and value != "-"  # the path starts after the `-`; a lone `-` is pointed at itself
    assert (ignored.location.line, ignored.location.column) == (4, len("EnvironmentFile=") + 1 + dash)
    assert not [f for f in result.findings if f.code in ("SYS006", "SYS007") and "EnvironmentFile" in f.message]


def test_an_environment_file_path_with_a_space_is_one_path(write, tmp_path):
    """systemd does not split `EnvironmentFile=` at spaces: `/a /b` names one file called `a /b`."""
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env @DIR@/other.env\n",
                    {"kes.env": _FULL_ENV, "other.env": "X=1\n"})
    result = lint([tmp_path], Options(require_files=True))
    [missing] = [f for f in result.findings if f.code == "SYS007" and "EnvironmentFile" in f.message]
    assert f"{tmp_path}/kes.env {tmp_path}/other.env" in missing.message
    assert result.deployments[0].options.kes_env_uncertain  # the one file of that odd name is not here


def test_an_explicit_kes_env_wins_over_the_unit(write, tmp_path):
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env\nEnvironmentFile=/nonexistent-kescheck/b.env\n",
                    {"kes.env": _FULL_ENV})
    result = lint([tmp_path], Options(kes_env={"KES_ADMIN": "disabled"}))
    [deployment] = result.deployments
    assert deployment.options.kes_env == {"KES_ADMIN": "disabled"} and deployment.options.kes_env_origin is None
    unset = sorted(f.message for f in result.findings if f.code == "KES100")
    assert len(unset) == 2 and all("which the KES environment does not set" in m for m in unset)
    [note] = [f for f in result.findings if f.code == "SYS006" and "EnvironmentFile" in f.message]
    assert note.message.endswith("; --kes-env gives that environment instead")


@pytest.mark.parametrize("fmt", ["plain", "json", "sarif"])
def test_secrets_of_the_environment_file_are_never_shown(write, tmp_path, cli, fmt):
    secret = "s3cr3t-approle-value-never-shown"
    api_key = "kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs"
    _env_deployment(write, tmp_path, "EnvironmentFile=@DIR@/kes.env\n",
                    {"kes.env": f"KES_ADMIN={api_key}\nVAULT_ROLE_ID={secret}\nVAULT_SECRET_ID=\"{secret}\"\n"
                                f"VAULT_TOKEN={secret}-token\n"})
    write("kes-config.yaml", _ENV_CONFIG.replace("role_id", "role_id") + "    policy:\n      p: {allow: ['${VAULT_TOKEN}']}\n")
    run = cli("lint", tmp_path, "--format", fmt, "--require-files")
    output = run.stdout + run.stderr
    assert run.status in (0, 1) and "SYS007" in output
    assert secret not in output and api_key not in output and "AGaV6VXHasF0" not in output


def test_values_of_an_environment_file_outside_the_tree_are_masked(write, tmp_path):
    # The file might be any file of the machine kescheck runs on: a CI runner's proxy settings, say. Every report
    # masks what `LintResult.secrets` holds.
    write("outside/runner.env", "http_proxy=http://ci:kescheck-proxy-password@proxy.internal:3128\n"
                                "KES_CERT=/etc/kes/certs/kes.crt\nKES_AUDIT=disabled\n")
    write("repo/kes.service", f"[Service]\nEnvironmentFile={tmp_path / 'outside' / 'runner.env'}\n"
                              "ExecStart=/usr/local/bin/kes server --config /nonexistent-kescheck/config.yaml\n")
    write("repo/kes-config.yaml", G2_CONFIG.replace("cert: /etc/kes/server.crt", "cert: ${KES_CERT}"))
    result = lint([tmp_path / "repo"])
    assert result.deployments[0].options.kes_env["KES_CERT"] == "/etc/kes/certs/kes.crt"
    assert "http://ci:kescheck-proxy-password@proxy.internal:3128" in result.secrets
    assert "/etc/kes/certs/kes.crt" not in result.secrets  # a path stays readable in messages
    assert "disabled" not in result.secrets  # masked, a plain word would garble every report
    (tmp_path / "repo" / "runner.env").write_text((tmp_path / "outside" / "runner.env").read_text())
    write("repo/kes.service", f"[Service]\nEnvironmentFile={tmp_path / 'repo' / 'runner.env'}\n"
                              "ExecStart=/usr/local/bin/kes server --config /nonexistent-kescheck/config.yaml\n")
    assert "http://ci:kescheck-proxy-password@proxy.internal:3128" not in lint([tmp_path / "repo"]).secrets


def test_drop_ins_beside_the_unit_are_read_with_it_in_the_order_of_their_names(write, tmp_path):
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled VAULT_ROLE_ID=from-the-unit\n")
    write("kes.service.d/20-secret.conf", "[Service]\nEnvironment=VAULT_SECRET_ID=s3cr3t-in-a-drop-in-never-shown "
                                          "VAULT_ROLE_ID=from-the-drop-in\n")
    write("kes.service.d/10-role.conf", "[Service]\nEnvironment=VAULT_ROLE_ID=from-the-first-drop-in\n")
    write("kes.service.d/notes.txt", "[Service]\nEnvironment=\n")  # not a drop-in: systemd reads *.conf only
    write("kes.service.d/.old.conf", "[Service]\nEnvironment=\n")  # hidden: systemd skips it
    result = lint([tmp_path / "kes.service"])
    env = result.deployments[0].options.kes_env
    assert (env["KES_ADMIN"], env["VAULT_ROLE_ID"]) == ("disabled", "from-the-drop-in")
    assert env["VAULT_SECRET_ID"] == "s3cr3t-in-a-drop-in-never-shown"
    assert "KES100" not in codes(result, "KES") and "KES213" not in codes(result, "KES")
    assert "s3cr3t-in-a-drop-in-never-shown" in result.secrets


def test_a_drop_in_may_reset_what_the_unit_sets(write, tmp_path):
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled VAULT_ROLE_ID=r VAULT_SECRET_ID=s\n")
    write("kes.service.d/override.conf", "[Service]\nEnvironment=\nEnvironment=VAULT_ROLE_ID=r VAULT_SECRET_ID=s\n")
    result = lint([tmp_path])
    assert [m for m in _unset(result)] and all("KES_ADMIN" in m for m in _unset(result))


def test_a_drop_in_that_loads_a_file_not_here_leaves_the_environment_open(write, tmp_path):
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled\n")
    write("kes.service.d/env.conf", "[Service]\nEnvironmentFile=/nonexistent-kescheck/default/kes\n")
    result = lint([tmp_path / "kes.service"])
    assert result.deployments[0].options.kes_env is not None
    assert "KES100" not in codes(result, "KES") and "KES213" in codes(result, "KES")


def test_drop_ins_that_cannot_all_be_read_leave_the_environment_unknown(write, tmp_path, monkeypatch):
    from kescheck.load import systemd

    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled\n")
    for number in range(3):
        write(f"kes.service.d/{number}.conf", "[Service]\nEnvironment=VAULT_ROLE_ID=r\n")
    monkeypatch.setattr(systemd, "MAX_DROP_INS", 2)
    result = lint([tmp_path / "kes.service"])
    assert result.deployments[0].options.kes_env is None
    assert "KES100" not in codes(result, "KES") and "KES213" in codes(result, "KES")


def test_findings_in_a_drop_in_point_into_it(write, tmp_path, cli):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml\n"
                         "WorkingDirectory=/etc/kes\n")
    write("kes.service.d/override.conf", "[Service]\nEnvironment=VAULT_TOKEN=hvs.drop-in-token-never-shown\n"
                                         "ExecStart=\nExecStart=/usr/local/bin/kes server \\\n"
                                         "    --config kes-config.yaml --mlock\n"
                                         "EnvironmentFile=kes.env\n")
    result = lint([tmp_path])
    found = {f.code: f for f in result.findings if f.code.startswith("SYS")}
    assert sorted(found) == ["SYS002", "SYS008"]
    assert (found["SYS002"].location.path.name, found["SYS002"].location.line) == ("override.conf", 5)
    assert (found["SYS008"].location.path.name, found["SYS008"].location.line) == ("override.conf", 6)
    run = cli("lint", tmp_path, "--format", "plain")
    assert "kes.service.d/override.conf" in run.stdout and "> 5 |     --config kes-config.yaml --mlock" in run.stdout
    assert "hvs.drop-in-token-never-shown" not in run.stdout + run.stderr


def test_command_line_problems_of_a_drop_in_point_into_it(write, tmp_path):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/kes-config.yaml\n")
    write("kes.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server "
                                         "--config=kes-config.yaml --addr\n")
    found = {f.code: f.location for f in lint([tmp_path]).findings if f.code in ("SYS001", "SYS009")}
    line = "ExecStart=/usr/local/bin/kes server --config="
    assert (found["SYS009"].path.name, found["SYS009"].line, found["SYS009"].column) == \
        ("override.conf", 3, len(line) + 1)  # the value of `--config=...`
    assert (found["SYS001"].path.name, found["SYS001"].line) == ("override.conf", 3)  # `--addr` without its value


def test_a_suppression_in_a_drop_in(write, tmp_path):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml\n"
                         "WorkingDirectory=/etc/kes\n")
    write("kes.service.d/override.conf", "[Service]\nExecStart=\n"
                                         "# kescheck: ignore[SYS002] -- KES 0.20 on this host until the upgrade\n"
                                         "ExecStart=/usr/local/bin/kes server --config kes-config.yaml --mlock\n")
    result = lint([tmp_path])
    assert [f.suppressed_by is not None for f in result.findings if f.code == "SYS002"] == [True]
    assert "KSC001" not in codes(result, "")


def test_a_named_drop_in_of_another_service_is_refused_clearly(write, tmp_path, cli):
    write("nginx.service", "[Service]\nExecStart=/usr/sbin/nginx\n")
    drop_in = write("nginx.service.d/override.conf", "[Service]\nLimitNOFILE=65536\n")
    run = cli("lint", drop_in)
    assert run.status == 2 and f"{drop_in}: a drop-in of {tmp_path / 'nginx.service'}, which is no systemd unit" \
        in run.stderr
    assert cli("lint", "--by-content", drop_in).status == 0  # a hook passes it by


def test_a_changed_drop_in_checks_its_unit(write, tmp_path, cli):
    write("kes-config.yaml", G2_CONFIG)
    write("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config kes-config.yaml\n"
                         "WorkingDirectory=/etc/kes\n")
    drop_in = write("kes.service.d/override.conf", "[Service]\nExecStart=\n"
                                                   "ExecStart=/usr/local/bin/kes server --config kes-config.yaml --mlock\n")
    run = cli("lint", "--by-content", drop_in, "--format", "json")  # as the pre-commit hook names a changed file
    findings = json.loads(run.stdout)["findings"]
    assert run.status == 1 and [(f["code"], Path(f["path"]).name) for f in findings if f["code"] == "SYS002"] == \
        [("SYS002", "override.conf")]


# --- the variables systemd sets itself (systemd.exec(5), "Environment Variables in Spawned Processes") ----------

def _systemd_env(write, tmp_path, unit_lines: str, config: str):
    write("kes-config.yaml", config)
    write("kes.service", "[Unit]\nDescription=KES\n[Service]\n" + unit_lines +
          "ExecStart=/usr/local/bin/kes server --config /nonexistent-kescheck/config.yaml\n")
    result = lint([tmp_path])
    [deployment] = result.deployments
    return result, deployment.options.kes_env


def _config_with(value: str, at: str = "admin") -> str:
    """A G2 config with `value` as the admin identity (`at="admin"`) or the fs keystore's path (`at="fs"`)."""
    admin = f"'{value}'" if at == "admin" else "disabled"
    path = f"'{value}'" if at == "fs" else "/var/lib/kes"
    return (f"admin: {{identity: {admin}}}\ntls: {{key: /etc/kes/server.key, cert: /etc/kes/server.crt}}\n"
            f"cache: {{expiry: {{any: 5m0s, unused: 30s, offline: 6h}}}}\nkeystore: {{fs: {{path: {path}}}}}\n")


def _unset(result) -> list[str]:
    return [f.message for f in result.findings if f.code == "KES100"]


def test_credentials_directory_is_set_with_load_credential(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "LoadCredential=vault-secret:/etc/kes/vault-secret\n",
                               _config_with("${CREDENTIALS_DIRECTORY}", at="fs"))
    assert "CREDENTIALS_DIRECTORY" in env and env["CREDENTIALS_DIRECTORY"] is None  # systemd picks the path
    assert not _unset(result) and "KES213" not in codes(result, "KES")


@pytest.mark.parametrize("setting", ["SetCredential=token:abc\n", "ImportCredential=kes.*\n",
                                     "LoadCredentialEncrypted=vault-secret\n"])
def test_every_credential_setting_sets_the_credentials_directory(write, tmp_path, setting):
    result, _ = _systemd_env(write, tmp_path, setting, _config_with("${CREDENTIALS_DIRECTORY}", at="fs"))
    assert not _unset(result)


def test_credentials_directory_is_unset_without_credentials(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "User=kes\n", _config_with("${CREDENTIALS_DIRECTORY}", at="fs"))
    [message] = _unset(result)
    assert ("which the KES environment (what systemd itself sets for kes.service, which has no Environment= or "
            "EnvironmentFile=) does not set (systemd sets CREDENTIALS_DIRECTORY only for units with LoadCredential=, "
            "SetCredential= or ImportCredential=)") in message


def test_a_partial_reference_to_the_credentials_directory_is_taken_literally(write, tmp_path):
    # KES substitutes only a whole `${NAME}`: `${CREDENTIALS_DIRECTORY}/vault-secret` is KES214's, never KES100's.
    result, _ = _systemd_env(write, tmp_path, "LoadCredential=vault-secret:/etc/kes/vault-secret\n",
                             _config_with("${CREDENTIALS_DIRECTORY}/kes", at="fs"))
    assert not _unset(result) and "KES214" in codes(result, "KES")


def test_user_sets_home_and_the_user_name(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "User=kes\n", _config_with("${HOME}", at="fs"))
    assert not _unset(result)
    assert env["USER"] == env["LOGNAME"] == "kes" and env["HOME"] is None and env["SHELL"] is None  # HOME: passwd's


def test_home_is_unset_without_user(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "", _config_with("${HOME}", at="fs"))
    [message] = _unset(result)
    assert "(systemd sets HOME only for units with User= or DynamicUser=)" in message
    assert "PATH" in env and "INVOCATION_ID" in env and "JOURNAL_STREAM" in env  # always, and output to the journal


def test_environment_overrides_what_systemd_sets(write, tmp_path):
    _, env = _systemd_env(write, tmp_path, "User=kes\nEnvironment=HOME=/srv/kes\n", _config_with("${HOME}", at="fs"))
    assert env["HOME"] == "/srv/kes"


def test_pass_environment_counts_as_set_with_a_value_kescheck_cannot_know(write, tmp_path):
    # An admin identity KES would refuse when empty: KES108 must not take the unknown value for an empty one.
    result, env = _systemd_env(write, tmp_path, "PassEnvironment=KES_ADMIN\n", _config_with("${KES_ADMIN}"))
    assert "KES_ADMIN" in env and env["KES_ADMIN"] is None
    assert not {"KES100", "KES108", "KES213"} & set(codes(result, "KES"))
    assert "PassEnvironment=" in result.deployments[0].options.kes_env_origin


def test_unset_environment_removes_a_variable_last(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "UnsetEnvironment=KES_ADMIN\nEnvironment=KES_ADMIN=disabled\n",
                               _config_with("${KES_ADMIN}"))
    assert "KES_ADMIN" not in env
    [message] = _unset(result)
    assert "(kes.service's UnsetEnvironment= removes it)" in message


def test_unset_environment_with_a_value_removes_only_that_value(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "Environment=KES_ADMIN=disabled\nUnsetEnvironment=KES_ADMIN=other\n",
                               _config_with("${KES_ADMIN}"))
    assert env["KES_ADMIN"] == "disabled" and not _unset(result)
    _, env = _systemd_env(write, tmp_path, "Environment=KES_ADMIN=disabled\nUnsetEnvironment=KES_ADMIN=disabled\n",
                          _config_with("${KES_ADMIN}"))
    assert "KES_ADMIN" not in env


def test_unset_environment_removes_what_systemd_sets_too(write, tmp_path):
    result, env = _systemd_env(write, tmp_path, "User=kes\nUnsetEnvironment=HOME\n", _config_with("${HOME}", at="fs"))
    assert "HOME" not in env and len(_unset(result)) == 1


@pytest.mark.parametrize("lines, expected", [
    ("RuntimeDirectory=kes\n", ("RUNTIME_DIRECTORY", "/run/kes")),
    ("StateDirectory=kes/keys other\n", ("STATE_DIRECTORY", "/var/lib/kes/keys:/var/lib/other")),
    ("CacheDirectory=kes\n", ("CACHE_DIRECTORY", "/var/cache/kes")),
    ("LogsDirectory=kes\n", ("LOGS_DIRECTORY", "/var/log/kes")),
    ("ConfigurationDirectory=kes\n", ("CONFIGURATION_DIRECTORY", "/etc/kes")),
    ("RuntimeDirectory=kes:kes-link\n", ("RUNTIME_DIRECTORY", "/run/kes")),
    ("StateDirectory=kes\nDynamicUser=yes\n", ("STATE_DIRECTORY", None)),
    ("StateDirectory=%N\n", ("STATE_DIRECTORY", None)),
])
def test_directory_settings_set_their_variables(write, tmp_path, lines, expected):
    variable, value = expected
    result, env = _systemd_env(write, tmp_path, lines, _config_with(f"${{{variable}}}", at="fs"))
    assert variable in env and env[variable] == value and not _unset(result)


def test_a_directory_variable_without_its_setting_is_unset(write, tmp_path):
    result, _ = _systemd_env(write, tmp_path, "RuntimeDirectory=kes\n", _config_with("${STATE_DIRECTORY}", at="fs"))
    [message] = _unset(result)
    assert "(systemd sets STATE_DIRECTORY only for units with StateDirectory=)" in message


@pytest.mark.parametrize("lines, is_set", [
    ("", True),  # standard output goes to the journal by default
    ("StandardOutput=null\n", False),  # standard error inherits it
    ("StandardOutput=null\nStandardError=journal\n", True),
    ("StandardOutput=append:/var/log/kes.log\nStandardError=file:/var/log/kes.err\n", False),
])
def test_journal_stream_follows_the_output_settings(write, tmp_path, lines, is_set):
    result, env = _systemd_env(write, tmp_path, lines, _config_with("${JOURNAL_STREAM}", at="fs"))
    assert ("JOURNAL_STREAM" in env) is is_set and bool(_unset(result)) is not is_set


@pytest.mark.parametrize("lines, variable", [
    ("Type=notify\n", "NOTIFY_SOCKET"), ("Sockets=kes.socket\n", "LISTEN_FDS"), ("WatchdogSec=30s\n", "WATCHDOG_USEC"),
    ("StandardInput=tty\n", "TERM"), ("DynamicUser=yes\n", "HOME"),
])
def test_settings_that_make_systemd_set_a_variable(write, tmp_path, lines, variable):
    result, env = _systemd_env(write, tmp_path, lines, _config_with(f"${{{variable}}}", at="fs"))
    assert variable in env and not _unset(result)
    result, env = _systemd_env(write, tmp_path, "", _config_with(f"${{{variable}}}", at="fs"))
    assert variable not in env and len(_unset(result)) == 1


def test_mainpid_is_never_set_for_exec_start(write, tmp_path):
    result, _ = _systemd_env(write, tmp_path, "Type=notify\n", _config_with("${MAINPID}", at="fs"))
    [message] = _unset(result)
    assert ("(systemd sets MAINPID only for control processes (ExecReload= and similar), never for ExecStart=)"
            in message)


def test_pam_name_leaves_the_environment_unknown(write, tmp_path):
    # PAM modules (pam_env) may set any variable.
    result, env = _systemd_env(write, tmp_path, "User=kes\nPAMName=login\n", _config_with("${KES_ADMIN}"))
    assert env is None and "KES213" in codes(result, "KES") and not _unset(result)


def test_values_kescheck_cannot_know_are_never_judged(tmp_path):
    # Every rule that resolves `${VAR}` sees a set variable with an unknown value: none may take it for empty or
    # for a value, on current KES or on one that substitutes unset variables as empty.
    config = tmp_path / "kes.yaml"
    config.write_text("admin: {identity: '${A}'}\ntls:\n  key: /k\n  cert: /c\n  password: '${A}'\n"
                      "  proxy: {identities: ['${A}'], header: {cert: '${A}'}}\n"
                      "cache: {expiry: {any: 5m0s, unused: 30s, offline: '${A}'}}\n"
                      "keystore: {vault: {endpoint: '${A}', approle: {id: '${A}', secret: '${A}'}}}\n"
                      "policy:\n  p: {allow: [/v1/key/list/*], identities: ['${A}']}\n")
    for version in (None, "0.21.0", "0.22.0"):
        result = lint([config], Options(kes_env={"A": None}, kes_version=version))
        assert not {"KES100", "KES108", "KES217", "KES222", "KES224"} & set(codes(result, "KES")), version


def test_a_policy_identity_passed_from_the_manager_leaves_the_policy_unchecked(tmp_path):
    # The unit passes MINIO_IDENTITY from the manager: its value is unknown, so kescheck cannot tell whether MinIO's
    # identity is bound to the policy, and says so (POL025) instead of treating MinIO as unbound.
    files = find_rule("POL025").examples[0].files
    materialize(files, tmp_path)
    (tmp_path / "kes.service").write_text("[Service]\nPassEnvironment=MINIO_IDENTITY\n"
                                          "ExecStart=/usr/local/bin/kes server --config kes-config.yaml\n")
    result = lint([tmp_path])
    [deployment] = result.deployments
    assert deployment.options.kes_env["MINIO_IDENTITY"] is None
    [skipped] = [f for f in result.findings if f.code == "POL025"]
    assert "policy identities are given as ${VAR} whose values kescheck does not know" in skipped.message
    assert "KES100" not in codes(result, "KES")


# --- SYS018: more than one ExecStart= ------------------------------------------------------------------------------

def _unit_with_drop_in(root: Path, drop_in: str, unit_extra: str = "") -> Path:
    (root / "config.yaml").write_text("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                                      "keystore: {fs: {path: /var/kes}}\n")
    (root / "kes.service").write_text(f"[Service]\nUser=kes\n{unit_extra}"
                                      "ExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n")
    (root / "kes.service.d").mkdir()
    (root / "kes.service.d" / "override.conf").write_text(drop_in)
    return root


def test_a_drop_in_that_adds_a_command_line_instead_of_replacing_it(tmp_path):
    _unit_with_drop_in(tmp_path, "[Service]\n# adds a flag\nExecStart=/usr/local/bin/kes server --config "
                                 "/etc/kes/config.yaml --auth off\n")
    [finding] = findings_of(tmp_path, "SYS018")
    assert finding.message == ("a second `ExecStart=` in the drop-in, after the one at kes.service:3: systemd refuses "
                               "a unit with more than one unless it is `Type=oneshot` (a drop-in replaces the command "
                               "only when an empty `ExecStart=` comes first), so KES never starts")
    assert (finding.location.path, finding.location.line, finding.location.column) == \
        (tmp_path / "kes.service.d" / "override.conf", 3, 1)
    assert [(r.path.name, r.line) for r in finding.related] == [("kes.service", 3)]
    assert finding.severity.label == "error"


@pytest.mark.parametrize("drop_in, unit_extra", [
    ("[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml --auth off\n", ""),
    ("[Service]\nEnvironment=KES_X=1\n", ""),
    ("[Service]\nExecStartPre=/bin/true\n", ""),
    ("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n", "Type=oneshot\n"),
    ("[Unit]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n", ""),  # not [Service]
])
def test_one_command_line_or_a_oneshot_service(tmp_path, drop_in, unit_extra):
    _unit_with_drop_in(tmp_path, drop_in, unit_extra)
    assert findings_of(tmp_path, "SYS018") == []


def test_two_command_lines_in_minio_s_own_unit(tmp_path):
    (tmp_path / "minio.env").write_text("MINIO_VOLUMES=/mnt/data\nMINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
                                        "MINIO_KMS_KES_KEY_NAME=minio-key\n")
    (tmp_path / "minio.service").write_text("[Service]\nEnvironmentFile=/etc/default/minio\n"
                                            "ExecStart=/usr/local/bin/minio server /mnt/data\n"
                                            "ExecStart=/usr/local/bin/minio server $MINIO_VOLUMES\n")
    [finding] = findings_of(tmp_path, "SYS018")
    assert finding.message.startswith("a second `ExecStart=` in the unit, after the one at minio.service:3: ")
    assert finding.message.endswith("unless it is `Type=oneshot`, so MinIO never starts")
    assert (finding.location.path.name, finding.location.line) == ("minio.service", 4)


def test_the_list_a_unit_ends_up_with():
    unit = read_unit(SourceFile(Path("kes.service"), "[Service]\nExecStart=/bin/a\nExecStart=\n"
                                                     "ExecStart=/usr/local/bin/kes server --config /c.yaml\n"),
                     (SourceFile(Path("kes.service.d/x.conf"), "[Service]\nExecStart=/bin/b\n"),))
    assert [(key.line, key.source.path.name if key.source else None) for key in unit.exec_start_keys] == \
        [(4, None), (2, "x.conf")]
    assert unit.refused_exec_starts() == unit.exec_start_keys[1:]


def test_not_judged_when_the_drop_ins_are_not_all_read(tmp_path):
    from kescheck.load.systemd import MAX_DROP_INS

    _unit_with_drop_in(tmp_path, "[Service]\nExecStart=\n", unit_extra="ExecStart=/usr/local/bin/kes version\n")
    for number in range(MAX_DROP_INS):  # one more than are read: one of them may empty the list, as this one does
        (tmp_path / "kes.service.d" / f"{number:03d}.conf").write_text("[Service]\n")
    assert findings_of(tmp_path, "SYS018") == []


# --- SYS019: Environment= assignments systemd ignores -------------------------------------------------------------

def test_a_percent_sign_that_starts_no_specifier_drops_its_assignment(write, tmp_path, cli):
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled\n"
                                     'Environment="VAULT_SECRET_ID=s3cr3t%2Fnever-shown" VAULT_ROLE_ID=role\n')
    result = lint([tmp_path])
    [finding] = [f for f in result.findings if f.code == "SYS019"]
    assert finding.message == ("this `%` starts no specifier systemd knows, so systemd ignores this assignment and "
                               "starts KES without VAULT_SECRET_ID")
    assert (finding.location.path.name, finding.location.line, finding.location.column) == ("kes.service", 5, 36)
    assert any("VAULT_SECRET_ID" in message for message in _unset(result))  # as systemd leaves it: unset
    assert not any("VAULT_ROLE_ID" in message for message in _unset(result))  # the next word is read
    for output in ("plain", "json", "sarif"):
        run = cli("lint", str(tmp_path), "--format", output)
        assert "SYS019" in run.stdout and "never-shown" not in run.stdout and "s3cr3t" not in run.stdout


def test_a_backslash_that_starts_no_escape_ends_the_line_for_systemd(write, tmp_path):
    """systemd 252: `Invalid syntax, ignoring`; the words before the bad one stay set, those from it on do not."""
    _env_deployment(write, tmp_path, 'Environment=KES_ADMIN=disabled VAULT_ROLE_ID=r\\qx VAULT_SECRET_ID=s\n')
    result = lint([tmp_path])
    [finding] = [f for f in result.findings if f.code == "SYS019"]
    assert finding.message == ("this backslash starts no escape systemd knows, so systemd stops reading this "
                               "`Environment=` line here and starts KES without VAULT_ROLE_ID, VAULT_SECRET_ID")
    assert (finding.location.line, finding.location.column) == (4, 47)
    unset = _unset(result)
    assert not any("KES_ADMIN" in m for m in unset) and any("VAULT_SECRET_ID" in m for m in unset)


@pytest.mark.parametrize("line", ['Environment="VAULT_SECRET_ID=s3cr3t%%2F" VAULT_ROLE_ID=%i\n',
                                  "Environment=VAULT_SECRET_ID=s VAULT_ROLE_ID=r KES_HOME=%h KES_NOTE=100%\n",
                                  'Environment=VAULT_SECRET_ID=s "VAULT_ROLE_ID=100%"\n',  # the quote is no specifier
                                  'Environment="VAULT_SECRET_ID=a\\tb\\x41\\\\c\\101" VAULT_ROLE_ID=r\n'])
def test_specifiers_escapes_and_a_trailing_percent_sign(write, tmp_path, line):
    _env_deployment(write, tmp_path, "Environment=KES_ADMIN=disabled\n" + line)
    result = lint([tmp_path])
    assert codes(result, "SYS019") == [] and not _unset(result)


def test_c_escapes_are_read_as_systemd_reads_them():
    read = read_unit(SourceFile(Path("kes.service"), '[Service]\nEnvironment="A=C:\\temp" B=x\\x41\\101\\sy '
                                                     "C='q\\\"q'\nExecStart=/usr/local/bin/kes server --config /c\n"))
    assert {name: word.text for name, word in read.environment} == {"A": "A=C:\temp", "B": "B=xAA y", "C": 'C=q"q'}


def test_minio_s_unit_loses_the_kms_settings_of_such_an_assignment(tmp_path):
    (tmp_path / "minio.service").write_text("[Service]\nEnvironment=MINIO_KMS_KES_ENDPOINT=https://kes:7373 "
                                            "MINIO_KMS_KES_API_KEY=kes:v1:abc%zz\n"
                                            "ExecStart=/usr/local/bin/minio server /mnt/data\n")
    result = lint([tmp_path])
    [finding] = [f for f in result.findings if f.code == "SYS019"]
    assert finding.message.endswith("starts MinIO without MINIO_KMS_KES_API_KEY")
    assert finding.location.column == 85


@pytest.mark.parametrize("entry", ["masked", "directory", "dangling"])
def test_drop_in_entries_systemd_passes_over_leave_the_others_applied(tmp_path, entry):
    """`ln -s /dev/null kes.service.d/vendor.conf` masks a drop-in; systemd skips it, a directory and a link to nothing,
    and applies the rest."""
    _unit_with_drop_in(tmp_path, "[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server --config "
                                 "/etc/kes/config.yaml --mlock\n")
    other = tmp_path / "kes.service.d" / "vendor.conf"
    if entry == "masked":
        other.symlink_to("/dev/null")
    elif entry == "directory":
        other.mkdir()
    else:
        other.symlink_to(tmp_path / "nowhere.conf")
    [finding] = findings_of(tmp_path, "SYS002")
    assert (finding.location.path.name, finding.location.line) == ("override.conf", 3)


@pytest.mark.parametrize("config, column", [("/etc/kes/a%2b.yaml", 56), ('"/etc/kes/a%2b.yaml"', 57)])
def test_an_exec_start_with_a_percent_that_starts_no_specifier_is_refused(config, column):
    read = unit(f"[Service]\nExecStart=/usr/local/bin/kes server --config {config}\n")
    [problem] = read.problems
    assert (problem.line, problem.column) == (2, column)
    assert problem.message.startswith("`ExecStart=` holds a `%` that starts no specifier systemd knows")


@pytest.mark.parametrize("config", ["/etc/kes/%i.yaml", "/etc/kes/100%", "/etc/kes/a%%2b.yaml"])
def test_specifiers_in_exec_start(config):
    assert unit(f"[Service]\nExecStart=/usr/local/bin/kes server --config {config}\n").problems == []


# --- section headers as systemd reads them ----------------------------------------------------------

@pytest.mark.parametrize("header, said", [
    ("[service]", "systemd ignores the section `[service]` and every setting in it (`Unknown section`: section names "
                  "are exact, `[Service]`), so the service has no command to start and systemd refuses the unit"),
    ("[ Service ]", "systemd ignores the section `[ Service ]`"),
    ("[Service]]", "systemd ignores the section `[Service]]` and every setting in it"),
    ("[Service\t]", "`[Service\\t]` has a character systemd refuses in a section name: systemd refuses to load the unit "
                    "(`Bad characters in section header`)"),
    ("[Service] # KES", "`[Service] # KES` is no section header (a header line holds `[Service]` alone; a comment goes "
                        "on a line of its own): systemd refuses to load the unit (`Invalid section header`)"),
])
def test_a_unit_files_section_header_systemd_does_not_take_is_sys020_and_the_rest_is_still_judged(
        tmp_path, header, said):
    (tmp_path / "kes.service").write_text(f"[Unit]\nDescription=KES\n\n{header}\nUser=kes\n"
                                          "ExecStart=/usr/local/bin/kes server --config /etc/kes/missing.yaml\n")
    found = {f.code: f for f in lint([tmp_path]).findings}
    assert said in found["SYS020"].message
    assert (found["SYS020"].location.line, found["SYS020"].location.column) == (4, 1)
    assert found["SYS020"].location.end_column == 1 + len(header)
    assert "SYS006" in found  # the command line is read as meant: its --config is judged too


def test_an_install_section_systemd_does_not_know(tmp_path):
    (tmp_path / "kes.service").write_text("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/a.yaml\n"
                                          "[install]\nWantedBy=multi-user.target\n")
    (finding,) = [f for f in lint([tmp_path]).findings if f.code == "SYS020"]
    assert finding.location.line == 3 and "`systemctl enable` has nothing to do (its `WantedBy=`)" in finding.message


def test_a_unit_whose_only_header_is_broken_is_still_a_unit(tmp_path):
    (tmp_path / "kes.service").write_text("[Service] # KES\nExecStart=/usr/local/bin/kes server --config /etc/kes/a.yaml\n")
    assert codes(lint([tmp_path / "kes.service"]), "") == ["SYS006", "SYS020"]


@pytest.mark.parametrize("header", ["[Service]", "[Unit]", "[Install]", "[X-Kescheck]", "  [Service]  "])
def test_headers_systemd_takes(tmp_path, header):
    (tmp_path / "kes.service").write_text(f"[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/a.yaml\n"
                                          f"{header}\nUser=kes\n")
    assert "SYS020" not in codes(lint([tmp_path]))


def _with_override(tmp_path, override: str):
    tmp_path.mkdir()
    (tmp_path / "kes.service").write_text("[Service]\nUser=kes\n"
                                          "ExecStart=/usr/local/bin/kes server --config config.yaml\n")
    (tmp_path / "config.yaml").write_text(G2_CONFIG.replace("    ", ""))
    (tmp_path / "kes.service.d").mkdir()
    (tmp_path / "kes.service.d" / "override.conf").write_text(override)
    return lint([tmp_path])


def test_a_drop_in_is_read_as_systemd_reads_it(tmp_path):
    """An unknown section of a drop-in is skipped and nothing after a broken header is read: the override does
    not happen, so the unit keeps its one command line (no SYS018) and its relative `--config` (SYS009)."""
    replaced = "ExecStart=\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n"
    assert "SYS009" not in codes(_with_override(tmp_path / "a", "[Service]\n" + replaced))
    result = _with_override(tmp_path / "b", "[Service] ; the absolute path\n" + replaced)
    found = {f.code: f for f in result.findings}
    assert "SYS009" in found and "SYS018" not in found
    assert found["SYS020"].location.path.name == "override.conf" and found["SYS020"].location.line == 1
    assert "systemd stops reading the drop-in here, so none of the settings below apply" in found["SYS020"].message
    result = _with_override(tmp_path / "c", "[service]\n" + replaced)
    found = {f.code: f for f in result.findings}
    assert "SYS009" in found and "so the drop-in does not change the unit" in found["SYS020"].message
    # Not even a proper header further down is read (systemd 252: the unit keeps its own command line).
    assert "SYS009" in codes(_with_override(tmp_path / "d", "[Service] ; x\nUser=kes\n[Service]\n" + replaced))
    assert "SYS009" in codes(_with_override(tmp_path / "e", "[Service\t]\nUser=kes\n[Service]\n" + replaced))
    assert "SYS009" in codes(_with_override(tmp_path / "f", "[Service]]\n" + replaced))


def test_a_line_ending_in_an_escaped_backslash_is_not_continued():
    """systemd 252 pairs the backslashes: `\\\\` at the end is one escaped backslash, `\\\\\\` continues the line."""
    read = unit("[Service]\nEnvironment=KES_HOME=C:\\\\\nExecStart=/usr/local/bin/kes server --config /etc/kes/a.yaml\n")
    assert read.config.text == "/etc/kes/a.yaml" and [name for name, _ in read.environment] == ["KES_HOME"]
    read = unit("[Service]\nEnvironment=KES_HOME=C:\\\\\\\nExecStart=/usr/local/bin/kes server --config /etc/kes/a.yaml\n")
    assert read.command is None  # the command line became part of the assignment


def test_the_lines_of_a_setting_are_those_systemd_reads():
    """Related locations point at the assignment that counts: not at one in a section a drop-in misnames, nor at one
    in [Unit]; `Key = value` counts."""
    drop_in = SourceFile(Path("kes.service.d/override.conf"), "[service]\nProtectHome=no\n")
    read = read_unit(SourceFile(Path("kes.service"), "[Unit]\nProtectHome=no\n[Service]\nProtectHome = yes\n"
                                "ExecStart=/usr/local/bin/kes server --config /root/kes/config.yaml\n"), (drop_in,))
    assert [(source.path.name, line) for source, line in read.lines_of("ProtectHome")] == [("kes.service", 4)]
