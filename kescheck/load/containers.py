"""Containers that run `kes server`: the services of a Compose file and the containers of Kubernetes workloads.

KES's official image runs `/kes` (its entrypoint) with the container's arguments: Compose's `command:` and
Kubernetes' `args:`. Compose's `entrypoint:` and Kubernetes' `command:` replace the entrypoint, and then the command
runs `kes server` when its first word is a `kes` executable and its second is `server`. Compose splits a command
given as one string into words itself (quotes and backslashes as a shell would, without running one); Kubernetes
takes a list only. `$VAR`, `${VAR}` (Compose) and `$(VAR)` (Kubernetes) are replaced before KES sees a word, so a
word holding one is not known here.

The words are read as KES reads them (`load.kescommand`). Reading a file also marks the values a report must never
show, because a code frame of a finding may show the lines around them: the values of a Kubernetes Secret, and the
environment variables with secret names of every container and service. Nothing here raises on content.
"""
from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .envfile import EnvEntry, EnvFile, EnvReading, is_secret_variable, is_valid_variable_name
from .kesconfig import TOP_LEVEL_KEYS
from .kescommand import (CommandProblem, KesLauncher, ServerCommand, Word, is_kes_executable, server_flags,
                         split_words)
from .source import MINIO_LINE_BREAK, SourceFile

