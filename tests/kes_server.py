"""A stand-in for a KES server, written from the reference (kes-minio.md §2, §4, §7) for the doctor's tests.

It is not a KES: it implements the part of the KES HTTP API a MinIO deployment touches, with
KES's status codes, JSON error bodies and documented quirks, on a real TLS listener:

* TLS on loopback with the certificate it is given; a client certificate is requested and,
  by default, required in the handshake (KES >= 2024-03-13) but not verified (`tls.auth: off`):
  the identity alone decides. Python's ssl module cannot "require but not verify", so the
  listener installs an OpenSSL verify callback that accepts every certificate (see
  `_accept_any_client_certificate`).
* Identity = lower-case hex SHA-256 of the DER SubjectPublicKeyInfo of the one non-CA
  certificate the client sent (CA certificates are skipped; zero or several leaves: 400).
* Policies with G2 semantics: deny wins; a pattern ending in `*` matches by prefix, any
  other pattern only the identical path; the admin identity bypasses policies; an identity
  without a policy gets 403.
* `/v1/identity/self/describe` answers 404 `identity does not exist` for every identity but
  the admin (the KES >= 0.23 behaviour).
* Switches: `keystore_dead` (key operations 502, `/v1/ready` 504, status reports
  `keystore_unreachable`), keys are whatever `keys` holds (delete one to get 404).
* Every request is recorded as (method, path) in `requests`, so tests can prove a client
  only reads.
* Go net/http behaviours a real KES shows (off by default, see `GO_MODES`): `chunked` bodies
  (Go streams a body it was not told the length of), `go_style` (JSON ends with the newline
  json.Encoder writes, Date/Vary headers, the mux's `text/plain` 404/405 for unknown routes),
  `extra_fields` in every JSON answer (newer KES releases add fields), `tls_version` "1.2" or
  "1.3" only, `idle_close` (drops the keep-alive connection after each answer without saying so,
  as an idle timeout or a load balancer does), and `host="::1"` for IPv6 loopback.

Also here: `WebServer` (HTTPS, but not KES), `PlainHttpServer` (answers HTTP, no TLS), `Blackhole` (accepts TCP, never
answers) and `refused_port()`.
"""
from __future__ import annotations

import base64
import binascii
import ctypes
import hashlib
import json
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import _ssl
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KES_VERSION = "2024-11-25T13-44-31Z"
MAX_REQUEST_BODY = 1 << 20

NOT_AUTHORIZED = "not authorized: insufficient permissions"
KEY_MISSING = "key does not exist"
KEY_EXISTS = "key already exists"
NO_CLIENT_CERT = "tls: client certificate is required"
IDENTITY_MISSING = "identity does not exist"
KEYSTORE_DOWN = "keystore is unreachable"  # any text: clients must go by the status code

_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_accept_all = _VERIFY_CALLBACK(lambda preverify_ok, store: 1)


def _accept_any_client_certificate(context: ssl.SSLContext, required: bool) -> None:
    """Request (and when `required`, demand) a client certificate without verifying it.

    CPython keeps the `SSL_CTX *` right after the object header of an SSLContext; OpenSSL's
    SSL_CTX_set_verify takes the callback that decides whether a certificate is acceptable.
    """
    library = ctypes.CDLL(_ssl.__file__)
    library.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
    library.SSL_CTX_set_verify.restype = None
    library.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    library.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    context.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
    handle = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    mode = library.SSL_CTX_get_verify_mode(handle)
    expected = 3 if required else 1  # SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
    if mode != expected:
        raise RuntimeError("cannot reach OpenSSL's SSL_CTX behind this Python's ssl.SSLContext")
    library.SSL_CTX_set_verify(handle, mode, _accept_all)


def identity_of_der_certificate(der: bytes) -> str:
    certificate = x509.load_der_x509_certificate(der)
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _is_ca(der: bytes) -> bool:
    certificate = x509.load_der_x509_certificate(der)
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


@dataclass
class Policy:
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)

    def permits(self, path: str) -> bool:
        return not any(_matches(p, path) for p in self.deny) and any(_matches(p, path) for p in self.allow)


def _matches(pattern: str, path: str) -> bool:
    """G2 matching: a trailing `*` means prefix; anything else must be identical."""
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return pattern == path


class PlainText(str):
    """A text/plain answer body, as Go's http.Error and ServeMux write them."""

    @property
    def text(self) -> str:
        return str(self)


