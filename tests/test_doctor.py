"""kescheck doctor against the KES stand-in (tests/kes_server.py): one test per failure a user meets."""
from __future__ import annotations

import json
import time

import pytest

from certgen import issue, new_api_key
from kescheck.doctor.checks import Status
from kescheck.doctor.run import DoctorOptions, run_doctor
from kescheck.identity import identity_of_api_key
from tests.kes_fixtures import (DEFAULT_KEY, blackhole_factory, closed_port, kes_pki, kes_server,  # noqa: F401
                                kes_server_factory, naive_http_server, plain_http_server,
                                stopper)
from tests.kes_server import Policy

READ_ONLY = {("GET", "/version"), ("GET", "/v1/status"), ("GET", "/v1/identity/self/describe"),
             ("GET", f"/v1/key/describe/{DEFAULT_KEY}"), ("PUT", f"/v1/key/generate/{DEFAULT_KEY}"),
             ("PUT", f"/v1/key/decrypt/{DEFAULT_KEY}")}


def doctor(env, timeout=3.0, **options):
    return run_doctor(DoctorOptions(minio_env=env, timeout=timeout, environ={}, **options))


def endpoint_node(report, url):
    group = next(c for c in report.root.children if c.title == "KES endpoints")
    return next(c for c in group.children if c.title == url)


def failures(report):
    return [c for c in report.root.walk() if c.status is Status.FAIL and c.rule is not None]


def only_failure(report):
    found = failures(report)
    assert len(found) == 1, [(c.title, c.summary) for c in found]
    return found[0]


def test_healthy_deployment_is_all_ok_and_changes_nothing(kes_pki, kes_server, cli):
    keys_before = kes_server.key_names()
    env = kes_pki.env(f"https://localhost:{kes_server.port},https://127.0.0.1:{kes_server.port}")
    run = cli("doctor", "--minio-env", env)
    assert run.status == 0, run.stdout
    assert "FAIL" not in run.stdout and "warn]" not in run.stdout
    assert "the plaintext matches" in run.stdout
    assert set(kes_server.requests) == READ_ONLY
    assert kes_server.key_names() == keys_before


def test_healthy_report_rolls_up_ok(kes_pki, kes_server):
    report = doctor(kes_pki.env(kes_server.url()))
    assert report.status is Status.OK and report.exit_status() == 0
    node = endpoint_node(report, kes_server.url())
    assert [c.rolled_up() for c in node.children if c.title != "DNS"] == [Status.OK] * 7
    assert all(c.duration is not None for c in node.children)
    assert node.children[0].status is Status.SKIP  # an IP literal: nothing to resolve


def test_wrong_ca(kes_pki, kes_server, tmp_path):
    other = issue("another CA", ca=True)
    capath = tmp_path / "other-ca.crt"
    capath.write_bytes(other.cert_pem())
    report = doctor(kes_pki.env(kes_server.url(), capath=capath))
    failed = only_failure(report)
    assert failed.cause == "kes-certificate-unknown-ca"
    assert "unknown authority" in failed.summary and "kescheck test CA" in failed.summary
    assert "MINIO_KMS_KES_CAPATH" in failed.advice
    assert report.exit_status() == 1


def _env_without_capath(kes_pki, url, certs_dir, tmp_path):
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={url}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CERT_FILE={kes_pki.minio_cert}\nMINIO_KMS_KES_KEY_FILE={kes_pki.minio_key}\n"
                   f'MINIO_OPTS="--console-address :9001 --certs-dir {certs_dir}"\n')
    return env


def test_certs_dir_cas_verify_kes_without_capath(kes_pki, kes_server, tmp_path):
    cas = tmp_path / "certs" / "CAs"
    cas.mkdir(parents=True)
    (cas / "ca.crt").write_bytes(kes_pki.ca_file.read_bytes())
    (cas / "broken.crt").write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    report = doctor(_env_without_capath(kes_pki, kes_server.url(), tmp_path / "certs", tmp_path))
    assert report.status is Status.OK, [(c.title, c.summary) for c in failures(report)]
    trust = next(c for c in report.root.walk() if c.title == "trusted CAs for KES")
    assert f"1 CA certificate(s) from {cas}" in trust.summary