_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    **{kind: ("spec", "template", "spec")
       for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")},
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each kind of workload keeps its pod spec."""
_MAY_START_KES = (re.compile(r"\bkes\b"), re.compile(r"\bserver\b"))
"""Both must occur in a text before it is composed to look for containers that run `kes server`."""
_COMPOSE_SERVICES = re.compile(r"^services[ \t]*:", re.MULTILINE)
_TENANT_KIND = re.compile(r"^kind[ \t]*:[ \t]*[\"']?Tenant\b", re.MULTILINE)
OPERATOR_IDENTITY = "MINIO_KES_IDENTITY"
"""What the MinIO Operator sets in the environment of a Tenant's KES pods, when `spec.kes.env` does not: the identity of
the client certificate it gives MinIO, for the KES config's policy to name as `${MINIO_KES_IDENTITY}`."""
_OPERATOR_KMS_SETTINGS = ("MINIO_KMS_KES_ENDPOINT", "MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE",
                          "MINIO_KMS_KES_CAPATH")
"""What the MinIO Operator sets in the environment of a Tenant's MinIO pods from its `spec.kes` section, besides
MINIO_KMS_KES_KEY_NAME (from `keyName`): values it computes, which the manifest does not show."""


_TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
_TOKEN_SECRET_KEYS = ("token", "ca.crt", "namespace")
"""The keys Kubernetes adds to a Secret of that type, which a manifest leaves out."""
_RELEASE_TAG = re.compile(r"^(?:v?0\.\d+\.\d+|\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$", re.ASCII)
"""KES's release names: `v0.22.3` (every numbered release is 0.x) or a date; Bitnami's `2023.5.2` is neither."""
"""The tags under which KES's image is published for a release: `v0.22.3` (semver-named releases, with or without
the `v`) and `2024-01-11T13-09-29Z` (date-named ones)."""


@dataclass(frozen=True)
class Mount:
    """A file or directory of this host that a Compose service sees at `target`: a bind mount of `volumes:`, or a
    `configs:`/`secrets:` entry whose top-level definition names a `file:`."""

    target: str
    """The absolute path in the container, normalised."""
    host: Path
    """Where it is here: a relative source is relative to the Compose file's directory."""
    line: int
    """Where the mount is written."""


@dataclass(frozen=True)
class MountedValue:
    """A file a Kubernetes container sees at `target` because a volume mounts a key of a Secret or ConfigMap that the
    manifest holds (`data` base64-decoded, `stringData` as written)."""

    target: str
    """The absolute path in the container, normalised."""
    data: bytes = field(repr=False)
    origin: str
    """`key 'tls.crt' of Secret 'kes-tls' in kes.yaml`, for messages."""


@dataclass(frozen=True)
class VolumeMount:
    """What one of a Kubernetes container's `volumeMounts:` puts at `target`."""

    target: str
    """The absolute path in the container, normalised."""
    files: frozenset[str]
    """The paths below `target` known to hold files (`''`: the mount is a single file, through `subPath:`): the keys of
    a Secret or ConfigMap of the manifest, `items:`, a projected service account token or downward API file."""
    complete: bool
    """Whether those are all its files; not for an `emptyDir:`, a claim, a host path, a Secret that is elsewhere."""
    line: int
    """Where the mount is written."""
    volume_type: str = ""
    """What the volume is (`emptyDir`, `persistentVolumeClaim`, `secret`, ...); empty when the pod spec does not say."""
    read_only: bool = False
    """Nothing can be written there: `readOnly: true`, or a volume Kubernetes always mounts read-only."""


@dataclass(frozen=True)
class OperatorKes:
    """What a MinIO Operator Tenant's `spec.kes` says beyond a container's settings."""

    config_secret: Word | None
    """The name of the Secret that `kesSecret` says holds the KES config."""
    identity_set: Word | None
    """The name of a MINIO_KES_IDENTITY item of `spec.kes.env`: the operator then does not set the variable."""
    client_certificate: bool
    """`clientCertSecret` names MinIO's client certificate; without it the operator makes one."""


@dataclass(frozen=True)
class HttpProbe:
    """An `httpGet:` liveness, readiness or startup probe of a Kubernetes container: kubelet's plain request, without
    a client certificate (and, with `scheme: HTTPS`, without verifying the server's)."""

    kind: str
    """`livenessProbe`, `readinessProbe` or `startupProbe`."""
    at: Word
    """The `httpGet` key."""
    scheme: Word | None
    """None: not written, so HTTP."""
    path: Word | None
    """None: not written, so `/`."""
    port: int | None
    """The port kubelet connects to (a named port resolved through the container's `ports:`); None when not known."""
    port_word: Word | None

    @property
    def https(self) -> bool:
        return self.scheme is not None and self.scheme.text.upper() == "HTTPS"

    @property
    def route(self) -> str:
        """The path asked for, without its query."""
        return (self.path.text if self.path is not None else "/").split("?", 1)[0] or "/"


SERVICE_ACCOUNT_DIRECTORY = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where Kubernetes mounts a pod's service account token (`token`, with `ca.crt` and `namespace`) into each of its
containers, unless `automountServiceAccountToken: false` (of the pod spec, else of its ServiceAccount) turns it off or
the container mounts a volume there itself."""
_READ_ONLY_VOLUMES = frozenset({"secret", "configMap", "projected", "downwardAPI"})
"""Volumes Kubernetes mounts read-only whatever the mount says."""
_TOKEN_VOLUME = VolumeMount(SERVICE_ACCOUNT_DIRECTORY, frozenset({"token", "ca.crt", "namespace"}), True, 0)
"""The service account token's volume, which Kubernetes adds to each container (it is written nowhere)."""
_TOKEN_VOLUME_UNKNOWN = VolumeMount(SERVICE_ACCOUNT_DIRECTORY, frozenset(), False, 0)
"""The same, where the ServiceAccount that decides whether it is added is not in the manifest."""


def mounted_value(values: list[MountedValue], container_path: str, directory: bool = False) -> MountedValue | None:
    """The Secret or ConfigMap value a container opens at the absolute `container_path`, when a volume mounts one.
    With `directory` (a CA setting, which may name a directory: MinIO's CAPATH), a directory that volumes fill with
    such values is their certificates together."""
    if not values or not posixpath.isabs(container_path) or "$" in container_path:
        return None
    wanted = posixpath.normpath(container_path)
    found = next((value for value in values if value.target == wanted), None)
    if found is not None or not directory:
        return found
    inside = [value for value in values if posixpath.dirname(value.target) == wanted]
    if not inside:
        return None
    return MountedValue(wanted, b"\n".join(value.data for value in inside),
                        " and ".join(value.origin for value in inside))


_RUNTIME_VARIABLES = ("PATH", "HOSTNAME", "HOME")
"""What Docker and Kubernetes set in every container besides what its spec gives (their values depend on the image
and the host)."""
_SERVICE_LINK = re.compile(r"^[A-Z0-9_]+_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_[0-9]+_(?:TCP|UDP|SCTP)"
                           r"(?:_(?:PROTO|PORT|ADDR))?)?)$")
"""The variables Kubernetes sets for every Service of the pod's namespace (`KES_SERVICE_HOST`, `KES_PORT_7373_TCP`)
unless the pod spec says `enableServiceLinks: false`: which Services exist is not in the manifest."""


@dataclass(frozen=True)
class ContainerEnvironment:
    """The environment a container starts KES with, as far as its Compose service or Kubernetes container says."""

    values: dict[str, str | None]
    """Each variable it sets, with its value; None: set, to a value known only where the container starts (`${VAR}`
    that Compose fills in, a `valueFrom` Secret, a value of an env file that Compose would unquote or fill in)."""
    origin: str
    """`` `environment:` and `env_file:` of the Compose service 'kes' in compose.yaml``, for messages."""
    service_links: bool = False
    """Kubernetes may set a variable of each Service of the namespace too."""
    open_ended: str | None = None
    """What may set further variables that kescheck cannot read (`envFrom:` sources that are not in the manifest, an
    env file that is not here), for messages."""

    def for_names(self, names) -> dict[str, str | None]:
        """`values`, with each of `names` (those a KES config refers to) that the runtime, or a source kescheck
        cannot read, may set on its own."""
        values = dict(self.values)
        for name in names:
            if self.open_ended or self.service_links and _SERVICE_LINK.match(name):
                values.setdefault(name, None)
        return values

    def uncertain(self, names) -> dict[str, str]:
        """Each of `names` that only a source kescheck cannot read may set, with that source."""
        return {name: self.open_ended for name in names if self.open_ended and name not in self.values}


@dataclass
class KesContainer(KesLauncher):
    """A Compose service or a Kubernetes container that runs `kes server` (`command`: its command line)."""

    image: Word | None = None
    mounts: list[Mount] = field(default_factory=list)
    mounted_values: list[MountedValue] = field(default_factory=list)
    """The Secret and ConfigMap values of the manifest that Kubernetes volumes mount into the container."""
    volume_mounts: list[VolumeMount] | None = None
    """A Kubernetes container's `volumeMounts:`; None for a Compose service."""
    storage: list[VolumeMount] | None = None
    """Where the container can keep files beyond its own file system, whatever they hold: a Kubernetes container's
    `volumeMounts:`, a Compose service's `volumes:` and `tmpfs:`; None when not read."""
    read_only_root: str = ""
    """What makes the container's own file system read-only, for messages (Compose's `read_only: true`, Kubernetes'
    `readOnlyRootFilesystem: true`); empty when it is writable."""
    service_account_token: bool | None = None
    """Whether Kubernetes mounts the service account token into the container (None: its ServiceAccount decides, and
    it is not in the manifest)."""
    token_turned_off: str = ""
    """What turns the token off, for messages (`` `automountServiceAccountToken: false` at line 12``)."""
    probes: list[HttpProbe] = field(default_factory=list)
    """A Kubernetes container's `httpGet:` probes."""
    compose_service: str = ""
    """The name of the Compose service; empty for a Kubernetes container."""
    tenant: "OperatorKes | None" = None
    """What a MinIO Operator Tenant says of the KES the operator runs for it; None for any other container."""
    environment: ContainerEnvironment | None = None
    """What the container starts KES with; None when it is not read."""

    def on_host(self, container_path: str) -> Path | None:
        return on_host(self.mounts, container_path)

    def holds(self, container_path: str) -> tuple[bool | None, str]:
        """Whether a Kubernetes container has a file at the absolute `container_path` when it starts, as far as its
        volumes and the service account token tell, with why not (for messages). None: not known here (a Compose
        service, a volume whose content is not in the manifest, a path with `$`); a file of the image is not known
        either, but a token (what this is asked for) is never baked into one."""
        if self.volume_mounts is None or not posixpath.isabs(container_path) or "$" in container_path:
            return None, ""
        wanted = posixpath.normpath(container_path)
        mounts = list(self.volume_mounts)
        if self.service_account_token is not False and all(m.target != SERVICE_ACCOUNT_DIRECTORY for m in mounts):
            mounts.append(_TOKEN_VOLUME if self.service_account_token else _TOKEN_VOLUME_UNKNOWN)
        mount = _deepest(mounts, wanted)
        if mount is None:
            if _inside(wanted, SERVICE_ACCOUNT_DIRECTORY):
                return False, f"Kubernetes mounts no service account token into it: {self.token_turned_off}"
            return False, "no volume of the container is mounted at or above that path"
        rest = wanted[len(mount.target):].lstrip("/")
        if rest in mount.files or not mount.complete:
            return (True if rest in mount.files else None), ""
        if mount is _TOKEN_VOLUME:
            return False, f"Kubernetes mounts only 'token', 'ca.crt' and 'namespace' at {SERVICE_ACCOUNT_DIRECTORY}"
        held = ", ".join(f"'{name}'" for name in sorted(mount.files)) or "no file"
        return False, f"the volume mounted at '{mount.target}' (line {mount.line}) holds {held}, not '{rest}'"

    def volume_at(self, container_path: str) -> VolumeMount | None:
        """The volume that holds the absolute `container_path` (the mount with the longest target above it, see
        `storage`); None when none does, and the path is in the container's own file system."""
        return _deepest(self.storage or [], posixpath.normpath(container_path))

    @property
    def config_on_host(self) -> Path | None:
        """Where the KES config its `kes server --config` names is on this host, when a mount tells."""
        config = self.config
        return self.on_host(config.text) if config is not None and config.names_known_path else None

    @property
    def release(self) -> str | None:
        """The KES release the image's tag names; None for another image, a moving tag (`latest`, `edge`), a
        digest alone, or a tag Compose fills in from a variable."""
        return image_release(self.image.text) if self.image is not None else None


def _inside(path: str, directory: str) -> bool:
    """`path` is `directory` or below it (both normalised and absolute)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _deepest(mounts: list, path: str):
    """Of `mounts` (each with a `target`), the one with the longest target that holds the normalised `path`."""
    return max((mount for mount in mounts if _inside(path, mount.target)), key=lambda m: len(m.target), default=None)


def on_host(mounts: list[Mount], container_path: str) -> Path | None:
    """Where a file a container opens at the absolute `container_path` is on this host, through the mount with the
    longest target that holds it; None when no mount does (the file is in the image or a volume)."""
    if not posixpath.isabs(container_path) or "$" in container_path:
        return None
    wanted = posixpath.normpath(container_path)
    best = _deepest(mounts, wanted)
    if best is None:
        return None
    rest = wanted[len(best.target):].lstrip("/")
    return best.host / rest if rest else best.host


class MinioEnvironment(EnvFile):
    """The environment of a MinIO container (Compose `environment:`, Kubernetes `env:`, or an env file Compose reads
    for the service) that holds KMS settings, as the entries of an env file that stand where the file writes them.
    MinIO gets these values as the container runtime gives them: neither MinIO's env file reader nor systemd's
    runs, so the rules about how those readers split lines have nothing to say here.

    A value kescheck cannot know makes its variable present (`present`, `defined`: MinIO counts a variable that is
    set) without an entry (`get`): Compose fills in `${VAR}` and takes a name without a value from the shell;
    Kubernetes takes `valueFrom` from a Secret or ConfigMap and replaces `$(VAR)`, and sets the keys of the ConfigMaps
    and Secrets `envFrom:` names."""

    def __init__(self, source: SourceFile, label: str, position: tuple[int, int] | None,
                 assignments: list[tuple[EnvEntry, bool]], mounts: list[Mount], compose_list: bool = False,
                 declared_in: SourceFile | None = None, open_ended: str | None = None,
                 mounted_values: list[MountedValue] | None = None, identity_variable: str | None = None,
                 command_words: list[Word] | None = None, source_kind: str | None = None) -> None:
        self.source = source
        self.command_words = command_words or []
        """The words of the container's command line as its Compose file or manifest writes it (`server --certs-dir
        /certs /data`): they may name MinIO's certs directory."""
        self.identity_variable = identity_variable
        """The variable of KES's environment that holds this MinIO's identity, when something other than kescheck
        computes it from MinIO's credential: the MinIO Operator sets MINIO_KES_IDENTITY to the identity of the
        client certificate it gives a Tenant's MinIO pods (unless `spec.kes.env` sets the variable itself)."""
        self.mounted_values = mounted_values or []
        """The Secret and ConfigMap values of the manifest that Kubernetes volumes mount into MinIO's container."""
        self.open_ended = open_ended
        """What may set variables kescheck cannot name (`envFrom:` of a Secret that is not in the manifest, an env file
        Compose reads that is not here), for the report's notes: any variable may then be set, so none is reported
        missing."""
        self.declared_in = declared_in
        """The Compose file of the service, when `source` is an env file Compose reads for it."""
        # None: the lines of an env file; `unit` for MinIO's systemd unit, whose comments are read as systemd does
        self.source_kind = source_kind or ("containers" if position is not None else "env")
        self.compose_list = compose_list
        """Written as Compose's `- NAME=value` items, whose value is everything after the `=`, quotes included."""
        self.systemd_may_read = False
        self.label = label
        """`the Compose service 'minio'`, `container 'minio' of StatefulSet 'minio'`."""
        self.holder = f"the environment of {label}"
        self.position = position
        """Where its `environment:` or `env:` key is; None when its source is an env file."""
        self.mounts = mounts
        last = {entry.name: (entry, known) for entry, known in assignments}
        self.unknown = {name: entry for name, (entry, known) in last.items() if not known}
        """The variables set to a value kescheck cannot know, each with where it is set."""
        entries = [entry for entry, known in assignments if known]
        self._reading = EnvReading(entries=entries, last_by_name={name: entry for name, (entry, known) in last.items()
                                                                  if known})

    def release(self) -> None:
        """The entries are small and were made while the file was read: there is nothing to read again."""

    def present(self, name: str) -> EnvEntry | None:
        return self.get(name) or self.unknown.get(name)

    def defined(self, name: str) -> bool:
        return self.open_ended is not None or self.present(name) is not None

    def present_entries(self) -> list[EnvEntry]:
        return sorted(self.entries + list(self.unknown.values()), key=lambda entry: entry.line)

    def on_host(self, container_path: str) -> Path | None:
        return on_host(self.mounts, container_path)


_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|)")
_EXPRESSION = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?+])(?P<argument>.*))?", re.DOTALL)


def interpolate(text: str, variables: dict[str, str | None]) -> str | None:
    """`text` with the variables Compose fills in replaced (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
    `${VAR:?error}`, `${VAR:+other}`, ..., and `$$` for `$`), from `variables` (its `.env` file; None: set, to a
    value not known here). None when a value cannot be known here: a variable `.env` does not set (the shell may),
    a nested or malformed reference, or an error Compose would stop at."""
    if "$" not in text:
        return text
    parts, position = [], 0
    for match in _INTERPOLATION.finditer(text):
        parts.append(text[position:match.start()])
        position = match.end()
        if match[0] == "$$":
            parts.append("$")
            continue
        expression = match["braced"] if match["braced"] is not None else match["plain"]
        found = _EXPRESSION.fullmatch(expression or "")
        if found is None or variables.get(found["name"]) is None or "$" in (found["argument"] or ""):
            return None
        value, operator, argument = variables[found["name"]], found["operator"], found["argument"]
        if operator is None:
            parts.append(value)
            continue
        is_set = value != "" or not operator.startswith(":")
        if operator.endswith("-"):
            parts.append(value if is_set else argument)
        elif operator.endswith("+"):
            parts.append(argument if is_set else "")
        elif is_set:
            parts.append(value)
        else:
            return None  # `${VAR:?message}`: Compose refuses to start
    parts.append(text[position:])
    return "".join(parts)


def read_compose_env_file(source: SourceFile) -> list[tuple[EnvEntry, bool]] | None:
    """The variables of an env file as Compose reads it for `env_file:`, each with whether kescheck knows its value;
    None when a line is not read here as Compose reads it (a name Compose would not take, `NAME: value` among them,
    or a quoted value that goes on to the next line).

    Lines are `NAME=value`, with an optional `export ` and `#` comment lines. A value in single quotes is taken as
    written, one in double quotes without `\\`, `$` or a backtick too; any other value Compose would unescape, fill
    in (`${VAR}`) or cut at a comment is set but not known here, as is a `NAME` line without `=` (Compose takes it
    from the shell). Secret-named values are marked in `source`, so that no report shows them."""
    assignments = []
    source.number_lines_as(MINIO_LINE_BREAK)  # lines end at LF or CRLF, for the entries and the report's frames alike
    for number, line in enumerate(source.lines, start=1):
        body = line.lstrip()
        if not body or body.startswith("#"):
            continue
        start = len(line) - len(body)
        exported = body.startswith("export ")
        if exported:
            rest = body[len("export "):]
            start += len(body) - len(rest.lstrip())
            body = rest.lstrip()
        name, equals, value_text = body.partition("=")
        name = name.rstrip()
        if not is_valid_variable_name(name):
            return None
        value = value_text.strip()
        value_column = start + len(body) - len(value_text.lstrip()) + 1
        quote = value[:1] if value[:1] in ("'", '"') else ""
        inner = value[1:-1] if quote else value
        if quote and (len(value) < 2 or value[-1] != quote or quote in inner):
            return None
        unsure = ("\\", "$", "`") if quote == '"' else () if quote else ("\\", "$", "`", "#", "'", '"')
        known = bool(equals) and not any(mark in inner for mark in unsure)
        entry = EnvEntry(name, inner if known else "", number, start + 1, value_column, value_column + len(value), line,
                         had_export=exported, quote=quote, env_value=inner if known else "")
        if known and inner and is_secret_variable(name):
            source.mark_secret(number, value_column, value_column + len(value), inner)
        assignments.append((entry, known))
    return assignments


def _values(assignments: list[tuple[EnvEntry, bool]]) -> dict[str, str | None]:
    """Each variable with its value; None where kescheck cannot know the value."""
    return {entry.name: entry.value if known else None for entry, known in assignments}


def _sets_kms(assignments: list[tuple[EnvEntry, bool]]) -> bool:
    return any(entry.name.startswith("MINIO_KMS_") for entry, _ in assignments)


def _image_name_and_tag(reference: str) -> tuple[str, str]:
    """(`kes`, `v0.22.3`) of `quay.io/minio/kes:v0.22.3@sha256:...`: the last path part of the repository, without
    the registry (whose `:port` is no tag), and the tag (empty when there is none)."""
    name, _, tag = reference.strip().partition("@")[0].rsplit("/", 1)[-1].partition(":")
    return name, tag


def is_minio_image(reference: str) -> bool:
    """`minio/minio`, `quay.io/minio/minio:RELEASE.2024-01-11T07-46-16Z`, `bitnami/minio`: an image named `minio`."""
    return _image_name_and_tag(reference)[0] == "minio"


def may_hold_containers(text: str) -> bool:
    """Whether `text` may hold a container that runs `kes server`, or a MinIO container's KMS settings (perhaps in an
    env file), or a MinIO Operator Tenant that runs KES: searches that settle most files unread."""
    return all(pattern.search(text) for pattern in _MAY_START_KES) or "MINIO_KMS_" in text or (
        "env_file" in text and "minio" in text) or (  # a MinIO service whose settings are in an env file
        _TENANT_KIND.search(text) is not None and "kes" in text)


def may_be_compose_file(text: str) -> bool:
    return _COMPOSE_SERVICES.search(text) is not None


def is_kes_image(reference: str) -> bool:
    """`minio/kes`, `quay.io/minio/kes:2024-01-11T13-09-29Z`, `kes@sha256:...`: an image whose name is `kes`."""
    return _image_name_and_tag(reference)[0] == "kes"


def image_release(reference: str) -> str | None:
    """`v0.22.3` of `minio/kes:v0.22.3`, `2024-01-11T13-09-29Z` of `quay.io/minio/kes:2024-01-11T13-09-29Z@sha256:...`;
    None unless the image is KES's and its tag names a release."""
    name, tag = _image_name_and_tag(reference)
    return tag if name == "kes" and _RELEASE_TAG.match(tag) else None


