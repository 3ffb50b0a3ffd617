"""KES server configs: the YAML tree plus what KES generation the file is written for."""
from __future__ import annotations

import enum
import fnmatch
import functools
import re
from dataclasses import dataclass, field

from .envfile import SECRET_VALUE_PREFIXES, embedded_secret, is_secret_variable, url_passwords
from .source import SourceFile
from .yamldoc import YamlDocument, YMap, YNode, YScalar, parse_yaml, walk


class Generation(enum.IntEnum):
    """KES config generations (reference §3)."""

    G0 = 0  # KES <= 0.17.1: `root:`
    G1 = 1  # KES 0.17.2 - 0.22 and the date-named releases up to 2023-09-28: `admin.identity`, glob policies
    G2 = 2  # KES 2023-10-24 and later (v0.23 onward): prefix policies, `tls.auth`, `api:`

    @property
    def label(self) -> str:
        return _GENERATION_LABELS[self.value]

    @property
    def glob_policies(self) -> bool:
        return self is not Generation.G2


GO_DURATION = r"(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)"
"""Go's time.ParseDuration without its sign: a bare `0`, or numbers each with a unit. The schemas
(tools/build_schemas.py) and the rules that read durations share it."""
_GENERATION_LABELS = {0: "G0 (KES <= 0.17.1)", 1: "G1 (KES 0.17.2 - 0.22 and up to 2023-09-28)",
                      2: "G2 (KES >= 2023-10-24, v0.23 onward)"}
