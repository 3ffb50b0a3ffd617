"""Identities and PEM material that a deployment refers to, loaded once per deployment.

`material(deployment)` lists every certificate, key and CA setting of the KES config and
the MinIO env files (with the line that names each), `pem_of`/`key_of` load them through
`load/pem.py`, and `minio_identities` / `known_certificates` derive identities from them.
"""
from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .endpoints import Endpoint, parse_endpoints
from .identity import ApiKeyError, identity_of_api_key, identity_of_certificate
from .load.containers import KesContainer, MountedValue
from .load.envfile import EnvEntry, EnvFile, quotable_value
from .load.kesconfig import (INTRODUCED, TLS_AUTH_SINCE, Generation, env_reference, is_edge_g1, predates,
                             target_release, unset_variable_is_empty)
from .load.pem import (FileState, KeyState, LoadedCertificate, LoadedKey, PemFile, load_ca_path, load_pem_file,
                       load_private_key, load_private_key_unknown_password, pem_of_data)
from .load.source import SourceFile, path_named
from .load.yamldoc import YScalar
from .model import Deployment
from .minio_names import API_KEY, CAPATH, CERT_FILE, ENDPOINT, KEY_FILE, KEY_PASSWORD, OPTS


class Role(enum.Enum):
    KES_SERVER_CERT = "the KES server certificate"
    KES_SERVER_KEY = "the KES server private key"
    KES_CLIENT_CA = "the CA KES verifies clients against (tls.ca)"
    KEYSTORE_CERT = "the keystore client certificate"
    KEYSTORE_KEY = "the keystore client private key"
    KEYSTORE_CA = "the keystore CA"
    MINIO_CLIENT_CERT = "MinIO's client certificate"
    MINIO_CLIENT_KEY = "MinIO's client private key"
    MINIO_CAPATH = "the CA MinIO verifies KES against (MINIO_KMS_KES_CAPATH)"
    MINIO_CERTS_CAS = "the CA directory MinIO verifies KES against without MINIO_KMS_KES_CAPATH (<certs-dir>/CAs)"
    VAULT_JWT = "the Kubernetes service account token KES logs in to Vault with"

    is_key: bool
    is_ca: bool
    is_certificate: bool


# Plain attributes, not properties: every rule of every deployment asks them of every reference.
for _role in Role:
    _role.is_key = _role in (Role.KES_SERVER_KEY, Role.KEYSTORE_KEY, Role.MINIO_CLIENT_KEY)
    _role.is_ca = _role in (Role.KES_CLIENT_CA, Role.KEYSTORE_CA, Role.MINIO_CAPATH, Role.MINIO_CERTS_CAS)
    _role.is_certificate = not _role.is_key and not _role.is_ca and _role is not Role.VAULT_JWT
del _role


@dataclass(frozen=True, eq=False)
class Reference:
    """A setting that names a file: where it is written, and the path it resolves to."""

    role: Role
    text: str
    """The path as written (after `${VAR}` substitution for KES)."""
    path: Path
    source: SourceFile
    setting: str
    """`tls.cert`, `keystore.vault.tls.key`, `MINIO_KMS_KES_CERT_FILE`, …"""
    node: YScalar | None = None
    env: EnvFile | None = None
    entry: EnvEntry | None = None
    mounted: MountedValue | None = None
    """The Secret or ConfigMap value a Kubernetes volume mounts at the path, when the manifest holds it."""

    @property
    def consumer(self) -> str:
        return "MinIO" if self.env is not None else "KES"

    @property
    def holds_pem_text(self) -> bool:
        """The PEM itself pasted where a file name belongs."""
        return "-----BEGIN " in self.text

    def describe(self) -> str:
        """How messages name the file: as written, plus where it resolves when that differs."""
        if self.holds_pem_text:
            return "PEM text, not a file name"
        if self.mounted is not None:
            return f"'{self.text}' ({self.mounted.origin}, mounted into the container)"
        if os.path.isabs(self.text) and path_named(self.text) != self.path:
            return f"'{self.text}' ({self.path} here, mounted into the container)"
        if os.path.isabs(self.text) or self.text == str(self.path):
            return f"'{self.text}'"
        return f"'{self.text}' (resolved to {self.path})"


class PasswordState(enum.Enum):
    NONE = "none"
    EMPTY = "empty"
    """The setting is there with no value: the key is loaded as with no password."""
    GIVEN = "given"
    UNRESOLVED = "unresolved"


