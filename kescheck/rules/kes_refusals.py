"""KES100-KES199: conditions under which KES refuses to start that need more than one value.

Single values (types, allowed values, required keys, names) are the schema's (kes_schema.py).
"""
from __future__ import annotations

import ipaddress

from ..findings import Severity
from ..load.kesconfig import (IN_MEMORY_ERA_KEYSTORES, Generation, KesConfig, KeystoreEra, as_released, env_reference,
                              identities_key, is_policy_identity_path, keystore_era, predates, reads_key, release_date,
                              semantic_version, shell_expansion, target_release, unset_variable_is_empty)
from ..load.pem import FileState, plain_file_state
from ..load.yamldoc import YMap, YNode, YScalar, YSeq
from ..material import HIDDEN, kes_resolved, kes_value, material, pods_decide, shown_value, substitution_note
from ..schema import path_parts, subschema_at
from .base import KES_EXAMPLE_FILE, Example, at_node, rule
from .kes_env import substituted_references
from .kes_schema import edge_g1

_FS = "keystore: {fs: {path: /var/kes}}\n"
_BASE = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
_G0_VAULT = ("root: _\ntls: {{key: /k, cert: /c}}\nkeystore:\n  vault:\n    endpoint: {endpoint}\n"
             "    approle: {{id: {id}, secret: ''}}\n    kubernetes: {{role: {role}, jwt: ''}}\n")
ID_A = "9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b"
ID_B = "0c8a7e2b1f1e4d3c9b8a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a"


def _scalars(node: YNode | None) -> list[YScalar]:
    if isinstance(node, YSeq):
        return [item for item in node.items if isinstance(item, YScalar) and not item.is_null]
    return []


def admin_identity(config: KesConfig) -> YScalar | None:
    return config.scalar("root") if config.generation is Generation.G0 else config.scalar("admin.identity")


def proxy_identities(config: KesConfig) -> list[YScalar]:
    return _scalars(config.find("proxy.identities" if config.generation is Generation.G0 else "tls.proxy.identities"))


def policy_identities(config: KesConfig) -> list[tuple[str, YScalar]]:
    policies = config.find("policy")
    found = []
    if isinstance(policies, YMap):
        for name, body in policies.entries:
            if isinstance(body, YMap):
                found.extend((name.text, identity)
                             for identity in _scalars(body.get(identities_key(config.target_version))))
    return found


@rule("KES100", "env-variable-unset", Severity.ERROR, "A `${VAR}` the KES environment does not set",
      rationale="""KES replaces a value written as `${NAME}` with the environment variable NAME when it
      starts, and refuses to start when that variable is not set (`kesconf: referenced env. variable
      'NAME' in line 'N' not found`; KES 0.22 to 2023-02-15: `keserv: env variable 'NAME' not found`). KES up to
      0.21 instead substitutes an unset variable as the empty string, without a word: for those releases
      KES108 reports the required settings that end up empty and KES222 a keystore that does. This rule runs
      when kescheck knows the environment KES starts with: `--kes-env FILE`, or the systemd unit that starts KES
      among the inputs, whose environment holds its `Environment=` and `EnvironmentFile=` assignments and the
      variables systemd sets itself (`HOME` with `User=`, `CREDENTIALS_DIRECTORY` with `LoadCredential=`, ...), or
      the Compose service or Kubernetes container that runs KES, whose environment holds its `environment:` and
      `env_file:` files (Compose) or `envFrom:` and `env:` (Kubernetes; `envFrom:` as far as the manifest holds its
      ConfigMaps and Secrets) and what the runtime sets (`PATH`,
      `HOSTNAME`, `HOME`; Kubernetes' variables of the namespace's Services). A variable set to a value kescheck
      cannot know (`PassEnvironment=`, `INVOCATION_ID`, `${VAR}` that Compose fills in, `valueFrom`) counts as
      set.""",
      fix="Set the variable in the environment KES starts with (systemd `Environment=`/`EnvironmentFile=`, "
          "the container's env), or write the value into the file if it is not a secret.",
      examples=(Example.kes("admin: {identity: '${KES_ADMIN}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n",
                            True, options=(("kes_env", {}),)),
                Example.kes("admin: {identity: '${KES_ADMIN}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n",
                            False, options=(("kes_env", {"KES_ADMIN": "disabled"}),))))
