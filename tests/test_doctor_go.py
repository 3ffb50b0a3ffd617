"""The doctor against a KES that behaves like Go's net/http (tests/kes_server.py switches), not like the stand-in's
defaults: chunked answers, Go's headers and text/plain mux errors, extra JSON fields, TLS 1.2 or 1.3 only, keep-alive
connections dropped between requests, IPv6 loopback, server key kinds, intermediate CA chains, client-certificate
refusals as a handshake alert or as a 400, and host-name checks as Go makes them (SANs only)."""
from __future__ import annotations

import time

import pytest

from certgen import issue
from kescheck.doctor.checks import Status
from tests.kes_fixtures import (DEFAULT_KEY, blackhole_factory, kes_pki, kes_server_factory,  # noqa: F401
                                stopper)
from tests.kes_server import PlainHttpServer, refused_port
from tests.test_doctor import READ_ONLY, doctor, endpoint_node, failures, only_failure

GO_MODES = {
    "go-chunked": dict(chunked=True, go_style=True, extra_fields=True),
    "tls1.2-only": dict(tls_version="1.2"),
    "tls1.3-only": dict(tls_version="1.3"),
    "idle-close": dict(idle_close=True),
    "ipv6": dict(host="::1"),
}
SCENARIOS = ["healthy", "wrong-ca", "san-without-host", "expired", "no-policy", "no-generate", "missing-key",
             "keystore-unreachable"]
EXPECTED = {"healthy": None, "wrong-ca": "kes-certificate-unknown-ca", "san-without-host": "kes-host-not-in-san",
            "expired": "kes-certificate-expired", "no-policy": "kes-access-denied",
            "no-generate": "kes-access-denied", "missing-key": "default-key-missing",
            "keystore-unreachable": "keystore-unreachable"}


def scenario_env(scenario, mode, kes_pki, kes_server_factory, tmp_path):
    options = dict(GO_MODES[mode])
    cert = key = None
    capath = None
    if scenario == "wrong-ca":
        capath = tmp_path / "other-ca.crt"
        capath.write_bytes(issue("another CA", ca=True).cert_pem())
    if scenario == "san-without-host":
        cert, key = kes_pki.server_certificate("kes-other-name", dns=("kes.example.net",))
    if scenario == "expired":
        cert, key = kes_pki.server_certificate("kes-expired", dns=("localhost",), ips=("127.0.0.1", "::1"),
                                               not_before_days=-40, days=30)
    if scenario == "no-policy":
        options["policies"] = {}
    if scenario == "no-generate":
        allow = [f"/v1/key/decrypt/{DEFAULT_KEY}", f"/v1/key/describe/{DEFAULT_KEY}", "/v1/status"]
        options["policies"] = kes_pki.minio_policy(allow=allow)
    if scenario == "missing-key":
        options["keys"] = ()
    server = kes_server_factory(cert, key, **options)
    server.keystore_dead = scenario == "keystore-unreachable"
    return server, kes_pki.env(server.url(), capath=capath)


