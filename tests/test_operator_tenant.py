"""MinIO Operator Tenants with a `spec.kes` section: the operator runs KES with the Tenant's image and `spec.kes.env`
(and sets MINIO_KES_IDENTITY), and gives the Tenant's MinIO pods their KMS settings (MINIO_KMS_KES_KEY_NAME from
`keyName`). The KES config is the Secret's `server-config.yaml`, linted in place."""
from __future__ import annotations

from kescheck.engine import lint
from kescheck.model import Options

OLD_CONFIG = """\
    address: 0.0.0.0:7373
    root: _
    tls: {key: /tmp/kes/server.key, cert: /tmp/kes/server.crt}
    policy:
      my-policy:
        paths: [/v1/key/create/my-minio-key, /v1/key/generate/my-minio-key, /v1/key/decrypt/my-minio-key]
        identities: ["${MINIO_KES_IDENTITY}"]
    keys:
      fs: {path: /data/keys}
"""
CONFIG = """\
    address: 0.0.0.0:7373
    admin: {identity: disabled}
    tls: {key: /tmp/kes/server.key, cert: /tmp/kes/server.crt}
    policy:
      minio:
        allow: [/v1/key/create/my-minio-key, /v1/key/generate/my-minio-key, /v1/key/decrypt/my-minio-key]
        identities: ["${MINIO_KES_IDENTITY}"]
    cache: {expiry: {any: 5m0s, unused: 20s, offline: 1h}}
    keystore: {vault: {endpoint: "https://vault:8200", approle: {id: "${ROLE_ID}", secret: "${SECRET_ID}"}}}
"""
SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {{name: kes-configuration}}\nstringData:\n  server-config.yaml: |\n{config}"


def tenant(kes: str = "", spec: str = "") -> str:
    return ("apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: myminio}\nspec:\n"
            "  pools: [{servers: 4, volumesPerServer: 4}]\n" + "".join(f"  {line}\n" for line in spec.splitlines())
            + "  kes:\n    kesSecret: {name: kes-configuration}\n" + "".join(f"    {line}\n" for line in kes.splitlines()))


ENV = ("env:\n  - {name: ROLE_ID, valueFrom: {secretKeyRef: {name: vault, key: id}}}\n"
       "  - {name: SECRET_ID, valueFrom: {secretKeyRef: {name: vault, key: secret}}}")


def findings(write, *files: tuple[str, str], **options):
    paths = [write(name, text) for name, text in files]
    result = lint([paths[0].parent], Options(**options))
    return result, {f.code for f in result.findings}


def test_the_tenant_image_names_the_release_the_config_is_judged_for(write):
    result, codes = findings(write, ("tenant.yaml", SECRET.format(config=OLD_CONFIG) + "---\n"
                                     + tenant("image: minio/kes:2024-01-11T13-09-29Z")))
    assert "KES013" in codes and "KES221" not in codes  # refusals of the release the Tenant runs, not "outdated"
    assert any("from the image minio/kes:2024-01-11T13-09-29Z of the KES StatefulSet the MinIO Operator makes for Tenant "
               "'myminio'" in note for f in result.files for note in [str(f.kes.generation_reason)] if f.kes)
    _, without_image = findings(write, ("other/tenant.yaml", SECRET.format(config=OLD_CONFIG) + "---\n" + tenant()))
    assert "KES221" in without_image and "KES013" not in without_image


def test_the_operator_sets_minio_kes_identity_and_spec_kes_env_the_rest(write):
    result, codes = findings(write, ("tenant.yaml", SECRET.format(config=CONFIG) + "---\n" + tenant(ENV)))
    assert "KES100" not in codes, [f.message for f in result.findings if f.code == "KES100"]
    result, _ = findings(write, ("other/tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
                                 + tenant(ENV.rsplit("\n", 1)[0])))
    [unset] = [f for f in result.findings if f.code == "KES100"]
    assert "`${SECRET_ID}`" in unset.message and "`spec.kes.env` of Tenant 'myminio'" in unset.message


def test_the_minio_pods_get_the_key_name_and_what_the_operator_sets(write):
    result, codes = findings(write, ("tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
                                     + tenant(ENV + "\nkeyName: 'my minio key'")))
    [invalid] = [f for f in result.findings if f.code == "ENV105"]
    assert (invalid.location.line, invalid.location.column) == (26, 15) and "`my minio key`" in invalid.message
    assert not codes & {"ENV051", "ENV053", "ENV111"}  # the operator sets the rest: nothing is missing
    _, codes = findings(write, ("other/tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
                                + tenant(ENV + "\nkeyName: ''\nimage: ''")))
    assert "ENV105" not in codes  # empty: the operator's default key name (its examples say so)


