"""Checks on the KES host itself: the listener, the TLS files, and the mlock capability of the binary."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
from dataclasses import dataclass

from ..load.kesconfig import KesConfig, env_reference
from ..model import Deployment
from ..rules import doctor as doc
from .checks import Check

CAP_IPC_LOCK = 14
_VFS_CAP_REVISION_MASK = 0xFF000000
_VFS_CAP_FLAGS_EFFECTIVE = 0x000001
_VFS_CAP_WORDS = {0x01000000: 1, 0x02000000: 2, 0x03000000: 2}
"""Revision -> number of 32-bit capability words (v3 adds a root uid after them)."""


@dataclass(frozen=True)
class FileCapabilities:
    permitted: int
    inheritable: int
    effective: bool

    def has(self, capability: int) -> bool:
        return bool(self.permitted >> capability & 1)


def decode_vfs_capabilities(raw: bytes) -> FileCapabilities:
    """The `security.capability` xattr (struct vfs_cap_data / vfs_ns_cap_data, little endian)."""
    if len(raw) < 4:
        raise ValueError("capability attribute too short")
    magic = int.from_bytes(raw[:4], "little")
    words = _VFS_CAP_WORDS.get(magic & _VFS_CAP_REVISION_MASK)
    if words is None or len(raw) < 4 + 8 * words:
        raise ValueError(f"unknown capability revision {magic & _VFS_CAP_REVISION_MASK:#x}")
    permitted = inheritable = 0
    for index in range(words):
        offset = 4 + 8 * index
        permitted |= int.from_bytes(raw[offset:offset + 4], "little") << (32 * index)
        inheritable |= int.from_bytes(raw[offset + 4:offset + 8], "little") << (32 * index)
    return FileCapabilities(permitted, inheritable, bool(magic & _VFS_CAP_FLAGS_EFFECTIVE))


def file_capabilities(path: str) -> FileCapabilities | None:
    """None when the file carries no capabilities."""
    try:
        raw = os.getxattr(path, "security.capability")
    except OSError as err:
        if err.errno in (errno.ENODATA, getattr(errno, "ENOATTR", errno.ENODATA), errno.ENOTSUP):
            return None
        raise
    return decode_vfs_capabilities(raw)


def _split_address(text: str) -> tuple[str, int] | None:
    """(host, port) of `address`, or None when it has no port KES could listen on (KES101 reports which)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        return None  # a port of 99999 would otherwise be connected to modulo 65536
    return host, int(port)


def _listening(config: KesConfig, check: Check, timeout: float) -> None:
    check.anchor = "address"
    node = config.scalar("address")
    text = node.text.strip() if node else "0.0.0.0:7373"
    if env_reference(node) is not None:
        check.skip(f"`address` is {text}: set by KES's environment, not known here")
        return
    split = _split_address(text)
    if split is None:
        check.skip(f"`address: {text}` has no port KES can listen on (see the static checks)")
        return
    host, port = split
    target = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=timeout):
            check.ok(f"something accepts connections on {target} port {port} (`address: {text}`)")
    except ConnectionRefusedError:
        check.fail(doc.NOT_LISTENING, f"connection refused on {target} port {port}: nothing listens on `address: {text}`")
    except TimeoutError:
        check.fail(doc.NOT_LISTENING, f"no answer from {target} port {port} within {timeout:g} s (`address: {text}`)")
    except OSError as err:
        check.fail(doc.NOT_LISTENING, f"cannot connect to {target} port {port}: {err.strerror or err}")
    except UnicodeError:  # a label empty or longer than 63 characters: KES101 says the address is no IP address
        check.skip(f"`address: {text}` names no host kescheck can connect to (see the static checks)")


def _tls_file(config: KesConfig, deployment: Deployment, dotted: str, private: bool, check: Check) -> None:
    check.anchor = dotted
    node = config.scalar(dotted)
    if node is None or not node.text.strip():
        check.skip(f"`{dotted}` is not set")
        return
    if env_reference(node) is not None:
        check.skip(f"`{dotted}` is {node.text.strip()}: set by KES's environment, not known here")
        return
    path = deployment.resolve(node.text.strip(), config.source)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        check.fail(doc.TLS_FILE_UNREADABLE, f"{path} does not exist: KES refuses to start")
        return
    except OSError as err:
        check.fail(doc.TLS_FILE_UNREADABLE, f"{path}: {err.strerror or err}")
        return
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode) or not os.access(path, os.R_OK):
        check.fail(doc.TLS_FILE_UNREADABLE, f"{path} (mode {mode:04o}) is not a file the current user can read; "
                                            "if KES runs as this user it refuses to start")
        return
    if private and mode & 0o004:
        check.warn(doc.PRIVATE_KEY_EXPOSED, f"{path} has mode {mode:04o}: every user on this host can read KES's "
                                            "private key")
        return
    check.ok(f"{path} is readable (mode {mode:04o}){'' if not private else ', not by other users'}")


def _mlock(check: Check) -> None:
    found = shutil.which("kes")
    if found is None:
        check.skip("no `kes` binary on PATH")
        return
    binary = os.path.realpath(found)
    if not hasattr(os, "getxattr"):
        check.skip("this system has no extended attributes to hold file capabilities")
        return
    try:
        capabilities = file_capabilities(binary)
    except (OSError, ValueError) as err:
        check.skip(f"cannot read the capabilities of {binary}: {err}")
        return
    if capabilities is not None and capabilities.has(CAP_IPC_LOCK) and capabilities.effective:
        check.ok(f"{binary} has cap_ipc_lock=ep: KES can lock its memory without root")
    elif capabilities is not None and capabilities.has(CAP_IPC_LOCK):
        check.warn(doc.CANNOT_MLOCK, f"{binary} has cap_ipc_lock permitted but not effective (+p without +e)")
    else:
        check.warn(doc.CANNOT_MLOCK, f"{binary} lacks cap_ipc_lock: unless KES runs as root, it cannot lock its "
                                     "memory and keys may reach swap")


def kes_host_checks(config: KesConfig, deployment: Deployment, timeout: float) -> Check:
    node = Check(f"KES host ({config.source.path})")
    _listening(config, node.add(Check("listening on `address`")), timeout)
    _tls_file(config, deployment, "tls.cert", False, node.add(Check("tls.cert file")))
    _tls_file(config, deployment, "tls.key", True, node.add(Check("tls.key file")))
    _mlock(node.add(Check("kes binary: cap_ipc_lock (mlock)")))
    return node