@dataclass(eq=False)
class KeyPair:
    cert: Reference | None
    key: Reference | None
    password: bytes | None = field(default=None, repr=False)
    password_state: PasswordState = PasswordState.NONE
    password_setting: str = ""
    password_configurable: bool = True
    """False for keystore client keys: KES has no setting for their password."""


@dataclass(eq=False)
class MinioSide:
    env: EnvFile
    pair: KeyPair | None
    capath: Reference | None
    endpoint_entry: EnvEntry | None
    endpoints: list[Endpoint]
    api_key: EnvEntry | None
    certs_cas: Reference | None = None
    """`<certs-dir>/CAs` when MINIO_KMS_KES_CAPATH is not set and MINIO_OPTS names the certs directory. Not
    among `Material.references`: MinIO creates the directory when it is missing, so its absence is no fault."""


@dataclass(frozen=True, eq=False)
class ClientVerification:
    """KES verifies MinIO's client certificate in the TLS handshake: why kescheck thinks so, and against what."""

    because: str
    """For messages: `tls.auth: on at line 4 of kes.yaml`, `KES 0.22 does so by default, unless …`."""
    ca: Reference | None
    """`tls.ca` where the release reads it; None: the system roots alone, which kescheck cannot see."""
    release: str = "KES"
    """The KES that verifies, for messages: `KES 0.22`, `KES of generation G0 (KES <= 0.17.1)`."""
    assumed: bool = False
    """The default of `kes server --auth` (KES <= 2023-09-28), a command line kescheck does not see: the
    deployment may run with `--auth=off` (the MinIO tutorials do) unless --kes-auth says how it runs."""


def _client_verification(deployment: Deployment, found: "Material") -> ClientVerification | None:
    """G2 verifies with `tls.auth: on` only, from KES 2023-11-09 (2023-10-24 and 2023-10-27 never verify). KES up to
    2023-09-28 (G0, G1, or a G2 config linted for such a release) requires and verifies client certificates unless
    started with `kes server --auth=off`, against the system roots plus `tls.ca` from v0.22.0 (E2)."""
    kes = deployment.kes
    version = deployment.options.kes_version
    if kes.generation is Generation.G2 and not predates(version, "2023-10-24"):
        if predates(version, TLS_AUTH_SINCE):
            return None  # 2023-10-24 and 2023-10-27 request client certificates, never verify them, know no `tls.auth`
        node = found.client_auth_node
        if (kes_value(deployment, node) or "").lower() != "on":
            return None
        return ClientVerification(f"tls.auth: on at line {node.line} of {kes.source.path}", found.kes_client_ca)
    flag = deployment.kes_auth
    if flag is False:
        return None
    # A G2 config here is one a glob-era release named with --kes-version runs (KES220): that release ignores
    # `tls.auth` and verifies as its generation does.
    reads_ca = kes.generation is not Generation.G0 and not predates(version, INTRODUCED["tls.ca"])
    release = target_release(kes.generation, version)
    if flag:
        because = f"{release} runs with `kes server --auth=on`, {deployment.kes_auth_origin()}"
    else:
        because = f"{release} does so by default, unless it runs with `kes server --auth=off`"
    return ClientVerification(because, found.kes_client_ca if reads_ca else None, release, assumed=flag is None)


@dataclass(eq=False)
class Material:
    references: list[Reference] = field(default_factory=list)
    kes_server: KeyPair | None = None
    kes_client_ca: Reference | None = None
    client_verification: ClientVerification | None = None
    """How KES verifies client certificates; None: it does not."""
    client_auth_node: YScalar | None = None
    keystore_pairs: list[KeyPair] = field(default_factory=list)
    minio: list[MinioSide] = field(default_factory=list)
    vault_jwt: Reference | None = None
    """`keystore.vault.kubernetes.jwt` when it names the token file KES reads at start. Not among `references`:
    the file is no PEM, so only whether it is there is checked (CRT001 without --require-files, KES107)."""

    def pairs(self) -> list[KeyPair]:
        found = [self.kes_server] if self.kes_server else []
        return found + self.keystore_pairs + [side.pair for side in self.minio if side.pair]


def kes_value(deployment: Deployment, node) -> str | None:
    """A KES scalar as KES will see it: `${VAR}` resolved from --kes-env; None when unknown or empty."""
    if not isinstance(node, YScalar) or node.is_null:
        return None
    name = env_reference(node)
    if name is not None:
        env = deployment.options.kes_env
        value = env.get(name) if env is not None else None
        return value.strip() if value and value.strip() else None
    text = node.text.strip()
    return text or None