class ContainerReader:
    """Reads containers from ruamel nodes of one file (`positions` turns ruamel's marks into kescheck's lines)."""

    def __init__(self, source: SourceFile, positions) -> None:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.source, self.positions = source, positions
        self.mapping_node, self.scalar_node, self.sequence_node = MappingNode, ScalarNode, SequenceNode
        self.minio: list[MinioEnvironment] = []
        """The environments of MinIO's containers read so far that hold KMS settings."""
        self.claimed_env_files: list[Path] = []
        """The env files Compose reads: the `env_file:` files of the services, and `.env` beside a Compose file."""
        self.variables: dict[str, str | None] = {}
        """What Compose fills in `${VAR}` of a Compose file with, as far as its `.env` file says."""
        self.merged_images: dict[str, Word] = {}
        """For an override file: the image of each service of the base file, which a service without `image:` runs."""
        self.config_objects: dict[tuple[str, str], list[tuple[str, dict, Path]]] = {}
        """The ConfigMaps, Secrets and ServiceAccounts of a manifest, which `envFrom:`, volumes and pod specs name:
        (kind, name) -> [(namespace, the object's top-level entries, its file)]."""
        self._neighbour_objects: dict[tuple[str, str], list[tuple[str, dict, Path]]] | None = None
        """The same, of the other YAML files of the directory (read at the first name this file does not hold)."""
        self._kustomized: str | None = None
        """The namespace a kustomization beside the file gives its objects ("" for none), once looked up."""
        self.object_files: list[Path] = []
        """The other files of the directory whose objects a workload of this file takes: a change to one of them
        changes what this file's containers get."""
        self._merged: dict[int, list] = {}
        self._marked: set[int] = set()
        self._generated_bytes = 0
        """What the files of a kustomization's generators weighed so far (see `generated`)."""

    def pairs(self, node):
        """(name, key node, value node) for each scalar key of a mapping, in order, duplicates included."""
        if isinstance(node, self.mapping_node):
            for key, value in node.value:
                if isinstance(key, self.scalar_node):
                    yield str(key.value), key, value

    def merged_pairs(self, node) -> list:
        """`pairs`, with the keys a `<<: *anchor` merge key brings first (YAML's merge: the mapping's own keys win;
        of several merged mappings, the first does). Compose files share settings between services this way. Each
        mapping is merged once per file, so anchors merged into anchors cannot make the work grow."""
        cached = self._merged.get(id(node))
        if cached is not None:
            return cached
        self._merged[id(node)] = []  # a merge that leads back to this mapping adds nothing
        merged: dict[str, tuple] = {}
        own = []
        for name, key, value in self.pairs(node):
            if self._is_merge(name, key):
                for source in self._merge_sources(value):
                    for pair in self.merged_pairs(source):
                        merged.setdefault(pair[0], pair)
            else:
                own.append((name, key, value))
        self._merged[id(node)] = found = list(merged.values()) + own
        return found

    @staticmethod
    def _is_merge(name: str, key) -> bool:
        return name == "<<" and key.style is None

    def _merge_sources(self, value) -> list:
        """The mappings a merge key brings: `<<: *one` or `<<: [*first, *second]`."""
        return list(value.value) if isinstance(value, self.sequence_node) else [value]

    def entries(self, node) -> dict:
        """A mapping's scalar keys: name -> (key node, value node); the last one wins, as in Kubernetes and Compose."""
        return {name: (key, value) for name, key, value in self.merged_pairs(node)}

    def mark_secret(self, node, value: str | None = None) -> None:
        """Every line of scalar `node` is hidden from code frames, and `value` (else the node's value) from reports."""
        if not isinstance(node, self.scalar_node) or not str(node.value):
            return
        (line, column), (end_line, end_column) = self.positions(node.start_mark), self.positions(node.end_mark)
        self.source.mark_secret_region(line, column, end_line, end_column, str(node.value) if value is None else value)

    def mark_secret_values(self, entries: dict) -> None:
        """A Kubernetes Secret's `data` and `stringData` values."""
        for name in ("data", "stringData"):
            for _, _, value in self.pairs(entries.get(name, (None, None))[1]):
                self.mark_secret(value)

    def _mark_environment(self, node) -> None:
        """Kubernetes `env: [{name, value}]`, Compose `environment:` as a mapping or as `NAME=value` strings."""
        if isinstance(node, self.mapping_node):
            if id(node) in self._marked:
                return
            self._marked.add(id(node))
            for name, key, value in self.pairs(node):  # a merged value is marked even where it is overridden
                if self._is_merge(name, key):
                    for source in self._merge_sources(value):
                        self._mark_environment(source)
                elif is_secret_variable(name):
                    self.mark_secret(value)
        elif isinstance(node, self.sequence_node):
            for item in node.value:
                if isinstance(item, self.scalar_node):
                    name, equals, value = str(item.value).partition("=")
                    if equals and value and is_secret_variable(name):
                        self.mark_secret(item, value)
                    continue
                entries = self.entries(item)
                name = entries.get("name", (None, None))[1]
                if isinstance(name, self.scalar_node) and is_secret_variable(str(name.value)):
                    self.mark_secret(entries.get("value", (None, None))[1])

    def _image(self, node) -> Word | None:
        """The image a container runs, with what Compose fills in (`minio/kes:${KES_TAG}`) where `.env` tells."""
        if not isinstance(node, self.scalar_node):
            return None
        word = self._word(node)
        expanded = self.interpolate(word.text)
        return replace(word, text=expanded) if expanded is not None else word

    def _word(self, node) -> Word:
        (line, column), (end_line, end_column) = self.positions(node.start_mark), self.positions(node.end_mark)
        return Word(str(node.value), line, column, end_line, end_column, node.style in ("'", '"'))

    def _words(self, key, node, problems: list[CommandProblem], splits: bool) -> list[Word] | None:
        """The words of a `command:`, `args:` or `entrypoint:` value: a list of strings, or (where Compose splits
        one) a string; None when it is neither."""
        if isinstance(node, self.sequence_node):
            if not all(isinstance(item, self.scalar_node) for item in node.value):
                return None
            return [self._word(item) for item in node.value]
        if splits and isinstance(node, self.scalar_node) and node.tag.endswith(":str"):
            return split_words(str(node.value), self._char_positions(node), problems, f"`{key.value}:`",
                               "Compose refuses the service, and KES never starts")
        return None

    def _char_positions(self, node) -> list[tuple[int, int]]:
        """Where each character of a string scalar stands: exact for a one-line scalar whose text stands in the file
        as it reads (plain, or quoted without escapes); else every character at the scalar's start."""
        text = str(node.value)
        line, column = self.positions(node.start_mark)
        end_line, _ = self.positions(node.end_mark)
        inside = column + (1 if node.style in ("'", '"') else 0)
        lines = self.source.lines
        if line == end_line and line <= len(lines) and lines[line - 1][inside - 1:inside - 1 + len(text)] == text:
            return [(line, inside + i) for i in range(len(text))]
        return [(line, column)] * len(text)

    def container(self, node, label: str, entrypoint_key: str, arguments_key: str, environment_key: str,
                  splits: bool, merged_image: Word | None = None) -> KesContainer | None:
        """The container (or service) mapping `node` when it runs `kes server`; `entrypoint_key` names the setting
        that replaces the image's entrypoint (`command` in Kubernetes), `arguments_key` the image's arguments,
        `environment_key` its environment; `merged_image`: the image it runs when it names none (an override's
        service, merged with the base file's)."""
        entries = self.entries(node)
        self._mark_environment(entries.get(environment_key, (None, None))[1])
        image = entries.get("image", (None, None))[1]
        image_word = self._image(image) or merged_image
        if entrypoint_key in entries:
            words: list[Word] = []
        elif image_word is not None and is_kes_image(image_word.text):
            words = [Word("/kes", image_word.line, image_word.column, image_word.end_line, image_word.end_column)]
        else:
            return None
        problems: list[CommandProblem] = []
        written: list[str] = []
        set_at = None
        for name in (entrypoint_key, arguments_key):
            if name not in entries:
                continue
            key, value = entries[name]
            more = self._words(key, value, problems, splits)
            if more is None:
                return None
            words += more
            written.append(str(value.value) if isinstance(value, self.scalar_node) else "")
            set_at = set_at or key
        if set_at is None:
            return None
        line, column = self.positions(set_at.start_mark)
        launcher = KesContainer(self.source, label=label, image=image_word)
        if problems:  # a string Compose cannot split: report it when it seems to start KES
            if not any("kes" in text and "server" in text for text in written + [w.text for w in words]) and not (
                    image_word is not None and is_kes_image(image_word.text)):
                return None
            launcher.problems.extend(problems)
            launcher.command = ServerCommand(line, column, Word("kes", line, column, line,
                                                                column + len(str(set_at.value))), (), ())
            return launcher
        if len(words) < 2 or not is_kes_executable(words[0].text) or words[1].text != "server":
            return None
        flags, arguments = server_flags(words[2:], launcher.problems)
        launcher.command = ServerCommand(line, column, words[0], flags, arguments)
        return launcher

    def _command_words(self, entries: dict, entrypoint_key: str, arguments_key: str, splits: bool) -> list[Word]:
        """The words of a container's command line as written (`entrypoint_key`, then `arguments_key`); none of a
        value that is not written as a list (or, where Compose splits it, a string)."""
        words: list[Word] = []
        for name in (entrypoint_key, arguments_key):
            if name in entries:
                key, value = entries[name]
                words += self._words(key, value, [], splits) or []
        return words

    def _runs_minio(self, entries: dict) -> bool:
        """A container or service of MinIO's image."""
        image = self._image(entries.get("image", (None, None))[1])
        return image is not None and is_minio_image(image.text)

    def kubernetes_minio_environment(self, container: dict, pod_spec: dict, label: str,
                                     namespace: str) -> MinioEnvironment | None:
        """The environment of a Kubernetes container of MinIO's image when it sets a `MINIO_KMS_` variable: the keys of
        the ConfigMaps and Secrets its `envFrom:` names (set, at their `envFrom:` item, to values not judged here),
        then its `env:`. An `envFrom:` source that is not in the manifest may set any variable (`open_ended`). The
        Secret and ConfigMap values its volumes mount come with it."""
        if not self._runs_minio(container):
            return None
        from_key, from_node = container.get("envFrom", (None, None))
        sources = self._environment_from(from_node, namespace)
        assignments = [(self._entry(name, "", self.positions(item.start_mark), None, 0), False)
                       for item, variables in sources or [] for name in variables or {}]
        key, node = container.get("env", (None, None))
        assignments += self._kubernetes_environment(node)
        if not _sets_kms(assignments):
            return None
        position = self.positions((key or from_key).start_mark)
        return MinioEnvironment(self.source, label, position, assignments, [],
                                open_ended=_ENV_FROM_ELSEWHERE if _reads_elsewhere(sources) else None,
                                mounted_values=self.volume_mounts(container, pod_spec, namespace)[1],
                                command_words=self._command_words(container, "command", "args", False))

    def compose_minio_environment(self, service: dict, label: str, mounts: list[Mount]) -> MinioEnvironment | None:
        """The environment of a MinIO service that holds KMS settings: its `env_file:` files in order, then
        `environment:` over them. One of these sources holds the KMS settings and gives the environment its lines:
        `environment:` when it sets a `MINIO_KMS_` variable, else the last env file that does. What the others set
        counts there as set, to values not judged, at the start of the source (its `environment:` key, or the env
        file's first line). An env file that cannot be read here may set any variable (`open_ended`)."""
        if not self._runs_minio(service):
            return None
        key, node = service.get("environment", (None, None))
        sources, unread = self._compose_env_files(service)
        if key is not None:
            sources.append((self.source, self._compose_environment(node)))
        with_kms = [index for index, (_, read) in enumerate(sources) if _sets_kms(read)]
        if not with_kms:
            return None
        primary = with_kms[-1]
        source, _ = sources[primary]
        position = self.positions(key.start_mark) if source is self.source else None
        at_line, at_column = position or (1, 1)
        final: dict[str, tuple[int, EnvEntry, bool]] = {}
        for index, (_, read) in enumerate(sources):
            for entry, known in read:
                final[entry.name] = (index, entry, known)
        assignments = [(entry, known) if index == primary else
                       (EnvEntry(name, "", at_line, at_column, at_column, at_column, ""), False)
                       for name, (index, entry, known) in final.items()]
        return MinioEnvironment(source, label, position, assignments, mounts,
                                compose_list=source is self.source and isinstance(node, self.sequence_node),
                                declared_in=None if source is self.source else self.source,
                                open_ended=_not_read_here(unread),
                                command_words=self._command_words(service, "entrypoint", "command", True))

    def _entry(self, name: str, value: str, name_at: tuple[int, int], value_node, value_offset: int) -> EnvEntry:
        """An entry whose value starts `value_offset` characters into the string scalar `value_node` (its name, for
        Compose's `NAME=value` items, is before it in the same scalar)."""
        line, name_column = name_at
        where = self._char_positions(value_node) if value_node is not None else []
        if value_offset < len(where):
            value_line, value_column = where[value_offset]
            end = where[-1][1] + 1 if where[-1][0] == value_line else value_column
        else:
            value_line, value_column = (self.positions(value_node.end_mark) if value_node is not None
                                        else (line, name_column + len(name) + 1))
            end = value_column
        if value_line != line:
            line = value_line  # the rules mark the value: its line is the entry's
        raw = self.source.lines[line - 1] if line <= len(self.source.lines) else ""
        return EnvEntry(name, value, line, name_column if value_line == name_at[0] else value_column, value_column,
                        end, raw, env_value=value)

    def _compose_environment(self, node) -> list[tuple[EnvEntry, bool]]:
        """(entry, whether its value is known) for each variable of a Compose `environment:`, in order."""
        assignments = []
        if isinstance(node, self.mapping_node):  # Compose refuses a repeated key; a merged one is overridden
            for name, (key, value) in self.entries(node).items():
                if not isinstance(value, self.scalar_node):
                    continue
                null = value.tag.endswith(":null")  # `NAME:` takes the value from the shell, as `- NAME` does
                filled = None if null else self.interpolate(str(value.value))
                assignments.append((self._entry(name, filled or "", self.positions(key.start_mark),
                                                None if null else value, 0), filled is not None))
        elif isinstance(node, self.sequence_node):
            for item in node.value:
                if not isinstance(item, self.scalar_node):
                    continue
                name, equals, text = str(item.value).partition("=")
                filled = self.interpolate(text) if equals else None
                start = self._char_positions(item)
                name_at = start[0] if start else self.positions(item.start_mark)
                assignments.append((self._entry(name, filled or "", name_at, item, len(name) + 1), filled is not None))
        return assignments

    def _kubernetes_environment(self, node) -> list[tuple[EnvEntry, bool]]:
        """(entry, whether its value is known) for each item of a Kubernetes `env:`: `valueFrom` and `$(VAR)` are
        filled in where the pod starts; an item with neither `value` nor `valueFrom` sets the empty string."""
        assignments = []
        for item in node.value if isinstance(node, self.sequence_node) else []:
            entries = self.entries(item)
            name_node = entries.get("name", (None, None))[1]
            if not isinstance(name_node, self.scalar_node):
                continue
            value = entries.get("value", (None, None))[1]
            text = str(value.value) if isinstance(value, self.scalar_node) and not value.tag.endswith(":null") else ""
            known = "valueFrom" not in entries and "$(" not in text.replace("$$", "")
            assignments.append((self._entry(str(name_node.value), text.replace("$$(", "$("),
                                            self.positions(name_node.start_mark),
                                            value if isinstance(value, self.scalar_node) else None, 0), known))
        return assignments

    def compose_kes_environment(self, service: dict, label: str) -> ContainerEnvironment:
        """What Compose starts the service with: what Docker adds, its `env_file:` files in order, then `environment:`
        over them; an env file that cannot be read here may set further variables (`open_ended`)."""
        values: dict[str, str | None] = dict.fromkeys(_RUNTIME_VARIABLES)
        read_files, unread = self._compose_env_files(service)
        for _, read in read_files:
            values.update(_values(read))
        values.update(_values(self._compose_environment(service.get("environment", (None, None))[1])))
        return ContainerEnvironment(values, _origin(label, self.source.path, [key for key in ("environment", "env_file")
                                                                             if key in service]),
                                    open_ended=_not_read_here(unread))

    def _compose_env_files(self, service: dict) -> tuple[list[tuple[SourceFile, list[tuple[EnvEntry, bool]]]],
                                                         list[str]]:
        """The `env_file:` files of a Compose service that are read here, in order, with their variables as Compose
        reads them; and the names of those that may set variables kescheck cannot read: a required file that is not
        here (a secrets file kept out of the repository), one not read as Compose reads it, or `env_file:` itself
        when a path cannot be placed. An optional file that is not here is skipped, as Compose skips it. Every file
        the service names is Compose's to read (`claimed_env_files`)."""
        env_files = self._env_files(service.get("env_file", (None, None))[1])
        if env_files is None:
            return [], ["`env_file:`"]
        read_files, unread = [], []
        for path, required in env_files:
            self.claimed_env_files.append(path)
            read = self._read_env_file(path)
            if read is not None:
                read_files.append(read)
            elif required or path.exists():
                unread.append(f"`{path.name}`")
        return read_files, unread

    def _env_files(self, node) -> list[tuple[Path, bool]] | None:
        """The files of a Compose `env_file:` (a path, or a list of paths and `{path, required}` mappings), each
        with whether Compose requires it; None when one cannot be placed here."""
        if node is None:
            return []
        items = [node] if isinstance(node, self.scalar_node) else self._items(node)
        found = []
        for item in items:
            if isinstance(item, self.scalar_node):
                text, required = str(item.value), True
            else:
                entries = self.entries(item)
                path, optional = entries.get("path", (None, None))[1], entries.get("required", (None, None))[1]
                if not isinstance(path, self.scalar_node):
                    return None
                text = str(path.value)
                required = not self._scalar_is(optional, "false")
            host = self._host_path(text)
            if host is None:
                return None
            found.append((host, required))
        return found

    def interpolate(self, text: str) -> str | None:
        return interpolate(text, self.variables)

    def read_dot_env(self) -> None:
        """The variables of the `.env` file beside a Compose file, from which Compose fills in the file's `${VAR}`
        (where it runs, the shell's environment overrides them)."""
        if self.source.path == Path("<stdin>"):
            return
        path = self.source.path.parent / ".env"
        if not path.is_file():
            return
        self.claimed_env_files.append(path)
        read = self._read_env_file(path)
        if read is not None:
            self.variables = _values(read[1])

    def _read_env_file(self, path: Path) -> tuple[SourceFile, list[tuple[EnvEntry, bool]]] | None:
        """An env file Compose reads (`env_file:`, `.env`), and its variables as Compose reads them; None when it
        cannot be read here, or not as Compose reads it. Its secret values join this file's, so that every report
        masks them wherever they are filled in."""
        from .envfile import foreign_credentials
        from .source import InputError, decode, read_bytes

        try:
            source = decode(path, read_bytes(path))
        except InputError:
            return None
        read = read_compose_env_file(source)
        if read is None:
            return None
        self.source.secret_values.update(source.secret_values)
        self.source.secret_values.update(foreign_credentials(path, self.source.path, (entry.value for entry, _ in read)))
        return source, read

    def kubernetes_kes_environment(self, container: dict, pod_spec: dict, label: str,
                                   namespace: str) -> ContainerEnvironment:
        """What Kubernetes starts the container with: what the runtime adds, the variables `envFrom:` takes from
        ConfigMaps and Secrets, then `env:` over them. An `envFrom:` source this manifest does not hold (it may exist
        in the cluster), or whose keys kescheck cannot tell, may set further variables (`open_ended`)."""
        values: dict[str, str | None] = dict.fromkeys(_RUNTIME_VARIABLES)
        sources = self._environment_from(container.get("envFrom", (None, None))[1], namespace)
        for _, variables in sources or []:
            values.update(variables or {})
        values.update(_values(self._kubernetes_environment(container.get("env", (None, None))[1])))
        links = pod_spec.get("enableServiceLinks", (None, None))[1]
        service_links = not self._scalar_is(links, "false")
        written = [key for key in ("envFrom", "env") if key in container]
        return ContainerEnvironment(values, _origin(label, self.source.path, written), service_links,
                                    _ENV_FROM_ELSEWHERE if _reads_elsewhere(sources) else None)

    def _environment_from(self, node, namespace: str) -> list[tuple[object, dict[str, str | None] | None]] | None:
        """(item, its variables) for each source of a Kubernetes `envFrom:` in order (a later one wins): the keys of
        its ConfigMap or Secret with the item's `prefix`, a ConfigMap's values known, a Secret's set to values not
        judged. The variables are None when the source is not in this manifest (it may exist in the cluster), is
        there more than once, or its keys cannot be told; a source not here with `optional: true` is left out, as
        Kubernetes skips a missing one. None when `envFrom:` is not written as Kubernetes reads it."""
        if node is None:
            return []
        if not isinstance(node, self.sequence_node):
            return None
        found: list[tuple[object, dict[str, str | None] | None]] = []
        for item in node.value:
            entries = self.entries(item)
            refs = [(kind, entries[field][1]) for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef"))
                    if field in entries]
            prefix = entries.get("prefix", (None, None))[1]
            if len(refs) != 1 or prefix is not None and not isinstance(prefix, self.scalar_node):
                return None
            kind, ref = refs[0]
            ref_entries = self.entries(ref)
            name, optional = ref_entries.get("name", (None, None))[1], ref_entries.get("optional", (None, None))[1]
            if not isinstance(name, self.scalar_node):
                return None
            candidates = self._config_objects(kind, str(name.value), namespace)
            if not candidates and self._scalar_is(optional, "true"):
                continue
            variables = self._variables_of(kind, candidates[0][0]) if len(candidates) == 1 else None
            if variables is None:
                found.append((item, None))
                continue
            start = str(prefix.value) if prefix is not None else ""
            found.append((item, {start + key: value for key, value in variables.items()}))
        return found

    def objects_of(self, documents: list) -> list:
        """The objects of a manifest's documents: the items of a `kind: List` (as `kubectl get -o yaml` writes several
        objects into one document) stand in its place."""
        found = []
        for document in documents:
            entries = self.entries(document)
            kind = entries.get("kind", (None, None))[1]
            items = entries.get("items", (None, None))[1]
            if isinstance(kind, self.scalar_node) and str(kind.value) == "List" and "apiVersion" in entries \
                    and isinstance(items, self.sequence_node):
                found.extend(self.objects_of(self._items(items)))
            else:
                found.append(document)
        return found

    def read_config_objects(self, documents: list) -> None:
        """The ConfigMaps, Secrets and ServiceAccounts among a manifest's `documents` (`config_objects`); their values
        are read only where a workload takes them, but a Secret's are marked as secrets at once."""
        for document in documents:
            entries = self.entries(document)
            kind = entries.get("kind", (None, None))[1]
            if not isinstance(kind, self.scalar_node) or str(kind.value) not in _CONFIG_OBJECT_KINDS:
                continue
            if str(kind.value) == "Secret":
                self.mark_secret_values(entries)
            name = self.entries(entries.get("metadata", (None, None))[1]).get("name", (None, None))[1]
            if not isinstance(name, self.scalar_node):
                continue
            self.config_objects.setdefault((str(kind.value), str(name.value)), []).append(
                (self._namespace(entries), entries, self.source.path))

    def _config_objects(self, kind: str, name: str, namespace: str) -> list[tuple[dict, Path]]:
        """(the entries, the file) of each object of `kind` (one of `_CONFIG_OBJECT_KINDS`) 'name' that a workload in
        `namespace` may mean (an object or workload that names no namespace is created in the one `kubectl` is
        given): of this manifest, else of the other YAML files of its directory."""
        found = _in_namespace(self.config_objects.get((kind, name), []), namespace)
        if found:
            return found
        if self._neighbour_objects is None:
            self._neighbour_objects = self._read_neighbour_objects()
        found = _in_namespace(self._neighbour_objects.get((kind, name), []), namespace)
        self.object_files.extend(path for _, path in found if path not in self.object_files)
        return found

    def _read_neighbour_objects(self) -> dict[tuple[str, str], list[tuple[str, dict, Path]]]:
        """The ConfigMaps, Secrets and ServiceAccounts of the other YAML files of this file's directory: a repository
        often keeps one object per file (as Kustomize bases do), and `kubectl apply -f DIR` applies them together.
        Their Secret values join this file's, so that every report masks them."""
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        from .source import InputError, decode, read_bytes
        from .yamldoc import MAX_FLOW_DEPTH, _flow_depth, _Positions, without_anchor_warnings

        if self.source.path == Path("<stdin>"):
            return {}
        try:
            paths = sorted(path for path in self.source.path.parent.iterdir()
                           if (path.suffix.lower() in (".yaml", ".yml") or path.name in KUSTOMIZATION_FILES)
                           and path.name != self.source.path.name)
        except OSError:
            return {}
        found: dict[tuple[str, str], list[tuple[str, dict, Path]]] = {}
        budget = _NEIGHBOUR_BYTES
        for path in paths[:_NEIGHBOURS_READ]:
            try:
                data = read_bytes(path)
                source = decode(path, data)
                kustomization = path.name in KUSTOMIZATION_FILES
                if not kustomization and not may_hold_config_objects(source.text):
                    continue
                budget -= len(data)
                if budget < 0:  # composing YAML costs ~1 s per 3 MB: a directory of huge files is no deployment's
                    break
                if _flow_depth(source.text) > MAX_FLOW_DEPTH:  # as for any YAML kescheck composes
                    continue
                with without_anchor_warnings():  # C parser when installed: these positions are never shown
                    documents = list(YAML(typ="safe", pure=False).compose_all(source.text))
                    if kustomization:  # what its generators make stands in for the file
                        source = SourceFile(path, ContainerReader(source, _Positions(source.text)).generated(documents))
                        documents = list(YAML(typ="safe", pure=False).compose_all(source.text))
            except (InputError, OSError, YAMLError, ValueError, TypeError, RecursionError):
                continue
            reader = ContainerReader(source, _Positions(source.text))
            reader.read_config_objects(reader.objects_of(documents))
            for key, objects in reader.config_objects.items():
                found.setdefault(key, []).extend(objects)
            self.source.secret_values.update(source.secret_values)
        return found

    def generated(self, documents: list) -> str:
        """The Secrets and ConfigMaps that a kustomization's `secretGenerator:` and `configMapGenerator:` make, as JSON
        documents: their `files:` (`key=path`, or `path` under its file name; relative to the kustomization),
        `literals:` (`key=value`) and `envs:` (files of `KEY=value` lines), in the kustomization's `namespace:`.
        Kustomize adds a hash to each name and changes its resources' references to match, so a workload finds them
        under the name written. A generator that merges into or replaces another object (`behavior:`), or one whose
        sources kescheck cannot read, makes nothing."""
        import json

        top = self.entries(documents[0]) if documents else {}
        namespace = top.get("namespace", (None, None))[1]
        made = []
        for field_name, kind in (("secretGenerator", "Secret"), ("configMapGenerator", "ConfigMap")):
            for item in self._items(top.get(field_name, (None, None))[1]):
                spec = self.entries(item)
                name, behavior = spec.get("name", (None, None))[1], spec.get("behavior", (None, None))[1]
                if not isinstance(name, self.scalar_node) or behavior is not None and not self._scalar_is(behavior,
                                                                                                          "create"):
                    continue
                values = self._generator_values(spec)
                if values is None:
                    continue
                if kind == "Secret":
                    body = {"data": {key: base64.b64encode(value).decode() for key, value in values.items()}}
                else:  # a ConfigMap keeps text in `data`, the rest base64-encoded in `binaryData`
                    texts = {key: value.decode("utf-8") for key, value in values.items() if _is_text(value)}
                    binary = {key: base64.b64encode(value).decode() for key, value in values.items() if key not in texts}
                    body = {"data": texts, **({"binaryData": binary} if binary else {})}
                metadata = {"name": str(name.value)}
                if isinstance(namespace, self.scalar_node):
                    metadata["namespace"] = str(namespace.value)
                made.append(json.dumps({"apiVersion": "v1", "kind": kind, "metadata": metadata, **body}))
        return "\n---\n".join(made) + "\n"

    def _generator_values(self, spec: dict) -> dict[str, bytes] | None:
        """What one kustomize generator puts in its object, key by key; None when a source cannot be read here."""
        from .source import InputError, read_bytes

        directory = self.source.path.parent
        root = directory.resolve()

        def below(file_name: str) -> Path:
            """Kustomize reads only files at or below the kustomization's directory (its default load restriction):
            a generator that names `/etc/...` or `../..` fails there, and is not read here either."""
            path = (directory / file_name).resolve()
            if not path.is_relative_to(root):
                raise InputError(path, "outside the kustomization's directory")
            return path

        values: dict[str, bytes] = {}
        try:
            for text in self._strings(spec.get("files", (None, None))[1]):
                key, equals, file_name = text.partition("=")
                if not equals:
                    key, file_name = posixpath.basename(text), text
                values[key.strip()] = read_bytes(below(file_name.strip()))
                self._generated_bytes += len(values[key.strip()])
                if self._generated_bytes > _NEIGHBOUR_BYTES:
                    return None
            for text in self._strings(spec.get("literals", (None, None))[1]):
                key, equals, value = text.partition("=")
                if not equals:
                    return None
                values[key.strip()] = value.encode()
            env_files = [*self._strings(spec.get("envs", (None, None))[1]),
                         *self._strings(spec.get("env", (None, None))[1])]
            for file_name in env_files:
                for line in read_bytes(below(file_name)).decode("utf-8").splitlines():
                    if line.strip() and not line.lstrip().startswith("#"):
                        key, equals, value = line.strip().partition("=")
                        if not equals:
                            return None
                        values[key.strip()] = value.encode()
        except (InputError, OSError, RuntimeError, UnicodeDecodeError):  # RuntimeError: a symbolic link loop
            return None
        return values

    def _strings(self, node) -> list[str]:
        """A scalar's text, or the texts of a list of scalars."""
        if isinstance(node, self.scalar_node) and not node.tag.endswith(":null"):
            return [str(node.value)]
        return [str(item.value) for item in self._items(node) if isinstance(item, self.scalar_node)]

    def _scalar_is(self, node, word: str) -> bool:
        """A scalar that is `word` (`true`, `false`), in any case."""
        return isinstance(node, self.scalar_node) and str(node.value).lower() == word

    def _files_of(self, entries: dict) -> dict[str, bytes]:
        """The values of a Secret or ConfigMap as the files a volume mounts (`stringData` over `data`, base64 values
        decoded; one that does not decode is left out)."""
        files: dict[str, bytes] = {}
        for field_name, encoded in (("data", True), ("binaryData", True), ("stringData", False)):
            for key, _, value in self.pairs(entries.get(field_name, (None, None))[1]):
                if not isinstance(value, self.scalar_node):
                    continue
                text = str(value.value)
                if not encoded:
                    files[key] = text.encode("utf-8", errors="replace")
                    continue
                try:
                    files[key] = base64.b64decode("".join(text.split()), validate=True)
                except (binascii.Error, ValueError):
                    continue
        return files

    def volume_mounts(self, container: dict, pod_spec: dict,
                      namespace: str) -> tuple[list[VolumeMount], list[MountedValue]]:
        """A container's `volumeMounts:`, and the files they bring from `secret:`, `configMap:` and `projected:`
        volumes whose Secrets and ConfigMaps the manifest holds (all keys, or the `items:`; a `subPath:` mounts one
        file or directory of the volume)."""
        volumes = {}
        for volume in self._items(pod_spec.get("volumes", (None, None))[1]):
            volume_entries = self.entries(volume)
            name = volume_entries.get("name", (None, None))[1]
            if isinstance(name, self.scalar_node):
                volumes[str(name.value)] = volume_entries
        mounts: list[VolumeMount] = []
        values: list[MountedValue] = []
        for mount in self._items(container.get("volumeMounts", (None, None))[1]):
            mount_entries = {key: value for key, (_, value) in self.entries(mount).items()}
            name, target, sub_path = (mount_entries.get(key) for key in ("name", "mountPath", "subPath"))
            if not isinstance(name, self.scalar_node) or not isinstance(target, self.scalar_node):
                continue
            files, complete = self._volume_files(volumes.get(str(name.value), {}), namespace)
            if "subPathExpr" in mount_entries or sub_path is not None and not isinstance(sub_path, self.scalar_node):
                files, complete = {}, False
            elif isinstance(sub_path, self.scalar_node) and str(sub_path.value):  # what the volume holds there
                inner = posixpath.normpath(str(sub_path.value))
                files = {"" if path == inner else path[len(inner) + 1:]: found for path, found in files.items()
                         if _inside(path, inner)}
            target_path = posixpath.normpath(str(target.value))
            if any(known.target == target_path for known in mounts):
                continue  # Kubernetes refuses a second mount at one path: the first one is what is read here
            volume_type = next((key for key in volumes.get(str(name.value), {}) if key != "name"), "")
            read_only = volume_type in _READ_ONLY_VOLUMES or self._scalar_is(mount_entries.get("readOnly"), "true")
            mounts.append(VolumeMount(target_path, frozenset(files), complete, self.positions(target.start_mark)[0],
                                      volume_type, read_only))
            values.extend(MountedValue(posixpath.join(target_path, path) if path else target_path, data, origin)
                          for path, (data, origin) in files.items() if data is not None)
        return mounts, values

    def _volume_files(self, volume: dict, namespace: str) -> tuple[dict[str, tuple[bytes | None, str]], bool]:
        """The files of a volume by their path in it, with their content and where it comes from when the manifest
        (or its directory) holds it, else (None, ""); and whether those are all its files."""
        projected = self.entries(volume.get("projected", (None, None))[1])
        if projected:
            found: dict[str, tuple[bytes | None, str]] = {}
            complete = True
            for source in self._items(projected.get("sources", (None, None))[1]):
                files, known = self._source_files(self.entries(source), "name", namespace)
                found.update((path, value) for path, value in files.items() if path not in found)
                complete = complete and known
            return found, complete
        return self._source_files(volume, "secretName", namespace)

    def _source_files(self, source: dict, secret_name_key: str,
                      namespace: str) -> tuple[dict[str, tuple[bytes | None, str]], bool]:
        """What a volume, or a source of a projected one, holds (see `_volume_files`); a `secret:` names its Secret
        with `secret_name_key`."""
        for kind, field_name, name_key in (("Secret", "secret", secret_name_key), ("ConfigMap", "configMap", "name")):
            if field_name not in source:
                continue
            spec = self.entries(source[field_name][1])
            name = spec.get(name_key, (None, None))[1]
            if not isinstance(name, self.scalar_node):
                return {}, False
            candidates = self._config_objects(kind, str(name.value), namespace)
            items = self._items(spec.get("items", (None, None))[1])
            if len(candidates) != 1:  # not here (or ambiguous): `items:` still say which files the volume holds
                return {posixpath.normpath(path): (None, "") for _, path in self._item_paths(items, "key")}, bool(items)
            data: dict[str, bytes | None] = dict(self._files_of(candidates[0][0]))
            where = candidates[0][1]
            secret_type = candidates[0][0].get("type", (None, None))[1]
            if kind == "Secret" and self._scalar_is(secret_type, _TOKEN_SECRET_TYPE):
                for key in _TOKEN_SECRET_KEYS:  # Kubernetes' token controller fills them in: there, content unknown
                    data.setdefault(key, None)
            pairs = self._item_paths(items, "key") if items else [(key, key) for key in data]
            return {posixpath.normpath(path): (data[key], f"key '{key}' of {kind} '{name.value}' in {where}")
                    for key, path in pairs if key in data}, True
        if "serviceAccountToken" in source:
            path = self.entries(source["serviceAccountToken"][1]).get("path", (None, None))[1]
            if isinstance(path, self.scalar_node):
                return {posixpath.normpath(str(path.value)): (None, "")}, True
        if "downwardAPI" in source:
            items = self._items(self.entries(source["downwardAPI"][1]).get("items", (None, None))[1])
            return {posixpath.normpath(path): (None, "") for _, path in self._item_paths(items, "path")}, True
        return {}, False

    def _item_paths(self, items: list, key_name: str) -> list[tuple[str, str]]:
        """(what each of `items:` takes, the path it gives it) for the items that name both as scalars."""
        found = []
        for item in items:
            entries = self.entries(item)
            key, path = entries.get(key_name, (None, None))[1], entries.get("path", (None, None))[1]
            if isinstance(key, self.scalar_node) and isinstance(path, self.scalar_node):
                found.append((str(key.value), str(path.value)))
        return found

    def http_probes(self, container: dict) -> list[HttpProbe]:
        """A Kubernetes container's `httpGet:` probes; a named `port:` is looked up in its `ports:`."""
        ports: dict[str, int] = {}
        for item in self._items(container.get("ports", (None, None))[1]):
            entries = self.entries(item)
            name, number = entries.get("name", (None, None))[1], entries.get("containerPort", (None, None))[1]
            if isinstance(name, self.scalar_node) and isinstance(number, self.scalar_node) and \
                    str(number.value).isdigit():
                ports[str(name.value)] = int(str(number.value))
        probes = []
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            key, http = self.entries(container.get(kind, (None, None))[1]).get("httpGet", (None, None))
            settings = self.entries(http)
            if key is None or not settings or "host" in settings:  # another host's answer says nothing of KES
                continue
            words = {name: self._word(settings[name][1]) if isinstance(settings.get(name, (None, None))[1],
                                                                        self.scalar_node) else None
                     for name in ("scheme", "path", "port")}
            port = words["port"]
            number = (int(port.text) if port.text.isdigit() else ports.get(port.text)) if port is not None else None
            probes.append(HttpProbe(kind, self._word(key), words["scheme"], words["path"], number, port))
        return probes

    def service_account_token(self, pod_spec: dict, namespace: str) -> tuple[bool | None, str]:
        """Whether Kubernetes mounts the service account token into the pod's containers (the pod spec's
        `automountServiceAccountToken:`, else its ServiceAccount's, when the manifest holds it; None: not known
        here), with what turns it off, for messages."""
        key, value = pod_spec.get("automountServiceAccountToken", (None, None))
        if isinstance(value, self.scalar_node) and str(value.value).lower() in ("true", "false"):
            turned_on = self._scalar_is(value, "true")
            line = self.positions(key.start_mark)[0]
            return turned_on, f"`automountServiceAccountToken: false` at line {line}"
        account = next((pod_spec[key][1] for key in ("serviceAccountName", "serviceAccount") if key in pod_spec), None)
        name = str(account.value) if isinstance(account, self.scalar_node) else "default"
        candidates = self._config_objects("ServiceAccount", name, namespace)
        if len(candidates) != 1:
            return None, ""
        setting = candidates[0][0].get("automountServiceAccountToken", (None, None))[1]
        where = "the same file" if candidates[0][1] == self.source.path else candidates[0][1]
        return (not self._scalar_is(setting, "false"),
                f"its ServiceAccount '{name}' in {where} sets `automountServiceAccountToken: false`")

    def _namespace(self, entries: dict) -> str:
        """An object's namespace (entries: its top level): the `namespace:` of a kustomization beside the file that
        lists it among its `resources:` (kustomize sets it on every object, whatever the file says), else its
        `metadata.namespace`; empty when neither names one (then it is created in the namespace `kubectl` is given)."""
        if self._kustomized is None:
            self._kustomized = _kustomization_namespace(self.source.path)
        if self._kustomized:
            return self._kustomized
        namespace = self.entries(entries.get("metadata", (None, None))[1]).get("namespace", (None, None))[1]
        return str(namespace.value) if isinstance(namespace, self.scalar_node) else ""

    def _variables_of(self, kind: str, entries: dict) -> dict[str, str | None] | None:
        """The variables `envFrom:` takes from a ConfigMap (`data`; None with `binaryData`, or a value that is no
        string) or a Secret (`data` and `stringData`, set to values not judged)."""
        if kind == "ConfigMap" and "binaryData" in entries:
            return None
        variables: dict[str, str | None] = {}
        for field_name in ("data",) if kind == "ConfigMap" else ("data", "stringData"):
            node = entries.get(field_name, (None, None))[1]
            if node is None:
                continue
            if not isinstance(node, self.mapping_node):
                return None
            for key, _, value in self.pairs(node):
                if kind == "Secret":
                    variables[key] = None
                elif isinstance(value, self.scalar_node) and not value.tag.endswith(":null"):
                    variables[key] = str(value.value)
                else:
                    return None
        return variables

    def workload(self, entries: dict, owner_label: str, kind: str) -> list[KesContainer]:
        """The containers that run `kes server` in a Kubernetes workload of `kind` (`entries`: its top level)."""
        path = _POD_SPEC_PATHS.get(kind)
        if path is None:
            return []
        namespace = self._namespace(entries)
        current = entries
        for step in path:
            node = current.get(step, (None, None))[1]
            current = self.entries(node)
        found = []
        for field_name in ("containers", "initContainers"):
            containers = current.get(field_name, (None, None))[1]
            if not isinstance(containers, self.sequence_node):
                continue
            for item in containers.value:
                container = self.entries(item)
                name = container.get("name", (None, None))[1]
                label = f"container{' ' + repr(str(name.value)) if isinstance(name, self.scalar_node) else ''} of " \
                        f"{owner_label}"
                launcher = self.container(item, label, "command", "args", "env", False)
                if field_name != "containers":
                    continue
                if launcher is None:
                    self._add_minio(self.kubernetes_minio_environment(container, current, label, namespace))
                    continue
                launcher.environment = self.kubernetes_kes_environment(container, current, label, namespace)
                launcher.volume_mounts, launcher.mounted_values = self.volume_mounts(container, current, namespace)
                launcher.storage = launcher.volume_mounts
                security = self.entries(container.get("securityContext", (None, None))[1])
                if self._scalar_is(security.get("readOnlyRootFilesystem", (None, None))[1], "true"):
                    launcher.read_only_root = "`readOnlyRootFilesystem: true`"
                launcher.service_account_token, launcher.token_turned_off = self.service_account_token(current,
                                                                                                     namespace)
                launcher.probes = self.http_probes(container)
                found.append(launcher)
        return found

    def tenant(self, entries: dict, label: str) -> KesContainer | None:
        """The KES that the MinIO Operator runs for a Tenant with a `spec.kes` section (`entries`: the Tenant's top
        level): its image, and its environment (`spec.kes.env`, and MINIO_KES_IDENTITY, which the operator sets unless
        that does). The KMS settings the operator gives the Tenant's MinIO pods join `minio`: MINIO_KMS_KES_KEY_NAME
        from `keyName`, the others at values the manifest does not show, and `spec.env` over them; the operator sets
        further variables (the root credentials of the `spec.configuration` Secret), so none is reported missing."""
        spec = self.entries(entries.get("spec", (None, None))[1])
        kes_key, kes_node = spec.get("kes", (None, None))
        if not isinstance(kes_node, self.mapping_node):
            return None
        kes = self.entries(kes_node)
        line, column = self.positions(kes_key.start_mark)
        launcher = KesContainer(self.source, label=f"the KES StatefulSet the MinIO Operator makes for {label}",
                                image=self._image(kes.get("image", (None, None))[1]))
        launcher.command = ServerCommand(line, column, Word("kes", line, column, line, column + 3), (), ())
        env_node = kes.get("env", (None, None))[1]
        self._mark_environment(env_node)
        values: dict[str, str | None] = dict.fromkeys((*_RUNTIME_VARIABLES, OPERATOR_IDENTITY))
        env_items = self._kubernetes_environment(env_node)
        values.update(_values(env_items))
        identity_set = next((Word(entry.name, entry.line, entry.name_column, entry.line,
                                  entry.name_column + len(entry.name))
                             for entry, _ in env_items if entry.name == OPERATOR_IDENTITY), None)
        secret_name = self.entries(kes.get("kesSecret", (None, None))[1]).get("name", (None, None))[1]
        client_secret = self.entries(kes.get("clientCertSecret", (None, None))[1]).get("name", (None, None))[1]
        launcher.tenant = OperatorKes(self._word(secret_name) if isinstance(secret_name, self.scalar_node) else None,
                                      identity_set, isinstance(client_secret, self.scalar_node))
        written = f"`spec.kes.env` of {label} in {self.source.path}, and " if env_node is not None else ""
        launcher.environment = ContainerEnvironment(values, f"{written}the {OPERATOR_IDENTITY} the MinIO Operator "
                                                            f"sets for {label}", service_links=True)
        operator_set = [(self._entry(name, "", (line, column), None, 0), False) for name in _OPERATOR_KMS_SETTINGS]
        key_name_key, key_name = kes.get("keyName", (None, None))
        if isinstance(key_name, self.scalar_node) and str(key_name.value).strip():  # else the operator's default
            operator_set.append((self._entry("MINIO_KMS_KES_KEY_NAME", str(key_name.value),
                                             self.positions(key_name_key.start_mark), key_name, 0), True))
        else:
            operator_set.append((self._entry("MINIO_KMS_KES_KEY_NAME", "", (line, column), None, 0), False))
        minio_env = spec.get("env", (None, None))[1]
        self._mark_environment(minio_env)
        self._add_minio(MinioEnvironment(self.source, f"the MinIO pods of {label}", (line, column),
                                         operator_set + self._kubernetes_environment(minio_env), [],
                                         open_ended=f"the MinIO Operator (the `config.env` of the Secret that "
                                                    f"`spec.configuration` of {label} names, among others)",
                                         identity_variable=None if identity_set else OPERATOR_IDENTITY))
        return launcher

    def _add_minio(self, environment: MinioEnvironment | None) -> None:
        """Services that share their settings through a YAML anchor share one environment: it is read once."""
        if environment is not None and not any(
                (known.source, known.entries, known.unknown) == (environment.source, environment.entries,
                                                                 environment.unknown) for known in self.minio):
            self.minio.append(environment)

    def compose(self, document) -> list[KesContainer] | None:
        """The services that run `kes server` in a Compose file; None when `document` is no Compose file."""
        top_level = self.entries(document)
        services = top_level.get("services", (None, None))[1]
        if not isinstance(services, self.mapping_node):
            return None
        self.read_dot_env()
        found = []
        for key, service in services.value:
            if isinstance(key, self.scalar_node):
                label = f"the Compose service '{key.value}'"
                launcher = self.container(service, label, "entrypoint", "command", "environment", True,
                                          self.merged_images.get(str(key.value)))
                mounts = self.compose_mounts(self.entries(service), top_level)
                if launcher is not None:
                    launcher.compose_service = str(key.value)
                    launcher.mounts = mounts
                    launcher.storage = self.compose_storage(self.entries(service))
                    if self._scalar_is(self.entries(service).get("read_only", (None, None))[1], "true"):
                        launcher.read_only_root = "`read_only: true`"
                    launcher.environment = self.compose_kes_environment(self.entries(service), label)
                    found.append(launcher)
                else:
                    self._add_minio(self.compose_minio_environment(self.entries(service), label, mounts))
        return found

    def compose_storage(self, service: dict) -> list[VolumeMount]:
        """Where a Compose service can keep files: each of its `volumes:` (a named or anonymous volume, a bind mount;
        `:ro` or `read_only: true` for read-only) and `tmpfs:` (in memory: gone when the container stops)."""
        found = []
        for item in self._items(service.get("volumes", (None, None))[1]):
            line = self.positions(item.start_mark)[0]
            if isinstance(item, self.scalar_node):
                parts = (self.interpolate(str(item.value)) or "").split(":")
                target = parts[1] if len(parts) > 1 else parts[0]
                volume_type = "bind" if len(parts) > 1 and parts[0].startswith((".", "/", "~")) else "volume"
                read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            else:
                entries = self.entries(item)
                target, volume_type = (next(iter(self._strings(entries.get(key, (None, None))[1])), "")
                                       for key in ("target", "type"))
                read_only = self._scalar_is(entries.get("read_only", (None, None))[1], "true")
            if posixpath.isabs(target) and "$" not in target:
                found.append(VolumeMount(posixpath.normpath(target), frozenset(), False, line, volume_type, read_only))
        tmpfs_key, tmpfs = service.get("tmpfs", (None, None))
        for text in self._strings(tmpfs):
            target = text.split(":", 1)[0]
            if posixpath.isabs(target):
                found.append(VolumeMount(posixpath.normpath(target), frozenset(), False,
                                         self.positions(tmpfs_key.start_mark)[0], "tmpfs"))
        return found

    def _host_path(self, text: str) -> Path | None:
        """A mount's source on this host: relative to the Compose file's directory, with the variables `.env` sets
        filled in. None for what kescheck cannot place: `~` (the home of whoever deploys), a variable `.env` does not
        set, a Windows path, standard input."""
        text = self.interpolate(text) or ""
        if not text or text.startswith("~") or "$" in text or "\\" in text or self.source.path == Path("<stdin>"):
            return None
        return self.source.path.parent / text

    def _mount(self, target: str, source_text: str, at, default_directory: str = "/") -> Mount | None:
        host, target = self._host_path(source_text), self.interpolate(target) or ""
        if host is None or not target or "$" in target:
            return None
        line, _ = self.positions(at.start_mark)
        return Mount(posixpath.normpath(posixpath.join(default_directory, target)), host, line)

    def compose_mounts(self, service: dict, top_level: dict) -> list[Mount]:
        """The service's bind mounts (`./certs:/certs:ro`, or `type: bind` with `source` and `target`), and its
        `configs:` and `secrets:` whose top-level definitions name a `file:` (mounted at `/<name>` and
        `/run/secrets/<name>` unless a `target` says where). Named volumes hold nothing kescheck can read."""
        mounts = []
        for item in self._items(service.get("volumes", (None, None))[1]):
            if isinstance(item, self.scalar_node):
                parts = (self.interpolate(str(item.value)) or "$").split(":")
                if len(parts) in (2, 3) and parts[0].startswith((".", "/")):
                    mounts.append(self._mount(parts[1], parts[0], item))
                continue
            entries = {name: str(value.value) for name, _, value in self.pairs(item)
                       if isinstance(value, self.scalar_node)}
            if entries.get("type") == "bind":
                mounts.append(self._mount(entries.get("target", ""), entries.get("source", ""), item))
        for kind, directory in (("configs", "/"), ("secrets", "/run/secrets")):
            files = {name: value for name, _, value in self.pairs(top_level.get(kind, (None, None))[1])}
            for item in self._items(service.get(kind, (None, None))[1]):
                if isinstance(item, self.scalar_node):
                    name, target = str(item.value), str(item.value)
                else:
                    entries = {key: str(value.value) for key, _, value in self.pairs(item)
                               if isinstance(value, self.scalar_node)}
                    name = entries.get("source", "")
                    target = entries.get("target", name)
                file = self.entries(files.get(name)).get("file", (None, None))[1]
                if isinstance(file, self.scalar_node):
                    mounts.append(self._mount(target, str(file.value), item, directory))
        return [mount for mount in mounts if mount is not None]

    def _items(self, node) -> list:
        return list(node.value) if isinstance(node, self.sequence_node) else []


