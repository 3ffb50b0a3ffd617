"""PEM material (certificates, chains, private keys) read the way KES and MinIO read it.

Everything goes through the safe reader (regular files, size cap). Nothing here ever keeps
or reports private key bytes or passwords: problems are described by kind, never by
content, and parser exception texts are not passed on.
"""
from __future__ import annotations

import enum
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .source import InputError, read_bytes

MAX_DIRECTORY_FILES = 1000
"""A CA directory larger than this is not a CA directory; the rest is not read."""

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_HEADER = re.compile(rb"^([A-Za-z-]+):\s*(.*)$")


class FileState(enum.Enum):
    OK = "ok"
    ABSENT = "absent"
    UNREADABLE = "unreadable"
    MALFORMED = "malformed"


class KeyState(enum.Enum):
    OK = "ok"
    NONE = "none"
    """The file holds no private key block."""
    NEEDS_PASSWORD = "needs-password"
    WRONG_PASSWORD = "wrong-password"
    PASSWORD_UNKNOWN = "password-unknown"
    """Encrypted, and the password is a reference kescheck cannot resolve."""
    MALFORMED = "malformed"


@dataclass(frozen=True)
class PemBlock:
    label: str
    headers: tuple[tuple[str, str], ...]
    der: bytes | None
    """None when the body is not valid base64."""
    text: bytes
    """The block as it stands in the file (it may hold key material: never shown)."""
    line: int
    end_offset: int

    @property
    def is_private_key(self) -> bool:
        return self.label.endswith("PRIVATE KEY")

    @property
    def legacy_encrypted(self) -> bool:
        """RFC 1423 encryption (`Proc-Type: 4,ENCRYPTED`): the form Go's PEM decryption handles."""
        return any(name == "Proc-Type" and "ENCRYPTED" in value for name, value in self.headers)

    @property
    def pkcs8_encrypted(self) -> bool:
        return self.label == "ENCRYPTED PRIVATE KEY"

    @property
    def encrypted(self) -> bool:
        return self.legacy_encrypted or self.pkcs8_encrypted


@dataclass
class LoadedCertificate:
    certificate: object
    """A `cryptography.x509.Certificate`."""
    path: Path
    index: int
    """Position among the certificates of its file (0 = first)."""
    negative_serial: bool = False
    """Its serial number is negative, which RFC 5280 forbids and newer Go refuses (CRT042)."""

    @property
    def is_ca(self) -> bool:
        return is_ca(self.certificate)

    def describe(self) -> str:
        return f"certificate {self.index + 1} of {self.path}" if self.index else str(self.path)


@dataclass
class PemFile:
    """One referenced path: a file, or (for CA settings) a directory of files."""

    path: Path
    state: FileState
    problem: str = ""
    """Why it is unreadable or malformed, in words that never contain file content."""
    blocks: list[PemBlock] = field(default_factory=list)
    certificates: list[LoadedCertificate] = field(default_factory=list)
    bad_certificates: int = 0
    """CERTIFICATE blocks that do not parse, as Go parses them."""
    negative_serials: int = 0
    """Of those, the certificates with a negative serial number (which cryptography is to refuse)."""
    trailing_data: bool = False
    """Non-blank text after the first PEM block (MinIO refuses this in its key file)."""
    mode: int | None = None
    is_directory: bool = False
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """Files of a directory that could not be read (MinIO skips them silently)."""

    @property
    def ok(self) -> bool:
        return self.state is FileState.OK

    @property
    def key_blocks(self) -> list[PemBlock]:
        return [b for b in self.blocks if b.is_private_key]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.blocks]


@dataclass
class LoadedKey:
    state: KeyState
    key: object | None = None
    """A cryptography private key when `state` is OK."""
    block: PemBlock | None = None
    problem: str = ""

    def public_der(self) -> bytes | None:
        if self.key is None:
            return None
        return spki_der(self.key.public_key())