HIDDEN = "a value kescheck does not show"


def shown_value(node, value: str) -> str:
    """`value`, what KES sees at `node`, quoted for a message; HIDDEN when it is a secret: a value a `${VAR}` takes
    from a variable named like a secret, a token or API key by its form, or a URL with a password."""
    name = env_reference(node) if isinstance(node, YScalar) else None
    return f"`{value}`" if quotable_value(name or "", value) else HIDDEN


def substitution_note(node, value: str | None = None) -> str:
    """` (from `${NAME}`)` for a message about the value a `${NAME}` at `node` takes (with `value`, as `shown_value`
    shows it, in front); empty for a value written in the file."""
    name = env_reference(node) if isinstance(node, YScalar) else None
    if name is None:
        return ""
    return f" ({shown_value(node, value)} from `${{{name}}}`)" if value is not None else f" (from `${{{name}}}`)"


def kes_resolved(deployment: Deployment, node) -> str | None:
    """A KES scalar as the target release sees it, `""` included: the text, with a `${VAR}` resolved from
    --kes-env (`""` when the variable is empty, or unset on a release that substitutes unset variables as empty).
    None when kescheck cannot know: no --kes-env, an unset variable the release refuses (KES100's), a mapping."""
    if node is None or isinstance(node, YScalar) and node.is_null:
        return ""
    if not isinstance(node, YScalar):
        return None
    name = env_reference(node)
    if name is None:
        return node.text.strip()
    env = deployment.options.kes_env
    if env is None:
        return None
    if name in env:
        value = env[name]
        return value.strip() if value is not None else None  # None: set, to a value kescheck cannot know
    kes = deployment.kes
    return "" if kes is not None and unset_variable_is_empty(kes.generation, deployment.options.kes_version) else None


def env_value_unknown(env, name: str) -> bool:
    """No KES environment known, or one that sets the variable to a value kescheck cannot know (a unit's
    `PassEnvironment=`)."""
    return env is None or name in env and env[name] is None


def kes_admin_identity(deployment: Deployment) -> str | None:
    """The KES admin identity as KES will see it (`${VAR}` resolved from --kes-env); None when unknown.

    The one answer to "is this client the admin?" for every rule: DEP101 says so when MinIO is the
    admin, and the MinIO policy rules skip that MinIO because of the same comparison.
    """
    kes = deployment.kes
    if kes is None:
        return None
    return kes_value(deployment, kes.admin_node)


def _kes_reference(deployment: Deployment, role: Role, dotted: str) -> Reference | None:
    kes = deployment.kes
    node = kes.scalar(dotted) if kes else None
    text = kes_value(deployment, node)
    if kes is None or text is None:
        return None
    return Reference(role, text, deployment.resolve(text, kes.source), kes.source, dotted, node=node,
                     mounted=deployment.mounted_value(text, kes.source))


def _env_reference(deployment: Deployment, env: EnvFile, role: Role, name: str) -> Reference | None:
    entry = env.get(name)
    if entry is None or not entry.value:
        return None
    return Reference(role, entry.value, deployment.resolve(entry.value, env.source), env.source, name,
                     env=env, entry=entry, mounted=deployment.mounted_value(entry.value, env.source, role.is_ca))


def server_option(opts: str, names: tuple[str, ...]) -> str | None:
    """The value a `minio server $MINIO_OPTS` command line gives one of the flags `names` (Go flag syntax:
    one or two dashes, the value after `=` or as the next word; the last one wins). systemd splits an unbraced
    `$MINIO_OPTS` at whitespace and keeps quote characters, so a plain split is what MinIO receives."""
    words = opts.split()
    found = _option_value(words, names)
    return found[1] if found else None


def _option_value(words: list[str], names: tuple[str, ...]) -> tuple[int, str] | None:
    """(the index of the word that holds it, the value) of the last of the flags `names` among `words`."""
    found = None
    for index, word in enumerate(words):
        if word == "--" or not word.startswith("-"):
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if name not in names or word.startswith("---"):
            continue
        if equals:
            found = (index, value)
        elif index + 1 < len(words):
            found = (index + 1, words[index + 1])
    return found if found and found[1] else None


def certs_dir_option(opts: str) -> str | None:
    """The certs directory MINIO_OPTS sets (`--certs-dir`/`-S`)."""
    return server_option(opts, ("certs-dir", "S"))