def _chunks(data: bytes) -> bytes:
    """`data` in HTTP/1.1 chunked coding, cut into uneven pieces (Go emits a chunk per flushed write)."""
    out, position, size = bytearray(), 0, 1
    while position < len(data):
        piece = data[position:position + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        position += len(piece)
        size = size * 3 + 1
    return bytes(out + b"0\r\n\r\n")


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_TlsHttpServer"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def handle_one_request(self):
        if (self.server.context is None and getattr(self.server.kes, "answers_tls_hello", False)
                and self.connection.recv(1, socket.MSG_PEEK) == b"\x16"):
            # A TLS ClientHello on a plain HTTP port: answer at once, as common HTTP servers do.
            self.connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.close_connection = True
            return
        super().handle_one_request()

    def do_GET(self):
        self._serve("GET")

    def do_PUT(self):
        self._serve("PUT")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_HEAD(self):
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        kes: KesServer = self.server.kes
        path = self.path.split("?", 1)[0]
        with kes.lock:
            kes.requests.append((method, path))
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BODY:
                raise ClientError(413, "request body too large")
            body = self.rfile.read(length) if length else b""
            status, payload = kes.dispatch(method, path, body, self._identity())
        except ClientError as err:
            status, payload = err.status, {"message": err.message}
        if isinstance(payload, dict) and getattr(kes, "extra_fields", False):
            payload = {**payload, "x_added_by_a_newer_kes": {"list": [1, 2, 3], "padding": "p" * 2100}}
        go_style = getattr(kes, "go_style", False)
        if isinstance(payload, PlainText):
            content_type, data = "text/plain; charset=utf-8", payload.text.encode()
        else:
            content_type = "application/json"
            data = json.dumps(payload).encode() + (b"\n" if go_style else b"") if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if go_style:
            self.send_header("Vary", "Origin")
            if content_type.startswith("text/plain"):
                self.send_header("X-Content-Type-Options", "nosniff")
        chunked = getattr(kes, "chunked", False) and data
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        if not getattr(kes, "keep_alive", True):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(_chunks(data) if chunked else data)
        if getattr(kes, "idle_close", False):
            self.close_connection = True

    def _identity(self) -> str | None:
        """None without a client certificate; ClientError when the chain holds no or several leaves."""
        sslobj = getattr(self.connection, "_sslobj", None)
        chain = sslobj.get_unverified_chain() if sslobj is not None else None
        chain = [c for c in chain or () if c is not None]  # Python 3.11 lists None when no certificate came
        if not chain:
            return None
        ders = [c.public_bytes(_ssl.ENCODING_DER) for c in chain]
        leaves = [d for d in ders if not _is_ca(d)]
        if len(leaves) != 1:
            raise ClientError(400, NO_CLIENT_CERT if not leaves else "tls: received more than one client certificate")
        return identity_of_der_certificate(leaves[0])


class _TlsHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, kes: "KesServer", context: ssl.SSLContext | None):
        self.kes = kes
        self.context = context
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request, client_address):
        request.settimeout(10)
        if self.context is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        try:
            super().finish_request(request, client_address)
        except (ssl.SSLError, OSError):
            pass