_ENV_FROM_ELSEWHERE = "`envFrom:` sources that are not in this manifest"
_CONFIG_OBJECT_KINDS = ("ConfigMap", "Secret", "ServiceAccount")
_CONFIG_OBJECT_LINE = re.compile(r"^(?:[ \t]*-?[ \t]*)kind[ \t]*:[ \t]*['\"]?(?:ConfigMap|Secret|ServiceAccount)\b",
                                 re.MULTILINE)
"""A `kind:` of one of `_CONFIG_OBJECT_KINDS` (top-level, or an item of a `kind: List`): a file of the directory
without one is not composed."""
_NEIGHBOURS_READ = 200
"""YAML files of a manifest's directory read for the objects it names (a directory of thousands is no deployment)."""
_NEIGHBOUR_BYTES = 4 * 1024 * 1024
"""And at most this much of them composed (those that may hold such objects)."""


def may_hold_config_objects(text: str) -> bool:
    """Whether a YAML text may hold a ConfigMap, Secret or ServiceAccount that a workload beside it takes."""
    return _CONFIG_OBJECT_LINE.search(text) is not None


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names `kustomize build DIR` looks for."""


def _is_text(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _kustomization_namespace(path: Path) -> str:
    """The `namespace:` of the kustomization beside `path` when its `resources:` list the file; "" otherwise."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from .source import InputError, decode, read_bytes

    if path == Path("<stdin>"):
        return ""
    for name in KUSTOMIZATION_FILES:
        candidate = path.with_name(name)
        if candidate == path or not candidate.is_file():
            continue
        try:
            data = YAML(typ="safe", pure=True).load(decode(candidate, read_bytes(candidate)).text)
        except (InputError, YAMLError, ValueError, TypeError, RecursionError):
            return ""
        if not isinstance(data, dict) or not isinstance(data.get("namespace"), str):
            return ""
        resources = data.get("resources") if isinstance(data.get("resources"), list) else []
        listed = any(isinstance(item, str) and posixpath.normpath(item) == path.name for item in resources)
        return data["namespace"] if listed else ""
    return ""