def minio_opts(env: EnvFile) -> str | None:
    """MINIO_OPTS as the systemd unit that runs `minio server $MINIO_OPTS` reads it (only systemd reads it, so its
    reading counts: a value continued over lines, say); None when the file does not set it."""
    opts = env.get(OPTS)
    if opts is None:
        return None
    read_by_systemd = next((a for a in reversed(env.systemd.assignments) if a.name == OPTS), None)
    return read_by_systemd.value if read_by_systemd is not None else opts.env_value


def _certs_cas(deployment: Deployment, env: EnvFile) -> Reference | None:
    """MinIO verifies KES against `<certs-dir>/CAs` (and the system roots) when MINIO_KMS_KES_CAPATH is not
    set at all; set but empty, it uses the system roots alone. The certs directory is `--certs-dir` (`-S`) of
    MINIO_OPTS, or of a container's command line."""
    if env.defined(CAPATH):
        return None
    words = getattr(env, "command_words", None)
    opts = env.get(OPTS)
    unit = deployment.minio_units[0] if deployment.minio_units else None
    source = env.source
    if words:
        certs_dir = certs_dir_option(" ".join(word.text for word in words))
        at = next((word for word in words if certs_dir is not None and word.text.endswith(certs_dir)), words[0])
        entry = _word_entry(at, certs_dir)
        setting = f"--certs-dir of {env.label}"
    elif unit is not None:
        found = _unit_certs_dir(unit, env)
        if found is None:
            return None
        certs_dir, source, entry, setting = found
    elif opts is not None:
        certs_dir, entry, setting = certs_dir_option(minio_opts(env)), opts, f"--certs-dir in {OPTS}"
    else:
        return None
    if certs_dir is None:
        return None
    text = certs_dir.rstrip("/") + "/CAs"
    return Reference(Role.MINIO_CERTS_CAS, text, deployment.resolve(text, source), source, setting, env=env,
                     entry=entry, mounted=deployment.mounted_value(text, source, directory=True))


def _word_entry(word, value: str | None) -> EnvEntry:
    """A command-line word as the entry a reference stands at."""
    return EnvEntry("--certs-dir", value or "", word.line, word.column, word.column, word.end_column, word.text)


def _unit_certs_dir(unit, env: EnvFile) -> tuple[str, SourceFile, EnvEntry, str] | None:
    """The certs directory of the `minio server` command line of MinIO's unit: its own words, with `$MINIO_OPTS`
    standing for the words of MINIO_OPTS (systemd splits the value there, and passes `${MINIO_OPTS}` as one word);
    the last `--certs-dir` (`-S`) wins. (the directory, the file and entry that set it, the setting for messages),
    or None."""
    # An env file's assignment overrides the unit's own `Environment=` (systemd.exec(5)).
    assigned = unit.assigned(OPTS) if env.get(OPTS) is None else None
    opts = (minio_opts(env) or "") if assigned is None else unit.assigned_value(OPTS)
    words: list[str] = []
    origins: list = []
    for word in unit.arguments:
        if word.text in (f"${OPTS}", f"${{{OPTS}}}"):
            split = opts.split() if word.text == f"${OPTS}" else [opts]
            words += split
            origins += [None] * len(split)
        else:
            words.append(word.text)
            origins.append(word)
    found = _option_value(words, ("certs-dir", "S"))
    if found is None:
        return None
    index, certs_dir = found
    word = origins[index]
    if word is None and assigned is not None:
        return (certs_dir, assigned.source or unit.source, _word_entry(assigned, certs_dir),
                f"--certs-dir in {OPTS} of {unit.label}'s Environment=")
    if word is None:
        return certs_dir, env.source, env.get(OPTS), f"--certs-dir in {OPTS}"
    return certs_dir, word.source or unit.source, _word_entry(word, certs_dir), f"--certs-dir of {unit.label}"


_KEYSTORE_TLS = re.compile(r"^(keystore|keys)\.(.+)\.tls\.(key|cert|ca)$")


def _keystore_material(deployment: Deployment, found: Material) -> None:
    kes = deployment.kes
    by_block: dict[str, dict[str, Reference]] = {}
    for node in kes.doc.values():  # a null value names no file: _kes_reference would drop it
        match = _KEYSTORE_TLS.match(node.path or "")
        if not match:
            continue
        role = {"key": Role.KEYSTORE_KEY, "cert": Role.KEYSTORE_CERT, "ca": Role.KEYSTORE_CA}[match[3]]
        ref = _kes_reference(deployment, role, node.path)
        if ref is not None:
            by_block.setdefault(node.path.rsplit(".", 1)[0], {})[match[3]] = ref
    for refs in by_block.values():
        found.references.extend(refs.values())
        if "key" in refs or "cert" in refs:
            found.keystore_pairs.append(KeyPair(refs.get("cert"), refs.get("key"), password_configurable=False))