def test_certs_dir_without_the_kes_ca(kes_pki, kes_server, tmp_path):
    cas = tmp_path / "certs" / "CAs"
    cas.mkdir(parents=True)
    (cas / "other.crt").write_bytes(issue("another CA", ca=True).cert_pem())
    failed = only_failure(doctor(_env_without_capath(kes_pki, kes_server.url(), tmp_path / "certs", tmp_path)))
    assert failed.cause == "kes-certificate-unknown-ca" and str(cas) in failed.summary


def test_host_not_in_san(kes_pki, kes_server_factory):
    cert, key = kes_pki.server_certificate("kes-other-name", dns=("kes.example.net",))
    server = kes_server_factory(cert, key)
    report = doctor(kes_pki.env(server.url("127.0.0.1")))
    failed = only_failure(report)
    assert failed.cause == "kes-host-not-in-san"
    assert "127.0.0.1" in failed.summary and "DNS:kes.example.net" in failed.summary


def test_expired_server_certificate(kes_pki, kes_server_factory):
    cert, key = kes_pki.server_certificate("kes-expired", dns=("localhost",), ips=("127.0.0.1",),
                                           not_before_days=-40, days=30)
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-certificate-expired"
    assert "expired" in failed.summary and "Renew" in failed.advice


def test_identity_without_policy_names_the_identity(kes_pki, kes_server_factory, cli):
    server = kes_server_factory(policies={})
    env = kes_pki.env(server.url())
    report = doctor(env)
    failed = only_failure(report)
    assert failed.cause == "kes-access-denied"
    assert kes_pki.minio_identity in failed.summary and "generate" in failed.summary
    assert kes_pki.minio_identity in failed.advice and "policy" in failed.advice
    assert cli("doctor", "--minio-env", env).status == 1


def test_policy_without_generate(kes_pki, kes_server_factory):
    allow = [f"/v1/key/decrypt/{DEFAULT_KEY}", f"/v1/key/describe/{DEFAULT_KEY}", "/v1/status"]
    server = kes_server_factory(policies=kes_pki.minio_policy(allow=allow))
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-access-denied"
    assert f"/v1/key/generate/{DEFAULT_KEY}" in failed.summary


def test_policy_without_decrypt(kes_pki, kes_server_factory):
    allow = [f"/v1/key/generate/{DEFAULT_KEY}", "/v1/status"]
    server = kes_server_factory(policies=kes_pki.minio_policy(allow=allow))
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-access-denied" and "decrypt" in failed.summary


def test_missing_key(kes_pki, kes_server_factory):
    server = kes_server_factory(keys=())
    report = doctor(kes_pki.env(server.url()))
    failed = only_failure(report)
    assert failed.cause == "default-key-missing"
    assert f"kes key create {DEFAULT_KEY}" in failed.advice
    node = endpoint_node(report, server.url())
    assert node.children[-1].status is Status.SKIP  # no round trip on a key that does not exist
    assert not any(method == "PUT" for method, _ in server.requests)


def test_missing_key_found_by_round_trip_when_describe_is_not_allowed(kes_pki, kes_server_factory):
    allow = [f"/v1/key/generate/{DEFAULT_KEY}", f"/v1/key/decrypt/{DEFAULT_KEY}"]
    server = kes_server_factory(keys=(), policies=kes_pki.minio_policy(allow=allow))
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "default-key-missing" and failed.title.startswith("generate")


def test_keystore_unreachable(kes_pki, kes_server):
    kes_server.keystore_dead = True
    report = doctor(kes_pki.env(kes_server.url()))
    causes = {c.cause for c in failures(report)}
    assert "keystore-unreachable" in causes
    status = next(c for c in endpoint_node(report, kes_server.url()).children if c.title == "GET /v1/status")
    assert "root KMS" in status.summary