@pytest.mark.parametrize("mode", GO_MODES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_acceptance_scenarios_against_go_behaviours(scenario, mode, kes_pki, kes_server_factory, tmp_path):
    server, env = scenario_env(scenario, mode, kes_pki, kes_server_factory, tmp_path)
    keys_before = server.key_names()
    report = doctor(env)
    expected = EXPECTED[scenario]
    if expected is None:
        assert report.status is Status.OK, [(c.title, c.summary) for c in report.root.walk() if c.status > Status.OK]
        assert set(server.requests) == READ_ONLY
    elif scenario == "keystore-unreachable":
        assert expected in {c.cause for c in failures(report)}
    else:
        failed = only_failure(report)
        assert failed.cause == expected, (failed.title, failed.summary)
        assert failed.summary and "\n" not in failed.summary
    assert server.key_names() == keys_before


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_refused_and_plain_http_ports(host, kes_pki, stopper):
    bracketed = f"[{host}]" if ":" in host else host
    failed = only_failure(doctor(kes_pki.env(f"https://{bracketed}:{refused_port(host)}")))
    assert failed.cause == "connection-refused"
    plain = stopper(PlainHttpServer(host=host).start())
    failed = only_failure(doctor(kes_pki.env(f"https://{bracketed}:{plain.port}")))
    assert failed.cause == "plain-http-endpoint"


@pytest.mark.parametrize("mode", ["go-chunked", "tls1.2-only", "idle-close"])
def test_eight_endpoints_two_silent(mode, kes_pki, kes_server_factory, blackhole_factory):
    servers = [kes_server_factory(**GO_MODES[mode]) for _ in range(3)]
    holes = [blackhole_factory() for _ in range(2)]
    urls = [s.url(h) for s in servers for h in ("127.0.0.1", "localhost")]
    hole_urls = [f"https://127.0.0.1:{h.port}" for h in holes]
    started = time.monotonic()
    report = doctor(kes_pki.env(",".join(urls[:3] + hole_urls + urls[3:])), timeout=1.0)
    assert time.monotonic() - started < 5  # a hang guard, not a performance test
    assert [c.cause for u in hole_urls for c in endpoint_node(report, u).walk() if c.status is Status.FAIL] == \
        ["endpoint-timed-out"] * 2
    assert all(endpoint_node(report, u).rolled_up() is Status.OK for u in urls)


@pytest.mark.parametrize("key_kind", ["rsa", "ec384", "ed25519"])
@pytest.mark.parametrize("tls_version", ["1.2", "1.3"])
def test_server_key_kinds(key_kind, tls_version, kes_pki, kes_server_factory):
    cert, key = kes_pki.server_certificate(f"kes-{key_kind}", key_kind=key_kind, dns=("localhost",),
                                           ips=("127.0.0.1",))
    server = kes_server_factory(cert, key, tls_version=tls_version)
    report = doctor(kes_pki.env(server.url()))
    assert report.status is Status.OK, [(c.title, c.summary) for c in report.root.walk() if c.status > Status.OK]
    tls = next(c for c in endpoint_node(report, server.url()).children if c.title == "TLS handshake")
    assert f"TLSv{tls_version}" in tls.summary


def test_intermediate_chain_verifies_against_the_root(kes_pki, kes_server_factory):
    cert, key, _ = kes_pki.chained_server_certificate("kes-chained", dns=("localhost",), ips=("127.0.0.1",))
    server = kes_server_factory(cert, key)
    assert doctor(kes_pki.env(server.url())).status is Status.OK


def test_intermediate_alone_in_capath_is_trusted_as_go_does(kes_pki, kes_server_factory):
    """Go verifies up to any certificate in its pool; the pool need not hold a self-signed root."""
    cert, key, intermediate = kes_pki.chained_server_certificate("kes-chained", dns=("localhost",), ips=("127.0.0.1",))
    server = kes_server_factory(cert, key)
    report = doctor(kes_pki.env(server.url(), capath=intermediate))
    assert report.status is Status.OK, [(c.title, c.summary) for c in report.root.walk() if c.status > Status.OK]


def test_server_that_omits_its_intermediate(kes_pki, kes_server_factory):
    cert, key, _ = kes_pki.chained_server_certificate("kes-leaf-only", served_chain=False, dns=("localhost",),
                                                      ips=("127.0.0.1",))
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-certificate-unknown-ca"
    assert "intermediate" in failed.advice and "tls.cert" in failed.advice


def test_expired_intermediate_is_not_reported_as_an_expired_leaf(kes_pki, kes_server_factory):
    cert, key, _ = kes_pki.chained_server_certificate("kes-old-intermediate", intermediate_expired=True,
                                                      dns=("localhost",), ips=("127.0.0.1",))
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url())))
    assert failed.cause == "kes-certificate-expired"
    assert "the KES server certificate expired" not in failed.summary  # the leaf is valid; its issuer is not
    assert "CA certificate" in failed.summary and "kescheck intermediate CA" in failed.summary


def test_common_name_without_san_is_not_a_host_name(kes_pki, kes_server_factory):
    """Go ignores the subject CN: a certificate with CN=localhost and no SAN is not valid for localhost."""
    issued = issue("localhost", issuer=kes_pki.ca, eku=("server",))
    cert, key = issued.write(kes_pki.directory, "kes-cn-only")
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url("localhost"))))
    assert failed.cause == "kes-host-not-in-san"
    assert "no DNS/IP SAN" in failed.summary


def test_ip_endpoint_is_checked_against_ip_sans_only(kes_pki, kes_server_factory):
    """A DNS SAN spelled like the address does not cover the IP endpoint (Go compares IP SANs only)."""
    cert, key = kes_pki.server_certificate("kes-dns-ip", dns=("127.0.0.1", "localhost"))
    server = kes_server_factory(cert, key)
    failed = only_failure(doctor(kes_pki.env(server.url("127.0.0.1"))))
    assert failed.cause == "kes-host-not-in-san" and "IP:127.0.0.1" in failed.advice


