"""kubelet's `httpGet` probes of KES's container (SYS012): plain requests without a client certificate, which KES
answers only on its port, over TLS, on a route its config serves with `skip_auth`."""
from __future__ import annotations

import pytest

from kescheck.engine import lint
from kescheck.model import Options
from tests.test_kubernetes_volumes import kes_pod
from tests.test_minio_containers import MINIO_STATEFULSET

CONFIG = ("{address}admin: {{identity: disabled}}\ntls: {{key: /etc/kes/tls/tls.key, cert: /etc/kes/tls/tls.crt}}\n"
          "keystore: {{fs: {{path: /var/lib/kes}}}}\n{api}")
PORTS = "ports: [{name: https, containerPort: 7373}]\n"
READY_SERVED = "api: {/v1/ready: {skip_auth: true}}\n"


def probe_findings(write, probes: str, *, api: str = READY_SERVED, address: str = "",
                   args: str = "[server, --config=/etc/kes/config.yaml]", **options):
    text = kes_pod(CONFIG.format(address=f"address: {address}\n" if address else "", api=api), args=args,
                   container=PORTS + probes)
    result = lint([write("kes.yaml", text)], Options(**options))
    return [f for f in result.findings if f.code == "SYS012"]


@pytest.mark.parametrize("probe, fails", [
    ("readinessProbe: {httpGet: {path: /v1/ready, port: 7373, scheme: HTTPS}}", False),
    ("readinessProbe: {httpGet: {path: /v1/ready, port: https, scheme: https}}", False),
    ("readinessProbe: {httpGet: {path: '/v1/ready?verbose=1', port: 7373, scheme: HTTPS}}", False),
    ("livenessProbe: {tcpSocket: {port: 7373}}", False),
    ("livenessProbe: {exec: {command: [kes, status]}}", False),
    ("readinessProbe: {httpGet: {host: 10.0.0.1, path: /, port: 80}}", False),
    ("readinessProbe: {httpGet: {path: /v1/ready, port: 7373}}", True),
    ("livenessProbe: {httpGet: {path: /v1/ready, port: 7373, scheme: HTTP}}", True),
    ("startupProbe: {httpGet: {path: /v1/ready, port: 7000, scheme: HTTPS}}", True),
    ("readinessProbe: {httpGet: {path: /v1/status, port: 7373, scheme: HTTPS}}", True),
    ("readinessProbe: {httpGet: {port: 7373, scheme: HTTPS}}", True),
    ("readinessProbe: {httpGet: {path: /v1/ready, port: metrics, scheme: HTTPS}}", False),
], ids=["served", "named-port", "query", "tcp", "exec", "other-host", "plain-http", "scheme-http", "other-port",
        "route-not-served", "root-path", "unknown-named-port"])
def test_which_probes_always_fail(write, probe, fails):
    assert bool(probe_findings(write, probe)) is fails


def test_the_finding_names_the_probe_the_container_and_the_consequence(write):
    [plain] = probe_findings(write, "readinessProbe:\n  httpGet: {path: /v1/ready, port: 7373}")
    assert (plain.location.line, plain.location.column) == (23, 5 + 8)
    assert plain.message.startswith("The readinessProbe of container 'kes' of Deployment 'kes' sends plain HTTP")
    assert "KES speaks only TLS" in plain.message and "never marks the pod Ready" in plain.message
    [route] = probe_findings(write, "livenessProbe: {httpGet: {path: /v1/ready, port: 7373, scheme: HTTPS}}", api="")
    assert "does not serve it without one (`api./v1/ready.skip_auth: true`)" in route.message
    assert "restarts KES again and again" in route.message and route.location.column == 43
    [not_a_route] = probe_findings(write, "livenessProbe: {httpGet: {path: /healthz, port: 7373, scheme: HTTPS}}")
    assert "no KES route" in not_a_route.message


def test_the_port_kes_listens_on(write):
    https = "readinessProbe: {httpGet: {path: /v1/ready, port: 7000, scheme: HTTPS}}"
    [wrong] = probe_findings(write, https)
    assert "connects to port 7000, but KES listens on port 7373 (no `address`" in wrong.message
    assert probe_findings(write, https, address="0.0.0.0:7000") == []
    [moved] = probe_findings(write, https.replace("7000", "7373"), address="0.0.0.0:7000")
    assert "`address: 0.0.0.0:7000`" in moved.message and moved.related[0].line == 6
    [named] = probe_findings(write, https.replace("7000", "https"), address="0.0.0.0:7000")
    assert "connects to port 7373" in named.message  # the container's port named `https`
    # `kes server --addr` sets the port on the command line: the config's is then not the one KES listens on
    assert probe_findings(write, https, args="[server, --config=/etc/kes/config.yaml, --addr=:7000]") == []


def test_a_release_that_ignores_api_serves_nothing_without_a_certificate(write):
    served = "readinessProbe: {httpGet: {path: /v1/ready, port: 7373, scheme: HTTPS}}"
    assert probe_findings(write, served, kes_version="2024-01-11T13-09-29Z") == []
    assert probe_findings(write, served, kes_version="2023-02-15T14-54-37Z")


def test_minio_probes_are_not_kes_probes(write):
    text = (kes_pod(CONFIG.format(address="", api=READY_SERVED), container=PORTS) + "---\n" + MINIO_STATEFULSET.replace("env:\n", "readinessProbe: {httpGet: {path: /minio/health/ready, "
                                                           "port: 9000}}\n          env:\n", 1)
            + "            - {name: MINIO_KMS_KES_ENDPOINT, value: 'https://kes:7373'}\n")
    assert not [f for f in lint([write("kes.yaml", text)]).findings if f.code == "SYS012"]
