"""Certificates and keys that Kubernetes volumes mount from the Secrets and ConfigMaps of the same manifest: the
certificate, identity and SAN checks run on them as on files. Certificates are made at test time, relative to now."""
from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgen import issue
from kescheck.engine import lint
from kescheck.identity import identity_of_certificate
from tests.test_fuzz import CI_BUDGET
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


PROJECTED_TLS = ("{name: tls, projected: {sources: [{secret: {name: kes-tls, items: [{key: tls.crt, path: tls.crt}]}}, "
                 "{secret: {name: kes-tls, items: [{key: tls.key, path: tls.key}]}}]}}")


@pytest.mark.parametrize("volume, missing", [
    (PROJECTED_TLS, []),
    ("{name: tls, projected: {sources: [{secret: {name: kes-tls}}, {configMap: {name: not-in-this-manifest}}]}}", []),
    ("{name: tls, projected: {sources: [{secret: {name: kes-tls, items: [{key: tls.crt, path: tls.crt}]}}]}}",
     ["tls.key"]),
], ids=["two-sources", "one-source-elsewhere", "key-left-out"])
def test_projected_volumes_mount_their_sources(write, volume, missing):
    path = write("kes.yaml", manifest(identity_of_certificate(MINIO_CERT.certificate), kes_volume=volume))
    result = lint([path])
    assert sorted(f.message.split(" ")[0] for f in result.findings if f.code == "CRT001") == missing
    assert "DEP100" not in codes(result) and "CRT021" not in codes(result)


def test_a_projected_certificate_is_checked_against_the_policies(write):
    path = write("kes.yaml", manifest(identity_of_certificate(OTHER_CERT.certificate),
                                      kes_volume=PROJECTED_TLS, endpoint="https://kes.minio.svc:7373"))
    assert {"DEP100", "CRT021"} <= codes(lint([path]))


def kes_pod(config: str, *, pod: str = "", container: str = "", before: str = "",
            args: str = "[server, --config=/etc/kes/config.yaml]") -> str:
    """A ConfigMap holding the KES config `config`, the whole documents `before`, then a Deployment whose container runs
    KES's image with `args`; `pod` and `container` are more lines of the pod spec and of the container."""
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kes-config}\ndata:\n  config.yaml: |\n"
            + "".join(f"    {line}\n" for line in config.splitlines()) + "---\n" + before
            + "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kes}\nspec:\n  template:\n    spec:\n"
            + "".join(f"      {line}\n" for line in pod.splitlines())
            + "      containers:\n        - name: kes\n          image: quay.io/minio/kes:2024-01-11T13-09-29Z\n"
            + "".join(f"          {line}\n" for line in [f"args: {args}", *container.splitlines()]))


TOKEN_CONFIG = ("admin: {{identity: disabled}}\ntls: {{key: /etc/kes/tls/tls.key, cert: /etc/kes/tls/tls.crt}}\n"
                "keystore:\n  vault:\n    endpoint: https://vault:8200\n    kubernetes: {{role: kes, jwt: {jwt}}}\n")
SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: kes}\nautomountServiceAccountToken: false\n---\n"
DEFAULT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
TOKEN_SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-jwt\n"
                "  annotations: {kubernetes.io/service-account.name: kes}\ntype: kubernetes.io/service-account-token\n---\n")


def token_findings(write, jwt: str, *, pod: str = "", container: str = "", extra: str = "", **options):
    from kescheck.model import Options

    text = kes_pod(TOKEN_CONFIG.format(jwt=jwt), pod=pod, container=container, before=extra)
    result = lint([write("kes.yaml", text)], Options(**options))
    return {f.code: f for f in result.findings
            if f.code in ("SYS011", "CRT001", "KES107") and "keystore.vault.kubernetes.jwt" in f.message}