@pytest.mark.parametrize("mode", ["tls1.2-only", "tls1.3-only"])
def test_no_client_certificate_handshake_alert(mode, kes_pki, kes_server_factory, tmp_path):
    server = kes_server_factory(**GO_MODES[mode])
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={server.url()}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CAPATH={kes_pki.ca_file}\n")
    causes = {c.cause for c in failures(doctor(env))}
    assert causes == {"minio-kes-settings-incomplete", "client-certificate-refused"}


def test_no_client_certificate_answered_with_400(kes_pki, kes_server_factory, tmp_path):
    """An older KES (or tls.auth off) lets the handshake pass and answers 400 to calls that need an identity."""
    server = kes_server_factory(require_client_cert=False, go_style=True)
    env = tmp_path / "minio.env"
    env.write_text(f"MINIO_KMS_KES_ENDPOINT={server.url()}\nMINIO_KMS_KES_KEY_NAME={DEFAULT_KEY}\n"
                   f"MINIO_KMS_KES_CAPATH={kes_pki.ca_file}\n")
    found = failures(doctor(env))
    assert {c.cause for c in found} == {"minio-kes-settings-incomplete", "client-certificate-refused"}
    refused = next(c for c in found if c.cause == "client-certificate-refused")
    assert "400" in refused.summary and "client certificate" in refused.summary


def test_text_plain_error_is_shown(kes_pki, kes_server_factory):
    """Go's mux answers an unknown route with text/plain; the doctor quotes it instead of a bare status."""
    server = kes_server_factory(go_style=True)
    server.ROUTES = {r: m for r, m in server.ROUTES.items() if r != "/v1/status"}
    report = doctor(kes_pki.env(server.url()))
    status = next(c for c in endpoint_node(report, server.url()).children if c.title == "GET /v1/status")
    assert status.status is Status.FAIL and "404 page not found" in status.summary


@pytest.mark.parametrize("remaining, left, share", [(5, 1, 5), (5, 2, 2.5), (5, 4, 2.0), (1, 3, 1.0), (3, 2, 2.0),
                                                    (0, 2, 0), (-1, 1, 0)])
def test_dial_timeout_is_spread_over_the_addresses_as_go_does(remaining, left, share):
    from kescheck.doctor.endpoint import dial_share

    assert dial_share(remaining, left) == share


def test_a_refused_address_falls_back_to_the_next_one(kes_pki, kes_server_factory, monkeypatch):
    """localhost resolving to an address nothing listens on first (127.0.0.2), then to the server's."""
    from kescheck.doctor import endpoint

    server = kes_server_factory()
    monkeypatch.setattr(endpoint, "_resolve", lambda host, port, timeout: ["127.0.0.2", "127.0.0.1"])
    report = doctor(kes_pki.env(server.url("localhost")))
    node = endpoint_node(report, server.url("localhost"))
    assert node.rolled_up() is Status.OK
    tcp = next(c for c in node.walk() if c.title.startswith("TCP"))
    assert "127.0.0.1" in tcp.summary and any("127.0.0.2: refused" in d for d in tcp.details)


def test_addresses_that_time_out_share_one_connect_timeout(kes_pki, monkeypatch):
    """Three addresses that never answer: each connect waits its whole share (on a clock of the test's own),
    and together they take the one timeout, as Go's dialer spreads it."""
    import types

    from kescheck.doctor import endpoint

    clock = [1000.0]
    given = []

    def silent(address, timeout):
        given.append(timeout)
        clock[0] += timeout
        raise TimeoutError("timed out")

    monkeypatch.setattr(endpoint, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(endpoint, "_resolve", lambda host, port, timeout: ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    monkeypatch.setattr(endpoint.socket, "create_connection", silent)
    failed = only_failure(doctor(kes_pki.env("https://kes.example.net:7373"), timeout=9.0))
    assert failed.cause == "endpoint-timed-out"
    assert given == [3.0, 3.0, 3.0] and sum(given) == 9.0


def test_a_short_timeout_goes_to_the_first_address_whole(kes_pki, monkeypatch):
    """Go gives each address at least 2 s while the timeout allows: with 3 s and three silent addresses, the
    first gets 2 s, the second the last 1 s, the third is not tried."""
    import types

    from kescheck.doctor import endpoint

    clock = [1000.0]
    given = []

    def silent(address, timeout):
        given.append((address[0], timeout))
        clock[0] += timeout
        raise TimeoutError("timed out")

    monkeypatch.setattr(endpoint, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(endpoint, "_resolve", lambda host, port, timeout: ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    monkeypatch.setattr(endpoint.socket, "create_connection", silent)
    assert only_failure(doctor(kes_pki.env("https://kes.example.net:7373"), timeout=3.0)).cause == "endpoint-timed-out"
    assert given == [("192.0.2.1", 2.0), ("192.0.2.2", 1.0)]