def _in_namespace(objects: list[tuple[str, dict, Path]], namespace: str) -> list[tuple[dict, Path]]:
    return [(entries, path) for where, entries, path in objects if where == namespace or not where or not namespace]


def _reads_elsewhere(sources: list | None) -> bool:
    """An `envFrom:` (see `_environment_from`) with a source whose variables kescheck cannot tell."""
    return sources is None or any(variables is None for _, variables in sources)


def _not_read_here(env_files: list[str]) -> str | None:
    return f"{', '.join(env_files)}, which kescheck cannot read here" if env_files else None


def _origin(label: str, path: Path, written: list[str]) -> str:
    """Where a container's environment comes from, for messages: `` `env:` of container 'kes' of ... in kes.yaml``."""
    if not written:
        return f"{label} in {path}, which sets no variables of its own"
    return f"{' and '.join(f'`{key}:`' for key in written)} of {label} in {path}"


@dataclass
class Containers:
    """What kescheck reads of a Compose file's services or a Kubernetes manifest's workloads."""

    kes: list[KesContainer] = field(default_factory=list)
    """The containers that run `kes server`."""
    minio: list[MinioEnvironment] = field(default_factory=list)
    """The environments of MinIO's containers that hold KMS settings; one that a Compose service reads from an env
    file has that file's lines."""
    claimed_env_files: list[Path] = field(default_factory=list)
    """The env files Compose reads (`.env`, and the `env_file:` files of KES's and MinIO's services): none of them is
    an env file of MinIO's own."""
    object_files: list[Path] = field(default_factory=list)
    """The other files of a manifest's directory whose ConfigMaps, Secrets or ServiceAccounts its workloads take."""

    def __bool__(self) -> bool:
        return bool(self.kes or self.minio)