def env_variable_unset(deployment):
    config, env = deployment.kes, deployment.options.kes_env
    if config is None or env is None:
        return
    if unset_variable_is_empty(config.generation, deployment.options.kes_version):
        return  # KES <= 0.21 substitutes the empty string: KES108 and KES222 judge the empty values
    for name, node in substituted_references(config):
        if name not in env and shell_expansion(name) is None:  # `${VAR:-x}` is KES216's
            why = (deployment.options.kes_env_unset or {}).get(name)
            yield at_node(config.source, node, f"`{node.path}` refers to `${{{name}}}`, which "
                          f"{deployment.options.kes_environment()} does not set{f' ({why})' if why else ''}: "
                          f"KES refuses to start (`{_not_found(config, deployment.options.kes_version, name)}`)")


def _not_found(config: KesConfig, kes_version: str | None, name: str) -> str:
    if config.generation is not Generation.G2 and predates(kes_version, "2023-04-03"):
        return f"keserv: env variable '{name}' not found"
    return f"referenced env. variable '{name}' ... not found"


def _refused_when_empty(generation: str, path: str) -> str | None:
    """Why KES refuses an empty value at `path`: the schema marks such values `minLength` 1."""
    schema = subschema_at(generation, path_parts(path))
    if not schema or schema.get("minLength", 0) < 1:
        return None
    return schema.get("x-kes-refusal") or f"`{path}` must not be empty"


_EMPTY_ADMIN = "admin: {identity: '${KES_ADMIN}'}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"


@rule("KES108", "env-variable-empty", Severity.ERROR, "A required `${VAR}` the KES environment sets to nothing",
      rationale="""KES substitutes a variable that is set but empty as the empty string. For a setting KES
      needs (`admin.identity`, `tls.key`, `tls.cert`, a keystore's endpoint or credentials such as the Vault
      approle `id` and `secret`) the setting is then missing, and an empty policy identity fails KES's name
      rule (`kes: identity '' is empty, too long or contains invalid characters`): KES refuses to start
      either way. A deployment tool that renders a missing secret as an empty variable causes this. KES up to
      0.21 substitutes an unset variable as the empty string too, so for those releases an unset variable counts
      here. An empty keystore field counts for the releases from 2023-04-03 on (`edge: invalid vault keystore: no
      endpoint specified`); older releases skip such a keystore instead (KES222). This rule runs when kescheck
      knows the environment KES starts with (`--kes-env FILE`, or the systemd unit, Compose service or Kubernetes
      container that starts KES), and never judges a variable set to a value it cannot know (a unit's
      `PassEnvironment=`, a container's `valueFrom`).""",
      fix="Give the variable its value in the environment KES starts with, or write the value into the file.",
      examples=(Example.kes(_EMPTY_ADMIN, True, options=(("kes_env", {"KES_ADMIN": ""}),)),
                Example.kes(_EMPTY_ADMIN, False, options=(("kes_env", {"KES_ADMIN": "disabled"}),))))
def env_variable_empty(deployment):
    config, env = deployment.kes, deployment.options.kes_env
    if config is None or env is None:
        return
    unset_is_empty = unset_variable_is_empty(config.generation, deployment.options.kes_version)
    for name, node in substituted_references(config):
        value = env.get(name, "" if unset_is_empty else "unset")
        if value is None or value.strip():
            continue  # None: set to a value kescheck cannot know
        if is_policy_identity_path(node.path):
            reason = "an empty policy identity is refused (`kes: identity '' is empty, too long or contains invalid characters`)"
        else:
            reason = _refused_when_empty(config.generation.name, node.path)
            if reason is None and edge_g1(deployment) and node.path.startswith("keystore.") \
                    and reads_key(node.path, deployment.options.kes_version):
                reason = _refused_when_empty(Generation.G2.name, node.path)  # 2023-04-03 to 2023-09-28 (C2)
        if reason is None:
            continue
        reason = as_released(reason, deployment.options.kes_version)
        how = ("sets to an empty value" if name in env else
               f"does not set, and {target_release(config.generation, deployment.options.kes_version)} substitutes an empty value")
        yield at_node(config.source, node, f"`{node.path}` refers to `${{{name}}}`, which "
                      f"{deployment.options.kes_environment()} {how}: "
                      f"KES refuses to start, {reason}")