@pytest.mark.parametrize("jwt, pod, container, extra, fires", [
    (DEFAULT_TOKEN, "automountServiceAccountToken: false", "", "", True),
    (DEFAULT_TOKEN, "serviceAccountName: kes", "", SERVICE_ACCOUNT, True),
    (DEFAULT_TOKEN, "serviceAccountName: kes\nautomountServiceAccountToken: true", "", SERVICE_ACCOUNT, False),
    (DEFAULT_TOKEN, "serviceAccountName: other", "", SERVICE_ACCOUNT, None),
    (DEFAULT_TOKEN, "", "", "", None),
    ("/var/run/secrets/kubernetes.io/serviceaccount/jwt", "automountServiceAccountToken: true", "", "", True),
    ("/etc/kes/token", "automountServiceAccountToken: true", "", "", True),
    ("/etc/kes/vault/token", "volumes: [{name: t, secret: {secretName: vault-jwt}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/vault}]", "", None),
    ("/etc/kes/vault/token", "volumes: [{name: t, secret: {secretName: vault-jwt, items: [{key: jwt, path: token}]}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/vault}]", "", False),
    # a Secret of the token type: Kubernetes fills in `token`, `ca.crt` and `namespace`
    ("/etc/kes/vault/token", "volumes: [{name: t, secret: {secretName: vault-jwt}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/vault}]", TOKEN_SECRET, False),
    ("/etc/kes/vault/jwt", "volumes: [{name: t, secret: {secretName: vault-jwt}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/vault}]", TOKEN_SECRET, True),
    ("/etc/kes/token", "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: vault}}]}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/token, subPath: vault}]", "", False),
    ("/etc/kes/token", "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: vault}}]}}]",
     "volumeMounts: [{name: t, mountPath: /etc/kes/token, subPath: other}]", "", True),
    (DEFAULT_TOKEN, "automountServiceAccountToken: true\n"
                    "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: vault}}]}}]",
     f"volumeMounts: [{{name: t, mountPath: '{DEFAULT_TOKEN.rsplit('/', 1)[0]}'}}]", "", True),
    (DEFAULT_TOKEN, "automountServiceAccountToken: true\n"
                    "volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: vault}}]}}]",
     "volumeMounts: [{name: t, mountPath: /var/run/secrets}]", "", False),
], ids=["turned-off", "service-account-turns-off", "pod-turns-on", "other-service-account", "pod-silent",
        "not-the-token", "nothing-mounted", "secret-elsewhere", "secret-items", "token-secret", "token-secret-other-key",
        "sub-path", "sub-path-other",
        "own-volume-over-the-token", "own-volume-above-the-token"])
def test_the_vault_token_in_kes_pod(write, jwt, pod, container, extra, fires):
    """fires: True (SYS011), False (the pod has it: no finding, not even CRT001's note), None (not known: CRT001)."""
    found = token_findings(write, jwt, pod=pod, container=container, extra=extra)
    assert ("SYS011" in found) is (fires is True)
    assert ("CRT001" in found) is (fires is None)
    assert "KES107" not in token_findings(write, jwt, pod=pod, container=container, extra=extra, require_files=True) \
        or fires is None


def test_the_token_finding_says_why_and_points_at_the_container(write):
    found = token_findings(write, "/var/run/secrets/tokens/token",
                           pod="volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: vault-token}}]}}]",
                           container="volumeMounts: [{name: t, mountPath: /var/run/secrets/tokens}]")["SYS011"]
    assert "container 'kes' of Deployment 'kes'" in found.message
    assert "does not have: the volume mounted at '/var/run/secrets/tokens' (line 24) " in found.message
    assert "holds 'vault-token', not 'token'" in found.message and "KES refuses to start" in found.message
    assert (found.location.line, found.location.column) == (11, 38)
    assert [(r.line, r.column) for r in found.related] == [(23, 11)]  # its `args:`
    turned_off = token_findings(write, DEFAULT_TOKEN, pod="serviceAccountName: kes", extra=SERVICE_ACCOUNT)["SYS011"]
    assert "its ServiceAccount 'kes' in the same file sets `automountServiceAccountToken: false`" in turned_off.message


def split_manifest(write, text: str) -> dict[str, object]:
    """Each document of `text` in a file of its own, named after its object (`Secret-kes-tls.yaml`), as repositories
    often keep them; returns the paths by file name."""
    paths = {}
    for document in text.split("\n---\n"):
        kind = next(line.split(": ", 1)[1] for line in document.splitlines() if line.startswith("kind: "))
        name = next(line for line in document.splitlines() if line.startswith("metadata:")).split("name: ")[1]
        file_name = f"{kind}-{name.strip('{} ').split(',')[0]}.yaml"
        paths[file_name] = write(file_name, document.rstrip("\n") + "\n")
    return paths


