"""Doctor runs never show MinIO's KES credentials: not against a healthy KES, not against failing endpoints,
in no output format, on no stderr line and in no message of the check tree."""
from __future__ import annotations

import base64

import pytest

from certgen import issue, new_api_key
from kescheck.doctor.run import DoctorOptions, run_doctor
from tests.kes_fixtures import (DEFAULT_KEY, blackhole_factory, closed_port, kes_pki, kes_server,  # noqa: F401
                                kes_server_factory, plain_http_server, stopper)

FORMATS = ["rich", "plain", "json", "sarif"]
PASSWORD = "CANARYkeypassword9x"


def pem_body(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if line and "-----" not in line]


def api_key_canaries(api_key: str) -> list[str]:
    body = api_key.split(":")[-1]
    return [api_key, body, base64.b64decode(body)[1:].hex()]


@pytest.fixture
def endpoints(kes_pki, kes_server, kes_server_factory, closed_port, blackhole_factory, plain_http_server, tmp_path):
    """A healthy KES, a refused port, a silent port, plain HTTP, and a KES whose certificate fails verification."""
    stranger = issue("kes", issuer=issue("unknown CA", ca=True), ips=("127.0.0.1",), eku=("server",))
    untrusted = kes_server_factory(*stranger.write(tmp_path, "untrusted-kes"))
    return ",".join([kes_server.url(), f"https://127.0.0.1:{closed_port}", f"https://127.0.0.1:{blackhole_factory().port}",
                     f"https://127.0.0.1:{plain_http_server.port}", untrusted.url()])


def scenarios(kes_pki, endpoints, tmp_path):
    """(env file, canaries): an API key; an encrypted client key with its password; a broken API key."""
    api_key = new_api_key()
    yield kes_pki.env(endpoints, name="api.env", api_key=api_key, extra=f"MINIO_KMS_KES_KEY_PASSWORD={PASSWORD}\n"), \
        api_key_canaries(api_key) + [PASSWORD]
    cert, key = kes_pki.minio.write(tmp_path, "encrypted-client", password=PASSWORD.encode())
    env = tmp_path / "encrypted.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={endpoints}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CERT_FILE={cert}\nMINIO_KMS_KES_KEY_FILE={key}\nMINIO_KMS_KES_KEY_PASSWORD={PASSWORD}\n"
                   f"MINIO_KMS_KES_CAPATH={kes_pki.ca_file}\n")
    yield env, [PASSWORD] + pem_body(key.read_bytes()) + pem_body(kes_pki.minio_key.read_bytes())
    wrong = tmp_path / "wrong-password.env"
    wrong.write_text(env.read_text().replace(PASSWORD, "CANARYwrongpassword7x"))
    yield wrong, ["CANARYwrongpassword7x"] + pem_body(key.read_bytes())
    broken = "kes:v1:CANARYnotbase64butsecret8x"
    yield kes_pki.env(endpoints, name="broken.env", api_key=broken), [broken, "CANARYnotbase64butsecret8x"]


def test_no_canary_in_any_doctor_output(cli, kes_pki, endpoints, tmp_path):
    for env, canaries in scenarios(kes_pki, endpoints, tmp_path):
        assert all(len(c) >= 8 for c in canaries)
        report = run_doctor(DoctorOptions(minio_env=env, timeout=0.3, environ={}))
        messages = [text for check in report.root.walk() for text in (check.title, check.summary, check.advice,
                                                                        *check.details)]
        messages += [f.message + (f.fix or "") for f in report.result.findings]
        assert [c for c in canaries if any(c in m for m in messages)] == [], env.name
        for fmt in FORMATS:
            run = cli("doctor", "--minio-env", env, "--timeout", "0.3", "--format", fmt, "--color", "always")
            assert run.status == 1, (env.name, fmt, run.stdout)
            assert len(run.stdout) > 500
            leaked = [c for c in canaries if c in run.stdout or c in run.stderr]
            assert leaked == [], (env.name, fmt)


def test_canaries_in_the_process_environment_stay_hidden(cli, kes_pki, kes_server, closed_port, monkeypatch):
    api_key = new_api_key()
    for name in [n for n in __import__("os").environ if n.startswith("MINIO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MINIO_KMS_KES_ENDPOINT", f"{kes_server.url()},https://127.0.0.1:{closed_port}")
    monkeypatch.setenv("MINIO_KMS_KES_KEY_NAME", DEFAULT_KEY)
    monkeypatch.setenv("MINIO_KMS_KES_API_KEY", api_key)
    monkeypatch.setenv("MINIO_KMS_KES_KEY_PASSWORD", PASSWORD)
    monkeypatch.setenv("MINIO_KMS_KES_CAPATH", str(kes_pki.ca_file))
    for fmt in FORMATS:
        run = cli("doctor", "--timeout", "1", "--format", fmt)
        # SARIF quotes the brackets: a URI reference cannot hold them.
        assert run.status == 1 and ("%3Cenvironment%3E" if fmt == "sarif" else "<environment>") in run.stdout
        assert [c for c in api_key_canaries(api_key) + [PASSWORD] if c in run.stdout + run.stderr] == []


def test_the_live_progress_never_shows_an_endpoint_password():
    """The progress lines reach the terminal while the probes run, before the report's redaction."""
    from kescheck.doctor.render import progress_text

    text = progress_text({"https://svc:S3cretPassw0rd@127.0.0.1:7373": "TLS handshake",
                          "https://kes2.example.net:7373": None})
    assert "S3cretPassw0rd" not in text
    assert "https://svc:********@127.0.0.1:7373: TLS handshake" in text and "kes2.example.net:7373: done" in text
