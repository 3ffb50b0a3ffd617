"""From paths to findings: collect files, recognise them, build deployments, run the rules."""
from __future__ import annotations

import itertools
import os
import re
import stat
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Iterable, Iterator

from .findings import Finding, Location, Severity
from .load.containers import (KUSTOMIZATION_FILES, KesContainer, MinioEnvironment, compose_services,
                              may_hold_config_objects, may_hold_containers)
from .load.envfile import EnvFile, looks_like_minio_env, mostly_assignments
from .load.kesconfig import KesConfig, load_kes_config, looks_like_kes_config, may_be_kes_config, same_release
from .load.kubernetes import EmbeddedFile, kubernetes_manifest, may_hold_a_config
from .load.systemd import (KesUnit, MinioUnit, looks_like_unit, minio_unit_environment, read_drop_ins, read_minio_unit,
                           read_unit, unit_environment, unit_of_drop_in)
from .load.source import (InputError, MAX_FILE_BYTES, SourceFile, decode, display_path, in_tree_of, looks_binary,
                          looks_like_pem, read_bytes, work_tree)
from .load.yamldoc import YamlDocument, YMap, parse_yaml
from .model import Deployment, Options
from .parallel import (MINIMUM_SHARE, can_fork, frozen_objects, share_count, split_in_two_phases, split_map,
                       worker_count)
from .rules import all_rules
from .rules.base import Rule
from .settings import Settings
from .suppress import apply as apply_suppressions

MAX_FILES = 10_000
"""Per run; a larger tree is almost certainly not what the user meant to lint."""
MAX_WALK_ENTRIES = 50 * MAX_FILES
"""Files and directories one directory walk looks at (`kescheck lint /` must end, and soon)."""
STDIN = "-"
_SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}
_NEVER_CONFIG = {".pem", ".crt", ".cer", ".der", ".key", ".p12", ".pfx", ".csr", ".srl", ".py", ".pyc", ".md",
                 ".json", ".toml", ".lock", ".gz", ".zip", ".tar", ".png", ".jpg", ".svg", ".sarif", ".html",
                 ".txt", ".rst", ".cfg", ".ini", ".sh", ".go", ".rs", ".js", ".ts"}


_KES_TOP_LEVEL_LINE = re.compile(r"^(?:admin|keystore|tls|policy|address|root|cache|keys|api|log):", re.MULTILINE)


@dataclass
class LoadedFile:
    """One file of a lint run. After `lint()` its parsed content (`kes.root`, `env.entries`) is released:
    findings, the source text and the KES generation remain."""

    path: Path
    """The path to open (as the user gave it, or found in a directory)."""
    source: SourceFile
    kind: str
    """`kes`, `env`, `unit` (a systemd unit that runs `kes server` or `minio server`) or `containers` (a Compose file
    or Kubernetes manifest with containers that run `kes server`)."""
    kes: KesConfig | None = None
    env: EnvFile | None = None
    unit: KesUnit | None = None
    minio_unit: MinioUnit | None = None
    containers: list[KesContainer] = field(default_factory=list)
    minio_envs: list[MinioEnvironment] = field(default_factory=list)
    """The environments of the file's MinIO containers that hold KMS settings (kind `containers`)."""
    claimed_env_files: list[Path] = field(default_factory=list)
    """The env files Compose reads for the file (`.env`, its services' `env_file:`): none is an env file of its own."""
    object_files: list[Path] = field(default_factory=list)
    """The manifests of the file's directory whose ConfigMaps, Secrets or ServiceAccounts its workloads take."""
    named: bool = True
    key: Path | None = None
    """The resolved path the collector files it under (None for standard input)."""
    embedded: EmbeddedFile | None = None
    """The Kubernetes manifest's value this file is, linted in place (`path` is the manifest)."""
    manifest: SourceFile | None = None
    """The whole manifest, when this file is a value embedded in it and the manifest's containers are read too: their
    findings, suppression comments and secrets are the manifest's."""

    def sources(self) -> list[SourceFile]:
        """What the file is read from: its source, the whole manifest its value stands in, a unit's drop-ins."""
        return [self.source] + ([self.manifest] if self.manifest is not None else []) + list(self.drop_ins)

    @property
    def drop_ins(self) -> tuple[SourceFile, ...]:
        """The drop-ins read with a unit, whose lines findings and suppression comments may stand on."""
        settings = self.unit or self.minio_unit
        return (settings.drop_ins or ()) if settings is not None else ()

    @property
    def shown(self) -> SourceFile:
        """The text a report shows around a finding in this file: the whole manifest, when its containers are read
        too (the value stands on the same lines there, and its secrets are masked there too: `_checked`)."""
        return self.manifest if self.manifest is not None else self.source


