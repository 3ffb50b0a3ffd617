"""The pre-commit hooks, run the way a user runs them: `pre-commit try-repo` on a real git
repository, offline (pip gets a local wheelhouse; any network use would hit a dead proxy)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import REPO

pre_commit = pytest.importorskip("pre_commit", reason="pre-commit is in the test extras: pip install -e '.[test]'")
pytest.importorskip("virtualenv", reason="pre-commit's python hooks need virtualenv")

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "kescheck tests", "GIT_AUTHOR_EMAIL": "tests@kescheck.invalid",
                "GIT_COMMITTER_NAME": "kescheck tests", "GIT_COMMITTER_EMAIL": "tests@kescheck.invalid"}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def hooks() -> list[dict]:
    return YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """The worktree as it is now (uncommitted changes included), committed into a fresh repository."""
    target = tmp_path_factory.mktemp("kescheck-checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git("init", "-q", "-b", "main", cwd=target)
    git("add", "-A", cwd=target)
    git("commit", "-q", "-m", "kescheck under test", cwd=target)
    return target


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory, checkout) -> Path:
    from wheelhouse import build_wheelhouse

    return build_wheelhouse(checkout, tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture
def user_repo(tmp_path) -> Path:
    """A repository with one deployment: the KES config is broken, the env file is fine."""
    repo = tmp_path / "ops"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "kes-config.yaml").write_text(textwrap.dedent("""\
        address: 0.0.0.0:7373
        admin:
          identity: disabled
        keystore:
          fs:
            path: /var/lib/kes
        keystore:
          fs:
            path: /srv/kes
        """))
    (repo / "deploy" / "minio.env").write_text(textwrap.dedent("""\
        MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373
        MINIO_KMS_KES_KEY_NAME=minio-default-key
        """))
    (repo / "README.md").write_text("ops\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "deployment", cwd=repo)
    return repo


def try_repo(checkout: Path, wheelhouse: Path, repo: Path, hook: str, *files: str) -> subprocess.CompletedProcess:
    dead = "http://127.0.0.1:9"  # nothing listens there: any download attempt fails loudly
    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "VIRTUALENV_NO_PERIODIC_UPDATE": "1", "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead,
           "https_proxy": dead, "NO_COLOR": "1", "GITHUB_ACTIONS": "", "PYTHONPATH": ""}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(checkout), hook, "--files", *files,
                           "--color", "never"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def test_hook_manifest_is_what_pre_commit_expects():
    from pre_commit.clientlib import load_manifest

    loaded = load_manifest(REPO / ".pre-commit-hooks.yaml")
    ids = {hook["id"] for hook in loaded}
    assert {"kescheck", "kescheck-kes-config", "kescheck-minio-env"} <= ids
    for hook in loaded:
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True and hook["require_serial"] is True


@pytest.mark.parametrize("hook,matches,skips", [
    ("kescheck-minio-env", ["minio.env", "deploy/minio.env", "etc/default/minio", ".env", "deploy/.env.production",
                            "prod.env", "minio-server.conf", "deploy/minio-kms", "kms.env"],
     ["kes-config.yaml", "minio.yaml", "README.md", "environment.py", "deploy/minio.service"]),
    # YAML files reach kescheck, which checks only those that are KES configs by content (--by-content)
    ("kescheck-kes-config", ["kes-config.yaml", "deploy/kes.yml", "KES-server.yaml", "deploy/config.yml"],
     ["minio.env", "kes.json", "README.md"]),
    ("kescheck", ["kes-config.yaml", "deploy/config.yml", "deploy/minio.env", "etc/default/minio", "minio.conf",
                  "deploy/kes.service", "deploy/minio.service"],
     ["README.md", "environment.py", "kes.json"]),
])
def test_files_patterns(hook, matches, skips):
    pattern = re.compile(next(h["files"] for h in hooks() if h["id"] == hook))
    assert [name for name in matches if not pattern.search(name)] == []
    assert [name for name in skips if pattern.search(name)] == []


def test_try_repo_on_a_changed_env_file_reports_the_paired_kes_config(checkout, wheelhouse, user_repo):
    run = try_repo(checkout, wheelhouse, user_repo, "kescheck-minio-env", "deploy/minio.env")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    # only the env file was named: the finding sits in the KES config beside it, line 7
    assert re.search(r"^deploy/kes-config\.yaml\n(?:.*\n)*?\s+7:1\s+error\s+KES001", output, re.MULTILINE), output