def _vault_jwt(deployment: Deployment) -> Reference | None:
    """KES from 2023-04-03 on (G2, and G1 linted for a release of 2023-04-03 to 2023-09-28 named with
    --kes-version) reads a `jwt` holding `/` (after `${VAR}` substitution) as the token file and refuses to start
    when it cannot; KES <= 2023-02-15 falls back to sending the text itself as the token when the file is missing.
    A G1 config without --kes-version may be for either, so it is not judged."""
    kes = deployment.kes
    if kes.generation is not Generation.G2 and not is_edge_g1(kes.generation, deployment.options.kes_version):
        return None
    ref = _kes_reference(deployment, Role.VAULT_JWT, "keystore.vault.kubernetes.jwt")
    return ref if ref is not None and "/" in ref.text else None


def in_pods(deployment: Deployment, ref: Reference) -> list[tuple[KesContainer, bool | None, str]]:
    """For each Kubernetes container that starts this KES: whether it has a file at `ref`'s path when it starts (its
    service account token, a volume's file), and why not (see `KesContainer.holds`)."""
    return [(container, *container.holds(ref.text)) for container in deployment.containers
            if container.volume_mounts is not None]


def pods_decide(deployment: Deployment, ref: Reference) -> bool:
    """KES runs in Kubernetes, and its pods tell whether the file `ref` names is there: it is a file of the pod, not
    one to look for on this host."""
    verdicts = [verdict for _, verdict, _ in in_pods(deployment, ref)]
    return bool(verdicts) and None not in verdicts


def _minio_side(deployment: Deployment, env: EnvFile, found: Material) -> MinioSide:
    cert = _env_reference(deployment, env, Role.MINIO_CLIENT_CERT, CERT_FILE)
    key = _env_reference(deployment, env, Role.MINIO_CLIENT_KEY, KEY_FILE)
    capath = _env_reference(deployment, env, Role.MINIO_CAPATH, CAPATH)
    found.references.extend(r for r in (cert, key, capath) if r is not None)
    pair = None
    if cert or key:
        password = env.get(KEY_PASSWORD)
        pair = KeyPair(cert, key, password_setting=KEY_PASSWORD)
        if password is not None and password.value:
            pair.password, pair.password_state = password.value.encode(), PasswordState.GIVEN
        elif password is not None:
            pair.password_state = PasswordState.EMPTY
    endpoint_entry = env.get(ENDPOINT)
    endpoints = parse_endpoints(endpoint_entry.value)[0] if endpoint_entry is not None else []
    api_key = env.get(API_KEY)
    return MinioSide(env, pair, capath, endpoint_entry, endpoints, api_key if api_key and api_key.value else None,
                     _certs_cas(deployment, env))


def material(deployment: Deployment) -> Material:
    """Every file the deployment names, grouped by what it is for (nothing is read yet)."""

    def compute() -> Material:
        found = Material()
        kes = deployment.kes
        if kes is not None and kes.root is not None:
            cert = _kes_reference(deployment, Role.KES_SERVER_CERT, "tls.cert")
            key = _kes_reference(deployment, Role.KES_SERVER_KEY, "tls.key")
            found.references.extend(r for r in (cert, key) if r is not None)
            if cert or key:
                found.kes_server = KeyPair(cert, key, password_setting="tls.password")
                password_node = kes.scalar("tls.password")
                password = kes_value(deployment, password_node)
                if password:
                    found.kes_server.password, found.kes_server.password_state = password.encode(), PasswordState.GIVEN
                elif password_node is not None and env_reference(password_node) is not None \
                        and env_value_unknown(deployment.options.kes_env, env_reference(password_node)):
                    found.kes_server.password_state = PasswordState.UNRESOLVED
            found.kes_client_ca = _kes_reference(deployment, Role.KES_CLIENT_CA, "tls.ca")
            if found.kes_client_ca:
                found.references.append(found.kes_client_ca)
            found.client_auth_node = kes.scalar("tls.auth")
            found.client_verification = _client_verification(deployment, found)
            _keystore_material(deployment, found)
            found.vault_jwt = _vault_jwt(deployment)
        for env in deployment.envs:
            found.minio.append(_minio_side(deployment, env, found))
        return found

    return deployment.memo("material", compute)


