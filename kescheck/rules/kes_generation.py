"""KES220-KES223: keys and values that belong to another KES config generation, and defective releases."""
from __future__ import annotations

from ..findings import Severity
from ..load.kesconfig import (CURRENT, G2_INTRODUCED, IN_MEMORY_ERA_KEYSTORES, INTRODUCED, REMOVED,
                              Generation, KeystoreEra, env_reference, generation_of_version, keystore_era, predates,
                              reads_singular_identity, rejects_unknown_keys, release_date, release_words)
from ..load.yamldoc import YMap, YScalar
from ..policy import policies
from .base import Example, at_file, at_line, at_node, rule
from .kes_refusals import recognised_keystores
from .kes_schema import problems_for, release_problems

# Why a key of another generation does nothing here, for the keys seen in the field (reference §3, E1).
_KNOWN_HISTORY = {
    "retry": "the `retry` settings were removed in KES 2023-04-03",
    "generic": "the `generic` (KMS plugin) keystore was removed in KES 2023-04-03",
    "paths": "`paths` was renamed `allow` in KES 0.15, so this policy allows nothing",
    "kes": "`keystore.kes` existed only from KES 2023-02-15 to 2023-10-27",
    "openstack": "the OpenStack keystore existed only in some 2023 KES releases",
    "admin": "`admin.identity` replaced `root` in KES 0.17.2",
    "root": "`root` was renamed `admin.identity` in KES 0.17.2",
    "proxy": "only KES 0.17.0 to 0.17.2 read a top-level `proxy`; every other release reads `tls.proxy`",
}


def _history(key: str) -> str:
    return _KNOWN_HISTORY.get(key, "")


_LATE_KEY_CONSEQUENCE = {
    "tls.ca": "; this release verifies client certificates against the system roots alone",
    "api": "; its per-route settings (skip_auth, timeout) do not apply",
    "keystore.entrust.keycontrol": "; this release does not see the Entrust keystore",
}


def _g2_key_consequence(dotted: str, version: str) -> str:
    """What a release older than the G2-only key `dotted` does instead of what the key asks."""
    if dotted == "tls.auth":
        if predates(version, "2023-10-24"):
            return ("; whether it verifies client certificates is up to `kes server --auth` (verification is on "
                    "unless it runs with `--auth=off`)")
        return "; this release requests client certificates but never verifies them, whatever `tls.auth` says"
    if dotted == "keystore.vault.transit":
        return "; this release does not encrypt the keys it stores with the Vault transit key"
    return "; this release logs in to the keystore's namespace (`keystore.vault.namespace`)"


def _g2_key_conflict(config, version: str, origin: str | None) -> str:
    """When the release named with --kes-version (or an image tag) is glob-era but a G2-only key made kescheck check
    the file as G2."""
    try:
        named = generation_of_version(version)
    except ValueError:
        return ""
    if named is Generation.G2 or config.generation is not Generation.G2:
        return ""
    return (f". kescheck still checks the file as {config.generation.label}, not as the {named.name} that release "
            f"reads, because only configs for those releases have this key: if KES {version.strip()} really runs, "
            f"remove the key; if a later KES runs, correct {'the image tag' if origin else '--kes-version'}")


_REMOVED_CONSEQUENCE = {
    "keystore.generic": "; with no other keystore this release refuses to start (`edge: no keystore specified`)",
}


def _key_node(config, dotted: str):
    parent, _, name = dotted.rpartition(".")
    holder = config.find(parent) if parent else config.root
    return holder.key_node(name) if isinstance(holder, YMap) else None