def spki_der(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def is_ca(certificate) -> bool:
    from cryptography import x509

    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
    except (ValueError, x509.DuplicateExtension):  # a malformed extension: such a file's certificate is not loaded
        return False


def parse_blocks(data: bytes) -> tuple[list[PemBlock], bool]:
    """The PEM blocks of `data` and whether anything but blanks follows the first block."""
    import base64
    import binascii

    blocks: list[PemBlock] = []
    for match in _BLOCK.finditer(data):
        label = match[1].decode("ascii")
        body = match[2]
        headers: list[tuple[str, str]] = []
        lines = body.splitlines()
        if any(b":" in line for line in lines[:3]):
            while lines and _HEADER.match(lines[0].strip()):
                name, value = _HEADER.match(lines[0].strip()).groups()
                headers.append((name.decode("ascii", "replace"), value.decode("ascii", "replace")))
                lines.pop(0)
        try:
            der = base64.b64decode(b"".join(line.strip() for line in lines), validate=True)
        except (binascii.Error, ValueError):
            der = None
        blocks.append(PemBlock(label, tuple(headers), der, match[0], data[: match.start()].count(b"\n") + 1,
                               match.end()))
    trailing = bool(blocks) and bool(data[blocks[0].end_offset:].strip())
    return blocks, trailing


def _parse_certificates(pem: PemFile, path: Path) -> None:
    from cryptography import x509

    for block in pem.blocks:
        if block.label != "CERTIFICATE":
            continue
        negative = block.der is not None and negative_serial(block.der)
        try:
            if block.der is None:
                raise ValueError
            if negative:
                with warnings.catch_warnings():  # process-wide state: only where needed (the doctor has threads)
                    warnings.simplefilter("ignore")  # cryptography's about a negative serial number: CRT042 says it
                    certificate = x509.load_der_x509_certificate(block.der)
            else:
                certificate = x509.load_der_x509_certificate(block.der)
            certificate.extensions  # parsed on first use: Go's parser refuses a malformed one as it reads the rest
        except (ValueError, x509.DuplicateExtension):
            pem.bad_certificates += 1
            pem.negative_serials += negative  # a cryptography that refuses such a number, as it announces
            continue
        pem.certificates.append(LoadedCertificate(certificate, path, len(pem.certificates), negative))


def negative_serial(der: bytes) -> bool:
    """Whether a certificate's serial number is negative, read from its DER (the certificate's SEQUENCE, its signed
    part's SEQUENCE, an optional [0] version, then the serial's INTEGER): cryptography warns about such a number
    on loading, and is to refuse it."""
    def content_start(at: int) -> int:
        size = der[at + 1]
        return at + 2 + (size & 0x7F if size & 0x80 else 0)

    try:
        position = content_start(content_start(0))
        if der[position] == 0xA0:
            position = content_start(position) + der[position + 1]
        return der[position] == 0x02 and der[position + 1] < 0x80 and bool(der[position + 2] & 0x80)
    except IndexError:
        return False


def _looks_like_der_certificate(data: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(data)
        return True
    except ValueError:
        return False


def _absent_or_unreadable(path: Path) -> PemFile | None:
    if "-----BEGIN " in str(path):
        # The PEM pasted where a file name belongs: KES and MinIO open it as a path and fail.
        return PemFile(path, FileState.MALFORMED, "KES and MinIO read this setting as the name of a "
                                                  "file to open")
    try:
        os.stat(path)
    except FileNotFoundError:
        return PemFile(path, FileState.ABSENT, "the file does not exist")
    except NotADirectoryError:
        return PemFile(path, FileState.ABSENT, "a parent of the path is not a directory")
    except PermissionError:
        return PemFile(path, FileState.UNREADABLE, "permission denied")
    except OSError as err:
        return PemFile(path, FileState.UNREADABLE, err.strerror or "cannot be read")
    except ValueError:
        return PemFile(path, FileState.UNREADABLE, "the path contains a NUL character")
    return None


def plain_file_state(path: Path) -> FileState:
    """Whether a file that is not PEM (the Vault service account token) is there to be read: ABSENT, UNREADABLE
    (a directory, a FIFO, no read permission) or OK. Its content is never read."""
    missing = _absent_or_unreadable(path)
    if missing is not None:
        return missing.state
    if not path.is_file() or not os.access(path, os.R_OK):
        return FileState.UNREADABLE
    return FileState.OK


def load_pem_file(path: Path) -> PemFile:
    """A single PEM file. `state` is MALFORMED when the file holds no PEM block at all."""
    missing = _absent_or_unreadable(path)
    if missing is not None:
        return missing
    try:
        data = read_bytes(path)
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except InputError as err:
        return PemFile(path, FileState.UNREADABLE, err.reason)
    except OSError as err:
        return PemFile(path, FileState.UNREADABLE, err.strerror or "cannot be read")
    return pem_of_data(path, data, mode)


def pem_of_data(path: Path, data: bytes, mode: int | None = None) -> PemFile:
    """The PEM file `path` that holds `data` (a file read, or a Kubernetes Secret's value a volume mounts there);
    `mode`: its permission bits, None when not known."""
    blocks, trailing = parse_blocks(data)
    pem = PemFile(path, FileState.OK, blocks=blocks, trailing_data=trailing, mode=mode)
    if not blocks:
        pem.state = FileState.MALFORMED
        if not data.strip():
            pem.problem = "the file is empty"
        elif _looks_like_der_certificate(data):
            pem.problem = "the file is a DER (binary) certificate; KES and MinIO read PEM only"
        else:
            pem.problem = "the file holds no PEM block (no '-----BEGIN ...-----' line)"
        return pem
    if any(b.der is None for b in blocks):
        bad = next(b for b in blocks if b.der is None)
        pem.state = FileState.MALFORMED
        pem.problem = f"the {bad.label} block at line {bad.line} is not valid base64"
        return pem
    _parse_certificates(pem, path)
    return pem


def load_ca_path(path: Path) -> PemFile:
    """A CA setting: one file, or a directory whose readable files hold the certificates."""
    missing = _absent_or_unreadable(path)
    if missing is not None or not path.is_dir():
        return missing or load_pem_file(path)
    pem = PemFile(path, FileState.OK, is_directory=True)
    try:
        entries = sorted(path.iterdir())[:MAX_DIRECTORY_FILES]
    except OSError as err:
        return PemFile(path, FileState.UNREADABLE, err.strerror or "cannot list the directory", is_directory=True)
    for entry in entries:
        if entry.is_dir():
            continue
        member = load_pem_file(entry)
        if member.state is FileState.UNREADABLE:
            pem.skipped.append((entry, member.problem))
            continue
        pem.blocks.extend(member.blocks)
        pem.bad_certificates += member.bad_certificates
        pem.negative_serials += member.negative_serials
        for loaded in member.certificates:
            pem.certificates.append(loaded)
    if not pem.certificates:
        pem.state = FileState.MALFORMED
        pem.problem = "the directory holds no readable PEM certificate" + (
            f" ({pem.negative_serials} with a negative serial number, which RFC 5280 forbids)"
            if pem.negative_serials else "")
    return pem


def load_private_key(pem: PemFile, password: bytes | None) -> LoadedKey:
    """The first private key block of `pem`, decrypted with `password` when it is encrypted.

    `password` None means "no password configured"; pass `unknown_password=True` through
    `load_private_key_unknown` when one is configured but cannot be resolved.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    blocks = pem.key_blocks
    if not blocks:
        return LoadedKey(KeyState.NONE, problem="the file holds no PEM private key block")
    block = blocks[0]
    if block.encrypted and not password:
        return LoadedKey(KeyState.NEEDS_PASSWORD, block=block, problem="the private key is encrypted")
    try:
        key = load_pem_private_key(block.text, password if block.encrypted else None)
    except ValueError:
        if block.encrypted:
            return LoadedKey(KeyState.WRONG_PASSWORD, block=block, problem="the password does not decrypt the key")
        return LoadedKey(KeyState.MALFORMED, block=block, problem=f"the {block.label} block is not a valid private key")
    except (TypeError, UnsupportedAlgorithm):
        return LoadedKey(KeyState.MALFORMED, block=block,
                         problem=f"the {block.label} block uses an unsupported key type or encryption")
    return LoadedKey(KeyState.OK, key=key, block=block)


def load_private_key_unknown_password(pem: PemFile) -> LoadedKey:
    """For a password that is configured but not resolvable: judge only what needs no password."""
    blocks = pem.key_blocks
    if blocks and blocks[0].encrypted:
        return LoadedKey(KeyState.PASSWORD_UNKNOWN, block=blocks[0])
    return load_private_key(pem, None)