def compose_services(source: SourceFile) -> Containers | None:
    """The services of a Compose file that run `kes server`, and the environments of its MinIO services that hold KMS
    settings; None when the text is no Compose file (one YAML document whose top level has a `services` mapping, and
    neither `apiVersion` nor the keys of a KES config)."""
    if not may_be_compose_file(source.text):
        return None
    document = _composed(source.text)
    if document is None:
        return None
    reader = ContainerReader(source, _positions_of(source))
    top_level = set(reader.entries(document))
    if "apiVersion" in top_level or top_level & (TOP_LEVEL_KEYS - {"version"}):
        return None
    reader.merged_images = _base_images(source.path)
    kes = reader.compose(document)
    if kes is None:
        return None
    kes = _merged_elsewhere(reader, _services_of(reader, document), kes)
    return Containers(kes, reader.minio, reader.claimed_env_files)


def _base_images(path: Path) -> dict[str, Word]:
    """For an override file Compose merges with a base file: the image each service of the base file names."""
    partner = _partner_file(path) if path != Path("<stdin>") else None
    beside = _compose_beside(partner[0]) if partner is not None and partner[1] else None
    if beside is None:
        return {}
    base_reader, services = beside
    images = {name: base_reader._image(entries["image"][1]) for name, entries in services.items() if "image" in entries}
    return {name: replace(image, source=base_reader.source) for name, image in images.items() if image is not None}