def test_secrets_in_other_files_of_the_directory_are_mounted(write, tmp_path):
    paths = split_manifest(write, manifest(identity_of_certificate(OTHER_CERT.certificate),
                                           endpoint="https://kes.minio.svc:7373"))
    assert sorted(paths) == ["ConfigMap-kes-config.yaml", "Deployment-kes.yaml", "Secret-kes-tls.yaml",
                             "Secret-minio-kes-client.yaml", "StatefulSet-minio.yaml"]
    result = lint([tmp_path])
    assert "CRT001" not in codes(result)
    by_code = {f.code: f for f in result.findings}
    assert "DEP100" in by_code and "DEP102" in by_code
    assert f"(key 'tls.crt' of Secret 'kes-tls' in {paths['Secret-kes-tls.yaml']}, mounted into the container)" \
        in by_code["CRT021"].message


def test_the_manifest_holding_a_name_wins_over_other_files(write, tmp_path):
    text = manifest(identity_of_certificate(MINIO_CERT.certificate))
    write("kes.yaml", text)
    expired = issue("kes", issuer=CA, dns=("kes.minio.svc.cluster.local",), eku=("server",), days=10,
                    not_before_days=-20)
    write("old-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: kes-tls}\ndata:\n"
                             f"  tls.crt: {base64.b64encode(expired.cert_pem()).decode()}\n")
    assert "CRT010" not in codes(lint([tmp_path]))


def test_a_name_in_two_other_files_is_not_known(write, tmp_path):
    split_manifest(write, manifest(identity_of_certificate(MINIO_CERT.certificate)))
    (tmp_path / "Secret-kes-tls-copy.yaml").write_text((tmp_path / "Secret-kes-tls.yaml").read_text())
    missing = [f.message for f in lint([tmp_path]).findings if f.code == "CRT001"]
    assert any(message.startswith("tls.cert") for message in missing)


def test_a_changed_secret_file_checks_the_workload_that_mounts_it(write, tmp_path):
    """pre-commit names only the renewed Secret: the Deployment beside it is what the change affects."""
    from kescheck.model import Options

    expired = issue("kes", issuer=CA, dns=("kes.minio.svc.cluster.local",), eku=("server",), days=10,
                    not_before_days=-20)
    paths = split_manifest(write, manifest(identity_of_certificate(MINIO_CERT.certificate), kes_cert=expired))
    result = lint([paths["Secret-kes-tls.yaml"]], Options(by_content=True))
    assert "CRT010" in codes(result)
    unrelated = write("other/Secret-unrelated.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    assert lint([unrelated], Options(by_content=True)).findings == []


def test_other_files_secret_values_are_never_shown(cli, write, tmp_path):
    split_manifest(write, manifest(identity_of_certificate(OTHER_CERT.certificate)))
    key_base64 = base64.b64encode(KES_CERT.key_pem()).decode()
    minio_key_line = MINIO_CERT.key_pem().decode().splitlines()[1]
    for fmt in ("plain", "json", "sarif"):
        out = cli("lint", str(tmp_path), "--format", fmt).stdout
        assert "DEP100" in out and key_base64 not in out and minio_key_line not in out


def test_a_service_account_in_another_file_turns_the_token_off(write, tmp_path):
    write("ServiceAccount-kes.yaml", SERVICE_ACCOUNT.removesuffix("---\n"))
    found = token_findings(write, DEFAULT_TOKEN, pod="serviceAccountName: kes")["SYS011"]
    assert f"its ServiceAccount 'kes' in {tmp_path / 'ServiceAccount-kes.yaml'} sets" in found.message


def test_other_files_are_read_within_a_budget(write, tmp_path, monkeypatch):
    """A directory of huge YAML files is no deployment's: past the budget, other files are not parsed."""
    import kescheck.load.containers as containers

    split_manifest(write, manifest(identity_of_certificate(MINIO_CERT.certificate)))
    monkeypatch.setattr(containers, "_NEIGHBOUR_BYTES", 10)
    assert "CRT001" in codes(lint([tmp_path]))


KEYS = ["tls.crt", "tls.key", "ca.crt", "token", "sub/dir.pem"]
volume_sources = st.one_of(
    st.builds(lambda name, items: {"secret": {"secretName": name, **({"items": items} if items is not None else {})}},
              st.sampled_from(["in-manifest", "elsewhere"]),
              st.none() | st.lists(st.builds(lambda k, p: {"key": k, "path": p}, st.sampled_from(KEYS),
                                             st.sampled_from(["a", "b/c", "token", "tls.crt"])), max_size=3)),
    st.builds(lambda sources: {"projected": {"sources": sources}}, st.lists(st.one_of(
        st.builds(lambda name: {"secret": {"name": name}}, st.sampled_from(["in-manifest", "elsewhere"])),
        st.builds(lambda path: {"serviceAccountToken": {"path": path}}, st.sampled_from(["token", "vault/jwt"]))),
        max_size=3)),
    st.just({"emptyDir": {}}))
mounts = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["/etc/kes", "/etc/kes/tls", "/var/run/secrets",
                                                                 "/var/run/secrets/kubernetes.io/serviceaccount"]),
                            st.none() | st.sampled_from(["tls.crt", "sub", "token", "a"])), max_size=3)


