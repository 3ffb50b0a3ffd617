"""Every documented scenario of every doctor rule, performed for real: files written, a server started on
loopback as the scenario's `server` words say, `kescheck doctor` run; the rule fires on the failing ones only."""
from __future__ import annotations

from pathlib import Path

import pytest

from example_files import materialize
from kescheck.doctor.host import CAP_IPC_LOCK
from kescheck.doctor.run import DoctorOptions, run_doctor
from kescheck.identity import identity_of_api_key
from kescheck.minio_names import API_KEY, CERT_FILE
from kescheck.rules import all_rules
from kescheck.rules.base import DOCTOR_SERVER_WORDS
from tests.kes_fixtures import MINIO_POLICY_ALLOW, stopper  # noqa: F401
from tests.kes_server import (Blackhole, KesServer, PlainHttpServer, Policy, WebServer, identity_of_der_certificate,
                              refused_port)
from tests.test_doctor_host import fake_kes_binary, vfs_cap

NOT_RUNNABLE = {"DOC036", "DOC044"}
"""Rules whose failing scenario cannot be performed on a test host (each scenario says why)."""

SCENARIOS = [(rule, index, scenario) for rule in all_rules() if rule.doctor
             for index, scenario in enumerate(rule.examples)]
RUNNABLE = [case for case in SCENARIOS if not case[2].not_runnable]
PORT = "${port}"
TEXT_FILES = ("minio.env", "kes-config.yaml", "minio.service")


def test_the_scenarios_that_cannot_run_are_the_listed_ones():
    skipped = {rule.code for rule, _, scenario in SCENARIOS if scenario.not_runnable}
    assert skipped == NOT_RUNNABLE
    assert all(len(s.not_runnable) > 40 for _, _, s in SCENARIOS if s.not_runnable), "say why it cannot run"


def test_scenarios_use_only_documented_server_words():
    file_words = {word.split("=")[0] for word in DOCTOR_SERVER_WORDS if word.endswith("=FILE")}
    for rule, index, scenario in SCENARIOS:
        for word in scenario.server.split():
            assert word in DOCTOR_SERVER_WORDS or word.split("=")[0] in file_words, f"{rule.code}-{index}: {word}"


def _settings(env_file: Path) -> dict[str, str]:
    lines = env_file.read_text().splitlines() if env_file.is_file() else []
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _minio_identity(directory: Path) -> list[str]:
    """The identity the KES side binds to its policy, computed without kescheck's identity code for certificates."""
    settings = _settings(directory / "minio.env")
    if settings.get(API_KEY):
        return [identity_of_api_key(settings[API_KEY])]
    if settings.get(CERT_FILE):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        certificate = x509.load_pem_x509_certificate((directory / settings[CERT_FILE]).read_bytes())
        return [identity_of_der_certificate(certificate.public_bytes(serialization.Encoding.DER))]
    return []


def start_server(words: dict[str, str], directory: Path, keep) -> int:
    """Start what the scenario's words describe; the port it listens on."""
    if "refused" in words or "none" in words:
        return refused_port()
    if "silent" in words:
        return keep(Blackhole().start()).port
    if "plain-http" in words:
        return keep(PlainHttpServer().start()).port
    cert = directory / words.get("cert", "kes.crt")
    key = cert.with_suffix(".key")
    if "web-server" in words:
        return keep(WebServer(cert, key).start()).port
    identities = _minio_identity(directory)
    policy = words.get("policy", "minio")
    server = KesServer(cert, key, admin=identities[0] if policy == "admin" and identities else "disabled",
                       policies={"minio": Policy(list(MINIO_POLICY_ALLOW), [], identities)} if policy == "minio" else {},
                       keys=() if words.get("keys") == "none" else ("minio-default-key",))
    server.keystore_dead = words.get("keystore") == "down"
    return keep(server.start()).port


def install_kes_binary(kind: str | None, directory: Path, monkeypatch) -> None:
    """PATH holds only a fake `kes` of the given kind (or nothing), so the host's own binaries never count."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    if kind is not None:
        fake_kes_binary(bin_dir, vfs_cap(2, 1 << CAP_IPC_LOCK, True) if kind == "cap_ipc_lock" else None)
    monkeypatch.setenv("PATH", str(bin_dir))


@pytest.mark.parametrize("rule,index,scenario", RUNNABLE,
                         ids=[f"{r.code}-{i}-{'fail' if s.fails else 'pass'}" for r, i, s in RUNNABLE])
def test_doctor_scenario(rule, index, scenario, tmp_path, monkeypatch, stopper):  # noqa: F811
    directory = tmp_path / "scenario"
    written = materialize(scenario.files, directory)
    words = dict((word.split("=", 1) + [""])[:2] for word in scenario.server.split())
    port = start_server(words, directory, stopper)
    for name in TEXT_FILES:
        if name in written:
            written[name].write_text(written[name].read_text().replace(PORT, str(port)))
    install_kes_binary(words.get("kes-binary"), tmp_path, monkeypatch)
    monkeypatch.chdir(directory)
    options = {"timeout": 3.0, **dict(scenario.options)}
    report = run_doctor(DoctorOptions(minio_env=written.get("minio.env"), kes_config=written.get("kes-config.yaml"),
                                      minio_unit=written.get("minio.service"), environ={},
                                      **options))
    fired = [f.message for f in report.result.findings if f.code == rule.code]
    if scenario.fails:
        assert fired, f"{rule.code} did not fire on its failing scenario {index}: " + "; ".join(
            f"{f.code} {f.message}" for f in report.result.findings if f.code.startswith("DOC"))
    else:
        assert not fired, f"{rule.code} fired on its passing scenario {index}: {fired}"
