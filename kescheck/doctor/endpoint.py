"""Probes of one KES endpoint, in the order MinIO meets the failures: DNS, TCP, TLS, then the KES API.

Only GET requests and the generate/decrypt PUTs MinIO itself sends (they change nothing on the
server). No redirect is followed (http.client never follows one), response bodies are read up
to a bound, and every network step has a timeout; a request and its whole answer share one
deadline, so a server that trickles its answer a byte at a time cannot hold a probe.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import http.client
import io
import json
import math
import os
import re
import socket
import ssl
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

from .. import __version__
from ..endpoints import Endpoint
from ..rules import doctor as doc
from .checks import Check, Status
from ..minio_names import ENDPOINT, KEY_NAME
from .tls import ClientTls, classify_verification, client_certificate_refusal, served_certificate

MAX_BODY = 64 * 1024
"""KES answers these calls with a few hundred bytes; anything near this is not KES."""

Progress = Callable[[str, str | None], None]


def key_segment(key: str) -> str:
    """The key name as exactly one path segment: a name holding `/`, `..`, `?` or `#` must not reach another
    API route (a proxy that normalises paths would turn `x/../../create/y` into a key creation)."""
    segment = quote(key, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


@dataclass(frozen=True)
class ProbePlan:
    tls: ClientTls
    key_name: str
    timeout: float
    round_trip: bool
    expiry_warning_days: int
    now: dt.datetime


class ProbeAbort(Exception):
    """Stops the remaining probes of an endpoint; the failing check is already filled in."""


@dataclass
class Response:
    status: int
    body: dict | None
    location: str = ""
    text: str = ""
    """The first line of a body that is not JSON (Go's http.Error and ServeMux answer in text/plain), shortened."""

    @property
    def message(self) -> str:
        text = self.body.get("message") if isinstance(self.body, dict) else None
        text = _shortened(text) if isinstance(text, str) and text else self.text
        return f"{self.status} {text}" if text else str(self.status)


def _first_line(data: bytes) -> str:
    return _shortened(_one_line(data.decode("utf-8", errors="replace").strip()).strip())


def _shortened(text: str) -> str:
    """Server text as a report quotes it: at most 160 characters."""
    return text[:160] + ("..." if len(text) > 160 else "")


_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    """What a server sent, as one line of the report: cut at its first line break (a second line could pass for a line
    of the report, `[ ok ] ...`), and invisible format characters (a right-to-left override) shown as `\\uXXXX`."""
    first = _LINE_BREAKS.split(text, 1)[0]
    return "".join(f"\\u{ord(char):04x}" if unicodedata.category(char) == "Cf" else char for char in first)


def _readable(value):
    """A parsed JSON answer with every string made `_one_line`: the steps quote its values in the report."""
    if isinstance(value, str):
        return _one_line(value)
    if isinstance(value, dict):
        return {_readable(key): _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


_DROPPED_CONNECTION = (ConnectionError, http.client.RemoteDisconnected, ssl.SSLEOFError)
"""How a keep-alive connection the server has already closed fails the next request."""


def _resolve(host: str, port: int, timeout: float) -> list[str]:
    """getaddrinfo has no timeout of its own: run it on a daemon thread and stop waiting at the deadline."""
    outcome: dict = {}

    def lookup():
        try:
            outcome["value"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as err:  # UnicodeError: a label empty or longer than 63 characters
            outcome["error"] = err

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no DNS answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return list(dict.fromkeys(info[4][0] for info in outcome["value"]))


GO_DIAL_MINIMUM = 2.0
"""Seconds Go's dialer gives each address at least, while the dial's timeout allows."""


def dial_share(remaining: float, addresses_left: int) -> float:
    """The connect timeout for the next of `addresses_left` addresses, as Go's net.Dialer spreads one dial
    timeout over the addresses a name resolves to (MinIO dials KES that way): an equal part of what is left,
    at least GO_DIAL_MINIMUM, never more than what is left. The whole TCP step thus ends within the timeout."""
    if remaining <= 0:
        return 0.0
    return min(remaining, max(remaining / addresses_left, GO_DIAL_MINIMUM))


def _is_plain_http(address: str, port: int, authority: str, timeout: float) -> bool:
    """Does the port answer an HTTP request in clear text? (A read-only GET, answered or not.)"""
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            raw.sendall(f"GET /version HTTP/1.0\r\nHost: {authority}\r\n\r\n".encode())
            return raw.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


class EndpointProbe:
    def __init__(self, endpoint: Endpoint, plan: ProbePlan, progress: Progress | None = None):
        self.endpoint = endpoint
        self.plan = plan
        self.progress = progress or (lambda url, step: None)
        key = plan.key_name or "KEY"
        self.node = Check(endpoint.url, anchor=ENDPOINT)
        titles = ["DNS", "TCP connect", "TLS handshake", "GET /version", "GET /v1/status",
                  "GET /v1/identity/self/describe", f"GET /v1/key/describe/{key}",
                  f"generate + decrypt round trip on {key}"]
        (self.dns, self.tcp, self.tls, self.version, self.status, self.identity, self.describe,
         self.round_trip) = [self.node.add(Check(title, anchor=ENDPOINT)) for title in titles]
        self.address: str | None = None
        self.socket: socket.socket | None = None
        self.tls_version: str | None = None
        """What the handshake negotiated (`TLSv1.3`), once it completed."""
        self.tls_deadline = 0.0
        self.connection: http.client.HTTPConnection | None = None
        self.key_missing = False
        self.first_request = True

    # -- driving --------------------------------------------------------------------------
    def run(self) -> Check:
        started = time.monotonic()
        steps = [(self.dns, self._dns), (self.tcp, self._tcp), (self.tls, self._tls), (self.version, self._version),
                 (self.status, self._status), (self.identity, self._identity), (self.describe, self._describe),
                 (self.round_trip, self._round_trip)]
        try:
            for position, (check, step) in enumerate(steps):
                self.progress(self.endpoint.url, check.title)
                try:
                    with check.timed():
                        try:
                            step(check)
                        except ProbeAbort:
                            raise
                        except Exception as err:
                            # An answer no step foresaw (JSON nested too deep, a number too large for a float): the
                            # step fails, and what the earlier steps learned stays in the report.
                            self._fail(check, doc.UNEXPECTED_RESPONSE, f"{check.title} failed: kescheck cannot read "
                                                                       f"what it got ({type(err).__name__})")
                except ProbeAbort:
                    # The step that failed: a refusal seen in a later step is often the TLS handshake's (KES ends a TLS
                    # 1.3 connection whose client certificate it refuses only when the first request is sent).
                    failed = next((step_check for step_check, _ in steps if step_check.status is Status.FAIL), check)
                    for later, _ in steps[position + 1:]:
                        if later.status is Status.SKIP and not later.summary:
                            later.skip(f"not run: {failed.title} failed")
                    break
        finally:
            if self.connection is not None:
                self.connection.close()
            elif self.socket is not None:
                self.socket.close()
            self.node.duration = time.monotonic() - started
            self.progress(self.endpoint.url, None)
        worst = self.node.rolled_up()
        self.node.status = Status.OK if worst is not Status.SKIP else Status.SKIP
        # The first check of the worst status, at any depth: a warning may stand under a step (the server certificate).
        self.node.summary = next((c.summary for c in self.node.walk() if c is not self.node and c.status is worst
                                  and worst >= Status.WARN), self._verdict() if worst is Status.OK else "")
        return self.node

    def _verdict(self) -> str:
        """What an endpoint whose probes all passed has shown; what was not checked is said."""
        unproven = [why for why, missing in (
            ("the server certificate was not verified (--insecure)", self.plan.tls.insecure),
            ("the generate/decrypt round trip was not run (--no-probe)", not self.plan.round_trip)) if missing]
        return "MinIO can use this KES endpoint" if not unproven else \
            f"KES answers here, but {' and '.join(unproven)}: that MinIO can use it is not shown"

    def _fail(self, check: Check, rule, summary: str, advice: str = "") -> None:
        check.fail(rule, summary, advice)
        raise ProbeAbort()

    # -- network ------------------------------------------------------------------------
    def _dns(self, check: Check) -> None:
        endpoint = self.endpoint
        if endpoint.scheme != "https":
            self.tls.fail(doc.HTTP_SCHEME, f"the endpoint uses {endpoint.scheme}://; KES serves HTTPS only")
            check.skip(f"not run: MinIO cannot reach KES over {endpoint.scheme}://")
            raise ProbeAbort()
        if endpoint.is_ip:
            self.addresses = [endpoint.host]
            check.skip(f"{endpoint.host} is an IP address: nothing to resolve")
            return
        try:
            self.addresses = _resolve(endpoint.host, endpoint.effective_port, self.plan.timeout)
        except TimeoutError as err:
            self._fail(check, doc.TIMED_OUT, f"DNS lookup of {endpoint.host} timed out: {err}")
        except OSError as err:
            self._fail(check, doc.NOT_RESOLVABLE, f"{endpoint.host} does not resolve: {err.strerror or err}")
        except UnicodeError:
            self._fail(check, doc.NOT_RESOLVABLE, f"{endpoint.host} is no host name: a label of it is empty or longer "
                                                  "than 63 characters")
        check.ok(f"{endpoint.host} resolves to {', '.join(self.addresses)}")

    def _tcp(self, check: Check) -> None:
        port = self.endpoint.effective_port
        failures: list[tuple[str, OSError]] = []
        deadline = time.monotonic() + self.plan.timeout
        for index, address in enumerate(self.addresses):
            share = dial_share(deadline - time.monotonic(), len(self.addresses) - index)
            if share <= 0:
                break
            try:
                self.socket = socket.create_connection((address, port), timeout=share)
                self.address = address
                break
            except OSError as err:
                failures.append((address, err))
        tried = "; ".join(f"{a}: {self._os_error(e)}" for a, e in failures)
        if self.socket is None:
            last = failures[-1][1] if failures else OSError("no address")
            target = f"{self.endpoint.host} port {port}"
            if isinstance(last, ConnectionRefusedError):
                self._fail(check, doc.CONNECTION_REFUSED, f"connection refused on {target} ({tried}): nothing listens there")
            if isinstance(last, TimeoutError):
                self._fail(check, doc.TIMED_OUT, f"TCP connect to {target} timed out after {self.plan.timeout:g} s")
            self._fail(check, doc.UNREACHABLE, f"cannot connect to {target}: {tried}")
        check.ok(f"connected to {self.address} port {port}")
        if failures:
            check.details.append(f"other addresses failed (MinIO falls back to the next address): {tried}")

    @staticmethod
    def _os_error(err: OSError) -> str:
        if isinstance(err, ConnectionRefusedError):
            return "refused"
        if isinstance(err, TimeoutError):
            return "timed out"
        return err.strerror or str(err)

    @property
    def plain_http_budget(self) -> float:
        """Part of the handshake's timeout kept for asking a silent port whether it speaks plain HTTP."""
        return min(0.25, self.plan.timeout / 5)

    def _open_tls(self, raw: socket.socket | None = None, context: ssl.SSLContext | None = None,
                  timeout: float | None = None) -> ssl.SSLSocket:
        raw = raw or socket.create_connection((self.address, self.endpoint.effective_port),
                                              timeout=timeout or self.plan.timeout)
        raw.settimeout(timeout or self.plan.timeout)
        # Requests are small writes; without this, Nagle's algorithm adds a delayed-ACK wait to each one.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            return (context or self.plan.tls.context).wrap_socket(raw, server_hostname=self.endpoint.host)
        except BaseException:
            raw.close()
            raise

    def _served_der(self) -> bytes | None:
        try:
            with self._open_tls(context=self.plan.tls.inspect_context, timeout=self._left()) as probe:
                return probe.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError):
            return None

    def _left(self) -> float:
        """What is left of the TLS step's timeout, for the questions asked after a failed handshake (what the server
        presents, whether it speaks plain HTTP): the step as a whole stays within --timeout."""
        return max(0.05, self.tls_deadline - time.monotonic())

    def _is_plain_http(self, budget: float = math.inf) -> bool:
        return _is_plain_http(self.address, self.endpoint.effective_port, self.endpoint.authority,
                              min(budget, self._left()))

    def _tls(self, check: Check) -> None:
        raw, self.socket = self.socket, None
        self.tls_deadline = time.monotonic() + self.plan.timeout
        handshake_budget = self.plan.timeout - self.plain_http_budget
        try:
            sock = self._open_tls(raw, timeout=handshake_budget)
            sock.settimeout(self.plan.timeout)
        except ssl.SSLCertVerificationError as err:
            served = served_certificate(self._served_der())
            failure = classify_verification(err, self.endpoint.host, self.plan.tls, served, self.plan.now)
            self._fail(check, failure.rule, failure.summary, failure.advice)
        except TimeoutError:
            # Some HTTP servers wait for a newline that a ClientHello may not contain: ask in HTTP, briefly.
            if self._is_plain_http(self.plain_http_budget):
                self._plain_http(check)
            self._fail(check, doc.TIMED_OUT,
                       f"timed out: {self.address} port {self.endpoint.effective_port} accepts TCP connections but sent "
                       f"no TLS answer within {handshake_budget:g} s (a hung KES, a firewall or a proxy)")
        except ssl.SSLError as err:
            self._handshake_error(check, err)
        except OSError as err:
            if self._is_plain_http():
                self._plain_http(check)
            self._fail(check, doc.HANDSHAKE_FAILED, f"the connection broke during the TLS handshake: {self._os_error(err)}")
        self.socket, self.tls_version = sock, sock.version()
        served = served_certificate(sock.getpeercert(binary_form=True))
        cipher = sock.cipher()
        check.ok(f"{sock.version()}, {cipher[0] if cipher else 'unknown cipher'}"
                 + (" (server NOT verified: --insecure)" if self.plan.tls.insecure else ", server certificate verified"))
        certificate = check.add(Check("server certificate", anchor=ENDPOINT))
        if served is None:
            certificate.skip("not readable")
        else:
            left = served.not_after - self.plan.now
            text = f"valid until {served.not_after:%Y-%m-%d} ({left.days} days left); {served.describe()}"
            if left.total_seconds() <= 0:
                certificate.fail(doc.CERT_EXPIRED, f"the KES server certificate expired on {served.not_after:%Y-%m-%d}")
            elif left.days < self.plan.expiry_warning_days:
                certificate.warn(doc.CERT_EXPIRING, f"the KES server certificate expires in {left.days} days "
                                                    f"({served.not_after:%Y-%m-%d})")
            else:
                certificate.ok(text)
        self.connection = _Connection(self)

    def _plain_http(self, check: Check) -> None:
        self._fail(check, doc.PLAIN_HTTP,
                   f"plain HTTP on {self.endpoint.authority}: the port answers HTTP without TLS, so it is not KES's TLS port")

    def _handshake_error(self, check: Check, err: ssl.SSLError) -> None:
        refusal = client_certificate_refusal(err, self.plan.tls)
        if refusal is not None:
            self._fail(check, refusal.rule, refusal.summary, refusal.advice)
        if self._is_plain_http():
            self._plain_http(check)
        reason = (err.reason or str(err)).replace("_", " ").lower()
        if reason == "wrong version number":  # what OpenSSL says when the answer is no TLS record at all
            self._fail(check, doc.HANDSHAKE_FAILED, "the port answered, but not with TLS (`wrong version number`): "
                                                    "another service listens there, not KES",
                       f"Check that KES listens on {self.endpoint.authority} (its `address`) and nothing else does.")
        self._fail(check, doc.HANDSHAKE_FAILED, f"TLS handshake failed: {reason}")

    # -- HTTP ---------------------------------------------------------------------------
    def call(self, check: Check, method: str, path: str, payload: dict | None = None) -> Response:
        connection = self.connection
        if connection is None:
            check.skip("no TLS connection")
            raise ProbeAbort()
        path = self.endpoint.path.rstrip("/") + path  # MinIO sends every API path below the endpoint's (ENV109)
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Host": self.endpoint.authority, "Accept": "application/json", "User-Agent": f"kescheck/{__version__}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            connection.timeout = self.plan.timeout
            connection.deadline = time.monotonic() + self.plan.timeout
            if connection.sock is not None:
                connection.sock.settimeout(self.plan.timeout)
            try:
                answer, data = self._exchange(connection, method, path, body, headers)
            except _DROPPED_CONNECTION:
                # Go's HTTP client (MinIO's) resends on a new connection when a reused keep-alive connection
                # turns out to be closed before any answer came (an idle timeout, a load balancer).
                if not connection.reused:
                    raise
                connection.close()
                answer, data = self._exchange(connection, method, path, body, headers)
            if len(data) > MAX_BODY:
                self._fail(check, doc.UNEXPECTED_RESPONSE, f"{method} {path}: the answer is larger than {MAX_BODY} bytes: "
                                                          "this is not KES")
        except TimeoutError:
            connection.close()
            self._fail(check, doc.TIMED_OUT, f"{method} {path} timed out: no complete answer within {self.plan.timeout:g} s")
        except ssl.SSLError as err:
            connection.close()
            refusal = client_certificate_refusal(err, self.plan.tls)
            if refusal is not None:
                # TLS 1.3: the server's verdict on the client certificate arrives with the first read.
                self.tls.fail(refusal.rule, refusal.summary, refusal.advice)
                check.skip("not run: KES refused the TLS connection")
                raise ProbeAbort() from None
            if self.first_request and isinstance(err, ssl.SSLEOFError):
                self._closed_after_handshake(check)
            self._fail(check, doc.HANDSHAKE_FAILED, f"{method} {path}: TLS error {err.reason or err}")
        except (OSError, http.client.HTTPException) as err:
            connection.close()
            if self.first_request and isinstance(err, ConnectionError):
                self._closed_after_handshake(check)
            self._fail(check, doc.UNEXPECTED_RESPONSE, f"{method} {path}: the connection failed ({type(err).__name__}: "
                                                      f"{_shortened(_one_line(str(err)))})")
        finally:
            self.first_request = False
        try:
            parsed = _readable(json.loads(data)) if data.strip() else None
        except ValueError:
            parsed = None
        response = Response(answer.status, parsed if isinstance(parsed, dict) else None,
                            _shortened(_one_line(answer.getheader("Location") or "")),
                            "" if isinstance(parsed, dict) else _first_line(data))
        if 300 <= response.status < 400:
            self._fail(check, doc.UNEXPECTED_RESPONSE, f"{method} {path} answered a redirect ({response.status} to "
                                                      f"{response.location or '?'}), which MinIO does not follow")
        if response.status == 400 and (not self.plan.tls.has_client_cert or "certificate" in response.message.lower()):
            self._no_identity(check, method, path, response)
        return response

    @staticmethod
    def _exchange(connection: "_Connection", method: str, path: str, body: bytes | None,
                  headers: dict) -> tuple[http.client.HTTPResponse, bytes]:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read(MAX_BODY + 1)
        if not answer.isclosed():
            connection.close()
        else:
            connection.reused = connection.sock is not None
        return answer, data

    def _no_identity(self, check: Check, method: str, path: str, response: Response) -> None:
        """A KES that lets the handshake pass without a client certificate answers 400 where it needs an identity."""
        missing = "" if self.plan.tls.has_client_cert else " and MinIO has none that kescheck could load"
        self._fail(check, doc.CLIENT_CERT_REFUSED, f"{method} {path} answered {response.message}: KES needs MinIO's "
                                                   f"client certificate to know its identity{missing}")

    def _closed_after_handshake(self, check: Check) -> None:
        """KES drops a TLS 1.3 connection whose client certificate it refuses; the alert may be lost in the reset. In
        TLS 1.2 the server decides on the client certificate inside the handshake, so a close after it is not that
        refusal: something that ended TLS closed (a proxy or load balancer with no KES behind it, say)."""
        version = self.tls_version
        if version != "TLSv1.3":
            self._fail(check, doc.HANDSHAKE_FAILED, f"the connection was closed right after a completed {version or 'TLS'} "
                                                    "handshake, before any answer: what ended TLS here has no KES "
                                                    "behind it, or KES stopped (in TLS 1.2 a refused client certificate "
                                                    "ends the handshake itself)")
        if self.plan.tls.has_client_cert:
            summary = ("KES closed the connection right after the TLS handshake: it most likely rejected MinIO's "
                       "client certificate (client verification on: `tls.auth: on`)")
        else:
            summary = ("KES closed the connection right after the TLS handshake: it requires a client certificate "
                       "and MinIO has none that kescheck could load")
        self.tls.fail(doc.CLIENT_CERT_REFUSED, summary)
        check.skip("not run: KES refused the TLS connection")
        raise ProbeAbort()

    def _unexpected(self, check: Check, method: str, path: str, response: Response) -> None:
        self._fail(check, doc.UNEXPECTED_RESPONSE, f"{method} {path} answered {response.message}")

    # -- the KES API --------------------------------------------------------------------
    def _version(self, check: Check) -> None:
        response = self.call(check, "GET", "/version")
        if response.status == 200 and response.body and "version" in response.body:
            check.ok(f"KES {response.body['version']}")
        elif response.status in (401, 403, 404):
            check.skip(f"answered {response.message} (this KES does not serve /version to MinIO)")
        else:
            self._unexpected(check, "GET", "/version", response)

    def _status(self, check: Check) -> None:
        response = self.call(check, "GET", "/v1/status")
        body = response.body or {}
        if response.status == 200:
            if body.get("keystore_unreachable"):
                check.fail(doc.KEYSTORE_UNREACHABLE,
                           "KES reports keystore_unreachable: the root KMS (Vault, cloud KMS) is down, sealed or "
                           "unreachable from KES")
                return
            latency = body.get("keystore_latency")
            shown = f"{latency / 1000:.1f} ms" if isinstance(latency, (int, float)) else "not reported"
            check.ok(f"keystore reachable, keystore latency {shown}")
        elif response.status == 403:
            check.ok("not allowed by MinIO's policy (fine: only `mc admin kms status` needs /v1/status)")
        else:
            self._unexpected(check, "GET", "/v1/status", response)

    def _identity(self, check: Check) -> None:
        response = self.call(check, "GET", "/v1/identity/self/describe")
        body = response.body or {}
        seen = str(body.get("identity") or "").strip().lower() if response.status == 200 else ""
        minio = self.plan.tls.identity
        if seen and minio and seen != minio.lower():
            check.warn(doc.OTHER_IDENTITY, f"KES sees the identity {seen}, not MinIO's {minio} "
                                           f"({self.plan.tls.identity_source}): something in front of KES that ends TLS "
                                           "connects with its own certificate, or MinIO sends another certificate")
        elif response.status == 200 and body.get("admin") is True:
            check.warn(doc.MINIO_IS_ADMIN, f"MinIO's identity {body.get('identity', '')} is the KES admin: it bypasses "
                                           "every policy")
        elif response.status == 200:
            policy = body.get("policy") or body.get("policy_name") or "none"
            check.ok(f"KES knows the identity {body.get('identity', '')}; policy {policy if isinstance(policy, str) else 'set'}")
        elif response.status == 404:
            check.ok("not the KES admin (KES >= 0.23 answers 404 for every other identity, so this proves nothing "
                     "about its policy; the round trip does)")
        elif response.status == 403:
            check.skip(f"answered {response.message}")
        else:
            self._unexpected(check, "GET", "/v1/identity/self/describe", response)

    def _key_missing(self, check: Check, key: str) -> None:
        self.key_missing = True
        self._fail(check, doc.KEY_MISSING, f"the key '{key}' (MINIO_KMS_KES_KEY_NAME) does not exist on KES",
                   f"Create it as the KES admin: `kes key create {key}` (KES_SERVER/KES_CLIENT_CERT pointing at this "
                   f"KES), or allow MinIO /v1/key/create/{key} in its policy so MinIO creates it at start")

    def _describe(self, check: Check) -> None:
        key = self.plan.key_name
        if not key:
            check.skip(f"{KEY_NAME} is not set")
            return
        path = f"/v1/key/describe/{key_segment(key)}"
        response = self.call(check, "GET", path)
        body = response.body or {}
        if response.status == 200:
            check.ok(f"key '{key}' exists ({body.get('algorithm', 'algorithm not reported')}, created "
                     f"{body.get('created_at', '?')})")
        elif response.status == 404:
            try:
                self._key_missing(check, key)
            except ProbeAbort:
                self.round_trip.skip("not run: the key does not exist")
        elif response.status == 403:
            check.skip("not allowed by MinIO's policy (optional: MinIO >= RELEASE.2024-04-18 polls it to keep the "
                       "key cached)")
        elif response.status == 502:
            check.fail(doc.KEYSTORE_ERROR, f"KES answered {response.message} for key '{key}': the root KMS is down "
                                           "or unreachable from KES")
        else:
            self._unexpected(check, "GET", path, response)

    def _denied(self, check: Check, operation: str, key: str) -> None:
        tls = self.plan.tls
        who = f"the identity {tls.identity} (computed from {tls.identity_source})" if tls.identity else "MinIO's identity"
        self._fail(check, doc.ACCESS_DENIED,
                   f"KES refused {operation} on key '{key}' (403 not authorized): {who} has no policy, or its policy "
                   f"does not allow /v1/key/{operation}/{key}",
                   f"In KES's config, list {tls.identity or 'MinIO identity'} under `policy.<name>.identities` of a "
                   f"policy whose `allow` has /v1/key/generate/{key} and /v1/key/decrypt/{key} (a pattern ending in * "
                   f"allows a prefix), then restart KES")

    def _key_call(self, check: Check, operation: str, key: str, payload: dict) -> dict:
        path = f"/v1/key/{operation}/{key_segment(key)}"
        response = self.call(check, "PUT", path, payload)
        if response.status == 200 and response.body:
            return response.body
        if response.status == 403:
            self._denied(check, operation, key)
        if response.status == 404:
            self._key_missing(check, key)
        if response.status == 502:
            self._fail(check, doc.KEYSTORE_ERROR, f"KES answered {response.message} to {operation}: the root KMS is down "
                                                  "or unreachable from KES, and the key is not cached")
        self._unexpected(check, "PUT", path, response)
        return {}

    def _round_trip(self, check: Check) -> None:
        key = self.plan.key_name
        if check.summary:
            return
        if not self.plan.round_trip:
            check.skip("--no-probe")
            return
        if not key:
            check.skip(f"{KEY_NAME} is not set")
            return
        context = base64.b64encode(os.urandom(16)).decode()
        generated = self._key_call(check, "generate", key, {"context": context})
        try:
            plaintext = base64.b64decode(generated.get("plaintext", ""), validate=True)
            ciphertext = generated["ciphertext"]
        except (KeyError, TypeError, ValueError, binascii.Error):
            self._fail(check, doc.UNEXPECTED_RESPONSE, "generate answered without a base64 plaintext and a ciphertext")
        decrypted = self._key_call(check, "decrypt", key, {"ciphertext": ciphertext, "context": context})
        try:
            again = base64.b64decode(decrypted.get("plaintext", ""), validate=True)
        except (TypeError, ValueError, binascii.Error):
            again = b""
        if not plaintext or not hmac.compare_digest(plaintext, again):
            self._fail(check, doc.ROUND_TRIP_MISMATCH, f"decrypting the data key just generated with '{key}' did not "
                                                       "give the same plaintext back")
        check.ok(f"generated a data key with '{key}' and decrypted it: the plaintext matches")


class _DeadlineReader(io.RawIOBase):
    """The socket reader http.client would use, with one deadline shared by all its reads."""

    def __init__(self, sock: socket.socket, deadline: float):
        # makefile() counts a reference: the socket stays open until the response is done with it.
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer did not complete before the deadline")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args, deadline: float, **kwargs):
        super().__init__(sock, *args, **kwargs)
        plain, self.fp = self.fp, io.BufferedReader(_DeadlineReader(sock, deadline))
        plain.close()


class _Connection(http.client.HTTPConnection):
    """HTTP over the probe's TLS socket; a reconnect makes a new TLS connection the same way, never plain HTTP."""

    def __init__(self, probe: EndpointProbe):
        super().__init__(probe.address, probe.endpoint.effective_port, timeout=probe.plan.timeout)
        self._probe = probe
        self.sock = probe.socket
        self.deadline = time.monotonic() + probe.plan.timeout
        """When the current request's answer must be complete (`call` sets it per request)."""
        self.reused = False
        """The current TCP connection has carried a complete answer and stays open for the next request."""

    def connect(self):
        self.reused = False
        self.sock = self._probe._open_tls(timeout=max(self.deadline - time.monotonic(), 0.001))

    def response_class(self, sock, *args, **kwargs) -> _DeadlineResponse:
        # http.client builds each response through this attribute; the response reads under our deadline.
        return _DeadlineResponse(sock, *args, deadline=self.deadline, **kwargs)


def probe_endpoint(endpoint: Endpoint, plan: ProbePlan, progress: Progress | None = None) -> Check:
    return EndpointProbe(endpoint, plan, progress).run()