def _address_problem(text: str) -> str | None:
    host, sep, port = text.rpartition(":")
    if not sep:
        return "has no port (`missing port in address`)"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return "is an IPv6 address without brackets (write `[::]:7373`)"
    if not port.isdigit() or int(port) > 65535:
        return f"has the invalid port `{port}`"
    if host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"names the host `{host}`, but KES listens only on an IP address (`'{host}' is not a valid IP address`)"
    return None


@rule("KES101", "address-not-ip-port", Severity.ERROR, "`address` is not an IP address with a port",
      rationale="""KES listens on `address`, which must be an IP literal or an empty host followed by a port
      (`0.0.0.0:7373`, `:7373`, `[::]:7373`). A host name (`localhost:7373`) or a missing port makes KES
      refuse to start. `address: ${VAR}` is judged by the value of VAR when kescheck knows KES's environment.""",
      fix="Write an IP address and port, e.g. `0.0.0.0:7373` for every interface or `127.0.0.1:7373` for loopback only.",
      examples=(Example.kes("address: kes.example.net:7373\n" + _BASE + _FS, True),
                Example.kes("address: 0.0.0.0:7373\n" + _BASE + _FS, False)))
def address_not_ip_port(deployment):
    config = deployment.kes
    if config is None:
        return
    node = config.scalar("address")
    if node is None or env_reference(node) is None and "${" in node.text:
        return  # KES214: a reference inside a longer value
    address = kes_value(deployment, node)
    if address is None:
        return  # not set, or a reference whose value is unknown (KES213) or empty (KES108)
    problem = _address_problem(address)
    if problem:
        shown = shown_value(node, address)
        if shown == HIDDEN:
            problem = "is not an IP address with a port"  # its parts may be parts of the secret
        yield at_node(config.source, node, f"`address`{substitution_note(node, address)} {problem}: KES refuses to start")


@rule("KES102", "identity-reused-as-admin-or-proxy", Severity.ERROR,
      "The admin or a TLS proxy identity also appears as a proxy or in a policy",
      rationale="""The admin identity bypasses every policy and a TLS proxy only forwards other clients'
      certificates, so KES refuses to start when a proxy identity equals the admin identity or a policy
      lists the admin or a proxy identity (`kesconf: invalid policy 'P': identity 'I' is already admin`).""",
      fix="Give each client its own certificate: remove the identity from the policy (or the proxy list), or "
          "switch the admin off with `admin.identity: disabled`.",
      examples=(Example.kes(f"admin: {{identity: {ID_A}}}\ntls: {{key: /k, cert: /c}}\npolicy:\n  minio:\n    allow: [/v1/status]\n"
                            f"    identities: [{ID_A}]\n" + _FS, True),
                Example.kes(f"admin: {{identity: {ID_A}}}\ntls: {{key: /k, cert: /c}}\npolicy:\n  minio:\n    allow: [/v1/status]\n"
                            f"    identities: [{ID_B}]\n" + _FS, False)))