@dataclass
class LintResult:
    findings: list[Finding]
    files: list[LoadedFile]
    deployments: list[Deployment]
    rules: list[Rule]
    input_errors: list[InputError] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed_by is None]

    def exit_status(self, fail_on: Severity | None, exit_zero: bool = False) -> int:
        """`exit_zero` (`--exit-zero`): findings at `fail_on` or above do not fail the run."""
        if self.input_errors:
            return 2
        if not exit_zero and fail_on is not None and any(f.severity >= fail_on for f in self.active()):
            return 1
        return 0

    def file_notes(self) -> dict[Path, list[str]]:
        notes: dict[Path, list[str]] = {}
        for loaded in self.files:
            inside = f" in the manifest's {loaded.embedded.place()} (linted in place)" if loaded.embedded else ""
            if loaded.kes is not None:
                notes.setdefault(loaded.source.path, []).append(f"KES config{inside}: {loaded.kes.generation_reason}")
            elif isinstance(loaded.env, MinioEnvironment):
                notes.setdefault(loaded.source.path, []).append(f"MinIO's KMS settings in {loaded.env.label}, "
                                                                "which Compose reads from this env file")
            elif loaded.env is not None:
                notes.setdefault(loaded.source.path, []).append(f"MinIO env file{inside}")
            elif loaded.unit is not None:
                notes.setdefault(loaded.source.path, []).append("systemd unit that runs `kes server`")
            elif loaded.minio_unit is not None:
                notes.setdefault(loaded.source.path, []).append("systemd unit that runs `minio server`")
            if loaded.containers:
                labels = ", ".join(container.label for container in loaded.containers)
                notes.setdefault(loaded.source.path, []).append(f"runs `kes server` in {labels}")
            if loaded.minio_envs:
                labels = ", ".join(environment.label for environment in loaded.minio_envs)
                notes.setdefault(loaded.source.path, []).append(f"MinIO's KMS settings in {labels}")
            for environment in loaded.minio_envs:
                if environment.open_ended:
                    notes[loaded.source.path].append(_open_ended_note(environment))
        # The KMS settings in MinIO's units are an environment of their deployment, made when files were paired.
        units = {id(env): env for d in self.deployments for env in d.envs
                 if isinstance(env, MinioEnvironment) and env.source_kind == "unit" and env.open_ended}
        for environment in units.values():
            notes.setdefault(environment.source.path, []).append(_open_ended_note(environment))
        return notes


def _open_ended_note(environment: MinioEnvironment) -> str:
    return f"{environment.label} may take further variables from {environment.open_ended}: none is reported missing"


_BACKUP_SUFFIXES = {".bak", ".orig", ".rej", ".swp", ".swo", ".old"}
"""Editor and merge leftovers: a walk that took `config.yaml.bak` for a second KES config beside `config.yaml`
would leave the directory's env files unpaired."""


