"""Hostile and broken inputs end with a message naming the file and status 1 or 2: no traceback, no hang."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(9)]
) + "\nkeystore: {fs: {path: /k}}\n"

CASES = {
    "empty.yaml": (b"", 1, "empty"),
    "binary.yaml": (bytes(range(256)) * 4, 2, "binary"),
    "latin1.yaml": ("admin:\n  identity: caf\xe9\nkeystore: {fs: {path: /k}}\n".encode("latin-1"), 1, "UTF-8"),
    "tabs.yaml": (b"admin:\n\tidentity: x\n", 1, "tab"),
    "duplicate.yaml": (b"admin: {identity: a}\nadmin: {identity: b}\nkeystore: {fs: {path: /k}}\n", 1, "already defined"),
    "bomb.yaml": (BILLION_LAUGHS.encode(), 1, "alias"),
    "deep.yaml": (("k:\n" + "".join("  " * i + "k:\n" for i in range(1, 200))).encode(), 1, "nesting"),
    "flow.yaml": (b"k: " + b"[" * 50000 + b"]" * 50000 + b"\n", 1, "nested"),
    "huge.yaml": (b"# padding\n" * (500 * 1024), 2, "limit"),
    # 20,000 spaces before a character outside the block-YAML scanner's subset: its line pattern once backtracked
    # over every split of such a run (cubic time, hours for this file) before it declined the line.
    "spaces.yaml": (b"admin:\n  identity: disabled\n" + b" " * 20000 + b"- ]\nkeystore: {fs: {path: /k}}\n", 1, "tls"),
    "multidoc.yaml": (b"admin: {identity: a}\n---\nkeystore: {}\n", 1, "more than one YAML document"),
    "garbage.env": (b"MINIO_KMS_KES_ENDPOINT=https://k:7373\r\n\x01\x02 no equals here\r\n=\r\n", 1, ""),
    "nul.env": (b"MINIO_KMS_KES_ENDPOINT=https://k\x00:7373\n", 1, "NUL"),
    "pem.crt": (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 2, "PEM"),
}


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "kescheck", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, PYTHONPATH=str(REPO)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file(tmp_path, name):
    data, status, hint = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = run("lint", path, "--format", "plain")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode in (1, 2)
    assert result.returncode == status, result.stdout + result.stderr
    assert name in result.stdout + result.stderr
    assert hint.lower() in (result.stdout + result.stderr).lower()


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "kes.yaml"
    os.mkfifo(fifo)
    result = run("lint", fifo, timeout=30)
    assert result.returncode == 2
    assert "kes.yaml" in result.stderr and "not a regular file" in result.stderr


@pytest.mark.parametrize("option", ["--baseline", "--config"])
def test_a_fifo_as_baseline_or_settings_file_is_refused_without_blocking(tmp_path, option):
    (tmp_path / "kes-config.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    os.mkfifo(tmp_path / "pipe")
    result = run("lint", tmp_path / "kes-config.yaml", option, tmp_path / "pipe", timeout=30)
    assert result.returncode == 2
    assert "pipe" in result.stderr and "not a regular file" in result.stderr


def test_a_huge_settings_file_is_refused(tmp_path):
    from kescheck.load.source import MAX_FILE_BYTES
    from kescheck.settings import SettingsError, load_settings

    settings = tmp_path / ".kescheck.toml"
    settings.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(SettingsError, match="larger than the 4 MiB limit"):
        load_settings(settings)


def test_fifo_inside_a_directory_is_skipped(tmp_path):
    os.mkfifo(tmp_path / "kes.yaml")
    (tmp_path / "kes-config.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    result = run("lint", tmp_path, timeout=30)
    assert result.returncode in (0, 1)


def test_missing_and_unreadable_paths(tmp_path, monkeypatch, cli):
    from kescheck.load import source

    secret = tmp_path / "secret.yaml"
    secret.write_text("admin: {identity: x}\n")
    real_open = os.open

    def deny(path, *args, **kwargs):  # tests run as root, who can read any mode: simulate EACCES
        if str(path) == str(secret):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(source.os, "open", deny)
    result = cli("lint", secret, tmp_path / "nope.yaml")
    assert result.status == 2
    assert "secret.yaml: permission denied" in result.stderr
    assert "nope.yaml: no such file or directory" in result.stderr


def test_stdin_is_read_as_a_config(cli):
    result = cli("lint", "-", "--format", "plain", stdin="admin: {identity: a}\nadmin: {identity: b}\n")
    assert result.status == 1
    assert "<stdin>" in result.stdout and "already defined" in result.stdout


def test_too_many_files(tmp_path, monkeypatch, cli):
    from kescheck import engine

    monkeypatch.setattr(engine, "MAX_FILES", 3)
    for i in range(5):
        (tmp_path / f"kes{i}.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    result = cli("lint", tmp_path)
    assert result.status == 2
    assert "more than 3 files" in result.stderr


def test_a_directory_without_configs_says_so(cli, tmp_path):
    (tmp_path / "notes.yaml").write_text("shopping: [milk, eggs]\n")
    result = cli("lint", tmp_path)
    assert result.status == 0
    assert "no KES config or MinIO env file found" in result.stderr


def test_symlink_loops_end_in_messages(tmp_path, cli):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kes-config.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    (tmp_path / "sub" / "loop").symlink_to(".")
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "self.yaml").symlink_to("self.yaml")
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    walked = cli("lint", tmp_path, "--format", "json")
    assert walked.status in (0, 1) and walked.stdout.count('"path": "') >= 1
    named = cli("lint", tmp_path / "self.yaml", tmp_path / "a.yaml", tmp_path / "sub" / "loop" / "loop" / "up")
    assert named.status == 2
    assert "self.yaml: " in named.stderr and "a.yaml: " in named.stderr


def test_a_huge_tree_is_walked_only_up_to_the_caps(tmp_path, monkeypatch, cli):
    from kescheck import engine

    for d in range(4):
        for i in range(30):
            (tmp_path / f"d{d}").mkdir(exist_ok=True)
            (tmp_path / f"d{d}" / f"f{i}").write_text("x=1\n")
    read: list = []
    real_read = engine.read_bytes
    monkeypatch.setattr(engine, "read_bytes", lambda path: read.append(path) or real_read(path))
    monkeypatch.setattr(engine, "MAX_FILES", 10)
    result = cli("lint", tmp_path)
    assert result.status == 2 and "more than 10 files" in result.stderr
    assert len(read) == 10  # the walk stopped at the cap instead of listing the whole tree first
    monkeypatch.setattr(engine, "MAX_FILES", 1000)
    monkeypatch.setattr(engine, "MAX_WALK_ENTRIES", 50)
    result = cli("lint", tmp_path)
    assert result.status == 2 and "more than 50 entries below it" in result.stderr


ESCAPES = "\x1b[2J\x1b]0;owned\x07\x9b31m"


def test_control_characters_never_reach_the_terminal(tmp_path, cli):
    """A hostile file (or file name) must not clear the screen, set the title or recolour a CI log."""
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={ESCAPES}https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k{ESCAPES}\n")
    (tmp_path / f"bad{ESCAPES[:4]}.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    for fmt in ("plain", "rich", "github"):
        run = cli("lint", env, tmp_path / f"bad{ESCAPES[:4]}.yaml", tmp_path / f"gone{ESCAPES}", "--format", fmt,
                  "--color", "always")
        assert run.status == 2 and "\\x1b[2J" in run.stdout
        assert "\x07" not in run.stdout + run.stderr and "\x9b" not in run.stdout + run.stderr
        assert "\x1b]" not in run.stdout + run.stderr and "\x1b[2J" not in run.stdout + run.stderr


def test_form_feeds_and_unicode_separators_do_not_shift_line_numbers(tmp_path, cli):
    env = tmp_path / "minio.env"
    env.write_text("# a\x0cb\x1ec\u2028d\x85e\nMINIO_KMS_KES_ENDPOINT=https://kes:7373\n"
                   "MINIO_KMS_KES_KEY_NAME=minio-key # default\n", encoding="utf-8")
    run = cli("lint", env, "--format", "plain", "--select", "ENV105")
    assert run.status == 1
    assert "3:24" in run.stdout and "> 3 | MINIO_KMS_KES_KEY_NAME=minio-key # default" in run.stdout


@pytest.mark.parametrize("text", ['severity = "0"\n', 'per-path-ignores = 1\n', 'deployments = "x"\n',
                                  '[deployments.a]\nkes = 5\n', 'suppressions = 3\n',
                                  '[[suppressions]]\nrule = "KES001"\nreason = "r"\nexpires = 5\n',
                                  'expiry-warning-days = true\n'])
def test_settings_of_the_wrong_shape_are_usage_errors(tmp_path, cli, text):
    settings = tmp_path / ".kescheck.toml"
    settings.write_text(text)
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    run = cli("lint", tmp_path / "kes.yaml", "--config", settings)
    assert run.status == 2 and ".kescheck.toml" in run.stderr


def test_a_pyproject_whose_tool_is_not_a_table_is_not_a_settings_file(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('tool = "kescheck"\n')
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    assert cli("lint", "kes.yaml").status in (0, 1)


MARKER = "kescheck-leak-marker-2718"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc")
@pytest.mark.parametrize("files", [
    {"minio.service": "[Service]\nEnvironmentFile=/proc/self/environ\nExecStart=/usr/local/bin/minio server /data\n"},
    {"kes.service": "[Service]\nExecStart=/usr/local/bin/kes server --config /proc/self/environ\n"},
    {"kes-config.yaml": "admin: {identity: disabled}\ntls: {key: /proc/self/environ, cert: /proc/self/environ}\n"
                        "keystore: {fs: {path: /k}}\n",
     "minio.env": "MINIO_KMS_KES_ENDPOINT=https://kes:7373\nMINIO_KMS_KES_KEY_NAME=k\n"
                  "MINIO_KMS_KES_CERT_FILE=/proc/self/environ\nMINIO_KMS_KES_KEY_FILE=/proc/self/environ\n"
                  "MINIO_KMS_KES_CAPATH=/proc/self\n"},
    {"environ.env": None},  # a link into /proc
    {"kes.service": "[Service]\nExecStart=/usr/local/bin/kes server --config /nonexistent/config.yaml\n",
     "kes.service.d/environ.conf": None},  # a drop-in that is a link into /proc
], ids=["minio-unit", "kes-unit", "certificates", "link", "drop-in-link"])
def test_a_repository_cannot_make_kescheck_print_the_environment_it_runs_in(tmp_path, files):
    """Files of /proc and /sys are never read: a unit or config naming /proc/self/environ would otherwise put the
    environment of the CI job (its tokens) into the report."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        if text is None:
            (tmp_path / name).symlink_to("/proc/self/environ")
        else:
            (tmp_path / name).write_text(text)
    env = dict(os.environ, PYTHONPATH=str(REPO), MINIO_KMS_KES_ENDPOINT=f"https://{MARKER}:7373",
               KESCHECK_CI_TOKEN=MARKER)
    for fmt in ("plain", "json", "sarif"):
        result = subprocess.run([sys.executable, "-m", "kescheck", "lint", str(tmp_path), "--format", fmt], cwd=REPO,
                                capture_output=True, text=True, timeout=60, env=env)
        assert MARKER not in result.stdout and MARKER not in result.stderr
        assert "Traceback" not in result.stderr
    named = subprocess.run([sys.executable, "-m", "kescheck", "lint", "/proc/self/environ"], cwd=REPO,
                           capture_output=True, text=True, timeout=60, env=env)
    assert named.returncode == 2 and "a file of the kernel's /proc or /sys" in named.stderr and MARKER not in named.stdout


