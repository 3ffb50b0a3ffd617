"""The PEM loader on real keys and certificates in every form KES and MinIO meet."""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certgen import issue
from kescheck.certs import SubjectNames, host_covered
from kescheck.load.pem import FileState, KeyState, load_ca_path, load_pem_file, load_private_key, spki_der


@pytest.mark.parametrize("kind,fmt,label", [
    ("rsa2048", "pkcs1", "RSA PRIVATE KEY"), ("rsa2048", "pkcs8", "PRIVATE KEY"),
    ("ec256", "sec1", "EC PRIVATE KEY"), ("ec384", "pkcs8", "PRIVATE KEY"), ("ed25519", "pkcs8", "PRIVATE KEY"),
])
def test_plain_keys_load_and_match_their_certificate(kind, fmt, label, tmp_path):
    cert = issue("x", key_kind=kind)
    cert_path, key_path = cert.write(tmp_path, "x", key_format=fmt)
    pem = load_pem_file(key_path)
    assert pem.ok and pem.labels == [label]
    key = load_private_key(pem, None)
    assert key.state is KeyState.OK
    assert key.public_der() == spki_der(load_pem_file(cert_path).certificates[0].certificate.public_key())


@pytest.mark.parametrize("fmt,legacy", [("sec1", True), ("pkcs8", False)])
def test_encrypted_keys_need_the_right_password(fmt, legacy, tmp_path):
    cert = issue("x")
    _, key_path = cert.write(tmp_path, "x", password=b"right", key_format=fmt)
    pem = load_pem_file(key_path)
    block = pem.key_blocks[0]
    assert block.legacy_encrypted is legacy and block.pkcs8_encrypted is not legacy
    assert load_private_key(pem, None).state is KeyState.NEEDS_PASSWORD
    wrong = load_private_key(pem, b"wrong")
    assert wrong.state is KeyState.WRONG_PASSWORD and "wrong" not in wrong.problem
    assert load_private_key(pem, b"right").state is KeyState.OK


def test_extra_data_after_the_key_is_recorded(tmp_path):
    cert = issue("x", key_kind="ec256")
    path = tmp_path / "k.pem"
    path.write_bytes(cert.key_pem(fmt="sec1") + b"garbage after the block\n")
    assert load_pem_file(path).trailing_data
    params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    path.write_bytes(params + cert.key_pem(fmt="sec1"))
    pem = load_pem_file(path)
    assert pem.labels == ["EC PARAMETERS", "EC PRIVATE KEY"] and pem.trailing_data
    assert isinstance(load_private_key(pem, None).key, ec.EllipticCurvePrivateKey)


def test_chains_der_garbage_and_absent_files(tmp_path):
    ca = issue("ca", ca=True)
    leaf = issue("leaf", issuer=ca)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(leaf.cert_pem() + ca.cert_pem())
    loaded = load_pem_file(chain)
    assert [c.is_ca for c in loaded.certificates] == [False, True]
    der = tmp_path / "leaf.der"
    from cryptography.hazmat.primitives import serialization
    der.write_bytes(leaf.certificate.public_bytes(serialization.Encoding.DER))
    assert load_pem_file(der).state is FileState.MALFORMED and "DER" in load_pem_file(der).problem
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n")
    assert load_pem_file(bad).state is FileState.MALFORMED
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert load_pem_file(broken).bad_certificates == 1
    assert load_pem_file(tmp_path / "absent.pem").state is FileState.ABSENT
    assert load_pem_file(tmp_path).state is FileState.UNREADABLE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_never_opened(tmp_path):
    fifo = tmp_path / "key.pem"
    os.mkfifo(fifo)
    assert load_pem_file(fifo).state is FileState.UNREADABLE


def test_ca_directory_collects_certificates(tmp_path):
    (tmp_path / "a.crt").write_bytes(issue("a", ca=True).cert_pem())
    (tmp_path / "b.crt").write_bytes(issue("b", ca=True).cert_pem() + issue("c", ca=True).cert_pem())
    (tmp_path / "README").write_text("not a certificate\n")
    pem = load_ca_path(tmp_path)
    assert pem.ok and pem.is_directory and len(pem.certificates) == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_ca_path(empty).state is FileState.MALFORMED


@pytest.mark.parametrize("host,names,covered", [
    ("kes1.example.net", (("*.example.net",), ()), True),
    ("KES1.Example.NET.", (("*.example.net",), ()), True),
    ("a.kes1.example.net", (("*.example.net",), ()), False),
    ("example.net", (("*.example.net",), ()), False),
    ("kes1.example.net", (("kes*.example.net",), ()), False),
    ("10.0.0.5", (("10.0.0.5",), ()), False),
    ("10.0.0.5", ((), ("10.0.0.5",)), True),
    ("::1", ((), ("::1",)), True),
    ("kes", (("kes",), ("127.0.0.1",)), True),
])
def test_host_matching_follows_go(host, names, covered):
    assert host_covered(host, SubjectNames(*names)) is covered


@pytest.mark.parametrize("oid_name, value", [("BASIC_CONSTRAINTS", b"\x01\x02"), ("EXTENDED_KEY_USAGE", b"\x04\x00"),
                                             ("SUBJECT_ALTERNATIVE_NAME", b"\x30\x03\x82\x05ab")])
def test_a_certificate_with_a_malformed_extension_does_not_parse(tmp_path, oid_name, value):
    """Go's parser, which KES and MinIO load their certificates with, refuses a malformed standard extension
    (`x509: invalid basic constraints`, `invalid extended key usages`, `invalid subject alternative name`);
    cryptography reads extensions only when asked, so the loader asks."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtensionOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minio")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(7).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                   .add_extension(x509.UnrecognizedExtension(getattr(ExtensionOID, oid_name), value), critical=False)
                   .sign(key, hashes.SHA256()))
    path = tmp_path / "client.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem = load_pem_file(path)
    assert pem.certificates == [] and pem.bad_certificates == 1