def pem_of(deployment: Deployment, ref: Reference) -> PemFile:
    if ref.mounted is not None:
        return deployment.memo(("mounted pem", ref.mounted.origin), lambda: pem_of_data(ref.path, ref.mounted.data))
    key = ("pem", ref.role.is_ca, ref.path)
    found = deployment.cache.get(key)
    if found is None:  # inlined memo: rules ask ~60 times per deployment, almost always for a file already looked at
        found = deployment.absent_files.get(key)
        if found is None:
            found = (load_ca_path if ref.role.is_ca else load_pem_file)(ref.path)
            if found.state is FileState.ABSENT:
                deployment.absent_files[key] = found
        deployment.cache[key] = found
    return found


def key_of(deployment: Deployment, pair: KeyPair) -> LoadedKey | None:
    """The pair's private key, decrypted with its password; None when the key file is not loaded."""
    if pair.key is None:
        return None
    pem = pem_of(deployment, pair.key)
    if not pem.ok:
        return None

    def compute() -> LoadedKey:
        if pair.password_state is PasswordState.UNRESOLVED:
            return load_private_key_unknown_password(pem)
        return load_private_key(pem, pair.password)

    mounted = pair.key.mounted.origin if pair.key.mounted is not None else None  # two containers, one path
    return deployment.memo(("key", pair.key.path, mounted, pair.password), compute)


def leaves(certificates: list[LoadedCertificate]) -> list[LoadedCertificate]:
    return [c for c in certificates if not c.is_ca]


def client_leaf(deployment: Deployment, certificates: list[LoadedCertificate]) -> LoadedCertificate | None:
    """The certificate KES takes the identity from: the one non-CA certificate.

    KES before 2023-10-24 (config generations G0/G1) also used a lone certificate marked CA.
    """
    non_ca = leaves(certificates)
    if len(non_ca) == 1:
        return non_ca[0]
    if not non_ca and len(certificates) == 1 and deployment.kes is not None \
            and deployment.kes.generation is not Generation.G2:
        return certificates[0]
    return None


@dataclass(frozen=True)
class MinioIdentity:
    identity: str
    origin: str
    """`api-key` or `certificate`."""
    env: EnvFile
    entry: EnvEntry
    """The variable it was derived from (the API key or the certificate file)."""
    described_as: str
    """For messages: 'the API key in MINIO_KMS_KES_API_KEY' or the certificate file path."""


def minio_identities(deployment: Deployment) -> list[MinioIdentity]:
    """The KES identity each MinIO env file in the deployment authenticates with, when computable."""

    def compute() -> list[MinioIdentity]:
        found = []
        for side in material(deployment).minio:
            if side.api_key is not None:
                try:
                    found.append(MinioIdentity(identity_of_api_key(side.api_key.value), "api-key", side.env,
                                               side.api_key, "the API key in MINIO_KMS_KES_API_KEY"))
                except ApiKeyError:
                    pass
            elif side.pair is not None and side.pair.cert is not None:
                pem = pem_of(deployment, side.pair.cert)
                leaf = client_leaf(deployment, pem.certificates) if pem.ok else None
                if leaf is not None:
                    found.append(MinioIdentity(identity_of_certificate(leaf.certificate), "certificate", side.env,
                                               side.pair.cert.entry, side.pair.cert.text))
        return found

    return deployment.memo("minio_identities", compute)


@dataclass(frozen=True)
class KnownCertificate:
    loaded: LoadedCertificate
    reference: Reference
    identity: str


def known_certificates(deployment: Deployment) -> list[KnownCertificate]:
    """Every certificate the deployment's files hold, with the setting that names it."""

    def compute() -> list[KnownCertificate]:
        found = []
        for ref in material(deployment).references:
            if ref.role.is_key:
                continue
            pem = pem_of(deployment, ref)
            if pem.state is FileState.OK:
                found.extend(KnownCertificate(c, ref, identity_of_certificate(c.certificate)) for c in pem.certificates)
        return found

    return deployment.memo("known_certificates", compute)


__all__ = ["ClientVerification", "KeyPair", "KeyState", "KnownCertificate", "Material", "MinioIdentity", "MinioSide", "PasswordState",
           "Reference", "Role", "certs_dir_option", "client_leaf", "key_of", "kes_value", "known_certificates",
           "leaves", "material", "minio_identities", "pem_of"]