def _composed(text: str):
    """The node tree of one YAML document, or None when the text is not one."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from .yamldoc import without_anchor_warnings

    try:
        with without_anchor_warnings():
            return YAML(typ="safe", pure=True).compose(text)
    except (YAMLError, ValueError, TypeError, RecursionError):
        return None


def _positions_of(source: SourceFile):
    from .yamldoc import _Positions

    return _Positions(source.text)


_YAML_SUFFIXES = (".yaml", ".yml")
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
COMPOSE_OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                          "docker-compose.override.yaml")
"""The names Compose looks for when run without `-f`, in its order: the first base file found, then the first override
file found, whatever the base file is called (compose-go's default file names)."""


def _partner_file(path: Path) -> tuple[Path, bool] | None:
    """The file Compose merges with `path` when run without `-f`: (the override beside a base file, False), or (the
    base file beside an override, True). None when `path` is not the file of its kind Compose takes there."""
    for own, other, is_override in ((COMPOSE_FILE_NAMES, COMPOSE_OVERRIDE_NAMES, False),
                                    (COMPOSE_OVERRIDE_NAMES, COMPOSE_FILE_NAMES, True)):
        if path.name in own:
            if next((name for name in own if path.with_name(name).is_file()), None) != path.name:
                return None  # another file of the same kind comes first: Compose takes that one
            partner = next((path.with_name(name) for name in other if path.with_name(name).is_file()), None)
            return (partner, is_override) if partner is not None else None
    return None


def _services_of(reader: "ContainerReader", document) -> dict[str, dict]:
    """Each service of a Compose document by its name, as the entries of its settings."""
    services = reader.entries(document).get("services", (None, None))[1]
    return {str(key.value): reader.entries(service) for key, service in getattr(services, "value", [])
            if isinstance(key, reader.scalar_node)}


def _merged_elsewhere(reader: "ContainerReader", own: dict[str, dict], kes: list[KesContainer]
                      ) -> list[KesContainer]:
    """Compose merges a service with the same service of `compose.override.yaml` (or of the base file, for an
    override), and one with `extends:` with the service it names; kescheck does not merge them, so what the merged
    service keeps elsewhere is not judged: its storage and environment. A base service whose command an override
    replaces is not what runs (the override's reading reports it); an image an override sets is the one that runs."""
    path = reader.source.path
    extended = {name for entries in own.values() for name in _extended_names(reader, entries)}
    extended |= _extended_from_elsewhere(path)
    partner = _partner_file(path) if path != Path("<stdin>") else None
    beside = _compose_beside(partner[0]) if partner is not None else None
    other_reader, other = beside if beside is not None else (None, {})
    kept = []
    for container in kes:
        name = container.compose_service
        merged = name in other or "extends" in own.get(name, {}) or name in extended
        if other_reader is not None and not partner[1] and name in other:  # this is the base; the override replaces
            replaced = other[name]
            if "command" in replaced or "entrypoint" in replaced:
                continue
            if "image" in replaced:
                image = other_reader._image(replaced["image"][1])
                container.image = replace(image, source=other_reader.source) if image is not None else None
        if merged:
            container.storage = None
            container.environment = None
        kept.append(container)
    return kept


def _extended_names(reader: "ContainerReader", entries: dict) -> list[str]:
    """The service a service's `extends:` names in the same file (`extends: base`, `extends: {service: base}`)."""
    value = entries.get("extends", (None, None))[1]
    if isinstance(value, reader.scalar_node):
        return [str(value.value)]
    spec = reader.entries(value)
    if "file" in spec:
        return []
    service = spec.get("service", (None, None))[1]
    return [str(service.value)] if isinstance(service, reader.scalar_node) else []


def _extended_from_elsewhere(path: Path) -> set[str]:
    """The services of the Compose file at `path` that a Compose file beside it extends (`extends: {file: this,
    service: S}`)."""
    if path == Path("<stdin>"):
        return set()
    found: set[str] = set()
    try:
        siblings = [p for p in path.parent.iterdir()
                    if p.suffix in _YAML_SUFFIXES and p != path and p.is_file()][:_NEIGHBOURS_READ]
    except OSError:
        return found
    for sibling in siblings:
        beside = _compose_beside(sibling, holding="extends")
        if beside is None:
            continue
        reader, services = beside
        for entries in services.values():
            spec = reader.entries(entries.get("extends", (None, None))[1])
            named, service = spec.get("file", (None, None))[1], spec.get("service", (None, None))[1]
            if isinstance(named, reader.scalar_node) and isinstance(service, reader.scalar_node) and \
                    posixpath.normpath(str(named.value)) == path.name:
                found.add(str(service.value))
    return found


def _compose_beside(path: Path, holding: str = "") -> tuple["ContainerReader", dict[str, dict]] | None:
    """A Compose file beside the one read, with its services' settings, when its text holds `holding` (so a scan of
    the directory composes no other YAML); None when it cannot be read as one."""
    from .source import InputError, decode, read_bytes

    try:
        other = decode(path, read_bytes(path))
    except InputError:
        return None
    if holding not in other.text or not may_be_compose_file(other.text):
        return None
    document = _composed(other.text)
    if document is None:
        return None
    reader = ContainerReader(other, _positions_of(other))
    return reader, _services_of(reader, document)