def test_status_forbidden_is_fine(kes_pki, kes_server_factory):
    allow = [f"/v1/key/generate/{DEFAULT_KEY}", f"/v1/key/decrypt/{DEFAULT_KEY}"]
    server = kes_server_factory(policies=kes_pki.minio_policy(allow=allow))
    report = doctor(kes_pki.env(server.url()))
    assert report.status is Status.OK, [(c.title, c.summary) for c in report.root.walk() if c.status > Status.OK]


def test_plain_http_port(kes_pki, plain_http_server):
    failed = only_failure(doctor(kes_pki.env(f"https://127.0.0.1:{plain_http_server.port}")))
    assert failed.cause == "plain-http-endpoint" and "plain HTTP" in failed.summary


def test_plain_http_server_that_waits_for_a_line(kes_pki, naive_http_server):
    failed = only_failure(doctor(kes_pki.env(f"https://127.0.0.1:{naive_http_server.port}"), timeout=1.5))
    assert failed.cause == "plain-http-endpoint"


def test_server_that_closes_after_each_response(kes_pki, kes_server_factory):
    server = kes_server_factory(keep_alive=False)
    report = doctor(kes_pki.env(server.url()))
    assert report.status is Status.OK
    assert ("PUT", f"/v1/key/decrypt/{DEFAULT_KEY}") in server.requests


def test_refused_port(kes_pki, closed_port):
    failed = only_failure(doctor(kes_pki.env(f"https://127.0.0.1:{closed_port}")))
    assert failed.cause == "connection-refused" and "refused" in failed.summary
    assert "Start KES" in failed.advice


def test_eight_endpoints_two_never_answer(kes_pki, kes_server_factory, blackhole_factory):
    servers = [kes_server_factory() for _ in range(3)]
    holes = [blackhole_factory() for _ in range(2)]
    urls = [s.url(h) for s in servers for h in ("127.0.0.1", "localhost")]
    hole_urls = [f"https://127.0.0.1:{h.port}" for h in holes]
    timeout = 1.0
    started = time.monotonic()
    report = doctor(kes_pki.env(",".join(urls[:3] + hole_urls + urls[3:])), timeout=timeout)
    assert time.monotonic() - started < 3 * timeout + 2  # a hang guard, not a performance test
    for url in hole_urls:
        node = endpoint_node(report, url)
        assert node.rolled_up() is Status.FAIL
        failed = [c for c in node.walk() if c.status is Status.FAIL]
        assert [c.cause for c in failed] == ["endpoint-timed-out"]
        assert "timed out" in failed[0].summary
    for url in urls:
        assert endpoint_node(report, url).rolled_up() is Status.OK


def test_api_key_client(kes_pki, kes_server_factory, cli):
    api_key = new_api_key()
    identity = identity_of_api_key(api_key)
    server = kes_server_factory(policies=kes_pki.minio_policy(identities=[identity]))
    env = kes_pki.env(server.url(), api_key=api_key)
    run = cli("doctor", "--minio-env", env, "--format", "json")
    assert run.status == 0, run.stdout
    assert api_key not in run.stdout and api_key.split(":")[-1] not in run.stdout
    record = json.loads(run.stdout)
    assert record["doctor"]["status"] == "ok"


def test_api_key_without_policy_names_its_identity(kes_pki, kes_server_factory, cli):
    api_key = new_api_key()
    server = kes_server_factory(policies={})
    env = kes_pki.env(server.url(), api_key=api_key)
    run = cli("doctor", "--minio-env", env, "--format", "plain")
    assert run.status == 1
    assert identity_of_api_key(api_key) in run.stdout and "MINIO_KMS_KES_API_KEY" in run.stdout
    assert api_key.split(":")[-1] not in run.stdout


def test_minio_as_admin_is_a_warning(kes_pki, kes_server_factory, cli):
    server = kes_server_factory(admin=kes_pki.minio_identity, policies={})
    env = kes_pki.env(server.url())
    run = cli("doctor", "--minio-env", env)
    assert run.status == 3, run.stdout
    assert "minio" in run.stdout.lower() and "admin" in run.stdout
    assert cli("doctor", "--minio-env", env, "--fail-on", "warning").status == 1


