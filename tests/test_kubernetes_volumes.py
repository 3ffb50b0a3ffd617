"""Certificates and keys that Kubernetes volumes mount from the Secrets and ConfigMaps of the same manifest: the
certificate, identity and SAN checks run on them as on files. Certificates are made at test time, relative to now."""
from __future__ import annotations

import base64
import json

import pytest

from certgen import issue
from kescheck.engine import lint
from kescheck.identity import identity_of_certificate
from tests.test_minio_containers import MINIO_STATEFULSET

CA = issue("Local CA", ca=True)
KES_CERT = issue("kes", issuer=CA, dns=("kes.minio.svc.cluster.local",), eku=("server",))
MINIO_CERT = issue("minio", issuer=CA, eku=("client",))
OTHER_CERT = issue("other", issuer=CA, eku=("client",))


def indented(pem: bytes, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in pem.decode().splitlines())


def manifest(identity: str, *, endpoint: str = "https://kes.minio.svc.cluster.local:7373", kes_cert=KES_CERT,
             kes_volume: str = "{name: tls, secret: {secretName: kes-tls}}",
             kes_mount: str = "{name: tls, mountPath: /etc/kes/tls}") -> str:
    """The KES config in a ConfigMap, KES's TLS Secret (base64 `data`), MinIO's client Secret (`stringData`), and the
    two workloads that mount them."""
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: kes-config}}
data:
  config.yaml: |
    address: 0.0.0.0:7373
    admin: {{identity: disabled}}
    tls: {{key: /etc/kes/tls/tls.key, cert: /etc/kes/tls/tls.crt}}
    policy:
      minio:
        allow: [/v1/key/create/minio-*, /v1/key/generate/minio-*, /v1/key/decrypt/minio-*]
        identities: [{identity}]
    cache: {{expiry: {{any: 5m0s, unused: 20s, offline: 1h}}}}
    keystore: {{vault: {{endpoint: "https://vault:8200", approle: {{id: kes, secret: "${{SECRET}}"}}}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: kes-tls}}
type: kubernetes.io/tls
data:
  tls.crt: {base64.b64encode(kes_cert.cert_pem()).decode()}
  tls.key: {base64.b64encode(kes_cert.key_pem()).decode()}
---
apiVersion: v1
kind: Secret
metadata: {{name: minio-kes-client}}
stringData:
  client.crt: |
{indented(MINIO_CERT.cert_pem(), 4)}  client.key: |
{indented(MINIO_CERT.key_pem(), 4)}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: kes}}
spec:
  template:
    spec:
      containers:
        - name: kes
          image: quay.io/minio/kes:2024-01-11T13-09-29Z
          args: [server, --config=/etc/kes/config.yaml]
          env: [{{name: SECRET, valueFrom: {{secretKeyRef: {{name: vault, key: secret}}}}}}]
          volumeMounts:
            - {kes_mount}
      volumes:
        - {kes_volume}
---
{MINIO_STATEFULSET}\
            - {{name: MINIO_KMS_KES_ENDPOINT, value: "{endpoint}"}}
            - {{name: MINIO_KMS_KES_KEY_NAME, value: minio-key}}
            - {{name: MINIO_KMS_KES_CERT_FILE, value: /certs/client.crt}}
            - {{name: MINIO_KMS_KES_KEY_FILE, value: /certs/client.key}}
            - {{name: MINIO_KMS_KES_CAPATH, value: /etc/kes/tls/tls.crt}}
          volumeMounts:
            - {{name: kes-client, mountPath: /certs}}
            - {{name: kes-ca, mountPath: /etc/kes/tls}}
      volumes:
        - {{name: kes-client, secret: {{secretName: minio-kes-client}}}}
        - {{name: kes-ca, secret: {{secretName: kes-tls, items: [{{key: tls.crt, path: tls.crt}}]}}}}
"""


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def test_mounted_certificates_are_checked_as_files(write):
    path = write("kes.yaml", manifest(identity_of_certificate(MINIO_CERT.certificate)))
    result = lint([path])
    assert "CRT001" not in codes(result)  # every certificate and key is found in the manifest
    assert not codes(result) & {"DEP100", "DEP102", "CRT021", "CRT010", "CRT011", "CRT020"}


def test_the_identity_and_san_checks_run_on_mounted_certificates(write):
    path = write("kes.yaml", manifest(identity_of_certificate(OTHER_CERT.certificate),
                                      endpoint="https://kes.minio.svc:7373"))
    result = lint([path])
    by_code = {f.code: f for f in result.findings}
    unbound = by_code["DEP100"]
    assert identity_of_certificate(MINIO_CERT.certificate) in unbound.message
    assert "host 'kes.minio.svc'" in by_code["CRT021"].message and "DEP102" in by_code
    assert ("'/etc/kes/tls/tls.crt' (key 'tls.crt' of Secret 'kes-tls' in "
            f"{path}, mounted into the container)") in by_code["CRT021"].message


def test_an_expired_mounted_certificate(write):
    expired = issue("kes", issuer=CA, dns=("kes.minio.svc.cluster.local",), eku=("server",), days=10,
                    not_before_days=-20)
    result = lint([write("kes.yaml", manifest(identity_of_certificate(MINIO_CERT.certificate), kes_cert=expired))])
    expiries = sorted(f.message.split(" '/")[0] for f in result.findings if f.code == "CRT010")
    # KES serves it, and MinIO trusts it as its CA (MINIO_KMS_KES_CAPATH mounts the same Secret key).
    assert expiries == ["the CA MinIO verifies KES against (MINIO_KMS_KES_CAPATH)", "the KES server certificate"]


@pytest.mark.parametrize("volume, mount, found", [
    ("{name: tls, secret: {secretName: kes-tls, items: [{key: tls.crt, path: server.crt}]}}",
     "{name: tls, mountPath: /etc/kes/tls}", False),  # mounted as server.crt: tls.crt is not there
    ("{name: tls, secret: {secretName: kes-tls}}", "{name: tls, mountPath: /etc/kes/tls/tls.crt, subPath: tls.crt}",
     True),  # one key as the file itself
    ("{name: tls, secret: {secretName: not-in-this-manifest}}", "{name: tls, mountPath: /etc/kes/tls}", False),
], ids=["items-rename", "sub-path", "secret-elsewhere"])
def test_which_keys_a_volume_mounts_where(write, volume, mount, found):
    path = write("kes.yaml", manifest(identity_of_certificate(MINIO_CERT.certificate), kes_volume=volume,
                                      kes_mount=mount))
    missing = [f.message for f in lint([path]).findings if f.code == "CRT001" and f.message.startswith("tls.cert")]
    assert (missing == []) is found


def test_mounted_secret_values_are_never_shown(cli, write, tmp_path):
    path = write("kes.yaml", manifest(identity_of_certificate(OTHER_CERT.certificate)))
    key_base64 = base64.b64encode(KES_CERT.key_pem()).decode()
    minio_key_line = MINIO_CERT.key_pem().decode().splitlines()[1]
    for fmt in ("plain", "json", "sarif"):
        out = cli("lint", str(path), "--format", fmt).stdout
        assert key_base64 not in out and minio_key_line not in out
    assert json.loads(cli("lint", str(tmp_path), "--format", "json").stdout)["findings"]