def _is_candidate(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix not in _NEVER_CONFIG and suffix not in _BACKUP_SUFFIXES and not path.name.endswith("~")


def _walk(directory: Path, errors: list[InputError]) -> Iterator[Path]:
    """Candidate files below `directory`, top-down in name order, lazily: the caller stops at its file cap, and
    `MAX_WALK_ENTRIES` bounds a tree of non-candidates (symbolic links to directories are never followed, so no
    loop). os.scandir's entries know whether they are files without another stat per file."""
    seen = 0
    pending = [os.fspath(directory)]
    while pending:
        top = pending.pop()
        try:
            with os.scandir(top) as listing:
                entries = list(listing)
        except OSError as err:
            errors.append(InputError(err.filename or directory, err.strerror or "cannot be read"))
            continue
        seen += len(entries)
        if seen > MAX_WALK_ENTRIES:
            errors.append(InputError(directory, f"more than {MAX_WALK_ENTRIES} entries below it; name the "
                                                "directories that hold the configs"))
            return
        subdirectories = []
        for entry in sorted(entries, key=lambda e: e.name):
            if _is_directory(entry):
                if entry.name not in _SKIPPED_DIRS and not entry.name.startswith(".") and not entry.is_symlink():
                    subdirectories.append(entry.path)
                continue
            path = Path(entry.path)
            if _is_candidate(path) and _is_file(entry):
                yield path
        pending.extend(reversed(subdirectories))


def _is_directory(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def classify(source: SourceFile, explicit: bool) -> tuple[str | None, YamlDocument | None]:
    """`kes`, `env` or None (not a config kescheck knows), with the parsed YAML when it is KES."""
    if looks_like_minio_env(source.text) and (explicit or mostly_assignments(source.text)):
        return "env", None
    name = source.path.name.lower()
    if not explicit and "kes" not in name and not may_be_kes_config(source.text) \
            and len(_KES_TOP_LEVEL_LINE.findall(source.text)) < 2:
        return None, None  # found by a walk and certainly not KES: a large tree's other YAML is not parsed
    doc = parse_yaml(source)
    if looks_like_kes_config(doc):
        return "kes", doc
    if name.endswith((".yaml", ".yml")) and doc.root is None and (
            "kes" in name or len(_KES_TOP_LEVEL_LINE.findall(source.text)) >= 2):
        return "kes", doc  # broken YAML that is recognisably a KES config: exactly what must be reported
    if not explicit:
        return None, None
    if name.endswith(".env") or name.startswith(".env") or "env" in name and not name.endswith((".yaml", ".yml")):
        return "env", None
    if doc.root is not None and not isinstance(doc.root, YMap) and any("=" in l for l in source.lines):
        return "env", None
    return "kes", doc


def _load(path: Path, shown: Path, data: bytes, explicit: bool, options: Options) -> LoadedFile | None:
    """The file as a KES config or MinIO env file; None when it is neither. Raises InputError for a file named
    as a config that is a Kubernetes manifest: linted, its keys would all be findings, none of them true."""
    source = decode(shown, data)
    if looks_like_unit(source.text):
        drop_ins = read_drop_ins(path, shown)
        unit = read_unit(source, drop_ins)
        if unit.command is not None:
            return LoadedFile(path, source, "unit", unit=unit)
        minio_unit = read_minio_unit(source, drop_ins)
        if minio_unit is not None:
            return LoadedFile(path, source, "unit", minio_unit=minio_unit)
        if explicit:
            raise InputError(path, "a systemd unit that runs neither `kes server` nor `minio server` (no `ExecStart=` "
                                   "of its [Service] section starts them): kescheck reads the units that start KES or "
                                   "MinIO")
        return None  # found by a walk: some other service's unit
    kind, doc = classify(source, explicit)
    if kind is not None or may_hold_a_config(source.text) or may_hold_containers(source.text):
        manifest = kubernetes_manifest(source)
        if manifest is not None:
            embedded = manifest.linted_in_place()
            if embedded is not None:
                loaded = _embedded_file(path, source.path, embedded, options)
                if manifest.containers:  # the workload beside its config, as a manifest so often holds them
                    loaded.containers, loaded.minio_envs = manifest.containers.kes, manifest.containers.minio
                    loaded.manifest, loaded.object_files = source, manifest.containers.object_files
                return loaded
            if manifest.containers and not manifest.embedded:
                return LoadedFile(path, source, "containers", containers=manifest.containers.kes,
                                  minio_envs=manifest.containers.minio, object_files=manifest.containers.object_files)
            if explicit:
                raise InputError(path, manifest.refusal("" if path == Path("<stdin>") else str(path)))
            return None  # found by a walk or --by-content: not a config, like any other YAML
        services = compose_services(source) if kind != "env" else None
        if services:
            return LoadedFile(path, source, "containers", containers=services.kes, minio_envs=services.minio,
                              claimed_env_files=services.claimed_env_files)
        if services is not None and explicit:
            raise InputError(path, "a Compose file none of whose services runs `kes server` or gives MinIO KMS "
                                   "settings: kescheck reads the command line of a service that starts KES, the "
                                   "MINIO_KMS_ variables of MinIO's services, and the KES config and MinIO env file "
                                   "they mount")
    if kind == "kes":
        return LoadedFile(path, source, "kes", kes=load_kes_config(source, options.kes_version, doc))
    if kind == "env":
        return LoadedFile(path, source, "env", env=EnvFile(source))  # read when a rule first asks
    return None


def _embedded_file(path: Path, shown: Path, embedded: EmbeddedFile, options: Options) -> LoadedFile:
    """A manifest's KES config or env file, linted where it stands (see `load.kubernetes`)."""
    source = SourceFile(shown, embedded.in_place, first_line=embedded.first_line, first_column=embedded.first_column)
    if embedded.what == "kes":
        return LoadedFile(path, source, "kes", kes=load_kes_config(source, options.kes_version, parse_yaml(source)),
                          embedded=embedded)
    return LoadedFile(path, source, "env", env=EnvFile(source, systemd_may_read=False), embedded=embedded)


def _env_with_nul_bytes(data: bytes) -> bool:
    """A MinIO env file with a stray NUL byte is still an env file: the env rules explain the NUL."""
    return looks_like_minio_env(data.decode("utf-8", errors="replace").replace("\x00", ""))


def _not_a_config(data: bytes) -> str | None:
    """Why these bytes are never read as a KES config or MinIO env file, or None."""
    if looks_binary(data) and not _env_with_nul_bytes(data):
        return "binary data (NUL bytes), not a configuration file"
    if looks_like_pem(data):
        return "a PEM certificate or key: kescheck checks these through the KES config or MinIO env file that names them"
    return None


SETTLE_EVERY = 100
"""Files loaded between two `settle()` calls of a batch (see `parallel.frozen_objects`)."""


class _Collector:
    def __init__(self, options: Options, settle=lambda: None):
        self.options = options
        self.files: dict[Path, LoadedFile] = {}
        self.errors: list[InputError] = []
        self.count = 0
        self.settle = settle
        self.real_directories: dict[Path, Path] = {}
        self.skipped_named: list[Path] = []
        """Files named with `--by-content` that are not a KES config or MinIO env file by content, and either not YAML
        or a manifest of Secrets, ConfigMaps or ServiceAccounts: each may be an env file a Compose file beside it
        reads (a KES service's `env_file:`) or hold objects a workload beside it takes (a TLS Secret its volume
        mounts), which makes that Compose file's or manifest's deployment the one a change to it affects."""

    def key(self, path: Path) -> Path:
        """`_key(path)`, with each directory resolved once, from its parent's resolution: a batch holds many files
        per directory and many directories per parent, and resolving a path costs a system call per component."""
        return self._real_directory(path.parent) / path.name if _not_a_link(path) else _key(path)

    def _real_directory(self, directory: Path) -> Path:
        found = self.real_directories.get(directory)
        if found is None:
            top = directory.parent == directory  # `/`, or `.` of a relative path
            found = self._real_directory(directory.parent) / directory.name if not top and _not_a_link(directory) \
                else _key(directory)
            self.real_directories[directory] = found
        return found

    def add(self, path: Path, named: bool, explicit: bool = False) -> LoadedFile | None:
        """`named`: in the scope the user asked for; `explicit`: given by name, so it must be a config. A drop-in of a
        unit beside it brings the unit, which is read with its drop-ins (when it starts KES or MinIO)."""
        unit = unit_of_drop_in(path)
        if unit is not None:
            loaded = self.add(unit, named)
            if loaded is None and explicit:
                self.errors.append(InputError(path, f"a drop-in of {unit}, which is no systemd unit that runs `kes "
                                                    "server` or `minio server`: kescheck reads the units that start "
                                                    "KES or MinIO, with their drop-ins"))
            return loaded
        key = self.key(path)
        if key in self.files:
            if named:
                self.files[key].named = True
            return self.files[key]
        self.count += 1
        if self.count % SETTLE_EVERY == 0:
            self.settle()
        if self.count > MAX_FILES:
            if self.count == MAX_FILES + 1:
                self.errors.append(InputError(path, f"more than {MAX_FILES} files in one run; name fewer paths"))
            return None
        try:
            data = read_bytes(path)
        except InputError as err:
            if explicit:
                self.errors.append(err)
            return None
        refusal = _not_a_config(data)
        if refusal is not None:
            if explicit:
                self.errors.append(InputError(path, refusal))
            return None
        try:
            loaded = _load(path, display_path(path), data, explicit, self.options)
        except InputError as err:
            self.errors.append(err)
            return None
        if loaded is not None:
            loaded.named = named
            loaded.key = key
            self.files[key] = loaded
            self._adopt_env_files(loaded)
        return loaded

    def _adopt_env_files(self, loaded: LoadedFile) -> None:
        """A MinIO environment a Compose file read from an env file is that file's content here: the file is
        reported with it (its findings, notes and suppression comments), whether it was loaded before or comes later."""
        for environment in loaded.minio_envs:
            if environment.declared_in is not None:  # not the environment in a manifest beside its KES config
                key = self.key(environment.source.path)
                before = self.files.get(key)
                self.files[key] = LoadedFile(environment.source.path, environment.source, "env", env=environment,
                                             named=loaded.named or (before is not None and before.named), key=key)

    def add_stdin(self, stream) -> None:
        data = stream.buffer.read(MAX_FILE_BYTES + 1) if hasattr(stream, "buffer") else stream.read().encode()
        if len(data) > MAX_FILE_BYTES:
            self.errors.append(InputError(STDIN, "standard input is larger than the limit for a configuration file"))
            return
        refusal = _not_a_config(data)
        if refusal is not None:
            self.errors.append(InputError("<stdin>", refusal))
            return
        try:
            loaded = _load(Path("<stdin>"), Path("<stdin>"), data, True, self.options)
        except InputError as err:
            self.errors.append(err)
            return
        if loaded is not None:
            self.files[Path("<stdin>")] = loaded


def _siblings(named: list[LoadedFile], collector: _Collector) -> None:
    """A file named alone (as pre-commit does) brings the rest of its directory's deployment."""
    named_paths = [f.path for f in named if f.path != Path("<stdin>")] + collector.skipped_named
    for directory in sorted({path.parent for path in named_paths}):
        try:
            entries = sorted(p for p in directory.iterdir() if _is_candidate(p) and p.is_file())
        except OSError:
            continue
        for path in entries[:200]:
            collector.add(path, named=False)


COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
"""The names Compose looks for when it is given no `-f`."""
_LEVELS_ABOVE_WITHOUT_WORK_TREE = 3


def _compose_files_above(named: list[LoadedFile], collector: _Collector) -> None:
    """The Compose files (by the names Compose looks for) of the directories above each env file named alone, and
    each file named but skipped by content, up to its git work tree (else a few levels up), when no KES config is
    beside it: a service's `env_file:` may name it from there."""
    with_kes = {f.path.parent for f in collector.files.values() if f.kind == "kes"}
    named_env_files = [f.path for f in named if f.kind == "env" and f.path != Path("<stdin>")]
    for path in [path for path in named_env_files + collector.skipped_named if path.parent not in with_kes]:
        above = path.absolute().parent.parents
        top = work_tree(path.absolute())
        directories = above[:above.index(top) + 1] if top in above else above[:_LEVELS_ABOVE_WITHOUT_WORK_TREE]
        for directory in directories:
            for name in COMPOSE_FILE_NAMES:
                if (directory / name).is_file():
                    collector.add(directory / name, named=False)


def _repository_partners(named: list[LoadedFile], collector: _Collector) -> None:
    """A named file whose directory lacks the other half of a deployment (a KES config for an env file,
    env files for a KES config) is paired as `kescheck lint <work tree>` would pair it: the work tree's
    files are loaded (not named), and automatic pairing then joins them when it holds one KES config."""
    kinds_by_dir: dict[Path, set[str]] = {}
    for loaded in collector.files.values():
        kinds_by_dir.setdefault(loaded.path.parent, set()).add(loaded.kind)
    roots = set()
    for loaded in named:
        partner = "env" if loaded.kind == "kes" else "kes"
        if loaded.path != Path("<stdin>") and partner not in kinds_by_dir.get(loaded.path.parent, set()):
            roots.add(work_tree(loaded.path))
    for root in sorted(r for r in roots if r is not None):
        for path in _walk(root, []):
            if collector.count >= MAX_FILES:
                return
            collector.add(path, named=False)


def unit_config_path(loaded: LoadedFile) -> Path | None:
    """The KES config a unit's `kes server --config` names, resolved beside the unit like other references;
    None without `--config` or when its value holds a `$VAR` or `%` specifier systemd replaces."""
    config = loaded.unit.config if loaded.unit is not None else None
    if config is None or not config.names_known_path or loaded.path == Path("<stdin>"):
        return None
    path = Path(config.text)
    return path if path.is_absolute() else loaded.path.parent / path


def minio_unit_env_files(loaded: LoadedFile) -> list[Path]:
    """The files a MinIO unit makes MinIO's environment (`MinioUnit.env_files`)."""
    if loaded.minio_unit is None or loaded.path == Path("<stdin>"):
        return []
    return loaded.minio_unit.env_file_paths()


def _launched_configs(loaded: LoadedFile) -> list[Path]:
    """The files a launcher names that complete its deployment: the KES config a unit names or a file's containers
    have mounted, and the env files of MinIO's unit."""
    paths = [unit_config_path(loaded)] + [container.config_on_host for container in loaded.containers]
    return [path for path in paths if path is not None] + minio_unit_env_files(loaded)


def _launcher_configs(collector: _Collector) -> None:
    """The KES config each unit names, each container's mounted one and the env files of MinIO's unit are loaded like
    partners (not named) when they exist and are not yet in: as configs when they are in the launcher's tree, by
    their content when not (`in_tree_of`)."""
    for loaded in list(collector.files.values()):
        for path in _launched_configs(loaded):
            if path.is_file() and collector.count < MAX_FILES:
                collector.add(path, named=False, explicit=in_tree_of(path, loaded.path))


def _not_a_link(path: Path) -> bool:
    """An existing file or directory that is no symbolic link and whose name is no `..` (resolving changes neither)."""
    try:
        return path.name != ".." and not stat.S_ISLNK(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _key(path: Path) -> Path:
    return path.resolve() if path.exists() else path.absolute()


def _key_of(loaded: LoadedFile) -> Path:
    return loaded.key if loaded.key is not None else _key(loaded.path)


def _declared(files: dict[Path, LoadedFile], settings: Settings, options: Options,
              collector: _Collector | None) -> tuple[list[Deployment], set[Path]]:
    """Deployments from settings whose files include one the user named; all their files are loaded."""
    deployments: list[Deployment] = []
    claimed: set[Path] = set()
    for spec in settings.deployments:
        anchor = next((p for p in spec.files() if _key(p) in files and files[_key(p)].named), None)
        if anchor is None:
            continue
        if collector is not None:
            members = [collector.add(p, named=False, explicit=in_tree_of(p, anchor)) for p in spec.files()]
        else:
            members = [files.get(_key(p)) for p in spec.files()]
        kes = next((m.kes for m in members if m is not None and m.kes is not None), None)
        envs = [m.env for m in members if m is not None and m.env is not None]
        deployments.append(Deployment(spec.name, kes, envs, spec.base_dir, options))
        claimed.update(_key(p) for p in spec.files())
    return deployments, claimed


def _paired(rest: list[LoadedFile], options: Options, read_by_compose: set[Path],
            shard: bool = False) -> list[Deployment]:
    """Automatic pairing: one KES config among the inputs takes every env file; otherwise each
    directory holding exactly one KES config pairs it with that directory's env files.

    `read_by_compose`: the keys of the env files Compose reads (`LoadedFile.claimed_env_files`), which are no env
    files of their own. `shard`: `rest` is one shard of a run whose KES configs are more than one (or none), so none
    is the only one."""
    kes_files = [f for f in rest if f.kes is not None]
    # An env file Compose reads for a MinIO service joins with the service's Compose file, as its environment.
    env_files = [f for f in rest if f.env is not None and not isinstance(f.env, MinioEnvironment)
                 and _key_of(f) not in read_by_compose]
    only = kes_files[0] if len(kes_files) == 1 and not shard else None
    deployments = _paired_configs(kes_files, env_files, only, options)
    deployments = _with_units(deployments, kes_files, only, [f for f in rest if f.unit is not None], options)
    deployments = _with_minio_units(deployments, env_files, only, [f for f in rest if f.minio_unit is not None],
                                    options, shard)
    deployments = _with_containers(deployments, kes_files, only, [f for f in rest if f.containers or f.minio_envs],
                                   options)
    for deployment in deployments:
        _with_image_release(deployment)
        _with_container_environment(deployment)
    return deployments


def _deployment_of(deployments: list[Deployment], config: LoadedFile | None) -> Deployment | None:
    """The first deployment of the KES config `config`, which units and containers join."""
    return next((d for d in deployments if config is not None and d.kes is config.kes), None)


def _with_units(deployments: list[Deployment], kes_files: list[LoadedFile], only: LoadedFile | None,
                units: list[LoadedFile], options: Options) -> list[Deployment]:
    """Each unit joins the deployment of the KES config its `--config` names, or of the only KES config among the
    inputs (as env files do); a second unit for the same config, or a unit without one, is a deployment of its own."""
    by_key = {_key_of(f): f for f in kes_files}
    for loaded in units:
        path = unit_config_path(loaded)
        target = by_key.get(_key(path)) if path is not None else None
        if target is None and only is not None and (path is None or not path.exists()):
            target = only  # a file that exists but is no KES config here pairs with nothing
        home = _deployment_of(deployments, target)
        if home is None or home.unit is not None:
            home = Deployment(str(loaded.source.path), target.kes if target else None, [], None, options)
            deployments.append(home)
        home.unit = loaded.unit
        _with_unit_environment(home)
    return deployments


def _with_minio_units(deployments: list[Deployment], env_files: list[LoadedFile], only: LoadedFile | None,
                      units: list[LoadedFile], options: Options, shard: bool) -> list[Deployment]:
    """Each MinIO unit joins the deployment of the first env file among the inputs that it loads, else of an env file
    in its directory, else of the only env file among the inputs, else of the only KES config; else it is a
    deployment of its own. `shard`: `env_files` are one shard's, so none is the only one (`_independent`)."""
    by_key = {_key_of(f): f for f in env_files}
    lone = env_files if len(env_files) == 1 and not shard else []
    for loaded in units:
        loads = [by_key[_key(path)] for path in minio_unit_env_files(loaded) if _key(path) in by_key]
        beside = [f for f in env_files if f.path.parent == loaded.path.parent]
        home = next((d for f in loads + beside + lone for d in deployments if any(e is f.env for e in d.envs)), None)
        if home is None:
            home = _deployment_of(deployments, only)
        if home is None:
            home = Deployment(str(loaded.source.path), None, [], None, options)
            deployments.append(home)
        home.minio_units.append(loaded.minio_unit)
        environment = minio_unit_environment(loaded.minio_unit, partial(home.resolve, origin=loaded.source))
        if environment is not None:
            home.envs.append(environment)
    return deployments


def _with_containers(deployments: list[Deployment], kes_files: list[LoadedFile], only: LoadedFile | None,
                     launchers: list[LoadedFile], options: Options) -> list[Deployment]:
    """A container joins the deployment of the KES config its `--config` is mounted from (a Compose bind mount,
    config or secret), else of the only KES config in its file's directory, else of the only KES config among the
    inputs (as env files do). The containers of a file that join none are a deployment of their own."""
    by_key = {_key_of(f): f for f in kes_files}
    for loaded in launchers:
        beside = [f for f in kes_files if f.path.parent == loaded.path.parent]
        # A manifest's workload joins the config in the same manifest first.
        nearest = loaded if loaded.kes is not None else beside[0] if len(beside) == 1 else only
        own: list[Deployment] = []

        def home_of(target: LoadedFile | None) -> Deployment:
            found = _deployment_of(deployments, target)
            if found is None:
                if not own:
                    own.append(Deployment(str(loaded.source.path), None, [], None, options))
                    deployments.append(own[0])
                found = own[0]
            return found

        joined: Deployment | None = None
        for container in loaded.containers:
            mounted = container.config_on_host
            home = home_of((by_key.get(_key(mounted)) if mounted is not None else None) or nearest)
            home.containers.append(container)
            joined = joined or (home if home.kes is not None else None)
        for environment in loaded.minio_envs:  # MinIO talks to the KES its file starts, else as an env file would
            (joined or home_of(nearest)).envs.append(environment)
    return deployments


def _with_image_release(deployment: Deployment) -> None:
    """Without --kes-version, the release that KES's image tag names (`minio/kes:v0.22.3`) is the one a deployment
    runs when its containers agree on it (SYS010 reports when they do not): its KES config's generation is decided
    again for that release, and every rule that reads `kes_version` uses it."""
    tagged = [container for container in deployment.containers if container.release]
    if deployment.options.kes_version is not None or not tagged:
        return
    release = tagged[0].release
    if not all(same_release(container.release, release) for container in tagged):
        return
    image = tagged[0].image
    origin = f"the image {image.text} of {tagged[0].label} in {(image.source or tagged[0].source).path}"
    if deployment.kes is not None:
        deployment.kes.retarget(release, origin)
    deployment.options = replace(deployment.options, kes_version=release, kes_version_origin=origin)


def _with_unit_environment(deployment: Deployment) -> None:
    """Without --kes-env, the environment KES starts with is what its unit gives it, when that can be known here:
    the deployment's options then carry it, and every rule that reads `kes_env` uses it."""
    unit = deployment.unit
    if unit is None or deployment.options.kes_env is not None:
        return
    found = unit_environment(unit, lambda text: deployment.resolve(text, unit.source), mask_foreign=True)
    if found.values is None:
        return
    values, uncertain = found.values, {}
    if found.open_ended:
        uncertain = {name: found.open_ended for name in _referenced_names(deployment) if name not in values}
        values = {**values, **dict.fromkeys(uncertain)}
    deployment.options = replace(deployment.options, kes_env=values, kes_env_origin=found.origin,
                                 kes_env_unset=found.unset, kes_env_uncertain=uncertain)


def _referenced_names(deployment: Deployment) -> list[str]:
    """The variables the deployment's KES config refers to as `${NAME}`."""
    return [name for name, _ in deployment.kes.env_references] if deployment.kes is not None else []


def _with_container_environment(deployment: Deployment) -> None:
    """Without --kes-env (or a unit's), the environment KES starts with is what its containers give it, when each
    says which variables it sets and they agree: the deployment's options then carry it, as for a unit."""
    environments = [container.environment for container in deployment.containers]
    if deployment.options.kes_env is not None or not environments or any(e is None for e in environments):
        return
    first = environments[0]
    if any((e.values, e.service_links, e.open_ended) != (first.values, first.service_links, first.open_ended)
           for e in environments[1:]):
        return
    names = _referenced_names(deployment)
    deployment.options = replace(deployment.options, kes_env=first.for_names(names), kes_env_origin=first.origin,
                                 kes_env_uncertain=first.uncertain(names))


def _paired_configs(kes_files: list[LoadedFile], env_files: list[LoadedFile], only: LoadedFile | None,
                    options: Options) -> list[Deployment]:
    if only is not None:
        return [Deployment(str(only.source.path), only.kes, [f.env for f in env_files], None, options)]
    by_dir: dict[Path, list[LoadedFile]] = {}
    for f in kes_files:
        by_dir.setdefault(f.path.parent, []).append(f)
    envs_by_dir: dict[Path, list[LoadedFile]] = {}
    for e in env_files:
        envs_by_dir.setdefault(e.path.parent, []).append(e)
    deployments = []
    paired: set[int] = set()
    for f in kes_files:
        envs = envs_by_dir.get(f.path.parent, []) if len(by_dir[f.path.parent]) == 1 else []
        paired.update(id(e) for e in envs)
        deployments.append(Deployment(str(f.source.path), f.kes, [e.env for e in envs], None, options))
    deployments += [Deployment(str(e.source.path), None, [e.env], None, options) for e in env_files if id(e) not in paired]
    return deployments


def build_deployments(files: list[LoadedFile], settings: Settings, options: Options,
                      collector: _Collector | None = None, shard: bool = False) -> list[Deployment]:
    """Settings-declared deployments first, then automatic pairing of the remaining files.

    Only deployments holding at least one file the user named are checked: a sibling loaded to
    complete a named file's deployment is reported on, an unrelated sibling is not.
    """
    by_key = {_key_of(f): f for f in files}
    deployments, claimed = _declared(by_key, settings, options, collector)
    if collector is not None:
        by_key = {_key_of(f): f for f in collector.files.values()}
    rest = [f for key, f in sorted(by_key.items(), key=lambda kv: str(kv[1].source.path)) if key not in claimed]
    named_keys = {key for key, f in by_key.items() if f.named}
    if collector is not None:
        named_keys.update(collector.key(path) for path in collector.skipped_named)
    env_file_keys = {id(f): {_key(path) for path in f.claimed_env_files} for f in by_key.values()}
    # A changed `.env` or env file that Compose reads changes what its Compose file gives, and a changed Secret what
    # the workloads beside it mount: the file that reads it is checked.
    taken_keys = {id(f): env_file_keys[id(f)] | {_key(path) for path in f.object_files} for f in by_key.values()}
    named_sources = {id(f.source) for f in by_key.values() if f.named or taken_keys[id(f)] & named_keys}
    read_by_compose = set().union(*env_file_keys.values())
    automatic = [d for d in _paired(rest, options, read_by_compose, shard)
                 if any(id(s) in named_sources for s in d.sources)]
    return deployments + automatic


def run_rules(deployments: Iterable[Deployment], rules: list[Rule], settings: Settings,
              release: bool = False, jobs: int = 1) -> list[Finding]:
    """Every rule over every deployment, deduplicated and sorted. With `release`, each parsed file is
    dropped as soon as the last deployment holding it has been checked, so a batch needs memory for
    one deployment, not all of them. `jobs` > 1 lets a large batch be checked by forked workers."""
    deployments = list(deployments)

    def mark_env_secrets() -> None:
        """Reading an env file marks its secrets for the reports, which this process makes: a worker's reading
        would be lost with the worker. `release` reads a file not read yet, and keeps no reading in memory."""
        for env in {id(e): e for d in deployments for e in d.envs}.values():
            env.release()

    per_deployment = split_map(partial(_check_deployments, rules=rules, settings=settings, release=release),
                               deployments, jobs, before_fork=mark_env_secrets)
    return _deduplicated(per_deployment)


def _deduplicated(finding_lists: Iterable[list[Finding]]) -> list[Finding]:
    """One finding per rule, place and message (deployments sharing a file find the same), sorted."""
    findings: dict[tuple, Finding] = {}
    for produced in finding_lists:
        for found in produced:
            findings.setdefault((found.code, found.location, found.message), found)
    return sorted(findings.values(), key=Finding.sort_key)


def _check_deployments(deployments: list[Deployment], rules: list[Rule], settings: Settings,
                       release: bool) -> list[list[Finding]]:
    """The stamped findings of each deployment, in order."""
    holders = Counter(id(part) for d in deployments for part in ([d.kes] if d.kes else []) + d.envs)
    # What the settings make of each rule is the same for every deployment of the batch.
    stamps = [(current, current.code, settings.severity_for(current.code, current.name, current.severity))
              for current in rules]
    path_ignores = bool(settings.per_path_ignores)
    results = []
    for deployment in deployments:
        stamped_findings = []
        for current, code, severity in stamps:
            try:
                produced = list(current.check(deployment))
            except Exception as err:  # a crashing rule must not hide the other findings
                first = deployment.sources[0].path if deployment.sources else Path("<unknown>")
                produced = [Finding(Location(first), f"kescheck's rule {code} failed on this deployment "
                                    f"({type(err).__name__}); the other rules ran. Please report this.")]
            for found in produced:
                stamped = found.stamped(code, severity)
                if not path_ignores or not settings.ignored_for_path(code, current.name, stamped.location.path):
                    stamped_findings.append(stamped)
        results.append(stamped_findings)
        # Loaded certificates, policies and identities serve this deployment's rules only.
        deployment.cache.clear()
        for part in ([deployment.kes] if deployment.kes else []) + deployment.envs:
            holders[id(part)] -= 1
            if release and holders[id(part)] == 0:
                part.release()
    return results


def _add_named(paths: Iterable[str | Path], collector: _Collector, options: Options, stdin) -> list[LoadedFile]:
    """Loads what the user named (files, directories walked, standard input); returns the files named one by one."""
    named: list[LoadedFile] = []
    for raw in paths:
        if str(raw) == STDIN:
            collector.add_stdin(stdin or sys.stdin)
            continue
        path = Path(raw)
        if path.is_dir():
            errors: list[InputError] = []
            for found in _walk(path, errors):
                collector.add(found, named=True)
                if collector.count > MAX_FILES:
                    break
            collector.errors.extend(errors)
            continue
        # A symbolic link out of its own tree (`kes.yaml -> /etc/shadow` in a pull request) is read by its content.
        linked_out = not options.by_content and not in_tree_of(path, path) and path.is_file()
        errors_before = len(collector.errors)
        loaded = collector.add(path, named=True, explicit=not options.by_content and not linked_out)
        if loaded is None and linked_out and len(collector.errors) == errors_before:
            collector.errors.append(InputError(path, f"a symbolic link to {_key(path)}, outside the tree it stands in, "
                                                     "which is no KES config or MinIO env file by its content (kescheck "
                                                     "reads such a file only when its content shows one)"))
        if loaded is not None:
            named.append(loaded)
        elif options.by_content and path.is_file() and (path.suffix.lower() not in (".yaml", ".yml")
                                                         or _holds_config_objects(path)):
            collector.skipped_named.append(path)
    return named


def _holds_config_objects(path: Path) -> bool:
    """A YAML file that may hold (or, as a kustomization, generate) a Secret, ConfigMap or ServiceAccount that a
    workload of its directory takes."""
    if path.name in KUSTOMIZATION_FILES:
        return True
    try:
        return may_hold_config_objects(decode(path, read_bytes(path)).text)
    except InputError:
        return False


def lint(paths: Iterable[str | Path], options: Options | None = None, settings: Settings | None = None,
         stdin=None, jobs: int = 1) -> LintResult:
    """The library entry point behind `kescheck lint`; `jobs`: worker processes a large batch may use."""
    options = options or Options()
    settings = settings or Settings()
    paths = list(paths)
    rules = [r for r in all_rules() if not r.doctor and settings.rule_enabled(r.code, r.name)]
    with frozen_objects() as settle:  # parsed trees live to the end: collections need not rescan them
        checked = _in_shards(paths, options, settings, rules, jobs, settle) if jobs > 1 else None
        if checked is None:
            collector = _Collector(options, settle)
            named = _add_named(paths, collector, options, stdin)
            checked = _checked(collector, named, settings, rules, jobs)
    scanned = [(f.source, f.kind) for f in checked.files] + [(f.manifest, "containers") for f in checked.files
                                                              if f.manifest is not None] + \
        [(drop_in, "unit") for f in checked.files for drop_in in f.drop_ins]
    findings = apply_suppressions(checked.findings, scanned, rules, settings, options)
    errors = sorted(checked.errors, key=lambda e: str(e.path))
    return LintResult(findings, checked.files, checked.deployments, rules, errors,
                      checked.secrets | options.kes_env_secrets)


@dataclass
class _Checked:
    """What a lint run found before suppressions: in one process, or in one shard of its files."""

    findings: list[Finding]
    files: list[LoadedFile]
    """The files of the deployments checked."""
    deployments: list[Deployment]
    errors: list[InputError]
    secrets: set[str]
    """The secret values of every file loaded, which no report may show."""


def _checked(collector: _Collector, named: list[LoadedFile], settings: Settings, rules: list[Rule], jobs: int = 1,
             shard: bool = False) -> _Checked:
    """The rules run over the deployments that the collector's files form, once their partners are loaded."""
    options = collector.options
    _siblings(named, collector)
    _compose_files_above(named, collector)
    if not settings.deployments:
        _repository_partners(named, collector)
    _launcher_configs(collector)
    deployments = build_deployments(list(collector.files.values()), settings, options, collector, shard)
    in_deployments = {id(source) for deployment in deployments for source in deployment.sources}
    files = sorted((f for f in collector.files.values() if id(f.source) in in_deployments),
                   key=lambda f: str(f.source.path))
    absent_files: dict = {}
    for deployment in deployments:
        deployment.absent_files = absent_files
    collector.settle()
    findings = run_rules(deployments, rules, settings, release=True, jobs=jobs)
    for loaded in files:
        if loaded.manifest is not None:  # the value's secrets, marked where it stands in the manifest
            loaded.manifest.secret_spans.extend(loaded.source.secret_spans)
            loaded.manifest.secret_values.update(loaded.source.secret_values)
    secrets = set().union(*(source.secret_values for f in collector.files.values() for source in f.sources()))
    return _Checked(findings, files, deployments, collector.errors, secrets)


SHARD_FILES = 2 * MINIMUM_SHARE
"""Files per shard (a deployment is about two files): fewer per worker and loading in one process is as fast; a
batch is cut into shards of about this size, so that a process done with its own takes over others' (`parallel`)."""


def _in_shards(paths: list, options: Options, settings: Settings, rules: list[Rule], jobs: int,
               settle) -> _Checked | None:
    """A walk over directories, loaded and checked in shards of whole directories by worker processes; None
    when the run is not such a walk, or when its shards turn out not to be independent (the caller then lints
    in one process, with the same result).

    Pairing is per directory when a run holds several KES configs, so shards of whole directories form the same
    deployments as the whole run, provided that none holds a file another shard holds too (a symbolic link) and
    that no unit or container names a file another shard holds (its KES config, a MinIO service's env file).
    Neither is known before the files are read, so each shard reports what it loaded before it checks anything."""
    if settings.deployments or not can_fork() or any(str(p) == STDIN or not Path(p).is_dir() for p in paths):
        return None
    walk_errors: list[InputError] = []
    found: list[Path] = []
    for directory in paths:
        found.extend(itertools.islice(_walk(Path(directory), walk_errors), MAX_FILES + 1 - len(found)))
        if len(found) > MAX_FILES:
            return None
    processes = worker_count(len(found), jobs, SHARD_FILES)
    shares = _directory_shares(found, share_count(len(found), processes, SHARD_FILES))
    if len(shares) < 2 or processes < 2:
        return None
    parts = split_in_two_phases(partial(_load_share, options=options, settle=settle), _independent,
                                partial(_check_share, settings=settings, rules=rules), shares, processes)
    if parts is None:
        return None
    files = sorted((f for part in parts for f in part.files), key=lambda f: str(f.source.path))
    errors = {(str(error.path), error.reason): error for part in parts for error in part.errors}
    return _Checked(_deduplicated(part.findings for part in parts), files,
                    [deployment for part in parts for deployment in part.deployments],
                    walk_errors + list(errors.values()), set().union(*(part.secrets for part in parts)))


def _directory_shares(paths: list[Path], count: int) -> list[list[Path]]:
    """`paths` cut into up to `count` contiguous shares of about equal size, never between two files of one
    directory (they may pair with each other)."""
    shares: list[list[Path]] = []
    start = 0
    for k in range(1, count + 1):
        end = len(paths) * k // count
        while 0 < end < len(paths) and paths[end].parent == paths[end - 1].parent:
            end += 1
        if end > start:
            shares.append(paths[start:end])
            start = end
    return shares


@dataclass(frozen=True)
class _ShareSummary:
    keys: frozenset[Path]
    """The resolved paths of the files the shard loaded: its own, and the KES configs its units and containers name."""
    kes_configs: int
    targets: frozenset[Path]
    """The resolved paths of the existing files that the shard's units and containers name: KES configs, and the
    env files Compose reads (`.env`, the services' `env_file:`)."""
    attempts: int
    """Files the shard tried to load, which one process counts against `MAX_FILES`."""
    env_files: int
    minio_units: int


def _load_share(paths: list[Path], options: Options, settle) -> tuple[_ShareSummary, _Collector]:
    collector = _Collector(options, settle)
    for path in paths:
        collector.add(path, named=True)
    _launcher_configs(collector)  # as one process would next: a walk names no file for `_siblings` or partners
    loaded = collector.files
    targets = [path for f in loaded.values() for path in _launched_configs(f) + f.claimed_env_files]
    summary = _ShareSummary(frozenset(loaded), sum(f.kes is not None for f in loaded.values()),
                            frozenset(collector.key(path) for path in targets if path.is_file()), collector.count,
                            sum(f.env is not None for f in loaded.values()),
                            sum(f.minio_unit is not None for f in loaded.values()))
    return summary, collector


def _independent(summaries: list[_ShareSummary]) -> bool:
    """No file is in two shards, none names a file another shard holds, the run does not hold exactly one KES
    config (nor, with a MinIO unit, exactly one env file), and one process would not have reached `MAX_FILES`."""
    keys = frozenset().union(*(summary.keys for summary in summaries))
    return (len(keys) == sum(len(summary.keys) for summary in summaries)
            and not any(summary.targets & (keys - summary.keys) for summary in summaries)
            and sum(summary.kes_configs for summary in summaries) != 1
            and not (sum(summary.env_files for summary in summaries) == 1
                     and sum(summary.minio_units for summary in summaries) > 0)
            and sum(summary.attempts for summary in summaries) <= MAX_FILES)


def _check_share(collector: _Collector, settings: Settings, rules: list[Rule]) -> _Checked:
    return _checked(collector, [], settings, rules, shard=True)


def with_findings(result: LintResult, findings: list[Finding]) -> LintResult:
    return replace(result, findings=sorted(findings, key=Finding.sort_key))