def test_a_tenant_in_a_file_of_its_own_joins_the_config_beside_it(write):
    write("kes-configuration.yaml", SECRET.format(config=CONFIG))
    path = write("tenant.yaml", tenant(ENV + "\nimage: quay.io/minio/kes:2024-01-11T13-09-29Z"))
    result = lint([path.parent], Options(kes_version="0.22"))
    assert "SYS010" in {f.code for f in result.findings}  # the Tenant's image and --kes-version disagree
    assert "KES100" not in {f.code for f in lint([path.parent]).findings}


def test_a_tenant_without_kes_is_not_read(write):
    path = write("tenant.yaml", "apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: t}\nspec:\n"
                                "  pools: [{servers: 4, volumesPerServer: 4}]\n")
    assert lint([path.parent]).files == []


def test_values_of_secret_variables_in_spec_kes_env_are_never_shown(cli, write, tmp_path):
    write("tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
          + tenant("env:\n  - {name: ROLE_ID, value: role-id-7f3a}\n  - {name: SECRET_ID, value: s3cr3t-vault-9d2c}"))
    for fmt in ("plain", "json", "sarif"):
        out = cli("lint", str(tmp_path), "--format", fmt).stdout
        assert "s3cr3t-vault-9d2c" not in out


def test_a_tenant_whose_config_is_not_among_the_inputs_says_so(write):
    path = write("tenant.yaml", tenant(ENV))
    [note] = [f for f in lint([path]).findings if f.code == "SYS006"]
    assert "`kesSecret` names Secret 'kes-configuration'" in note.message and note.location.line == 7
    assert not [f for f in lint([write("tenant.yaml", SECRET.format(config=CONFIG) + "---\n" + tenant(ENV))]).findings
                if f.code == "SYS006"]


def test_the_policy_naming_the_operators_identity_is_minios(write):
    """The operator sets MINIO_KES_IDENTITY to the identity of MinIO's client certificate: the policy that names
    `${MINIO_KES_IDENTITY}` is MinIO's, and must allow what MinIO does with the key `keyName` names."""
    other_key = CONFIG.replace("my-minio-key", "other-key")
    result, codes = findings(write, ("tenant.yaml", SECRET.format(config=other_key) + "---\n"
                                     + tenant(ENV + "\nkeyName: my-minio-key")))
    denied = [f for f in result.findings if f.code == "POL021"]
    assert denied and all("MinIO's policy `minio`" in f.message and "key `my-minio-key`" in f.message for f in denied)
    assert denied[0].related[0].line == 26  # at `keyName`
    _, codes = findings(write, ("ok/tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
                                + tenant(ENV + "\nkeyName: my-minio-key")))
    assert not codes & {"POL020", "POL021", "POL025"}
    # With MINIO_KES_IDENTITY set in spec.kes.env, the operator sets nothing: which identity MinIO has is not known
    _, codes = findings(write, ("own/tenant.yaml", SECRET.format(config=other_key) + "---\n"
                                + tenant(ENV + "\n  - {name: MINIO_KES_IDENTITY, value: abc}\nkeyName: my-minio-key")))
    assert "POL021" not in codes


def test_minio_as_the_admin_has_no_policy_to_check(write):
    as_admin = CONFIG.replace("admin: {identity: disabled}", "admin: {identity: '${MINIO_KES_IDENTITY}'}").replace(
        "my-minio-key", "other-key")
    _, codes = findings(write, ("tenant.yaml", SECRET.format(config=as_admin) + "---\n"
                                + tenant(ENV + "\nkeyName: my-minio-key")))
    assert "KES102" in codes and "POL021" not in codes  # KES refuses the config; no policy of MinIO's to judge


def test_an_identity_written_for_the_operators_certificate(write):
    by_hand = ENV + "\n  - {name: MINIO_KES_IDENTITY, value: abc}"
    result, codes = findings(write, ("tenant.yaml", SECRET.format(config=CONFIG) + "---\n" + tenant(by_hand)))
    [overridden] = [f for f in result.findings if f.code == "SYS014"]
    assert (overridden.location.line, overridden.location.column) == (26, 16)  # the name in the item
    assert "the MinIO Operator does not set it" in overridden.message
    _, codes = findings(write, ("own/tenant.yaml", SECRET.format(config=CONFIG) + "---\n"
                                + tenant(by_hand + "\nclientCertSecret: {name: minio-client}")))
    assert "SYS014" not in codes
