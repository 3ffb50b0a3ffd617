"""Shared test helpers: run the CLI in-process and write real files into tmp_path."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kescheck.cli import app

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@dataclass
class CliRun:
    status: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: str | None = None) -> CliRun:
    result = CliRunner().invoke(app, [str(a) for a in args], input=stdin, catch_exceptions=False)
    return CliRun(result.exit_code, result.stdout, result.stderr)


def findings_of(root: Path, code: str) -> list:
    """The findings of rule `code` when `kescheck lint` checks `root`."""
    from kescheck.engine import lint

    return [f for f in lint([root]).findings if f.code == code]


@pytest.fixture(autouse=True)
def no_host_units(monkeypatch):
    """The doctor reads MinIO's systemd unit from the host's unit directories: a test host's own units must not count
    (tests that want units give their own directories)."""
    from kescheck.doctor import minio

    monkeypatch.setattr(minio, "SYSTEM_UNIT_DIRECTORIES", ())
    monkeypatch.setenv("SYSTEMD_UNIT_PATH", "/nonexistent-kescheck-units")


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def write(tmp_path):
    """write("name.yaml", text) -> Path; text is dedented so tests can indent YAML naturally."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
