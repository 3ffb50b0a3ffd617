"""The doctor against hostile servers: slow-loris answers, redirects, and the exact requests it may send.

Every server here is real (TLS on loopback with the test PKI's KES certificate). The wall-clock
bounds are hang guards, generous multiples of --timeout, not performance checks.
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time

import pytest

from kescheck.doctor.checks import Status
from kescheck.doctor.run import DoctorOptions, run_doctor
from tests.kes_fixtures import (DEFAULT_KEY, closed_port, kes_pki, kes_server, kes_server_factory,  # noqa: F401
                                stopper)

KEY_SEGMENT = r"[^/?#]+"
ALLOWED_REQUESTS = [("GET", re.compile(r"/version")), ("GET", re.compile(r"/v1/status")),
                    ("GET", re.compile(r"/v1/identity/self/describe")),
                    ("GET", re.compile(rf"/v1/key/describe/{KEY_SEGMENT}")),
                    ("PUT", re.compile(rf"/v1/key/generate/{KEY_SEGMENT}")),
                    ("PUT", re.compile(rf"/v1/key/decrypt/{KEY_SEGMENT}"))]


def doctor(env, timeout=1.0, **options):
    return run_doctor(DoctorOptions(minio_env=env, timeout=timeout, environ={}, **options))


def endpoint_checks(report) -> list:
    group = next(c for c in report.root.children if c.title == "KES endpoints")
    return [c for endpoint in group.children for c in endpoint.walk()]


class ScriptedServer:
    """Accepts connections (TLS unless `context` is None), reads each request head, records it, and lets
    `answer(connection, method, path)` write whatever it likes, as slowly as it likes."""

    def __init__(self, answer, context: ssl.SSLContext | None):
        self.answer, self.context = answer, context
        self.requests: list[tuple[str, str]] = []
        self.closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=32)
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            if self.context is None:
                self.answer(conn, "", "")
                return
            tls = self.context.wrap_socket(conn, server_side=True)
            while not self.closing.is_set():
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                method, path = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                body = head.split(b"\r\n\r\n", 1)[1]
                while length and len(body) < int(length[1]):
                    body += tls.recv(4096)
                self.requests.append((method, path))
                if not self.answer(tls, method, path):
                    return
        except (OSError, ssl.SSLError, ValueError):
            return

    def trickle(self, conn, data: bytes, interval: float) -> None:
        """One byte per `interval` until `data` is sent or the server stops."""
        for byte in data:
            if self.closing.wait(interval):
                return
            conn.sendall(bytes([byte]))

    def stop(self) -> None:
        self.closing.set()
        self._listener.close()
        for conn in self._connections:
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def scripted(kes_pki, stopper):
    def start(answer, tls: bool = True) -> ScriptedServer:
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(kes_pki.server_cert, kes_pki.server_key)
        return stopper(ScriptedServer(answer, context))

    return start


# -- slow loris ------------------------------------------------------------------------------
TRICKLE = 0.25
"""Seconds between bytes: well inside --timeout, so only a deadline over the whole answer stops it."""


def timed_out_check(kes_pki, server, title: str):
    """Run the doctor with a 1 s timeout against `server`: it must end soon, `title` timed out."""
    started = time.monotonic()
    report = doctor(kes_pki.env(server.url), timeout=1.0)
    assert time.monotonic() - started < 4 * 1.0 + 3
    check = next(c for c in endpoint_checks(report) if c.title == title)
    assert check.status is Status.FAIL and check.cause == "endpoint-timed-out"
    return check


@pytest.mark.parametrize("part", ["status line", "headers", "body"])
def test_a_trickling_answer_cannot_hold_a_probe(kes_pki, scripted, part):
    head = {"status line": b"", "headers": b"HTTP/1.1 200 OK\r\n",
            "body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n"}[part]

    def answer(conn, method, path):
        conn.sendall(head)
        filler = b"HTTP/1.1 200 OK\r\n" if part == "status line" else (b"X-Slow: " if part == "headers" else b"{")
        server.trickle(conn, filler + b"a" * 100_000, TRICKLE)
        return False

    server = scripted(answer)
    assert "no complete answer within 1 s" in timed_out_check(kes_pki, server, "GET /version").summary
    assert server.requests == [("GET", "/version")]


def test_a_trickling_tls_handshake_cannot_hold_a_probe(kes_pki, scripted):
    def answer(conn, method, path):
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB, then a byte at a time
        server.trickle(conn, b"\x02" * 16384, TRICKLE)

    server = scripted(answer, tls=False)
    # The handshake has the timeout less the moment kept for asking the port in plain HTTP (0.2 s of 1 s).
    assert "no TLS answer within 0.8 s" in timed_out_check(kes_pki, server, "TLS handshake").summary


# -- redirects ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_reported_and_never_followed(kes_pki, scripted, kes_server, status):
    target = f"{kes_server.url()}/v1/key/create/{DEFAULT_KEY}-redirected"

    def answer(conn, method, path):
        conn.sendall(f"HTTP/1.1 {status} Moved\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode())
        return True

    server = scripted(answer)
    report = doctor(kes_pki.env(server.url))
    version = next(c for c in endpoint_checks(report) if c.title == "GET /version")
    assert version.status is Status.FAIL and version.cause == "unexpected-kes-response"
    assert f"redirect ({status} to {target})" in version.summary and "does not follow" in version.summary
    assert server.requests == [("GET", "/version")]
    assert kes_server.requests == []  # the redirect target never heard from the doctor


# -- the requests the doctor can send -------------------------------------------------------
def assert_only_allowed(requests) -> None:
    assert requests
    for method, path in requests:
        assert any(method == m and pattern.fullmatch(path) for m, pattern in ALLOWED_REQUESTS), (method, path)


def test_the_complete_set_of_requests(kes_pki, kes_server_factory):
    """Every scenario together sends exactly the allowed shapes, and each allowed shape is reachable."""
    seen: set[tuple[str, str]] = set()
    healthy = kes_server_factory()
    doctor(kes_pki.env(healthy.url()), timeout=3)
    seen.update(healthy.requests)
    for scenario in ("no-probe", "insecure", "missing key", "dead keystore", "no policy"):
        server = kes_server_factory(keys=() if scenario == "missing key" else (DEFAULT_KEY,),
                                    **({"policies": {}} if scenario == "no policy" else {}))
        server.keystore_dead = scenario == "dead keystore"
        doctor(kes_pki.env(server.url()), timeout=3, round_trip=scenario != "no-probe",
               insecure=scenario == "insecure")
        assert_only_allowed(server.requests)
        if scenario == "no-probe":
            assert {m for m, _ in server.requests} == {"GET"}
        seen.update(server.requests)
    assert_only_allowed(seen)
    assert {(m, p.pattern) for m, p in ALLOWED_REQUESTS} == {
        (m, p.pattern) for m, p in ALLOWED_REQUESTS if any(m == sm and p.fullmatch(sp) for sm, sp in seen)}


@pytest.mark.parametrize("key", ["../../v1/key/delete/victim", "k/../../create/other", "k?x=1", "k#f", "..", "a b"])
def test_a_hostile_key_name_stays_one_path_segment(kes_pki, kes_server, key):
    doctor(kes_pki.env(kes_server.url(), key_name=key), timeout=3)
    assert_only_allowed(kes_server.requests)
    key_paths = [p for _, p in kes_server.requests if p.startswith("/v1/key/")]
    assert key_paths and all(p.count("/") == 4 for p in key_paths)


def test_refused_and_missing_credentials_send_nothing_else(kes_pki, kes_server, tmp_path):
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={kes_server.url()}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CAPATH={kes_pki.ca_file}\n")
    doctor(env, timeout=3)
    assert set(kes_server.requests) <= {("GET", "/version")}


# -- how many endpoints ---------------------------------------------------------------------
def test_endpoint_ranges_are_capped_before_they_are_built():
    from kescheck.endpoints import MAX_EXPANSION, parse_endpoints

    endpoints, errors = parse_endpoints("https://kes{0...fff}{0...fff}.example.net:7373")  # 16.7 million
    assert endpoints == [] and f"more than {MAX_EXPANSION}" in str(errors[0])
    endpoints, errors = parse_endpoints(",".join(["https://kes{1...4000}.example.net:7373"] * 1000))
    assert len(endpoints) <= MAX_EXPANSION and "the list expands to more than" in str(errors[-1])


def test_lint_checks_a_huge_endpoint_list_without_expanding_all_of_it(cli, tmp_path):
    env = tmp_path / "minio.env"
    env.write_text("MINIO_KMS_KES_ENDPOINT=" + ",".join(["https://kes{1...4000}.example.net:7373"] * 2000)
                   + "\nMINIO_KMS_KES_KEY_NAME=k\nMINIO_KMS_KES_API_KEY=kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs\n")
    run = cli("lint", env, "--format", "json")  # 8 million endpoints if expanded: a hang before the fix
    assert run.status in (0, 1)


def test_the_doctor_refuses_to_probe_thousands_of_endpoints(kes_pki, kes_server, closed_port):
    from kescheck.doctor.run import MAX_PROBED_ENDPOINTS

    report = doctor(kes_pki.env(f"https://127.0.0.1:{closed_port},https://10.255.{{0...255}}.{{1...2}}:7373"))
    failed = [c for c in report.root.walk() if c.status is Status.FAIL and c.rule is not None]
    assert [c.cause for c in failed] == ["invalid-endpoint"]
    assert f"at most {MAX_PROBED_ENDPOINTS}" in failed[0].summary and "513 endpoints" in failed[0].summary
    assert endpoint_checks(report) == []


# -- what a hostile server says -------------------------------------------------------------
def test_a_servers_words_cannot_drive_the_terminal(kes_pki, scripted, cli):
    def answer(conn, method, path):
        body = b'{"version": "\\u001b]0;owned\\u0007\\u001b[2J", "message": "\\u001b[31mred"}'
        status = b"200 OK" if path == "/version" else b"500 Oops"
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True

    server = scripted(answer)
    for fmt in ("plain", "rich"):
        run = cli("doctor", "--minio-env", kes_pki.env(server.url), "--timeout", "2", "--format", fmt,
                  "--color", "always")
        assert run.status == 1
        assert "\\x1b]0;owned\\x07" in run.stdout and "\\x1b[31mred" in run.stdout
        assert "\x07" not in run.stdout and "\x1b]" not in run.stdout and "\x1b[2J" not in run.stdout


def test_the_internal_error_handler_never_prints_the_exception_text(monkeypatch, capsys):
    import sys

    from kescheck import cli as cli_module
    from kescheck import engine

    def explode(*args, **kwargs):
        raise RuntimeError("CANARYinternalerror7x kes:v1:AGaV6VXHasF0FnaB60WdCOeTZ8eTIDikL4zlN16c8NAs")

    monkeypatch.setattr(engine, "lint", explode)
    monkeypatch.setattr(sys, "argv", ["kescheck", "lint", "anything.yaml"])
    assert cli_module.run_command_line() == 2
    captured = capsys.readouterr()
    assert "internal error (RuntimeError)" in captured.err
    assert "CANARY" not in captured.err + captured.out and "kes:v1" not in captured.err + captured.out
    assert "Traceback" not in captured.err


# --- the client's own files -----------------------------------------------------------------------------------------

def _credentials_check(report):
    return next(c for c in report.root.walk() if c.title.startswith("client credentials"))


@pytest.mark.parametrize("which", ["cert", "key"])
def test_a_fifo_as_the_client_certificate_or_key_is_refused_without_blocking(kes_pki, tmp_path, closed_port,
                                                                               which):
    import os

    fifo = tmp_path / "client.fifo"
    os.mkfifo(fifo)
    env = kes_pki.env(f"https://127.0.0.1:{closed_port}")
    setting = {"cert": "MINIO_KMS_KES_CERT_FILE", "key": "MINIO_KMS_KES_KEY_FILE"}[which]
    original = kes_pki.minio_cert if which == "cert" else kes_pki.minio_key
    env.write_text(env.read_text().replace(f"{setting}={original}", f"{setting}={fifo}"))
    started = time.monotonic()
    check = _credentials_check(doctor(env))
    assert time.monotonic() - started < 20
    assert check.status is Status.FAIL
    assert check.summary == f"{setting} {fifo}: not a regular file (a FIFO, socket or device is never read)"


def test_a_missing_client_file_is_named_with_its_setting(kes_pki, tmp_path, closed_port):
    env = kes_pki.env(f"https://127.0.0.1:{closed_port}")
    env.write_text(env.read_text().replace(str(kes_pki.minio_cert), str(tmp_path / "gone.crt")))
    check = _credentials_check(doctor(env))
    assert check.summary == f"MINIO_KMS_KES_CERT_FILE {tmp_path / 'gone.crt'}: no such file or directory"


def test_an_encrypted_key_without_its_password_is_said_so_and_nothing_asks_for_one(kes_pki, tmp_path, closed_port):
    """OpenSSL asks on the terminal for a missing password (and waits for it) unless it is given a callback."""
    import subprocess
    import sys

    _, key = kes_pki.minio.write(tmp_path, "encrypted", password=b"a-password-never-given", key_format="pkcs1")
    env = kes_pki.env(f"https://127.0.0.1:{closed_port}")
    env.write_text(env.read_text().replace(str(kes_pki.minio_key), str(key)))
    run = subprocess.run([sys.executable, "-m", "kescheck", "doctor", "--minio-env", str(env), "--timeout", "1",
                          "--format", "plain"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "pass phrase" not in run.stderr.lower()
    assert (f"client credentials: the private key {key} is encrypted and MINIO_KMS_KES_KEY_PASSWORD is not set"
            in run.stdout)


# --- what a server says is text, not report lines ------------------------------------------------------------------

def _json_answer(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def test_a_server_cannot_write_lines_into_the_report(kes_pki, scripted):
    forged = "\n        \u251c\u2500\u2500 [ ok ] FORGED\u2028OK: exit status 0 (all ok)\u202e"

    def answer(conn, method, path):
        if path == "/version":
            conn.sendall(_json_answer("200 OK", json.dumps({"version": "v1" + forged}).encode()))
        else:
            conn.sendall(_json_answer("500 Oops", json.dumps({"message": "boom" + forged}).encode()))
        return True

    server = scripted(answer)
    report = doctor(kes_pki.env(server.url))
    checks = {c.title: c for c in endpoint_checks(report)}
    assert checks["GET /version"].summary == "KES v1"
    assert checks["GET /v1/status"].summary == "GET /v1/status answered 500 boom"
    assert "FORGED" not in json.dumps([c.summary for c in report.root.walk()])


@pytest.mark.parametrize("path, body, cause", [
    ("/version", b"[" * 30000, "RecursionError"),
    ("/v1/status", b'{"keystore_latency": 1' + b"0" * 400 + b"}", "OverflowError"),
])
def test_an_answer_no_step_foresaw_fails_that_step_and_keeps_the_others(kes_pki, scripted, path, body, cause):
    def answer(conn, method, requested):
        if requested == path:
            conn.sendall(_json_answer("200 OK", body))
        elif requested == "/version":
            conn.sendall(_json_answer("200 OK", b'{"version": "v"}'))
        else:
            conn.sendall(_json_answer("404 Not Found", b'{"message": "not found"}'))
        return True

    server = scripted(answer)
    checks = {c.title: c for c in endpoint_checks(doctor(kes_pki.env(server.url)))}
    failed = checks[f"GET {path}"]
    assert failed.status is Status.FAIL and failed.cause == "unexpected-kes-response"
    assert failed.summary == f"GET {path} failed: kescheck cannot read what it got ({cause})"
    assert checks["TLS handshake"].status is Status.OK


def test_a_host_name_with_an_empty_label_is_no_host_name(kes_pki, capfd):
    check = next(c for c in endpoint_checks(doctor(kes_pki.env("https://kes..example.net:7373"))) if c.title == "DNS")
    assert check.status is Status.FAIL and check.cause == "endpoint-not-resolvable"
    assert check.summary == "kes..example.net is no host name: a label of it is empty or longer than 63 characters"
    assert "Traceback" not in capfd.readouterr().err


def test_a_capath_block_that_does_not_parse_costs_none_of_the_good_ones(kes_pki, kes_server, tmp_path):
    import base64

    junk = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b"\x30\x03\x02\x01\x01" + b"junk" * 10)
            + b"-----END CERTIFICATE-----\n")
    capath = tmp_path / "mixed-ca.pem"
    capath.write_bytes(junk + kes_pki.ca_file.read_bytes())
    report = doctor(kes_pki.env(kes_server.url(), capath=capath))
    trust = next(c for c in report.root.walk() if c.title.startswith("trusted CAs"))
    assert trust.status is Status.OK and "1 block(s) that do not parse passed over, as MinIO does" in trust.summary
    assert next(c for c in endpoint_checks(report) if c.title == "TLS handshake").status is Status.OK
    capath.write_bytes(junk)
    trust = next(c for c in doctor(kes_pki.env(kes_server.url(), capath=capath)).root.walk()
                 if c.title.startswith("trusted CAs"))
    assert trust.status is Status.FAIL and trust.summary.endswith("none of its 1 certificate block(s) parses")


def test_what_is_asked_after_a_failed_handshake_shares_the_step_s_timeout(kes_pki, scripted, monkeypatch):
    """After a broken handshake the doctor asks the port whether it speaks plain HTTP: within what is left of the TLS
    step's --timeout, not a whole --timeout more."""
    from kescheck.doctor import endpoint

    budgets = []
    real = endpoint._is_plain_http
    monkeypatch.setattr(endpoint, "_is_plain_http", lambda *args: budgets.append(args[3]) or real(*args))

    def answer(conn, method, path):
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")  # no TLS at all

    server = scripted(answer, tls=False)
    doctor(kes_pki.env(server.url), timeout=5.0)
    assert budgets and all(budget < 5.0 for budget in budgets), budgets


def test_a_port_that_answers_without_tls_is_said_to_be_another_service(kes_pki, scripted):
    def answer(conn, method, path):
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    server = scripted(answer, tls=False)
    check = next(c for c in endpoint_checks(doctor(kes_pki.env(server.url), timeout=3.0)) if c.title == "TLS handshake")
    assert check.cause == "tls-handshake-failed" and "not with TLS" in check.summary and "address" in check.advice