def identity_reused(deployment):
    config = deployment.kes
    if config is None:
        return
    admin = as_kes_sees_it(deployment, admin_identity(config))
    proxies = {as_kes_sees_it(deployment, p) for p in proxy_identities(config)} - {None}
    for proxy in proxy_identities(config):
        if admin is not None and as_kes_sees_it(deployment, proxy) == admin:
            yield at_node(config.source, proxy, f"TLS proxy identity {shown_value(proxy, admin)} is also the admin "
                          "identity: KES refuses to start (`invalid tls proxy: identity ... is already admin`)")
    for policy, identity in policy_identities(config):
        value = as_kes_sees_it(deployment, identity)
        if value is None:
            continue
        shown = shown_value(identity, value)
        if value == admin:
            yield at_node(config.source, identity, f"policy `{policy}` lists the admin identity {shown}: KES refuses to "
                          f"start (`invalid policy '{policy}': identity '...' is already admin`)")
        elif value in proxies:
            yield at_node(config.source, identity, f"policy `{policy}` lists the TLS proxy identity {shown}: KES "
                          f"refuses to start (`invalid policy '{policy}': identity '...' is already a TLS proxy`)")


def as_kes_sees_it(deployment, node) -> str | None:
    """A value (an identity, a key name) as KES compares it with others: a `${VAR}` replaced from the KES environment,
    or, when its value is not known here, the reference itself (two identical references are one value, whatever
    it is); None when not set."""
    value = kes_value(deployment, node)
    if value is None and isinstance(node, YScalar) and env_reference(node) is not None:
        return node.text.strip()
    return value


@rule("KES103", "identity-in-several-policies", Severity.ERROR, "One identity is bound to more than one policy",
      rationale="""An identity has exactly one policy. KES refuses to start when two policies (or one policy
      twice) list the same identity (`kes: cannot assign policy 'P' to 'I': identity already has a policy`),
      and which policy it names varies from start to start.""",
      fix="Merge the policies' allow and deny lists into one policy for that identity, or give the client a "
          "separate certificate for the second role.",
      examples=(Example.kes(_BASE + f"policy:\n  a:\n    allow: [/v1/status]\n    identities: [{ID_A}]\n"
                            f"  b:\n    allow: [/v1/metrics]\n    identities: [{ID_A}]\n" + _FS, True),
                Example.kes(_BASE + f"policy:\n  a:\n    allow: [/v1/status]\n    identities: [{ID_A}]\n"
                            f"  b:\n    allow: [/v1/metrics]\n    identities: [{ID_B}]\n" + _FS, False)))
def identity_in_several_policies(deployment):
    config = deployment.kes
    if config is None:
        return
    first: dict[str, tuple[str, YScalar]] = {}
    for policy, identity in policy_identities(config):
        value = as_kes_sees_it(deployment, identity)
        if value is None:
            continue
        if value in first:
            other, earlier = first[value]
            where = f"policy `{other}` (line {earlier.line})" if other != policy else f"line {earlier.line} of the same policy"
            yield at_node(config.source, identity, f"identity {shown_value(identity, value)} in policy `{policy}` is "
                          f"already bound by {where}: KES refuses to start (`identity already has a policy`)")
        else:
            first[value] = (policy, identity)


@rule("KES104", "duplicate-key-name", Severity.ERROR, "The same key name twice under `keys`",
      rationale="KES refuses to start when `keys` names a key twice (`kesconf: invalid key config: key 'K' is defined multiple times`).",
      fix="Remove the second entry.",
      examples=(Example.kes(_BASE + "keys:\n  - name: minio-key\n  - name: minio-key\n" + _FS, True),
                Example.kes(_BASE + "keys:\n  - name: minio-key\n  - name: other-key\n" + _FS, False)))
def duplicate_key_name(deployment):
    config = deployment.kes
    keys = config.find("keys") if config is not None and config.generation is Generation.G2 else None
    if not isinstance(keys, YSeq):
        return
    seen: dict[str, int] = {}
    for item in keys.items:
        node = item.get("name") if isinstance(item, YMap) else None
        name = as_kes_sees_it(deployment, node)
        if name is not None:
            if name in seen:
                shown = shown_value(node, name)
                yield at_node(config.source, node, f"key {shown} is already defined at line {seen[name]}: KES refuses to "
                              f"start (`key '{name if shown != HIDDEN else '...'}' is defined multiple times`)")
            else:
                seen[name] = node.line


# Where each G2 keystore lives under `keystore`; a keystore counts when its mapping is present.
G2_KEYSTORES = ("fs", "encryptedfs", "vault", "fortanix.sdkms", "gemalto.keysecure", "gcp.secretmanager",
                "aws.secretsmanager", "azure.keyvault", "entrust.keycontrol", "credhub")