CURRENT = Generation.G2

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$", re.ASCII)
_DATED = re.compile(r"^(?:RELEASE\.)?(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def generation_of_version(text: str) -> Generation:
    """`0.22`, `v0.23.0`, `0.17.1` or a date-named release such as `2023-11-09T17-35-47Z`."""
    text = text.strip()
    match = _SEMVER.match(text)
    if match:
        major, minor, patch = int(match[1]), int(match[2]), int(match[3] or 0)
        if (major, minor, patch) <= (0, 17, 1):
            return Generation.G0
        if (major, minor) <= (0, 22):
            return Generation.G1
        return Generation.G2
    match = _DATED.match(text)
    if match and _is_date(*map(int, match.groups())):
        # Date-named releases started after 0.22.3; the prefix matcher and G2 server arrived 2023-10-24.
        return Generation.G2 if (match[1], match[2], match[3]) >= ("2023", "10", "24") else Generation.G1
    raise ValueError(f"unrecognised KES version {text!r} (use X.Y such as 0.22 or 0.24, or a release date)")


def _is_date(year: int, month: int, day: int) -> bool:
    import datetime as dt

    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


EDGE_RELEASES = ("2023-04-03", "2023-10-27")
"""The releases whose config package `edge` words its refusals as current KES's `kesconf` does (field-failures C2),
with the `edge:` prefix that `kesconf:` replaced on 2023-11-09: G1 up to 2023-09-28, then G2."""
KESERV_RELEASES = ("2022-11-15", "2023-02-15")
"""The releases of package `keserv`: v0.22.0 (2022-11-15) to 2023-02-15 (field-failures C3)."""


def as_released(refusal: str, kes_version: str | None) -> str:
    """A refusal text of current KES (`kesconf:`) or of the 2023 releases (`edge:`) as the target release words it:
    KES v0.22.0 to 2023-02-15 printed `keserv:` (field-failures C3)."""
    released = release_date(kes_version)
    if released and EDGE_RELEASES[0] <= released <= EDGE_RELEASES[1]:
        return refusal.replace("kesconf: ", "edge: ")
    semver = semantic_version(kes_version)
    if (semver is not None and semver[:2] == (0, 22)) or (released and KESERV_RELEASES[0] <= released <= KESERV_RELEASES[1]):
        return refusal.replace("kesconf: ", "keserv: ").replace("edge: ", "keserv: ")
    return refusal


def is_edge_g1(generation: "Generation", kes_version: str | None) -> bool:
    """A G1 config linted for a release of 2023-04-03 to 2023-09-28 named with --kes-version: those releases
    (package `edge`) check the config as current KES does (field-failures C2). Without --kes-version a G1 config's
    release is unknown, and as its releases span the older parsers too, it is not judged as edge."""
    return generation is Generation.G1 and bool(kes_version) and not predates(kes_version, EDGE_RELEASES[0])


def reads_key(dotted: str, kes_version: str | None) -> bool:
    """False when the release named with --kes-version predates the key at `dotted` (or a key above it)."""
    for key, since in {**INTRODUCED, **G2_INTRODUCED}.items():
        if (dotted == key or dotted.startswith(key + ".")) and predates(kes_version, since):
            return False
    return True


def semantic_version(version: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a semver-named KES release (`0.17.4`, `v0.22.0`), else None."""
    match = _SEMVER.match(version.strip()) if version else None
    return (int(match[1]), int(match[2]), int(match[3] or 0)) if match else None


_SINGULAR_IDENTITY_RELEASES = ((0, 17, 3), (0, 17, 5))


def reads_singular_identity(kes_version: str | None) -> bool:
    """KES v0.17.3 to v0.17.5 read a policy's identities from `identity` and ignore `identities` (kes#180)."""
    release = semantic_version(kes_version)
    return release is not None and _SINGULAR_IDENTITY_RELEASES[0] <= release <= _SINGULAR_IDENTITY_RELEASES[1]


def rejects_unknown_keys(kes_version: str | None) -> bool:
    """KES up to 0.13 decoded its config strictly: a key it does not know stops it at start (kes-minio.md §3,
    field-failures C5, E2); every later release ignores such a key (0.14 to 0.17.2 after a legacy-format retry)."""
    release = semantic_version(kes_version)
    return release is not None and release[:2] <= (0, 13)


def identities_key(kes_version: str | None) -> str:
    """The key of a policy that lists its identities in the release checked for (see `reads_singular_identity`)."""
    return "identity" if reads_singular_identity(kes_version) else "identities"


def release_date(version: str | None) -> str | None:
    """`YYYY-MM-DD` of a date-named KES release (`2023-05-01`, `RELEASE.2023-05-01T...`), else None."""
    match = _DATED.match(version.strip()) if version else None
    return f"{match[1]}-{match[2]}-{match[3]}" if match else None


_SEMVER_AFTER_G1 = {(0, 23): "2023-11-10", (0, 24): "2025-01-13"}
"""Release dates of the semver-named releases that came after the date-named ones had started."""


def _release_order(release: str | tuple[int, int, int]) -> tuple:
    """A sort key that orders semver- and date-named KES releases: every semver release up to v0.22.3
    predates the first date-named one (2023-02-15); v0.23.0 and v0.24.0 sit among them by their dates."""
    if isinstance(release, tuple):
        semver, date = release, None
    else:
        semver, date = semantic_version(release), release_date(release)
    if semver is not None:
        if semver[:2] <= (0, 22):
            return (0, semver)
        return (1, _SEMVER_AFTER_G1.get(semver[:2], "9999-99-99"))
    return (1, date) if date is not None else ()


def same_release(first: str, second: str) -> bool:
    """Whether two names mean one KES release: `0.22` and `v0.22.3` (a version without a patch level means any of
    them), `2024-01-11` and `2024-01-11T13-09-29Z`, `v0.23.0` and its release date `2023-11-10`."""
    first_semver, second_semver = _SEMVER.match(first.strip()), _SEMVER.match(second.strip())
    if first_semver and second_semver:
        compared = 3 if first_semver[3] and second_semver[3] else 2
        return first_semver.groups()[:compared] == second_semver.groups()[:compared]
    order = _release_order(first)
    return bool(order) and order == _release_order(second)


def predates(kes_version: str | None, introduced: str | tuple[int, int, int]) -> bool:
    """True when `kes_version` names a KES release older than `introduced` (a release date such as
    `2023-04-03` or a semver triple); False when it does not, or names no release kescheck can place."""
    if not kes_version:
        return False
    target = _release_order(kes_version)
    return bool(target) and target < _release_order(introduced)


# Keys that exist only in G2 configs (KES >= 2023-10-24), with the release that introduced each (field-failures
# E1, G3): any one of them decides the generation, even over --kes-version (reference §3: G2-only keys decide, else
# --kes-version). A release named with --kes-version that predates one ignores the key (KES220 says so).
G2_INTRODUCED = {
    "tls.auth": "2023-11-09",
    "keystore.vault.transit": "2023-10-24",
    "keystore.vault.approle.namespace": "2024-01-11",
    "keystore.vault.kubernetes.namespace": "2024-01-11",
}
G2_ONLY_PATHS = tuple(G2_INTRODUCED)

TLS_AUTH_SINCE = G2_INTRODUCED["tls.auth"]
LOG_LEVELS_SINCE = "2023-11-09"
"""Log levels for `log.error`/`log.audit` (FM-28): earlier releases, 2023-10-24 and 2023-10-27 included, accept on/off only."""

# Keys the last glob-era releases introduced (field-failures E1, G3), with the release that did. Without
# --kes-version they mark the file as G2 like the keys above (the current KES is the likelier target); a
# release named with --kes-version decides instead, so a glob-era config of 2023-05-01 keeps glob matching.
LATE_G1_PATHS = {
    "api": "2023-04-03",
    "keystore.entrust.keycontrol": "2023-07-26",
}

# Keys KES reads only from a certain release on: a release named with --kes-version that predates one ignores
# the key (KES220 says so). The G1 schema knows them, as G1 spans every release up to 2023-09-28.
INTRODUCED = {
    "tls.ca": (0, 22, 0),
    **LATE_G1_PATHS,
}


class KeystoreEra(enum.Enum):
    """How a KES release treats the keystores of its config (field-failures FM-13, E2)."""

    AMBIGUOUS_REFUSED = "ambiguous"
    """KES <= 0.21: a backend counts when its key field is not empty; two of them -> refused (`ambiguous KMS
    configuration`); none -> an in-memory store."""
    FIRST_WINS = "first-wins"
    """KES v0.22.0 to 2023-02-15: counted as above; of two, the first in a fixed order wins silently; none ->
    in memory."""
    COUNTED = "counted"
    """KES 2023-04-03 on: every keystore mapping counts; none or two -> refused."""


def keystore_era(generation: "Generation", kes_version: str | None) -> KeystoreEra | None:
    """The keystore behaviour of the release kescheck checks for; None: a G1 config without --kes-version, whose
    releases (0.17.2 to 2023-09-28) span all three."""
    if generation is Generation.G2:
        return KeystoreEra.COUNTED
    if kes_version:
        if predates(kes_version, (0, 22, 0)):
            return KeystoreEra.AMBIGUOUS_REFUSED
        return KeystoreEra.FIRST_WINS if predates(kes_version, "2023-04-03") else KeystoreEra.COUNTED
    return KeystoreEra.AMBIGUOUS_REFUSED if generation is Generation.G0 else None


def unset_variable_is_empty(generation: "Generation", kes_version: str | None) -> bool | None:
    """True: the release (KES <= 0.21) substitutes an unset `${VAR}` as the empty string; False: it refuses to
    start; None: not known (a G1 config without --kes-version spans both)."""
    if generation is Generation.G2:
        return False
    if kes_version:
        return predates(kes_version, (0, 22, 0))
    return True if generation is Generation.G0 else None


# The keystores KES <= 2023-02-15 recognises, in the order it picks among several (FM-13), each with the field
# that makes it count: a backend whose field is missing or empty is no backend to those releases.
IN_MEMORY_ERA_KEYSTORES = (
    ("fs", "path"),
    ("generic", "endpoint"),
    ("vault", "endpoint"),
    ("fortanix.sdkms", "endpoint"),
    ("aws.secretsmanager", "endpoint"),
    ("gcp.secretmanager", "project_id"),
    ("azure.keyvault", "endpoint"),
    ("gemalto.keysecure", "endpoint"),
)


# Keys the G1 schema knows that the releases from 2023-04-03 no longer read (field-failures E1, FM-30): a release of
# 2023-04-03 to 2023-09-28 named with --kes-version ignores them (KES220 says so).
REMOVED = {
    "keystore.generic": "2023-04-03",
    "keystore.vault.approle.retry": "2023-04-03",
    "keystore.vault.kubernetes.retry": "2023-04-03",
    "keystore.gemalto.keysecure.credentials.retry": "2023-04-03",
}


def release_words(introduced: str | tuple[int, int, int]) -> str:
    """`KES 2023-04-03` or `KES v0.22.0`."""
    return f"KES v{'.'.join(map(str, introduced))}" if isinstance(introduced, tuple) else f"KES {introduced}"


def target_release(generation: "Generation | None", kes_version: str | None) -> str:
    """How messages name the KES a config is checked for: `KES 0.22`, or `KES of generation G0 (KES <= 0.17.1)`
    (a generation is needed only without a version)."""
    return f"KES {kes_version.strip()}" if kes_version else f"KES of generation {generation.label}"

# Values that are secrets wherever they appear; matched against YAML paths with fnmatch.
SECRET_PATHS = (
    "tls.password",
    "keystore.vault.approle.secret",
    "keystore.vault.kubernetes.jwt",
    "keystore.fortanix.sdkms.credentials.key",
    "keystore.gemalto.keysecure.credentials.token",
    "keystore.gcp.secretmanager.credentials.private_key",
    "keystore.gcp.secretmanager.credentials.private_key_id",
    "keystore.aws.secretsmanager.credentials.accesskey",
    "keystore.aws.secretsmanager.credentials.secretkey",
    "keystore.aws.secretsmanager.credentials.token",
    "keystore.azure.keyvault.credentials.client_secret",
    "keystore.entrust.keycontrol.credentials.password",
    # older generations
    "keystore.generic.tls.password",
    "keys.vault.approle.secret",
    "keys.vault.kubernetes.jwt",
)

_ENV_REFERENCE = re.compile(r"^\$\{\s*(.*?)\s*\}$", re.DOTALL)
"""KES takes a trimmed value that starts with `${` and ends with `}` as one reference, and everything between as
the name: `${A}${B}` names a variable `A}${B`."""


def env_reference(node: YNode | None) -> str | None:
    """The variable name when the whole scalar is a `${NAME}` reference (KES substitutes only those)."""
    if isinstance(node, YScalar) and "${" in node.text and not node.is_null:
        match = _ENV_REFERENCE.match(node.text.strip())
        if match:
            return match[1]
    return None


_SHELL_EXPANSION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(:[-=?+])(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ShellExpansion:
    """A `${NAME}` whose NAME is shell parameter-expansion syntax (`VAR:-default`, `VAR:=x`, `VAR:?msg`,
    `VAR:+x`). KES knows no such syntax: it looks up a variable literally named NAME."""

    variable: str
    operator: str
    word: str

    @property
    def is_default(self) -> bool:
        return self.operator in (":-", ":=")

    @property
    def is_joined(self) -> bool:
        return self.operator == JOINED


def shell_expansion(name: str | None) -> ShellExpansion | None:
    """What a shell would make of `${name}`, when the name (from env_reference) uses shell syntax.

    Only the forms with a colon: `:` is in no variable name anyone sets, while `${A-B}` may be a
    variable literally named `A-B` (container runtimes allow such names).
    """
    match = _SHELL_EXPANSION.match(name) if name else None
    if match:
        return ShellExpansion(match[1], match[2], match[3])
    if name and ("${" in name or "}" in name):
        return ShellExpansion(name.split("}", 1)[0].strip(), JOINED, "")
    return None


JOINED = "}${"
"""ShellExpansion.operator of `${A}${B}` (or `${A}-${B}`): references joined into one value, which shells and
container runtimes expand one by one, and KES looks up as one name."""


_SECRET_PATH = re.compile("|".join(fnmatch.translate(pattern) for pattern in SECRET_PATHS))


@functools.lru_cache(maxsize=4096)
def is_secret_path(path: str) -> bool:
    """Cached: every scalar of every config asks, and a batch repeats the same few hundred paths."""
    return _SECRET_PATH.match(path) is not None


_SECRET_KEY_NAMES = sorted({path.rsplit(".", 1)[-1] for path in SECRET_PATHS} - {"key"})
"""The names of KES's secret settings; `key` (Fortanix) is left out: it is `tls.key`'s name too, a path."""


@functools.lru_cache(maxsize=4096)
def _named_like_a_secret(path: str) -> bool:
    """The value's key is named like a secret (`token`, `secret-id`, `password`) or misspells a secret setting's
    name (`secert`): a key KES does not know, misspelt or placed wrongly, still holds what its author meant to be
    secret. Cached by path, as `is_secret_path` is."""
    import difflib

    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return is_secret_variable(re.sub(r"[^A-Za-z0-9]", "_", name)) or bool(
        difflib.get_close_matches(name.lower(), _SECRET_KEY_NAMES, n=1, cutoff=0.8))


def _secret_elsewhere(node: YScalar) -> bool:
    """A value that is no secret setting of KES but still a secret: under a key named like one, or a token or API
    key by its form."""
    return _named_like_a_secret(node.path) or node.text.lstrip().startswith(SECRET_VALUE_PREFIXES)


_POLICY_IDENTITY_PATH = re.compile(r"policy\..+\.identities\[\d+\]")


def is_policy_identity_path(path: str) -> bool:
    """`policy.NAME.identities[N]`; NAME may hold dots, as YAML keys may."""
    return _POLICY_IDENTITY_PATH.fullmatch(path) is not None


def names_token_file(node: YNode | None) -> bool:
    """A Vault Kubernetes `jwt` value that is the path of the token file, not the token: KES reads a value with
    `/` as a file, and a JWT (base64url segments joined by dots) never contains one."""
    return isinstance(node, YScalar) and node.path.endswith("kubernetes.jwt") and "/" in node.text


@dataclass
class KesConfig:
    doc: YamlDocument
    generation: Generation
    generation_reason: str
    detected: bool
    """True when the file itself decided the generation (by `root:` or a G2-only key)."""
    target_version: str | None = None
    env_references: list[tuple[str, YScalar]] = field(default_factory=list)

    @property
    def source(self) -> SourceFile:
        return self.doc.source

    @property
    def root(self) -> YMap | None:
        return self.doc.root if isinstance(self.doc.root, YMap) else None

    def find(self, dotted: str) -> YNode | None:
        return self.doc.find(dotted)

    def scalar(self, dotted: str) -> YScalar | None:
        node = self.find(dotted)
        return node if isinstance(node, YScalar) and not node.is_null else None

    def text(self, dotted: str) -> str:
        node = self.scalar(dotted)
        return node.text.strip() if node else ""

    @property
    def admin_node(self) -> YScalar | None:
        """Where the config names its admin: `admin.identity`, else `root` (G0)."""
        return self.scalar("admin.identity") or self.scalar("root")

    def retarget(self, kes_version: str, origin: str) -> None:
        """Check the file for the release `origin` runs (a container's image tag) instead of the one it was loaded
        for: the generation is decided again, as `load_kes_config` would with that version."""
        self.generation, self.generation_reason, self.detected = detect_generation(self.doc, kes_version, origin)
        self.target_version = kes_version

    def release(self) -> None:
        """Drop the parsed tree once every rule has read it; the source and generation stay for reports."""
        self.doc.release()
        self.env_references = []


def _key_line(doc: YamlDocument, dotted: str) -> int:
    parent, _, name = dotted.rpartition(".")
    holder = doc.find(parent) if parent else doc.root
    key = holder.key_node(name) if isinstance(holder, YMap) else None
    return key.line if key is not None else doc.find(dotted).line


def version_origin(kes_version: str, origin: str | None) -> str:
    """Where the target release comes from, for messages: `--kes-version 0.22`, or `origin` (the image a container
    runs, whose tag names the release)."""
    return origin or f"--kes-version {kes_version.strip()}"


def detect_generation(doc: YamlDocument, kes_version: str | None,
                      origin: str | None = None) -> tuple[Generation, str, bool]:
    """A G2-only key proves the file was written for KES >= 2023-10-24 (which ignores `root`); then the version
    the user names, or the tag of the image that runs KES (`origin` says which: see `version_origin`; a key of the
    last glob-era releases only when there is none); `root:` only suggests an old file when nothing else tells."""
    root = doc.root if isinstance(doc.root, YMap) else None
    for dotted in G2_ONLY_PATHS:
        node = doc.find(dotted)
        if node is not None:
            reason = f"detected {Generation.G2.label} from `{dotted}` at line {_key_line(doc, dotted)}"
            if kes_version and predates(kes_version, G2_INTRODUCED[dotted]):
                reason += (f", although {version_origin(kes_version, origin)} names KES {kes_version.strip()}, which "
                           "does not know that key (KES220)")
            return Generation.G2, reason, True
    for dotted, introduced in LATE_G1_PATHS.items():
        node = doc.find(dotted)
        if node is not None and not kes_version:
            return Generation.G2, (f"assumed {Generation.G2.label} from `{dotted}` at line {_key_line(doc, dotted)} "
                                   f"(KES reads it since {introduced[:10]}: name an earlier, glob-era release with "
                                   "--kes-version)"), True
    if kes_version:
        generation = generation_of_version(kes_version)
        return generation, f"{generation.label}, from {version_origin(kes_version, origin)}", False
    if root is not None and root.key_node("root") is not None:
        key = root.key_node("root")
        return Generation.G0, f"detected {Generation.G0.label} from `root:` at line {key.line}", True
    return CURRENT, f"assumed the current KES, {CURRENT.label}: nothing in the file decides (use --kes-version to choose)", False


def _mark_scalar(source: SourceFile, node: YScalar) -> None:
    if node.end_line == node.line:
        source.mark_secret(node.line, node.column, node.end_column, node.text)
    else:  # a block or folded scalar: mask every line it spans
        source.mark_secret(node.line, node.column, 10**6, node.text)
        for line in range(node.line + 1, node.end_line + 1):
            source.mark_secret(line, 1, 10**6, "")


def _mark_secrets(doc: YamlDocument) -> None:
    if doc.root is None:
        _mark_secret_lines(doc.source)
        return
    if not isinstance(doc.root, YMap):
        # No config at all (KES011): a token or key file named as one by mistake shows none of its values.
        for inner in walk(doc.root):
            if isinstance(inner, YScalar) and not inner.is_null:
                _mark_scalar(doc.source, inner)
        return
    for node in doc.nodes():
        if getattr(node, "is_key", False) or not node.path:
            continue
        if isinstance(node, YScalar) and "@" in node.text:  # a keystore endpoint `https://user:PASSWORD@vault`
            doc.source.secret_values.update(url_passwords(node.text))
        if not is_secret_path(node.path):
            if isinstance(node, YScalar) and not node.is_null and _secret_elsewhere(node) and env_reference(node) is None:
                _mark_scalar(doc.source, node)
            continue
        if isinstance(node, YScalar):
            expansion = shell_expansion(env_reference(node))
            if not node.is_null and env_reference(node) is None and not names_token_file(node):
                _mark_scalar(doc.source, node)
            elif expansion is not None and expansion.word.strip():
                # `${SECRET:-s3cret}`: the shell-style default is the secret, written into the file.
                _mark_scalar(doc.source, node)
                doc.source.secret_values.add(expansion.word.strip())
            continue
        # A list or mapping where KES expects the secret (a mistake): whatever it holds is still the secret.
        for inner in walk(node):
            if isinstance(inner, YScalar) and not inner.is_null:
                _mark_scalar(doc.source, inner)


_SECRET_KEYS = "|".join(sorted({re.escape(path.rsplit(".", 1)[-1]) for path in SECRET_PATHS} | {"key"}, key=len,
                              reverse=True))
_SECRET_LINE = re.compile(rf"""(?:^|[\s{{,\[])(["']?)(?:{_SECRET_KEYS})\1[ \t]*:(?=[ \t]|$)[ \t]*""")


_EXPLICIT_SECRET_KEY = re.compile(rf"""^[ \t]*\?[ \t]+(["']?)(?:{_SECRET_KEYS})\1[ \t]*$""")


def _mark_secret_lines(source: SourceFile) -> None:
    """YAML that does not parse has no paths: mask, by key name alone, every value that could be a secret, with
    the lines it may go on over: the more-indented lines after it (a block scalar, blank lines inside it
    included), a quoted string up to its closing quote, and the `: value` line of an explicit `? secret` key."""
    owner_indent: int | None = None
    open_quote: str | None = None
    explicit_key = False
    for number, line in enumerate(source.lines, start=1):
        if open_quote is not None:
            source.mark_secret(number, 1, 10**6, "")
            if _closing_quote_at(line, open_quote) is not None:
                open_quote = None
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if owner_indent is not None and (not line.strip() or indent > owner_indent):
            source.mark_secret(number, 1, 10**6, "")
            continue
        owner_indent = None
        if explicit_key and line.lstrip().startswith(":"):
            explicit_key = False
            start = line.index(":") + 1
            source.mark_secret(number, start + 1, 10**6, line[start:].strip())
            owner_indent = indent
            continue
        explicit_key = _EXPLICIT_SECRET_KEY.match(line) is not None
        match = _SECRET_LINE.search(line)
        if match is None:
            embedded = embedded_secret(line)
            if embedded is not None:  # `VAULT_TOKEN=...`: an env or unit line in a file named as a KES config
                source.mark_secret(number, embedded + 1, 10**6, line[embedded:].strip())
            continue
        value = line[match.end():]
        source.mark_secret(number, match.end() + 1, 10**6, value.strip().strip("'\"{}[],").strip())
        owner_indent = indent
        quote = value.lstrip()[:1]
        if quote in ("'", '"') and _closing_quote_at(value.lstrip()[1:], quote) is None:
            open_quote = quote


def _closing_quote_at(text: str, quote: str) -> int | None:
    """Where the quote that closes a YAML `quote`d string stands in `text` (the rest of the string), if it does:
    `\\"` does not close a double-quoted string, nor `''` a single-quoted one."""
    i = 0
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return None


def load_kes_config(source: SourceFile, kes_version: str | None = None, doc: YamlDocument | None = None) -> KesConfig:
    doc = doc or parse_yaml(source)
    generation, reason, detected = detect_generation(doc, kes_version)
    config = KesConfig(doc, generation, reason, detected, kes_version)
    _mark_secrets(doc)
    for node in doc.values():
        name = env_reference(node)
        if name is not None:
            config.env_references.append((name, node))
    return config


TOP_LEVEL_KEYS = frozenset({"version", "address", "admin", "root", "tls", "policy", "cache", "api", "log", "keys", "keystore"})
_ANCHOR_KEYS = frozenset({"keystore", "admin", "root"})
"""Top-level keys that only KES configs have; the others are common words in other YAML."""
_COMMON_KEYS = frozenset({"tls", "policy", "keys", "cache", "address", "log", "api"})


def _kes_vocabulary(keys: set[str]) -> bool:
    return bool(keys & _ANCHOR_KEYS) and len(keys & TOP_LEVEL_KEYS) >= 2 or len(keys & _COMMON_KEYS) >= 3


def looks_like_kes_config(doc: YamlDocument) -> bool:
    """Recognise a KES config by its content: the top-level keys only KES configs combine."""
    root = doc.root
    return isinstance(root, YMap) and looks_like_kes_keys(set(root.keys()))


def looks_like_kes_keys(keys: set[str]) -> bool:
    """The top-level keys of a mapping are those of a KES config."""
    return _kes_vocabulary(keys) and (bool(keys & _ANCHOR_KEYS) or len(keys - TOP_LEVEL_KEYS) <= 2)


_KEY_WORD = re.compile(r"""(?:^|[\s{,\[?\ufeff])["']?(%s)["']?[ \t]*(?::|#|[\r\n\x85\u2028\u2029]|$)"""
                       % "|".join(sorted(TOP_LEVEL_KEYS)), re.MULTILINE)


def may_be_kes_config(text: str) -> bool:
    """False only when no parse of `text` can look like a KES config: its key names do not occur as keys
    at any depth, in block or flow style. Lets a directory walk skip parsing a monorepo's other YAML; only
    a key spelt with YAML escapes (such as "\\x74ls") would slip through, and no KES config is written so."""
    return _kes_vocabulary(set(_KEY_WORD.findall(text)))
