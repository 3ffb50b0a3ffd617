"""DEP001-DEP099: the MinIO env file against the KES config it talks to, without certificates."""
from __future__ import annotations

import ipaddress

from ..certs import is_loopback_host
from ..findings import Finding, Location, Severity
from ..load.kesconfig import env_reference
from .base import Example, at_line, rule
from ..minio_names import ENDPOINT
from .env_kms import kes_endpoints

KES_DEFAULT_ADDRESS = "0.0.0.0:7373"

_KES = """\
address: {address}
admin:
  identity: disabled
tls:
  key: /etc/kes/kes.key
  cert: /etc/kes/kes.crt
keystore:
  fs:
    path: /var/lib/kes
"""
_ENV = "MINIO_KMS_KES_ENDPOINT={endpoint}\nMINIO_KMS_KES_KEY_NAME=minio-key\n"


def _pair(address: str, endpoint: str, fails: bool) -> Example:
    return Example((("kes-config.yaml", _KES.format(address=address)), ("minio.env", _ENV.format(endpoint=endpoint))),
                   fails)


def kes_listen_address(kes):
    """(host, port, node or None) KES listens on; None when the address is a ${VAR} or unreadable."""
    node = kes.scalar("address")
    if node is not None and env_reference(node) is not None:
        return None
    text = node.text.strip() if node is not None else KES_DEFAULT_ADDRESS
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        return None
    return host.strip("[]"), int(port), node


def address_said(node) -> str:
    """Where KES's listening address comes from, for messages (`node`: the `address` scalar, or None)."""
    return f"`address: {node.text.strip()}`" if node is not None else f"no `address`, so the default {KES_DEFAULT_ADDRESS}"


def related_to(kes, node) -> tuple[Location, ...]:
    return (Location(kes.source.path, node.line, node.column),) if node is not None else ()


@rule("DEP001", "endpoint-port-mismatch", Severity.ERROR, "MinIO's KES endpoint port is not the port KES listens on",
      rationale="""MinIO connects to the port in each MINIO_KMS_KES_ENDPOINT URL (443 when the URL has none),
      KES listens on the port of its `address` (0.0.0.0:7373 when the config has none). When they differ,
      every KMS request from MinIO fails to connect, unless a proxy in between forwards the port.""",
      fix="Use the same port on both sides: typically `https://HOST:7373` with `address: 0.0.0.0:7373`.",
      examples=(_pair("0.0.0.0:7373", "https://kes.example.net", True),
                _pair("0.0.0.0:7000", "https://kes.example.net:7373", True),
                _pair("0.0.0.0:7373", "https://kes{1...2}.example.net:7373", False)))
def endpoint_port_mismatch(deployment):
    if deployment.kes is None:
        return
    listen = kes_listen_address(deployment.kes)
    if listen is None:
        return
    _, port, node = listen
    said = address_said(node)
    for env in deployment.envs:
        entry = env.get(ENDPOINT)
        if entry is None:
            continue
        for column, part, urls, _ in kes_endpoints(entry):
            wrong = sorted({url.effective_port for url in urls if url.effective_port != port})
            if not wrong:
                continue
            implicit = " (no port in the URL: https means 443)" if any(u.port is None for u in urls) else ""
            finding = at_line(env.source, entry.line, column,
                              f"`{part}` connects to port {', '.join(map(str, wrong))}{implicit}, but KES listens on "
                              f"port {port} ({said} in {deployment.kes.source.path})",
                              anchor=ENDPOINT, end_column=column + len(part))
            yield Finding(finding.location, finding.message, anchor=finding.anchor,
                          related=related_to(deployment.kes, node))


@rule("DEP002", "kes-listens-on-loopback", Severity.WARNING, "KES listens on loopback only, MinIO connects elsewhere",
      rationale="""A KES `address` on 127.0.0.1 or ::1 accepts connections from its own host only. An endpoint
      host that is not a loopback address reaches KES only if MinIO runs on the same machine and that name
      resolves to loopback there, which is rarely what was meant.""",
      fix="Bind KES to the interface MinIO reaches (or 0.0.0.0), or point MinIO at https://127.0.0.1:PORT.",
      examples=(_pair("127.0.0.1:7373", "https://10.0.0.5:7373", True),
                _pair("127.0.0.1:7373", "https://127.0.0.1:7373", False),
                _pair("127.0.0.1:7373", "https://kes.localhost:7373", False)))
def kes_listens_on_loopback(deployment):
    if deployment.kes is None:
        return
    listen = kes_listen_address(deployment.kes)
    if listen is None or not listen[0]:
        return
    host, _, node = listen
    try:
        if not ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        return
    for env in deployment.envs:
        entry = env.get(ENDPOINT)
        if entry is None:
            continue
        for column, part, urls, _ in kes_endpoints(entry):
            if any(not is_loopback_host(url.host) for url in urls):
                finding = at_line(env.source, entry.line, column,
                                  f"`{part}` is not a loopback address, but KES listens on {host} only "
                                  f"(`address` in {deployment.kes.source.path}): it accepts no connection from "
                                  "another host", anchor=ENDPOINT, end_column=column + len(part))
                yield Finding(finding.location, finding.message, anchor=finding.anchor,
                              related=related_to(deployment.kes, node))