def configured_keystores(config: KesConfig, names: tuple[str, ...] = G2_KEYSTORES) -> list[tuple[str, YNode]]:
    """The keystores among `names` whose section is present (not null)."""
    found = []
    for dotted in names:
        node = config.find(f"keystore.{dotted}")
        if node is not None and not (isinstance(node, YScalar) and node.is_null):
            found.append((dotted, node))
    return found


# The keystores the releases of 2023-04-03 to 2023-09-28 (generation G1) count, each by its mapping alone.
_G1_COUNTED_KEYSTORES = ("fs", "kes", "vault", "fortanix.sdkms", "gemalto.keysecure", "gcp.secretmanager",
                         "aws.secretsmanager", "azure.keyvault", "entrust.keycontrol")
_PRECEDENCE = "fs, generic, vault, fortanix, aws, gcp, azure, gemalto"


def _keystore_key(config: KesConfig, dotted: str, node: YNode) -> YNode:
    """The key naming `keystore.<dotted>` (`vault:`), where findings about that keystore point."""
    parent, _, last = f"keystore.{dotted}".rpartition(".")
    owner = config.find(parent)
    return (owner.key_node(last) if isinstance(owner, YMap) else None) or node


def recognised_keystores(deployment) -> list[tuple[str, YNode]]:
    """The keystores KES <= 2023-02-15 sees, in the order it picks among them: those whose key field (fs `path`,
    vault `endpoint`, gcp `project_id`, ...) is not empty once `${VAR}` is resolved. A value kescheck cannot
    resolve (no --kes-env) counts as set."""
    config = deployment.kes
    found = []
    for dotted, field in IN_MEMORY_ERA_KEYSTORES:
        node = config.find(f"keystore.{dotted}")
        if isinstance(node, YMap) and kes_resolved(deployment, node.get(field)) != "":
            found.append((dotted, node))
    return found


def _ambiguous_quote(kes_version: str | None) -> str:
    semver = semantic_version(kes_version)
    if semver is not None and semver < (0, 17, 3) or semver is None and not kes_version:
        return "(`ambiguous configuration: ...`)"  # G0: the wording varied up to v0.17.2
    return "(`yml: ambiguous KMS configuration: ... KMS key store specified at the same time`)"


def _glob_era_second_keystores(deployment):
    """(dotted, node, message) for each keystore beyond the first, as the target glob-era release treats it."""
    config, version = deployment.kes, deployment.options.kes_version
    era = keystore_era(config.generation, version)
    release = target_release(config.generation, version)
    if era is KeystoreEra.COUNTED:  # 2023-04-03 to 2023-09-28: as current KES, by the mappings present
        names = [n for n in _G1_COUNTED_KEYSTORES if n != "entrust.keycontrol" or not predates(version, "2023-07-26")]
        stores = configured_keystores(config, names)
        for name, node in stores[1:]:
            yield name, node, (f"`keystore.{name}` is a second keystore besides `keystore.{stores[0][0]}`: {release} "
                               "refuses to start (`edge: invalid keystore config: more than once keystore specified`)")
        return
    if era is None:  # G1 without --kes-version: detect_generation never gives that (a glob-era file is G0 then)
        return
    stores = recognised_keystores(deployment)
    for name, node in stores[1:]:
        if era is KeystoreEra.AMBIGUOUS_REFUSED:
            yield name, node, (f"`keystore.{name}` is a second keystore besides `keystore.{stores[0][0]}`: {release} "
                               f"refuses to start {_ambiguous_quote(version)}")
        else:
            yield name, node, (f"`keystore.{name}` is a second keystore besides `keystore.{stores[0][0]}`: {release} "
                               f"silently uses `keystore.{stores[0][0]}` (the first in its fixed order {_PRECEDENCE}) "
                               f"and ignores `keystore.{name}`, so keys are created and looked up in "
                               f"`keystore.{stores[0][0]}` alone")