class KesServer:
    """A KES stand-in on 127.0.0.1. Use as a context manager or call start()/stop()."""

    def __init__(self, cert_file: Path, key_file: Path, *, admin: str = "disabled",
                 policies: dict[str, Policy] | None = None, keys: tuple[str, ...] = ("minio-default-key",),
                 require_client_cert: bool = True, keep_alive: bool = True, host: str = "127.0.0.1",
                 chunked: bool = False, go_style: bool = False, extra_fields: bool = False,
                 tls_version: str | None = None, idle_close: bool = False):
        self.cert_file, self.key_file = Path(cert_file), Path(key_file)
        self.admin = admin
        self.policies = dict(policies or {})
        self.keys: dict[str, dict] = {}
        for name in keys:
            self.add_key(name)
        self.require_client_cert = require_client_cert
        self.keep_alive = keep_alive
        self.chunked, self.go_style, self.extra_fields = chunked, go_style, extra_fields
        self.tls_version, self.idle_close = tls_version, idle_close
        self.keystore_dead = False
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self._host = host
        self._server: _TlsHttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- state --------------------------------------------------------------------------
    def add_key(self, name: str, created_by: str = "") -> None:
        self.keys[name] = {"secret": os.urandom(32), "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "created_by": created_by}

    def key_names(self) -> list[str]:
        with self.lock:
            return sorted(self.keys)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, host: str | None = None) -> str:
        host = host or self._host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}"

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> "KesServer":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.tls_version:
            pinned = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[self.tls_version]
            context.minimum_version = context.maximum_version = pinned
        context.load_cert_chain(self.cert_file, self.key_file)
        _accept_any_client_certificate(context, self.require_client_cert)
        self._server = _TlsHttpServer((self._host, 0), self, context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the API ------------------------------------------------------------------------
    def _policy_of(self, identity: str) -> Policy | None:
        for policy in self.policies.values():
            if identity in policy.identities:
                return policy
        return None

    def _authorize(self, identity: str | None, path: str) -> None:
        if identity is None:
            raise ClientError(400, NO_CLIENT_CERT)
        if identity == self.admin:
            return
        policy = self._policy_of(identity)
        if policy is None or not policy.permits(path):
            raise ClientError(403, NOT_AUTHORIZED)

    def _key(self, name: str) -> dict:
        if self.keystore_dead:
            raise ClientError(502, KEYSTORE_DOWN)
        with self.lock:
            key = self.keys.get(name)
        if key is None:
            raise ClientError(404, KEY_MISSING)
        return key

    @staticmethod
    def _json(body: bytes) -> dict:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise ClientError(400, "invalid JSON") from None
        if not isinstance(value, dict):
            raise ClientError(400, "invalid JSON")
        return value

    @staticmethod
    def _b64(value, what: str) -> bytes:
        if value in (None, ""):
            return b""
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ClientError(400, f"invalid {what}") from None

    ROUTES = {
        "/version": "GET", "/v1/ready": "GET", "/v1/status": "GET", "/v1/identity/self/describe": "GET",
        "/v1/key/describe/": "GET", "/v1/key/list/": "GET", "/v1/key/generate/": "PUT", "/v1/key/decrypt/": "PUT",
        "/v1/key/create/": "PUT", "/v1/key/delete/": "DELETE",
    }

    def dispatch(self, method: str, path: str, body: bytes, identity: str | None):
        route = next((r for r in self.ROUTES if (path.startswith(r) if r.endswith("/") else path == r)), None)
        if route is None:
            if self.go_style:
                return 404, PlainText("404 page not found\n")
            raise ClientError(404, "not found")
        if self.ROUTES[route] != method:
            if self.go_style:
                return 405, PlainText("Method Not Allowed\n")
            raise ClientError(405, "method not allowed")
        resource = path[len(route):] if route.endswith("/") else ""
        if route == "/version":
            return 200, {"version": KES_VERSION, "commit": "0" * 40}
        if route == "/v1/ready":
            return (504, {"message": KEYSTORE_DOWN}) if self.keystore_dead else (200, None)
        if route == "/v1/identity/self/describe":
            if identity is None:
                raise ClientError(400, NO_CLIENT_CERT)
            if identity != self.admin:
                raise ClientError(404, IDENTITY_MISSING)
            return 200, {"identity": identity, "admin": True}
        self._authorize(identity, path)
        if route == "/v1/status":
            status = {"version": KES_VERSION, "os": "linux", "arch": "amd64",
                      "uptime": int((time.monotonic() - self.started) * 1e9), "num_cpu": 2, "num_cpu_used": 2,
                      "mem_heap_used": 1 << 20, "mem_stack_used": 1 << 16}
            if self.keystore_dead:
                status["keystore_unreachable"] = True
            else:
                status["keystore_latency"] = 1200
            return 200, status
        if route == "/v1/key/describe/":
            key = self._key(resource)
            return 200, {"name": resource, "algorithm": "AES256-GCM_SHA256", "created_at": key["created_at"],
                         "created_by": key["created_by"]}
        if route == "/v1/key/list/":
            if self.keystore_dead:
                raise ClientError(502, KEYSTORE_DOWN)
            prefix = resource[:-1] if resource.endswith("*") else resource
            names = [n for n in self.key_names() if n.startswith(prefix)]
            return 200, {"names": names, "continue_at": ""}
        if route == "/v1/key/generate/":
            key = self._key(resource)
            context = self._b64(self._json(body).get("context"), "context")
            plaintext, nonce = os.urandom(32), os.urandom(12)
            sealed = AESGCM(key["secret"]).encrypt(nonce, plaintext, context)
            return 200, {"plaintext": base64.b64encode(plaintext).decode(),
                         "ciphertext": base64.b64encode(nonce + sealed).decode()}
        if route == "/v1/key/decrypt/":
            key = self._key(resource)
            request = self._json(body)
            sealed = self._b64(request.get("ciphertext"), "ciphertext")
            context = self._b64(request.get("context"), "context")
            try:
                plaintext = AESGCM(key["secret"]).decrypt(sealed[:12], sealed[12:], context)
            except Exception:
                raise ClientError(400, "ciphertext is not authentic") from None
            return 200, {"plaintext": base64.b64encode(plaintext).decode()}
        if route == "/v1/key/create/":
            if self.keystore_dead:
                raise ClientError(502, KEYSTORE_DOWN)
            with self.lock:
                if resource in self.keys:
                    raise ClientError(400, KEY_EXISTS)
            self.add_key(resource, identity or "")
            return 200, None
        if route == "/v1/key/delete/":
            self._key(resource)
            with self.lock:
                del self.keys[resource]
            return 200, None
        raise ClientError(404, "not found")


class WebServer(KesServer):
    """An HTTPS server that is not KES (a default web site, a load balancer's wrong backend): every path is a page."""

    def dispatch(self, method: str, path: str, body: bytes, identity: str | None):
        return 200, PlainText("<html><body><h1>It works!</h1></body></html>\n")


class PlainHttpServer:
    """Something that speaks plain HTTP on a port (a KES endpoint URL pointing at the wrong service)."""

    def __init__(self, answers_tls_hello: bool = True, host: str = "127.0.0.1"):
        """`answers_tls_hello`: reply 400 to a ClientHello at once; else read it as a request line (until a newline)."""
        self.answers_tls_hello = answers_tls_hello
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._server = _TlsHttpServer((host, 0), self, None)  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def dispatch(self, method, path, body, identity):
        return 200, {"hello": "plain http"}

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> "PlainHttpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Blackhole:
    """Accepts TCP connections and never sends a byte (a hung process, a half-open firewall)."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._held: list[socket.socket] = []
        self._closing = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def start(self) -> "Blackhole":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing = True
        self._listener.close()
        for conn in self._held:
            conn.close()


def refused_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