@CI_BUDGET
@given(st.lists(volume_sources, min_size=1, max_size=3), mounts, st.sampled_from([None, True, False]))
def test_what_a_pod_holds_agrees_with_what_its_volumes_mount(volumes, mounted, token):
    """Every Secret value a volume mounts is a file the pod holds; a path that no mount and no token reaches is not."""
    from pathlib import Path

    from kescheck.load.kubernetes import kubernetes_manifest
    from kescheck.load.source import SourceFile

    pod = {"volumes": [{"name": f"v{index}", **volume} for index, volume in enumerate(volumes)],
           "containers": [{"name": "kes", "image": "minio/kes", "args": ["server", "--config=/c.yaml"],
                           "volumeMounts": [{"name": f"v{index % len(volumes)}", "mountPath": target,
                                             **({"subPath": sub} if sub else {})} for index, target, sub in mounted]}]}
    if token is not None:
        pod["automountServiceAccountToken"] = token
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "in-manifest"},
              "stringData": {key: f"value of {key}" for key in KEYS}}
    workload = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kes"},
                "spec": {"template": {"spec": pod}}}
    text = json.dumps(secret) + "\n---\n" + json.dumps(workload)
    [container] = kubernetes_manifest(SourceFile(Path("/nonexistent-dir/kes.yaml"), text)).containers.kes
    for value in container.mounted_values:
        assert container.holds(value.target)[0] is True, value
    verdict, why = container.holds("/opt/nothing/here")
    assert verdict is False and why == "no volume of the container is mounted at or above that path"


def test_kustomize_generators_make_the_secrets_a_workload_mounts(write, tmp_path):
    """`secretGenerator:` takes the certificate files of the repository: they are checked as the pod sees them."""
    documents = manifest(identity_of_certificate(OTHER_CERT.certificate), endpoint="https://kes.minio.svc:7373")
    workloads = [d for d in documents.split("\n---\n") if "kind: Secret" not in d]
    write("kes.yaml", "\n---\n".join(workloads))
    write("certs/kes.crt", KES_CERT.cert_pem())
    write("certs/tls.key", KES_CERT.key_pem())
    write("minio/client.crt", MINIO_CERT.cert_pem())
    write("minio/client.key", MINIO_CERT.key_pem())
    write("kustomization.yaml", "resources: [kes.yaml]\nsecretGenerator:\n"
                                "  - name: kes-tls\n    files: [tls.crt=certs/kes.crt, certs/tls.key]\n"
                                "  - name: minio-kes-client\n    files: [minio/client.crt, minio/client.key]\n"
                                "  - name: unrelated\n    behavior: merge\n    literals: [a=b]\n")
    result = lint([tmp_path / "kes.yaml"])
    by_code = {f.code: f for f in result.findings}
    assert "CRT001" not in by_code and "DEP100" in by_code
    assert f"(key 'tls.crt' of Secret 'kes-tls' in {tmp_path / 'kustomization.yaml'}, mounted into the container)" \
        in by_code["CRT021"].message
    from kescheck.model import Options

    assert "DEP100" in codes(lint([tmp_path / "kustomization.yaml"], Options(by_content=True)))  # pre-commit's naming
    merged = (tmp_path / "kustomization.yaml").read_text().replace("name: minio-kes-client\n",
                                                                    "name: minio-kes-client\n    behavior: merge\n")
    write("kustomization.yaml", merged)  # it changes an object made elsewhere: what that object holds is not known
    assert [f.message.split(" ")[0] for f in lint([tmp_path / "kes.yaml"]).findings if f.code == "CRT001"] == [
        "MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE"]
    (tmp_path / "certs/kes.crt").unlink()  # a generator whose file is missing makes nothing: back to "not here"
    assert "CRT001" in codes(lint([tmp_path / "kes.yaml"]))