@rule("KES105", "keystore-count", Severity.ERROR, "No keystore, or more than one",
      rationale="""KES needs exactly one keystore (the root KMS that holds its keys). With none (for example
      only the ignored `keystore.kes`, or a misspelt backend) or with two, current KES refuses to start
      (`kesconf: no keystore specified`, `more than once keystore specified`). A file without any
      `keystore` key is reported by KES013. Older KES differs (a config for it is checked against the release
      named with --kes-version, or the whole range of its generation): with two keystores KES 0.17 to 0.21
      refuses to start (`ambiguous KMS configuration`), while KES 0.22.0 to 2023-02-15 silently uses the first
      in a fixed order (fs, generic, vault, fortanix, aws, gcp, azure, gemalto) and ignores the other, so keys
      end up in a store nobody meant; those releases count a keystore only when its key field (fs `path`, vault
      `endpoint`, gcp `project_id`, ...) is not empty. With none they run on memory alone: KES222.""",
      fix="Configure exactly one of fs, vault, fortanix.sdkms, gemalto.keysecure, gcp.secretmanager, "
          "aws.secretsmanager, azure.keyvault or entrust.keycontrol under `keystore`.",
      examples=(Example.kes(_BASE + "keystore:\n  fs: {path: /var/kes}\n  vault:\n    endpoint: https://v:8200\n"
                            "    approle: {id: a, secret: '${S}'}\n", True),
                Example.kes(_BASE + "keystore:\n  fs: {path: /var/kes}\n  vault:\n    endpoint: https://v:8200\n"
                            "    approle: {id: a, secret: '${S}'}\n", True,
                            "KES 0.22 uses the fs keystore and ignores Vault", options=(("kes_version", "0.22"),)),
                Example.kes(_BASE + _FS, False)))
def keystore_count(deployment):
    config = deployment.kes
    if config is None or config.root is None:
        return
    key = config.root.key_node("keystore")
    if key is None:
        return
    if config.generation is not Generation.G2:
        for name, node, message in _glob_era_second_keystores(deployment):
            yield at_node(config.source, _keystore_key(config, name, node), message, anchor=f"keystore.{name}")
        return  # a glob-era config without a keystore is KES222's
    stores = configured_keystores(config)
    if not stores:
        yield at_node(config.source, key, "`keystore` configures no keystore KES knows: KES refuses to start "
                      + as_released("(`kesconf: no keystore specified`)", deployment.options.kes_version),
                      anchor="keystore")
    for name, node in stores[1:]:
        yield at_node(config.source, _keystore_key(config, name, node), f"`keystore.{name}` is a second keystore besides "
                      f"`keystore.{stores[0][0]}`: KES refuses to start (`more than once keystore specified`)",
                      anchor=f"keystore.{name}")


def _present(node: YMap, key: str) -> bool:
    value = node.get(key)
    return value is not None and not (isinstance(value, YScalar) and value.is_null)


def _logs_in_twice(vault: YMap) -> bool:
    """How KES up to 2023-02-15 sees two login methods: it uses a vault block only when its `endpoint` is set (else
    the block is no keystore), and refuses AppRole and Kubernetes only when both carry credentials."""

    def carries(block: str, keys: tuple[str, ...]) -> bool:
        node = vault.get(block)
        return isinstance(node, YMap) and any(isinstance(node.get(k), YScalar) and node.get(k).text.strip() for k in keys)

    endpoint = vault.get("endpoint")
    return (isinstance(endpoint, YScalar) and bool(endpoint.text.strip()) and carries("approle", ("id", "secret"))
            and carries("kubernetes", ("role", "jwt")))


