"""The deployment model: one KES config and the MinIO env files that talk to it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .load.containers import KesContainer, MountedValue, mounted_value
from .load.envfile import EnvFile
from .load.kesconfig import KesConfig, same_release
from .load.kescommand import KesLauncher
from .load.source import SourceFile, path_named
from .load.systemd import KesUnit, MinioUnit


@dataclass(frozen=True)
class Options:
    """What the user asked for that changes what the rules conclude."""

    kes_version: str | None = None
    kes_version_origin: str | None = None
    """Where `kes_version` comes from when it is not --kes-version or the settings: the image a deployment's
    containers run, whose tag names the release (`the image minio/kes:v0.22.3 of the Compose service 'kes' in ...`)."""
    kes_env: Mapping[str, str | None] | None = None
    """The environment KES will start with (`--kes-env FILE`, else what the deployment's KES unit or containers give
    it); None means unknown. A variable mapped to None is set, to a value kescheck cannot know (systemd's
    `INVOCATION_ID`, a unit's `PassEnvironment=`, a container's `valueFrom`): it counts as set, and no rule judges
    its value."""
    kes_env_secrets: frozenset[str] = frozenset()
    """Secret values of the `--kes-env` file (by their names or form, URL passwords), which reports mask as they
    mask those of the inputs: rules may quote a value KES substitutes."""
    kes_env_origin: str | None = None
    """Where `kes_env` comes from when it is not `--kes-env` (`kes.service's EnvironmentFile /etc/default/kes`,
    `` `env:` of container 'kes' of Deployment 'kes' in kes.yaml``)."""
    kes_env_uncertain: Mapping[str, str] | None = None
    """The variables `kes_env` sets to None only because a source kescheck cannot read may set them (an `envFrom:`
    Secret that is not in the manifest, an env file that is not here), each with that source: for KES213's notes."""
    kes_env_unset: Mapping[str, str] | None = None
    """Why `kes_env` lacks a variable, when kescheck knows (`systemd sets HOME only for units with User= or
    DynamicUser=`): for messages."""
    kes_auth: bool | None = None
    """`kes server --auth` of KES <= 2023-09-28 (`--kes-auth on|off`): True verifies client certificates, False
    does not; None means unknown, and such KES verifies by default. KES 2023-10-24 and later ignore the flag."""
    expiry_warning_days: int = 30
    at: dt.datetime | None = None
    """The moment certificates are judged at; None means now."""
    require_files: bool = False
    """Referenced certificate and key files must exist (the doctor and `--require-files`)."""
    inline_ignores: bool = True
    """Honour `# kescheck: ignore` comments; `--no-inline-ignores` turns them off for strict CI."""
    by_content: bool = False
    """Named files that are neither a KES config nor a MinIO env file by content are skipped, not linted
    as KES configs: for hooks that pass every changed file of a kind."""

    def kes_environment(self) -> str:
        """`the KES environment`, with where it comes from when that is not --kes-env: for messages."""
        return f"the KES environment ({self.kes_env_origin})" if self.kes_env_origin else "the KES environment"

    def now(self) -> dt.datetime:
        return self.at or dt.datetime.now(dt.timezone.utc)


@dataclass
class Deployment:
    """What rules look at. Any part may be missing: a lone env file is a deployment too."""

    name: str
    kes: KesConfig | None = None
    envs: list[EnvFile] = field(default_factory=list)
    base_dir: Path | None = None
    """Where relative certificate paths are resolved; None: beside the file that names them."""
    options: Options = field(default_factory=Options)
    unit: KesUnit | None = None
    """The systemd unit that starts KES (its `kes server` command line), when one is among the inputs."""
    containers: list[KesContainer] = field(default_factory=list)
    """The Compose services and Kubernetes containers among the inputs that start this KES."""
    minio_units: list[MinioUnit] = field(default_factory=list)
    """The systemd units among the inputs that start the MinIO of the deployment's env files."""
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    """Per-deployment memo for derived data (loaded PEM files, identities) shared by rules."""
    absent_files: dict[Any, Any] = field(default_factory=dict, repr=False)
    """What `pem_of` found absent, shared by every deployment of one lint run: a batch names the same missing
    `/etc/...` certificate paths in every deployment, and the answer cannot change within the run."""

    @property
    def sources(self) -> list[SourceFile]:
        found = [self.kes.source] if self.kes else []
        found += [env.source for env in self.envs] + [launcher.source for launcher in self.launchers]
        found += [unit.source for unit in self.minio_units]
        found += [env.declared_in for env in self.envs if env.declared_in is not None]
        return list({id(source): source for source in found}.values())

    @property
    def launchers(self) -> list[KesLauncher]:
        """What starts KES with a `kes server` command line: the unit, then the containers."""
        return ([self.unit] if self.unit is not None else []) + self.containers

    @property
    def release_image(self) -> KesContainer | None:
        """The container whose image tag names the release kescheck checks for, when that is where it comes from
        (not --kes-version)."""
        if self.options.kes_version_origin is None:
            return None
        return next((container for container in self.containers
                     if container.release and same_release(container.release, self.options.kes_version)), None)

    def _auth_launcher(self) -> KesLauncher | None:
        return next((launcher for launcher in self.launchers if launcher.auth is not None), None)

    @property
    def kes_auth(self) -> bool | None:
        """`kes server --auth` as far as kescheck knows it: --kes-auth when given, else the first `--auth` of the
        unit or a container."""
        if self.options.kes_auth is not None:
            return self.options.kes_auth
        launcher = self._auth_launcher()
        return launcher.auth if launcher is not None else None

    def kes_auth_origin(self) -> str:
        """Where `kes_auth` comes from, for messages."""
        launcher = self._auth_launcher()
        if self.options.kes_auth is not None or launcher is None:
            return "as --kes-auth says"
        return f"as {launcher.describe()} says at line {launcher.flag('auth').word.line}"

    def resolve(self, path_text: str, origin: SourceFile) -> Path:
        """A path as the process that reads it will see it (relative ones: see `base_dir`). `~` stays a directory
        name: neither KES nor MinIO nor systemd expands it. An absolute path that a container mounts from this host
        (a Compose bind mount, config or secret: KES's containers for the KES config's paths, MinIO's for its
        environment's) is where the mount's source is."""
        path = path_named(path_text)
        if path.is_absolute():
            for mounter in self._mounters(origin):
                mounted = mounter.on_host(path_text)
                if mounted is not None:
                    return mounted
            return path
        return (self.base_dir or origin.path.parent) / path

    def mounted_value(self, path_text: str, origin: SourceFile, directory: bool = False) -> MountedValue | None:
        """The Secret or ConfigMap value of a Kubernetes manifest that a volume mounts where the process that reads
        `path_text` (written in `origin`) opens it; with `directory`, also the certificates volumes put in a directory
        there (see `containers.mounted_value`)."""
        for mounter in self._mounters(origin):
            found = mounted_value(getattr(mounter, "mounted_values", []), path_text, directory)
            if found is not None:
                return found
        return None

    def _mounters(self, origin: SourceFile) -> list:
        """The containers whose mounts decide what a path written in `origin` opens: KES's for the KES config's
        paths, MinIO's for its environment's."""
        if self.kes is not None and origin is self.kes.source:
            return self.containers
        return [env for env in self.envs if env.source is origin]

    def memo(self, key: Any, compute):
        try:
            return self.cache[key]
        except KeyError:
            value = self.cache[key] = compute()
            return value