def test_kustomize_generators_give_envfrom_its_variables(write, tmp_path):
    write("kes.yaml", kes_pod("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                              "keystore: {vault: {endpoint: 'https://v:8200', approle: {id: '${ID}', secret: '${S}'}}}\n",
                              container="envFrom: [{configMapRef: {name: kes-env}}, {secretRef: {name: kes-secret}}]"))
    write("vault.env", "# the role\nID=kes-role\n")
    write("kustomization.yaml", "namespace: minio\nconfigMapGenerator:\n  - {name: kes-env, envs: [vault.env]}\n"
                                "secretGenerator:\n  - {name: kes-secret, literals: [S=s3cr3t-approle-secret]}\n")
    findings = lint([tmp_path / "kes.yaml"]).findings
    assert not [f for f in findings if f.code in ("KES100", "KES213")], [f.message for f in findings]


FS_CONFIG = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/lib/kes/keys}}\n"


@pytest.mark.parametrize("pod, container, problem", [
    ("", "", "is on no volume of container 'kes' of Deployment 'kes': it is in the container's own file system"),
    ("volumes: [{name: k, emptyDir: {medium: Memory}}]", "volumeMounts: [{name: k, mountPath: /var/lib/kes}]",
     "is on the `emptyDir` volume mounted at '/var/lib/kes' (line 21 of"),
    ("volumes: [{name: k, secret: {secretName: keys}}]", "volumeMounts: [{name: k, mountPath: /var/lib/kes/keys}]",
     "is on the read-only secret mounted at '/var/lib/kes/keys' (line 21 of"),
    ("volumes: [{name: k, hostPath: {path: /srv/kes}}, {name: e, emptyDir: {}}]",
     "volumeMounts: [{name: e, mountPath: /var/lib}, {name: k, mountPath: /var/lib/kes}]", None),
    ("volumes: [{name: k, persistentVolumeClaim: {claimName: c}}]",
     "volumeMounts: [{name: k, mountPath: /var/lib/kes, readOnly: false}]", None),
    ("", "securityContext: {readOnlyRootFilesystem: true}",
     "whose own file system is read-only (`readOnlyRootFilesystem: true`): KES cannot store a key there"),
], ids=["no-volume", "empty-dir", "secret", "deepest-mount-decides", "claim", "read-only-root"])
def test_where_a_pod_keeps_the_fs_keystore(write, pod, container, problem):
    path = write("kes.yaml", kes_pod(FS_CONFIG, pod=pod, container=container))
    found = [f for f in lint([path]).findings if f.code == "SYS013"]
    assert [problem in f.message for f in found] == ([True] if problem else [])
    if found:
        assert (found[0].location.line, found[0].location.column) == (8, 27) and found[0].related[0].line == 19 + bool(pod)  # its `args:`


def test_kustomize_generators_read_nothing_outside_their_directory(write, tmp_path):
    """As kustomize's own load restriction: a repository cannot make kescheck read the CI host's files."""
    outside = write("outside/secret.pem", KES_CERT.key_pem())
    write("base/kes.yaml", "\n---\n".join(d for d in manifest(identity_of_certificate(MINIO_CERT.certificate))
                                          .split("\n---\n") if "kind: Secret" not in d))
    (tmp_path / "base/link.pem").symlink_to(outside)
    for source in (str(outside), "../outside/secret.pem", "link.pem"):
        write("base/kustomization.yaml", f"secretGenerator:\n  - name: kes-tls\n    files: [tls.key={source}]\n")
        missing = [f.message for f in lint([tmp_path / "base/kes.yaml"]).findings if f.code == "CRT001"]
        assert any(message.startswith("tls.key") for message in missing), source