def test_an_empty_path_is_a_usage_error_not_the_current_directory(tmp_path, monkeypatch, cli):
    """`kescheck lint "$CHANGED_FILES"` with the variable unset must not lint the whole tree (pathlib reads "" as ".")."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kes-config.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    run = cli("lint", "")
    assert run.status == 2 and "an empty path was given" in run.stderr and "kes-config.yaml" not in run.stdout
    assert cli("lint", ".").status in (0, 1)


def test_a_full_disk_is_said_plainly(tmp_path):
    (tmp_path / "kes-config.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "kescheck", "lint", str(tmp_path), "--format", "json"], cwd=REPO,
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 2
    assert result.stderr == "kescheck: cannot write the output: No space left on device\n"


def test_library_deprecation_notices_stay_off_stderr(tmp_path):
    """A DSA key makes cryptography warn about the algorithm: kescheck's findings speak for it, not a Python warning."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa
    from cryptography.x509.oid import NameOID

    key = dsa.generate_private_key(2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kes")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("kes.example.net")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "kes.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (tmp_path / "kes.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "kes-config.yaml").write_text(f"admin: {{identity: disabled}}\ntls: {{key: {tmp_path / 'kes.key'}, "
                                              f"cert: {tmp_path / 'kes.crt'}}}\nkeystore: {{fs: {{path: /k}}}}\n")
    result = run("lint", tmp_path / "kes-config.yaml", "--format", "plain")
    assert result.returncode in (0, 1) and "Warning" not in result.stderr and "kescheck/" not in result.stderr


def test_marks_that_turn_text_right_to_left_are_shown_not_obeyed(tmp_path, cli):
    """A code frame must show a line as it is, not as a right-to-left override makes it read."""
    (tmp_path / "kes.yaml").write_text("admin: {identity: disabled}\nkeystore: {fs: {path: /k}}\n"
                                       "unknown\u202e: x\u2028y\n", encoding="utf-8")
    run = cli("lint", str(tmp_path / "kes.yaml"), "--format", "plain")
    assert "\u202e" not in run.stdout and "\u2028" not in run.stdout and "\\u202e" in run.stdout
