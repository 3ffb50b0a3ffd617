"""Write a rule's documented Example into a directory, generating certificates where asked.

A file whose text starts with `!cert` is a certificate made at test time (relative to now);
its private key is written beside it with the same stem and `.key`, unless the example
lists that key file itself. Directive words:

    !cert cn=NAME [dns=a,b] [ip=1.2.3.4,::1] [days=N] [not-before-days=N] [ca]
          [issuer=OTHER.crt] [key-kind=ec256|ec384|rsa2048|rsa1024|ed25519] [eku=server,client]
          [sig=sha1]  (re-signed by its RSA issuer with SHA-1)  [serial=negative]
    !key of=OTHER.crt [password=TEXT] [format=pkcs8|pkcs1|sec1] [mode=0644] [append=OTHER.crt]
    !key fresh                      (a key that matches no certificate)
    !apikey                         (a new KES API key; `${apikey:FILE}` in another file is replaced by it)
    !copy of=OTHER.crt              (the same bytes as that generated certificate)

`${dir}` in a file's text is replaced by the directory the example is written to.
`${identity:FILE}` anywhere in another file's text is replaced by the identity of that
certificate or API key file, so policies can name the generated identities;
`${fingerprint:FILE}` by the SHA-256 of that certificate's DER in `openssl x509 -fingerprint
-sha256` form (the classic wrong value). A reference to a file that is not a generated
certificate becomes 64 zeros.
"""
from __future__ import annotations

import hashlib
import os
import re
import shlex
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from certgen import Issued, issue, new_api_key, new_key, with_negative_serial, with_sha1_signature

from kescheck.identity import identity_of_api_key, identity_of_certificate


def _words(directive: str) -> tuple[str, dict[str, str]]:
    parts = shlex.split(directive)
    options = {}
    for word in parts[1:]:
        key, _, value = word.partition("=")
        options[key] = value if value else "yes"
    return parts[0], options


def materialize(files: tuple[tuple[str, str], ...], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    issued: dict[str, Issued] = {}
    api_keys: dict[str, str] = {}
    written: dict[str, Path] = {}
    names = {name for name, _ in files}
    plain = []
    # Issuers first, whatever the order of the example's files.
    pending = [(name, text) for name, text in files]
    ordered: list[tuple[str, str]] = []
    while pending:
        ready = [(n, t) for n, t in pending
                 if not t.startswith("!cert") or _words(t.strip())[1].get("issuer") not in dict(pending)]
        ready = ready or pending[:1]
        ordered += ready
        pending = [item for item in pending if item not in ready]
    for name, text in ordered:
        kind, options = _words(text.strip()) if text.startswith("!") else ("", {})
        if kind == "!cert":
            issuer = issued[options["issuer"]] if "issuer" in options else None
            cert = issue(options.get("cn", "example"), issuer=issuer,
                         dns=tuple(filter(None, options.get("dns", "").split(","))),
                         ips=tuple(filter(None, options.get("ip", "").split(","))),
                         ca="ca" in options, key_kind=options.get("key-kind", "ec256"),
                         days=float(options.get("days", 365)),
                         not_before_days=float(options.get("not-before-days", -1)),
                         eku=tuple(options["eku"].split(",")) if "eku" in options else None)
            if options.get("sig") == "sha1":
                cert = with_sha1_signature(cert, issuer)
            if options.get("serial") == "negative":
                cert = with_negative_serial(cert, issuer)
            issued[name] = cert
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(cert.cert_pem())
            written[name] = directory / name
            key_name = str(Path(name).with_suffix(".key"))
            if key_name not in names:
                (directory / key_name).write_bytes(cert.key_pem())
                os.chmod(directory / key_name, 0o600)
                written[key_name] = directory / key_name
        elif kind == "!apikey":
            api_keys[name] = new_api_key()
            (directory / name).write_text(api_keys[name])
            written[name] = directory / name
        else:
            plain.append((name, text, kind, options))
    for name, text, kind, options in plain:
        path = directory / name
        if kind == "!key":
            if "of" in options:
                key_pem = issued[options["of"]].key_pem(options["password"].encode() if "password" in options else None,
                                                        options.get("format", "pkcs8"))
            else:
                key_pem = Issued(None, new_key("ec256")).key_pem()
            if "append" in options:
                key_pem += issued[options["append"]].cert_pem()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(key_pem)
            os.chmod(path, int(options.get("mode", "0600"), 8))
        elif kind == "!copy":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(issued[options["of"]].cert_pem())
        else:
            def identity(match: re.Match) -> str:
                ref = match[1]
                if ref in issued:
                    return identity_of_certificate(issued[ref].certificate)
                return identity_of_api_key(api_keys[ref]) if ref in api_keys else "0" * 64

            def fingerprint(match: re.Match) -> str:
                digest = hashlib.sha256(issued[match[1]].certificate.public_bytes(serialization.Encoding.DER))
                return ":".join(f"{b:02X}" for b in digest.digest())

            text = text.replace("${dir}", str(directory))
            text = re.sub(r"\$\{identity:([^}]+)\}", identity, text)
            text = re.sub(r"\$\{fingerprint:([^}]+)\}", fingerprint, text)
            text = re.sub(r"\$\{apikey:([^}]+)\}", lambda m: api_keys[m[1]], text)
            path.parent.mkdir(parents=True, exist_ok=True)
            # surrogateescape: an example may hold bytes that are not UTF-8 (written as "\udcXX")
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
        written[name] = path
    return written