def test_a_ca_directory_that_a_volume_fills(write):
    """MINIO_KMS_KES_CAPATH may name a directory: the certificates of the files a volume puts there are MinIO's CAs
    (here the Secret's private key lies beside its certificate, as a `kubernetes.io/tls` Secret holds both)."""
    expired = issue("kes", issuer=CA, dns=("kes.minio.svc.cluster.local",), eku=("server",), days=10,
                    not_before_days=-20)
    text = manifest(identity_of_certificate(MINIO_CERT.certificate), kes_cert=expired).replace(
        "{name: MINIO_KMS_KES_CAPATH, value: /etc/kes/tls/tls.crt}", "{name: MINIO_KMS_KES_CAPATH, value: /etc/kes/tls}"
    ).replace("{name: kes-ca, secret: {secretName: kes-tls, items: [{key: tls.crt, path: tls.crt}]}}",
              "{name: kes-ca, secret: {secretName: kes-tls}}")
    result = lint([write("kes.yaml", text)])
    expiries = [f.message for f in result.findings if f.code == "CRT010"]
    assert any(m.startswith("the CA MinIO verifies KES against (MINIO_KMS_KES_CAPATH) '/etc/kes/tls' (key 'tls.crt'")
               for m in expiries), expiries
    assert not [f for f in result.findings if f.code == "CRT001" and "MINIO_KMS_KES_CAPATH" in f.message]


SELF_SIGNED_KES = issue("kes", dns=("kes.minio.svc.cluster.local",), eku=("server",))


@pytest.mark.parametrize("args, ca_volume, trusted", [
    ("[server, --certs-dir, /tmp/certs, /data]", "{name: kes-ca, secret: {secretName: kes-tls}}", True),
    ("[server, '-S=/tmp/certs', /data]", "{name: kes-ca, secret: {secretName: kes-tls}}", True),
    ("[server, /data]", "{name: kes-ca, secret: {secretName: kes-tls}}", False),  # the default certs dir: unknown
    ("[server, --certs-dir, /tmp/certs, /data]", "{name: kes-ca, secret: {secretName: minio-kes-client}}", False),
], ids=["certs-dir", "short-flag", "no-certs-dir", "other-certificates"])
def test_a_containers_certs_dir_holds_the_cas_without_capath(write, args, ca_volume, trusted):
    """Without MINIO_KMS_KES_CAPATH, MinIO trusts `<certs-dir>/CAs`: a volume mounted there is read."""
    text = manifest(identity_of_certificate(MINIO_CERT.certificate), kes_cert=SELF_SIGNED_KES).replace(
        "            - {name: MINIO_KMS_KES_CAPATH, value: /etc/kes/tls/tls.crt}\n", "").replace(
        "image: quay.io/minio/minio\n", f"image: quay.io/minio/minio\n          args: {args}\n").replace(
        "{name: kes-ca, mountPath: /etc/kes/tls}", "{name: kes-ca, mountPath: /tmp/certs/CAs}").replace(
        "{name: kes-ca, secret: {secretName: kes-tls, items: [{key: tls.crt, path: tls.crt}]}}", ca_volume)
    found = [f.message for f in lint([write("kes.yaml", text)]).findings if f.code == "CRT024"]
    assert (found == []) is trusted, found
    if found and "--certs-dir" in args:
        assert "'/tmp/certs/CAs' (key 'client.crt' of Secret 'minio-kes-client'" in found[0]
        assert "(--certs-dir of container 'minio' of StatefulSet 'minio')" in found[0]


@pytest.mark.parametrize("kustomized, written, listed, fires", [
    ("minio", "default", True, True),  # kustomize moves the workload to minio, beside the Secret it generates
    ("minio", "", True, True),
    ("minio", "default", False, False),  # not one of its resources: the workload stays in default
])
def test_a_kustomization_namespace_replaces_the_namespace_its_resources_write(write, tmp_path, kustomized, written,
                                                                             listed, fires):
    """kustomize sets its `namespace:` on every object of its `resources:`, so the Secret it generates is in the
    same namespace as a workload whose file says `namespace: default`."""
    write("kustomization.yaml", f"namespace: {kustomized}\nresources: [{'kes.yaml' if listed else 'other.yaml'}]\n"
                                "secretGenerator:\n- name: vault-jwt\n  literals: [token=a-jwt]\n")
    text = kes_pod(TOKEN_CONFIG.format(jwt="/etc/kes/vault/jwt"),
                   pod="volumes: [{name: t, secret: {secretName: vault-jwt}}]",
                   container="volumeMounts: [{name: t, mountPath: /etc/kes/vault}]")
    if written:
        text = text.replace("metadata: {name: kes}", f"metadata: {{name: kes, namespace: {written}}}")
    write("kes.yaml", text)
    found = [f for f in lint([tmp_path / "kes.yaml"]).findings if f.code == "SYS011"]
    assert bool(found) is fires  # known: the generated Secret holds 'token', not 'jwt'