@rule("KES106", "keystore-auth-method", Severity.ERROR, "A keystore with no or with two login methods",
      rationale="""Vault needs exactly one of `approle` and `kubernetes` (`kesconf: invalid vault keystore:
      no authentication method specified` / `more than one authentication method specified`); Azure
      Key Vault takes `credentials` or `managed_identity`, not both. Azure with neither is refused by the
      releases up to 2024-05-03 named with --kes-version (`edge:`/`kesconf: invalid Azure keyvault keystore: no
      authentication method specified` from 2023-04-03; KES <= 0.21 when no login value is set: `failed to connect
      to Azure KeyVault: no client credentials or managed identity`); KES 2024-06-17 and later fall back to Azure's
      default credential chain instead. KES up to 2023-02-15 (configs of generations G0 and G1) uses a vault block
      only when its `endpoint` is set, and refuses two login methods only when both hold credentials (`yml:
      amiguous KMS configuration: Hashicorp Vault AppRole and Kubernetes credentials found`), so the documented
      template with every value empty is no refusal there.""",
      fix="Keep exactly one login method in the keystore block.",
      examples=(Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: https://v:8200\n", True),
                Example.kes(_BASE + "keystore:\n  azure:\n    keyvault:\n      endpoint: https://kv.vault.azure.net\n", True,
                            "KES 2023-11-09 to 2024-05-03 need a login method", options=(("kes_version", "2024-04-12"),)),
                Example.kes(_BASE + "keystore:\n  vault:\n    endpoint: https://v:8200\n    approle: {id: a, secret: '${S}'}\n", False),
                Example.kes(_G0_VAULT.format(endpoint="https://v:8200", id="a", role="r"), True,
                            "G0: both carry credentials"),
                Example.kes(_G0_VAULT.format(endpoint="''", id="''", role="''"), False,
                            "G0: the template with empty values (no vault keystore at all)")))
def keystore_auth_method(deployment):
    config = deployment.kes
    if config is None:
        return
    vault = config.find("keystore.vault")
    if isinstance(vault, YMap):
        if _present(vault, "approle") and _present(vault, "kubernetes") and (
                config.generation is Generation.G2 or edge_g1(deployment) or _logs_in_twice(vault)):
            yield at_node(config.source, vault.key_node("kubernetes"), "vault has both `approle` and `kubernetes` login: "
                          "KES refuses to start (`more than one authentication method specified`)")
        elif (config.generation is Generation.G2 or edge_g1(deployment)) and not _present(vault, "approle") \
                and not _present(vault, "kubernetes"):
            key = config.find("keystore").key_node("vault")
            yield at_node(config.source, key, "vault has neither `approle` nor `kubernetes` login: KES refuses to start "
                          + as_released("(`kesconf: invalid vault keystore: no authentication method specified`)",
                                        deployment.options.kes_version), anchor="keystore.vault")
    azure = config.find("keystore.azure.keyvault")
    if isinstance(azure, YMap) and _present(azure, "credentials") and _present(azure, "managed_identity"):
        yield at_node(config.source, azure.key_node("managed_identity"), "Azure Key Vault has both `credentials` and "
                      "`managed_identity`: KES refuses to start (`more than one authentication method specified`)")
    elif isinstance(azure, YMap):
        refusal = _azure_without_login(deployment, azure)
        if refusal:
            key = config.find("keystore.azure").key_node("keyvault")
            yield at_node(config.source, key, f"Azure Key Vault has neither `credentials` nor `managed_identity`: "
                          f"KES {deployment.options.kes_version.strip()} refuses to start (`{refusal}`); only KES "
                          f"{_AZURE_DEFAULT_CHAIN_SINCE} and later fall back to Azure's default credential chain",
                          anchor="keystore.azure.keyvault")


_AZURE_LOGIN_REFUSED = ("2023-04-03", "2024-05-03")
"""The releases that refuse an Azure keystore without `credentials` and `managed_identity` by their mappings
(field-failures FM-34, C1, C2); KES <= 0.21 refuses one whose login values are all empty (C4)."""
_AZURE_DEFAULT_CHAIN_SINCE = "2024-06-17"