def test_client_certificate_required(kes_pki, kes_server, tmp_path):
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={kes_server.url()}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CAPATH={kes_pki.ca_file}\n")
    report = doctor(env)
    causes = {c.cause for c in failures(report)}
    assert causes == {"minio-kes-settings-incomplete", "client-certificate-refused"}


def test_no_probe_sends_no_put(kes_pki, kes_server, cli):
    run = cli("doctor", "--minio-env", kes_pki.env(kes_server.url()), "--no-probe")
    assert run.status == 0
    assert not any(method != "GET" for method, _ in kes_server.requests)
    assert "--no-probe" in run.stdout


def test_insecure_is_loud(kes_pki, kes_server, tmp_path, cli):
    other = issue("another CA", ca=True)
    capath = tmp_path / "other-ca.crt"
    capath.write_bytes(other.cert_pem())
    run = cli("doctor", "--minio-env", kes_pki.env(kes_server.url(), capath=capath), "--insecure")
    assert run.status == 3
    assert "NOT verified" in run.stdout and "--insecure" in run.stderr


ROOT_CREDENTIAL_FILES = "MINIO_ROOT_USER_FILE=minio-root-user\nMINIO_ROOT_PASSWORD_FILE=minio-root-password\n"
"""Root credentials as a MinIO host gets them from Docker secrets: without them ENV111 notes their absence."""