@rule("KES220", "key-not-in-generation", Severity.WARNING, "A key from another KES generation or a later release",
      rationale="""KES configs changed over the releases (`root` became `admin.identity`, `policy.*.paths` became
      `allow`, `retry` and the `generic` keystore were removed; `tls.ca`, `api`, the Entrust keystore, vault
      `transit`, `tls.auth` (2023-11-09) and the vault login `namespace` (2024-01-11) came later). KES ignores a key
      its generation, or the release named with --kes-version, does not know, so a setting copied from older or
      newer documentation silently does nothing. A key only current configs have (`tls.auth`, vault `transit`, the
      login `namespace`) still makes kescheck check the file as G2 when --kes-version names an older release: the
      finding says so, as the two disagree about which KES runs.""",
      fix="Rewrite the setting the way the KES you run expects it (see the message), or remove it.",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: \"off\"}\nkeystore:\n  vault:\n"
                            "    endpoint: https://vault.example.net:8200\n    approle: {id: '${ID}', secret: '${SECRET}', retry: 15s}\n", True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\napi:\n  /v1/status: {skip_auth: true}\n"
                            "keystore: {fs: {path: /var/kes}}\n", True, "`api` arrived in KES 2023-04-03",
                            options=(("kes_version", "0.22"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: \"on\"}\n"
                            "keystore: {fs: {path: /var/kes}}\n", True, "`tls.auth` arrived in KES 2023-11-09",
                            options=(("kes_version", "2023-10-24T20-26-51Z"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c, auth: \"off\"}\nkeystore:\n  vault:\n"
                            "    endpoint: https://vault.example.net:8200\n    approle: {id: '${ID}', secret: '${SECRET}'}\n", False)))
def key_not_in_generation(deployment):
    config = deployment.kes
    if config is None:
        return
    reported = set()
    strict = rejects_unknown_keys(deployment.options.kes_version)  # such a key stops KES: KES010 reports it
    for problem in problems_for(deployment):
        if problem.kind == "unknown-key" and problem.known_elsewhere:
            reported.add(problem.path)
            if strict:
                continue
            why = _history(problem.key)
            message = (f"`{problem.path}` is not a key of {config.generation.label} configs, so KES ignores it"
                       + (f": {why}" if why else ""))
            yield at_node(config.source, problem.node, message)
    version = deployment.options.kes_version
    for dotted, introduced in INTRODUCED.items():
        node = _key_node(config, dotted) if predates(version, introduced) else None
        if node is None or any(dotted == path or dotted.startswith(path + ".") for path in reported):
            continue
        yield at_node(config.source, node, f"`{dotted}` is not a key KES {version.strip()} knows, so KES ignores it: "
                                           f"{release_words(introduced)} introduced it{_LATE_KEY_CONSEQUENCE[dotted]}",
                      anchor=dotted)
    for dotted, introduced in G2_INTRODUCED.items():
        node = _key_node(config, dotted) if predates(version, introduced) else None
        if node is None or dotted in reported:
            continue
        yield at_node(config.source, node, f"`{dotted}` is not a key KES {version.strip()} knows, so that release "
                                           f"ignores it: {release_words(introduced)} introduced it"
                                           f"{_g2_key_consequence(dotted, version)}"
                                           f"{_g2_key_conflict(config, version, deployment.options.kes_version_origin)}",
                      anchor=dotted)
    for dotted, removed in REMOVED.items():
        node = _key_node(config, dotted) if version and config.generation is not CURRENT else None
        if node is None or predates(version, removed) or dotted in reported:
            continue
        others = [k for k in config.find("keystore").keys() if k in _KEYSTORE_TYPES - {"generic"}] \
            if dotted == "keystore.generic" else []
        consequence = (f"; this release uses `keystore.{others[0]}`" if others
                       else _REMOVED_CONSEQUENCE.get(dotted, ""))
        yield at_node(config.source, node, f"`{dotted}` is not a key KES {version.strip()} knows, so KES ignores it: "
                                           f"{_history(dotted.rsplit('.', 1)[-1])}{consequence}", anchor=dotted)


@rule("KES221", "outdated-for-current-kes", Severity.WARNING, "What current KES would refuse or ignore in an older config",
      rationale="""A config written for KES <= 0.22 (generations G0 and G1) keeps working only as long as that KES
      runs. Current KES (>= 0.23) reads the same file differently: it refuses some of it and silently ignores
      other parts. Upgrading KES without rewriting the config is a common cause of outages.""",
      fix="Before upgrading KES, rewrite the config for current KES; lint it with `--kes-version 0.24` to see the result.",
      examples=(Example.kes("root: disabled\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", True),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", False)))
def outdated_for_current_kes(deployment):
    config = deployment.kes
    if config is None or config.generation is CURRENT or config.root is None:
        return
    own = {(p.kind, p.path) for p in release_problems(deployment)}
    for problem in problems_for(deployment, CURRENT.name):
        if (problem.kind, problem.path) in own:
            continue
        if problem.kind == "unknown-key":
            why = _history(problem.key)
            message = f"current KES (>= 0.23) ignores `{problem.path}`" + (f": {why}" if why else "")
        else:
            message = f"current KES (>= 0.23) would refuse to start: {problem.what}" + (
                f" ({problem.refusal})" if problem.refusal else "")
        if problem.node is None:
            yield at_file(config.source, message, anchor=f"current:{problem.path}")
        else:
            yield at_node(config.source, problem.node, message, anchor=f"current:{problem.path}")


_NO_KEYSTORE_REFUSED = ("2023-04-03", "2023-10-27")
"""Date-named releases of the G1 era that refuse a config without a keystore (`no keystore specified`)."""


_KEYSTORE_TYPES = frozenset({"fs", "vault", "fortanix", "gemalto", "gcp", "aws", "azure", "entrust", "generic", "kes",
                             "credhub", "encryptedfs", "openstack"})
"""Keystore types some KES release knew; with none of them, KES up to 2023-02-15 ran on memory alone."""


def _empty_key_field(deployment) -> tuple[str, object]:
    """Why KES <= 2023-02-15 does not see the keystores of `keystore` (each is present, its key field empty), and
    the value (or keystore key) to point at."""
    reasons, nodes = [], []
    env = deployment.options.kes_env or {}
    for dotted, field in IN_MEMORY_ERA_KEYSTORES:
        node = deployment.kes.find(f"keystore.{dotted}")
        if not isinstance(node, YMap):
            continue
        value = node.get(field)
        name = env_reference(value)
        if name is not None:
            how = "sets to an empty value" if name in env else "does not set (so KES substitutes an empty value)"
            reasons.append(f"`keystore.{dotted}.{field}` is `${{{name}}}`, which {deployment.options.kes_environment()} {how}")
        elif isinstance(value, YScalar) and not value.is_null:
            reasons.append(f"`keystore.{dotted}.{field}` is empty")
        else:
            reasons.append(f"`keystore.{dotted}` has no `{field}`")
        nodes.append(value if isinstance(value, YScalar) else _key_node(deployment.kes, f"keystore.{dotted}"))
    return "; ".join(reasons), nodes[0] if nodes else None


@rule("KES222", "no-keystore-in-memory", Severity.ERROR, "No keystore: older KES keeps its keys in memory only",
      rationale="""KES up to 2023-02-15 (G0 and G1 configs) starts without complaint when the config names no
      keystore, or one it does not know, and keeps every key in memory. The keys vanish when KES restarts,
      and with them every object MinIO encrypted under them: silent, permanent data loss. Those releases see a
      keystore only by its key field (fs `path`, vault `endpoint`, gcp `project_id`, ...): a keystore whose field
      is missing, or a `${VAR}` the KES environment (`--kes-env`) leaves empty, counts as none, and so does an
      unset variable on KES up to 0.21, which substitutes the empty string. The releases from 2023-04-03 to
      2023-10-27 refuse to start instead (`edge: no keystore specified`), and so does current KES.""",
      fix="Configure exactly one keystore under `keystore:` (Vault, a cloud KMS, an HSM; `fs` for development), and "
          "make sure its `${VAR}` values are set where KES starts.",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n", True,
                            options=(("kes_version", "0.22"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n  vault:\n"
                            "    endpoint: ${VAULT_ADDR}\n    approle: {id: kes, secret: '${VAULT_SECRET}'}\n", True,
                            "VAULT_ADDR is not set, and KES 0.21 substitutes an empty value",
                            options=(("kes_version", "0.21.0"), ("kes_env", {"VAULT_SECRET": "s"}))),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n",
                            False, options=(("kes_version", "0.22"),))))
def no_keystore_in_memory(deployment):
    config = deployment.kes
    if config is None or config.generation is CURRENT or config.root is None:
        return
    keystore, legacy_store = config.root.get("keystore"), config.root.get("keys")
    version = deployment.options.kes_version
    later = {path.split(".")[1] for path, since in INTRODUCED.items() if path.startswith("keystore.") and predates(version, since)}
    if isinstance(legacy_store, YMap):
        return  # the `keys:` store of KES <= 0.13
    in_memory_era = keystore_era(config.generation, version) is not KeystoreEra.COUNTED
    known = _KEYSTORE_TYPES - later - (set() if in_memory_era else {"generic"})  # removed 2023-04-03
    present = set(keystore.keys()) & known if isinstance(keystore, YMap) else set()
    by_key_field = {name.split(".")[0] for name, _ in IN_MEMORY_ERA_KEYSTORES}
    unseen, node = "", config.root.key_node("keystore")
    if in_memory_era and present and present <= by_key_field and not recognised_keystores(deployment):
        unseen, node = _empty_key_field(deployment)  # each keystore there lacks its key field
        node = node or config.root.key_node("keystore")
    elif present:
        return
    released = release_date(version)
    if released and _NO_KEYSTORE_REFUSED[0] <= released <= _NO_KEYSTORE_REFUSED[1]:  # not in_memory_era: unseen is ""
        message = f"the config names no keystore KES knows: KES {released} refuses to start (`edge: no keystore specified`)"
    elif unseen:
        release = f"KES {version.strip()}" if version else "KES of this generation"
        message = (f"{unseen}: {release} then sees no keystore and keeps every key in memory only, and a restart loses "
                   "all keys and every object encrypted with them")
    else:
        message = ("the config names no keystore KES knows: KES of this generation (up to 2023-02-15) then keeps every "
                   "key in memory only, and a restart loses all keys and every object encrypted with them")
    if node is None:
        yield at_file(config.source, message, anchor="keystore")
    else:
        yield at_node(config.source, node, message, anchor="keystore")


_BROKEN_CLI_RELEASE = "2023-09-28"
_HEX_ID = "2a1c4b1bc9e0cf5f3ed5b42d6c1f4e9a3c2b8e5a7d6f1e0c9b8a7d6e5f4c3b2a"


@rule("KES223", "defective-release", Severity.ERROR, "The target KES release is known to break this config",
      rationale="""Two KES releases break configs that are right for the releases around them. KES
      2023-09-28T19-40-28Z prints its usage for any arguments to `kes server` and never starts
      (minio/kes#397). KES v0.17.3 to v0.17.5 read a policy's identities from `identity` (singular) and ignore
      the documented `identities` list, so every client of that policy gets 403 (minio/kes#180, fixed in
      v0.17.6). kescheck knows the release from --kes-version (or the settings file), else from the tag of KES's
      image in a Compose file or Kubernetes manifest of the deployment.""",
      fix="""Run another KES release: 2023-10-24 or later instead of 2023-09-28 (2023-11-09 or later, as
      POL013 explains), v0.17.6 or later instead of v0.17.3 to v0.17.5.""",
      examples=(Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"
                            f"policy:\n  minio:\n    allow: [/v1/key/create/minio-*]\n    identities: [{_HEX_ID}]\n", True,
                            options=(("kes_version", "0.17.4"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n", True,
                            options=(("kes_version", "2023-09-28T19-40-28Z"),)),
                Example((("kes.service", "[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml\n"),),
                        True, "the unit that starts that release", options=(("kes_version", "2023-09-28T19-40-28Z"),)),
                Example((("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config /c.yaml\n"),),
                        True, "a Compose service that starts that release",
                        options=(("kes_version", "2023-09-28T19-40-28Z"),)),
                Example((("compose.yaml", "services:\n  kes:\n    image: quay.io/minio/kes:2023-09-28T19-40-28Z\n"
                                          "    command: server --config /c.yaml\n"),),
                        True, "the image's tag names that release"),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"
                            f"policy:\n  minio:\n    allow: [/v1/key/create/minio-*]\n    identities: [{_HEX_ID}]\n", False,
                            options=(("kes_version", "0.17.6"),))))
def defective_release(deployment):
    config = deployment.kes
    version = deployment.options.kes_version
    if not version or config is None and not deployment.launchers:
        return
    if release_date(version) == _BROKEN_CLI_RELEASE:
        message = f"KES {version.strip()} never starts a server: `kes server` prints its usage for any arguments " \
                  "(minio/kes#397)"
        image = deployment.release_image
        if image is not None:  # the tag of the image is what names that release
            yield at_line(image.source, image.image.line, image.image.column,
                          f"{message}; {image.label} runs it ({image.image.text})", anchor="release")
        elif config is not None:
            yield at_file(config.source, message, anchor="release")
        else:  # a unit or container alone: the command line it runs is what fails
            launcher = deployment.launchers[0]
            yield at_line(launcher.command.source or launcher.source, launcher.command.line, launcher.command.column,
                          message, anchor="release")
        return
    if config is None:
        return
    if not reads_singular_identity(version):
        return
    for policy in policies(deployment):
        node = policy.node.key_node("identities") if isinstance(policy.node, YMap) else None
        if node is not None and policy.singular_identity is None:
            yield at_node(config.source, node, f"KES {version.strip()} reads a policy's identities from `identity` "
                                               f"(singular) and ignores `identities`: policy `{policy.name}` applies "
                                               "to no identity, and its clients get 403 for every request")