def _azure_without_login(deployment, azure: YMap) -> str | None:
    """The refusal of the release named with --kes-version for an Azure keystore with no login, else None. KES 0.22.0
    to 2023-02-15 are not judged (the reference does not say), nor current KES, which uses the default chain."""
    version = deployment.options.kes_version
    if not version:
        return None
    if not predates(version, _AZURE_LOGIN_REFUSED[0]):
        refuses = predates(version, _AZURE_LOGIN_REFUSED[1]) or release_date(version) == _AZURE_LOGIN_REFUSED[1]
        if not refuses or _present(azure, "credentials") or _present(azure, "managed_identity"):
            return None
        prefix = "edge" if predates(version, "2023-11-09") else "kesconf"
        return f"{prefix}: invalid Azure keyvault keystore: no authentication method specified"
    if not predates(version, (0, 22, 0)):
        return None
    values = [kes_resolved(deployment, _field(azure, part, name))
              for part, names in (("credentials", ("tenant_id", "client_id", "client_secret")),
                                  ("managed_identity", ("client_id",))) for name in names]
    if any(value != "" for value in values):  # a value set, or one kescheck cannot resolve
        return None
    return "failed to connect to Azure KeyVault: no client credentials or managed identity"


def _field(azure: YMap, part: str, name: str):
    block = azure.get(part)
    return block.get(name) if isinstance(block, YMap) else None


def _vault_jwt_config(jwt: str) -> str:
    return _BASE + f"keystore:\n  vault:\n    endpoint: https://v:8200\n    kubernetes: {{role: kes, jwt: {jwt}}}\n"


@rule("KES107", "vault-jwt-file-unreadable", Severity.ERROR, "The Vault Kubernetes JWT file cannot be read",
      rationale="""A `keystore.vault.kubernetes.jwt` value containing `/` (after `${VAR}` substitution) is a file
      path; KES reads it at start and refuses to start when it cannot (`kesconf: failed to read vault kubernetes
      JWT from ...`; `edge:` instead of `kesconf:` in KES 2023-04-03 to 2023-10-27). A file that is here but is a
      directory or not readable is an error; one that is not here at all is an error only with `--require-files`
      (on the KES host), and otherwise CRT001's note, as for certificates: the token usually exists only inside
      the KES pod. G1 configs are judged only for a release of 2023-04-03 to 2023-09-28 named with
      --kes-version: KES 2023-02-15 and earlier send the text itself as the token when the file is missing.""",
      fix="Point `jwt` at the service account token file KES can read (usually "
          "/var/run/secrets/kubernetes.io/serviceaccount/token), or give the token via `${VAR}`.",
      examples=(Example.kes(_vault_jwt_config("./no-such-token"), True, options=(("require_files", True),)),
                Example(((KES_EXAMPLE_FILE, _vault_jwt_config("./tokens")), ("tokens/token", "eyJhbGciOi.test.token\n")),
                        True, note="a directory where the token file belongs"),
                Example(((KES_EXAMPLE_FILE, _vault_jwt_config("./token")), ("token", "eyJhbGciOi.test.token\n")),
                        False, options=(("require_files", True),)),
                Example.kes(_vault_jwt_config("./no-such-token"), True, "KES 2023-04-03 to 2023-09-28 read the file too",
                            options=(("require_files", True), ("kes_version", "2023-05-01"))),
                Example.kes(_vault_jwt_config("./no-such-token"), False,
                            note="not here, without --require-files: CRT001's note"),
                Example.kes(_vault_jwt_config("./no-such-token"), False,
                            "KES 0.22 sends the text itself as the token when there is no such file",
                            options=(("require_files", True), ("kes_version", "0.22")))))
def vault_jwt_file(deployment):
    config = deployment.kes
    token = material(deployment).vault_jwt if config is not None else None
    if token is None or pods_decide(deployment, token):  # a file of the pod: SYS011 judges it
        return
    state = plain_file_state(token.path)
    if state is FileState.UNREADABLE or state is FileState.ABSENT and deployment.options.require_files:
        yield at_node(config.source, token.node, f"`keystore.vault.kubernetes.jwt` names {token.describe()}, which "
                      f"{'does not exist' if state is FileState.ABSENT else 'KES cannot read'}: KES refuses to start "
                      + as_released("(`kesconf: failed to read vault kubernetes JWT from ...`)",
                                    deployment.options.kes_version))