def test_sarif_anchors_at_the_endpoint_line(kes_pki, closed_port, cli):
    env = kes_pki.env(f"https://127.0.0.1:{closed_port}", extra=ROOT_CREDENTIAL_FILES)
    run = cli("doctor", "--minio-env", env, "--format", "sarif")
    assert run.status == 1
    sarif = json.loads(run.stdout)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["DOC011"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 1  # MINIO_KMS_KES_ENDPOINT is the first line kes_pki.env writes
    rule_ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert results[0]["ruleIndex"] == rule_ids.index("DOC011")


def test_json_report_has_tree_and_findings(kes_pki, closed_port, cli):
    run = cli("doctor", "--minio-env", kes_pki.env(f"https://127.0.0.1:{closed_port}", extra=ROOT_CREDENTIAL_FILES),
              "--format", "json")
    record = json.loads(run.stdout)
    assert record["summary"]["exit_status"] == 1 == run.status
    assert [f["code"] for f in record["findings"]] == ["DOC011"]
    assert record["findings"][0]["anchor"].startswith("MINIO_KMS_KES_ENDPOINT")
    endpoints = next(c for c in record["doctor"]["checks"] if c["title"] == "KES endpoints")
    tcp = endpoints["checks"][0]["checks"][1]
    assert tcp["status"] == "fail" and tcp["cause"] == "connection-refused" and "duration_ms" in tcp


def test_process_environment(kes_pki, kes_server):
    environ = {"MINIO_KMS_KES_ENDPOINT": kes_server.url(), "MINIO_KMS_KES_KEY_NAME": DEFAULT_KEY,
               "MINIO_KMS_KES_CERT_FILE": str(kes_pki.minio_cert), "MINIO_KMS_KES_KEY_FILE": str(kes_pki.minio_key),
               "MINIO_KMS_KES_CAPATH": str(kes_pki.ca_file), "PATH": "/usr/bin"}
    report = run_doctor(DoctorOptions(timeout=3.0, environ=environ))
    assert report.status is Status.OK
    assert report.inputs == ["MinIO settings from the process environment"]


def test_process_environment_certs_dir(kes_pki, kes_server, tmp_path):
    (tmp_path / "CAs").mkdir()
    (tmp_path / "CAs" / "ca.crt").write_bytes(kes_pki.ca_file.read_bytes())
    environ = {"MINIO_KMS_KES_ENDPOINT": kes_server.url(), "MINIO_KMS_KES_KEY_NAME": DEFAULT_KEY,
               "MINIO_KMS_KES_CERT_FILE": str(kes_pki.minio_cert), "MINIO_KMS_KES_KEY_FILE": str(kes_pki.minio_key),
               "MINIO_OPTS": f"-S {tmp_path}"}
    report = run_doctor(DoctorOptions(timeout=3.0, environ=environ))
    assert report.status is Status.OK, [(c.title, c.summary) for c in failures(report)]
    del environ["MINIO_OPTS"]
    assert only_failure(run_doctor(DoctorOptions(timeout=3.0, environ=environ))).cause == "kes-certificate-unknown-ca"


def test_no_inputs_is_a_usage_error(cli, monkeypatch, tmp_path):
    from kescheck.doctor import minio

    monkeypatch.setattr(minio, "DEFAULT_ENV_FILE", tmp_path / "absent")
    for name in [n for n in __import__("os").environ if n.startswith("MINIO_KMS_")]:
        monkeypatch.delenv(name)
    run = cli("doctor")
    assert run.status == 2 and "--minio-env" in run.stderr


def test_unreadable_env_file_is_a_usage_error(cli, tmp_path):
    run = cli("doctor", "--minio-env", tmp_path / "missing.env")
    assert run.status == 2


def test_http_scheme_endpoint(kes_pki, kes_server):
    failed = only_failure(doctor(kes_pki.env(f"http://127.0.0.1:{kes_server.port}")))
    assert failed.cause == "http-scheme-endpoint"
    assert kes_server.requests == []


def test_expiring_certificate_warns(kes_pki, kes_server_factory):
    cert, key = kes_pki.server_certificate("kes-short", dns=("localhost",), ips=("127.0.0.1",), days=10)
    server = kes_server_factory(cert, key)
    report = doctor(kes_pki.env(server.url()))
    assert report.status is Status.WARN and report.exit_status() == 3
    warned = [c for c in report.root.walk() if c.status is Status.WARN]
    assert [c.cause for c in warned] == ["kes-certificate-expiring"]


@pytest.mark.parametrize("capath_kind", ["missing", "empty"])
def test_capath_problems(kes_pki, kes_server, tmp_path, capath_kind):
    capath = tmp_path / "ca.pem"
    if capath_kind == "empty":
        capath.write_text("not a certificate\n")
    report = doctor(kes_pki.env(kes_server.url(), capath=capath))
    causes = {c.cause for c in report.root.walk() if c.status >= Status.WARN and c.rule is not None}
    expected = "capath-ignored" if capath_kind == "missing" else "capath-without-certificates"
    assert expected in causes


def test_a_failed_check_with_details_below_it_is_counted():
    """The summary line counts a failure that holds detail checks (a refused TLS handshake), not only leaves."""
    from kescheck.doctor.checks import Check
    from kescheck.doctor.run import DoctorReport
    from kescheck.rules import doctor as doc

    root = Check("kescheck doctor")
    endpoint = root.add(Check("https://127.0.0.1:7373"))
    endpoint.add(Check("DNS")).ok("127.0.0.1")
    handshake = endpoint.add(Check("TLS handshake")).fail(doc.SETTINGS_INCOMPLETE, "KES rejected MinIO's certificate")
    handshake.add(Check("server certificate")).ok("valid")
    counts = DoctorReport(root, None, None).counts()
    assert (counts["fail"], counts["ok"]) == (1, 2)


def test_an_endpoint_verdict_says_what_a_run_did_not_check(kes_pki, kes_server):
    """Only the generate/decrypt round trip with a verified server shows that MinIO can use an endpoint."""
    url = kes_server.url()
    assert endpoint_node(doctor(kes_pki.env(url)), url).summary == "MinIO can use this KES endpoint"
    unproven = endpoint_node(doctor(kes_pki.env(url), round_trip=False), url).summary
    assert "the generate/decrypt round trip was not run (--no-probe)" in unproven and "is not shown" in unproven


def test_the_process_environment_is_judged_as_an_environment_not_an_env_file(kes_pki, kes_server):
    """Exported root credentials count (ENV111), and systemd's reading of a value (ENV005) does not apply: no systemd
    reads the variables the doctor was started with."""
    environ = {"MINIO_KMS_KES_ENDPOINT": kes_server.url(), "MINIO_KMS_KES_KEY_NAME": DEFAULT_KEY,
               "MINIO_KMS_KES_CERT_FILE": str(kes_pki.minio_cert), "MINIO_KMS_KES_KEY_FILE": str(kes_pki.minio_key),
               "MINIO_KMS_KES_CAPATH": str(kes_pki.ca_file), "MINIO_ROOT_USER": "admin",
               "MINIO_ROOT_PASSWORD": 'Tr0ub4dor\\&"3x'}
    report = run_doctor(DoctorOptions(timeout=3.0, environ=environ))
    assert {f.code for f in report.result.findings} & {"ENV005", "ENV006", "ENV111"} == set()
    assert report.exit_status() == 0


def test_an_endpoint_with_a_path_is_probed_below_it_as_minio_calls_it(kes_pki, kes_server):
    """MinIO puts the endpoint's path in front of every API path: a KES at the root answers those with errors."""
    url = kes_server.url() + "/kes"
    report = doctor(kes_pki.env(url))
    assert report.exit_status() == 1
    assert kes_server.requests and all(path.startswith("/kes/") for _, path in kes_server.requests)
    assert endpoint_node(report, url).summary != "MinIO can use this KES endpoint"


@pytest.mark.parametrize("admin", [False, True])
def test_an_identity_kes_sees_that_is_not_minio_s_is_reported(kes_pki, stopper, admin):
    """KES before 0.23, or a KES behind a proxy that ends TLS, answers self/describe with the identity it sees: when
    that is not MinIO's, KES authorizes someone else (DOC044), and it is not MinIO that is the admin."""
    from tests.kes_server import KesServer

    proxy_identity = "ab" * 32

    class SeesAProxy(KesServer):
        def dispatch(self, method, path, body, identity):
            if path == "/v1/identity/self/describe":
                return 200, {"identity": proxy_identity, "admin": admin}
            return super().dispatch(method, path, body, identity)

    server = stopper(SeesAProxy(kes_pki.server_cert, kes_pki.server_key, admin=kes_pki.admin_identity,
                                policies=kes_pki.minio_policy()).start())
    report = doctor(kes_pki.env(server.url()))
    causes = {check.cause for check in report.root.walk() if check.cause}
    assert causes == {"kes-sees-another-identity"}
    assert proxy_identity in next(c.summary for c in report.root.walk() if c.cause == "kes-sees-another-identity")


def test_a_close_after_a_completed_tls_1_2_handshake_is_not_blamed_on_the_client_certificate(kes_pki):
    """In TLS 1.2 a refused client certificate ends the handshake itself: a close after it is something else (a
    proxy that ends TLS with no KES behind it), DOC025, not DOC023."""
    import socket
    import ssl
    import threading

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(kes_pki.server_cert, kes_pki.server_key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True):
                    pass  # handshake done, then closed without an answer
            except (ssl.SSLError, OSError):
                raw.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        report = doctor(kes_pki.env(f"https://127.0.0.1:{listener.getsockname()[1]}"))
    finally:
        listener.close()
    causes = {check.cause for check in report.root.walk() if check.cause}
    assert "client-certificate-refused" not in causes and "tls-handshake-failed" in causes, causes


def test_an_expired_certificate_that_also_names_another_host_is_reported_as_expired_first(kes_pki, kes_server_factory):
    """Go, and so MinIO, checks the dates before the host names: MinIO logs the expiry; the host is the second fix."""
    cert, key = kes_pki.server_certificate("kes-expired", dns=("kes.elsewhere.example",), not_before_days=-40, days=30)
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-certificate-expired"
    assert "expired on" in failed.summary and "not valid for host 127.0.0.1" in failed.summary


def test_an_http_endpoint_fails_at_the_tls_step_and_later_steps_name_it(kes_pki, kes_server):
    url = kes_server.url().replace("https://", "http://")
    node = endpoint_node(doctor(kes_pki.env(url)), url)
    steps = {check.title: check for check in node.children}
    assert steps["TLS handshake"].cause == "http-scheme-endpoint" and steps["DNS"].status is Status.SKIP
    assert steps["GET /version"].summary == "not run: TLS handshake failed"
