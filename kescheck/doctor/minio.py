"""MinIO's KES settings as the doctor sees them: from a file, the process environment, the env file MinIO's systemd
unit loads or /etc/default/minio; and MinIO's systemd unit itself."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..endpoints import Endpoint, EndpointError, parse_endpoints
from ..load.envfile import EnvEntry, EnvFile, parse_env
from ..load.source import InputError, SourceFile, read_source, same_file
from ..load.systemd import (MAX_DROP_INS, MinioUnit, drop_in_names, ignored_drop_in, read_drop_ins, read_minio_unit,
                            read_unit)
from ..minio_names import CONFIG_ENV_FILE, ENDPOINT, OPTS, ROOT_ACCESS, ROOT_CREDENTIALS
from ..model import Deployment

DEFAULT_ENV_FILE = Path("/etc/default/minio")
ENVIRONMENT = Path("<environment>")
"""The pseudo file that findings about process-environment variables point at."""
MINIO_SERVICE = "minio.service"
"""The name MinIO's packages and documentation give its unit."""
SYSTEM_UNIT_DIRECTORIES = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                           "/usr/lib/systemd/system", "/lib/systemd/system")
"""Where the system service manager looks for units, the first taking precedence (systemd.unit(5))."""


def unit_directories(environ: Mapping[str, str]) -> list[Path]:
    """The system unit search path: `SYSTEMD_UNIT_PATH` when set (colon-separated; an empty last component appends
    the usual directories, as systemd does), else the usual directories."""
    given = environ.get("SYSTEMD_UNIT_PATH")
    if given is None:
        return [Path(d) for d in SYSTEM_UNIT_DIRECTORIES]
    parts = given.split(":")
    found = [Path(p) for p in parts if p]
    return found + ([Path(d) for d in SYSTEM_UNIT_DIRECTORIES] if parts[-1] == "" else [])


@dataclass
class MinioService:
    """MinIO's systemd unit on this host, with its drop-ins merged in the order systemd applies them."""

    unit: MinioUnit
    files: list[Path]
    """The unit file, then its drop-ins (`minio.service.d/*.conf`)."""

    @property
    def name(self) -> str:
        return self.files[0].name

    def drop_ins_beside(self) -> bool:
        """Whether every drop-in merged here stands beside the unit (`minio.service.d/` of its directory): lint reads
        those with the unit, and no others."""
        beside = self.files[0].with_name(f"{self.name}.d")
        return all(path.parent == beside for path in self.files[1:])

    def ignored(self) -> list[str]:
        """`EnvironmentFile=` paths systemd ignores (not absolute)."""
        return [ref.path.text for ref in self.unit.environment_files if ref.ignored]


KES_SERVICE = "kes.service"


def _first_unit(name: str, directories: list[Path]) -> Path | None:
    """The unit file `name` of the first directory that has one: it hides those of the later directories."""
    return next((d / name for d in directories if (d / name).is_file()), None)


def kes_unit_for(config: Path, environ: Mapping[str, str]) -> Path | None:
    """kes.service in the system unit directories when it runs `kes server --config` with `config` (by its absolute
    path) and has no drop-ins but those beside it (lint merges those, and no others); None otherwise."""
    directories = unit_directories(environ)
    main = _first_unit(KES_SERVICE, directories)
    if main is None or any((d / f"{KES_SERVICE}.d").is_dir() for d in directories if d != main.parent):
        return None
    try:
        named = read_unit(read_source(main), read_drop_ins(main)).config
    except InputError:
        return None
    return main if named is not None and named.text.startswith("/") and same_file(named.text, config) else None


def find_service(named: Path | None, environ: Mapping[str, str]) -> MinioService | None:
    """The unit `named` (an InputError when it cannot be read or does not run `minio server`), else minio.service in
    the system unit directories when it runs `minio server`; with the drop-ins of every `<name>.d/` in those
    directories and beside the unit (sorted by file name, the first directory's winning for a name). None when there
    is none."""
    directories = unit_directories(environ)
    found = named or _first_unit(MINIO_SERVICE, directories)
    if found is None:
        return None
    try:
        return _service(found, directories)
    except InputError:
        if named is not None:
            raise
        return None


def _service(path: Path, directories: list[Path]) -> MinioService:
    drop_ins: dict[str, Path] = {}
    for directory in [*directories, path.parent]:
        beside = directory / f"{path.name}.d"
        try:
            for name in drop_in_names(beside):
                drop_ins.setdefault(name, beside / name)  # a masked one (a link to /dev/null) masks the later ones
        except OSError:
            continue
    drop_ins = {name: drop_in for name, drop_in in drop_ins.items() if not ignored_drop_in(drop_in)}
    if len(drop_ins) > MAX_DROP_INS:
        raise InputError(path, f"a unit with {len(drop_ins)} drop-ins (`{path.name}.d/*.conf`), more than the "
                               f"{MAX_DROP_INS} kescheck reads with one unit")
    files = [path] + [drop_ins[name] for name in sorted(drop_ins)]
    sources = [read_source(file) for file in files]
    unit = read_minio_unit(sources[0], tuple(sources[1:]))
    if unit is None:
        raise InputError(path, "a systemd unit that does not run `minio server`")
    return MinioService(unit, files)


@dataclass
class MinioSettings:
    env: EnvFile
    origin: str
    """Where the settings came from, for the report."""
    path: Path | None
    """The env file, when they came from one (lint runs on it)."""
    unit: MinioUnit | None = None
    """MinIO's systemd unit on this host: its command line may name MinIO's certs directory."""

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.origin, None, [self.env], minio_units=[self.unit] if self.unit is not None else [])

    def entry(self, name: str) -> EnvEntry | None:
        return self.env.get(name)

    def value(self, name: str) -> str:
        entry = self.env.get(name)
        return entry.value if entry else ""

    def endpoints(self) -> tuple[list[Endpoint], list[EndpointError]]:
        return parse_endpoints(self.value(ENDPOINT))


def environment_settings(environ: Mapping[str, str]) -> MinioSettings | None:
    """The MINIO_KMS_* variables (and MINIO_OPTS, for --certs-dir) of a process environment as a pseudo env file
    (secrets marked as usual)."""
    # The root credentials too: ENV111 asks whether they are set. No systemd reads this pseudo file, and quoting
    # here is only kescheck's: systemd's reading of it (ENV005, ENV006) does not apply.
    wanted = (OPTS, CONFIG_ENV_FILE, ROOT_ACCESS) + ROOT_CREDENTIALS
    lines = [f'{name}="{value}"' for name, value in sorted(environ.items())
             if (name.startswith("MINIO_KMS_") or name in wanted) and "\n" not in value and "\r" not in value]
    if not any(line.startswith("MINIO_KMS_KES_") for line in lines):
        return None
    source = SourceFile(ENVIRONMENT, "\n".join(lines) + "\n")
    return MinioSettings(parse_env(source, systemd_may_read=False), "the process environment", None)


def file_settings(path: Path) -> MinioSettings:
    """Raises InputError when the file cannot be read."""
    source = read_source(path)
    return MinioSettings(parse_env(source), str(source.path), path)


def sets_kes(path: Path) -> bool:
    """Whether the env file at `path` can be read and sets a MinIO KES variable."""
    try:
        return file_settings(path).env.sets_any("MINIO_KMS_KES_")
    except InputError:
        return False


def find_settings(env_file: Path | None, environ: Mapping[str, str] | None = None,
                  service: MinioService | None = None) -> MinioSettings | None:
    """--minio-env FILE, else the process environment, else the last file MinIO's unit loads that sets MinIO KES
    variables, else /etc/default/minio when readable."""
    if env_file is not None:
        return file_settings(env_file)
    found = environment_settings(os.environ if environ is None else environ)
    if found is not None:
        return found
    with_settings = [path for path in (service.unit.env_file_paths() if service is not None else []) if sets_kes(path)]
    if with_settings:
        settings = file_settings(with_settings[-1])
        settings.origin = f"{settings.origin}, which {service.name} loads"
        return settings
    if DEFAULT_ENV_FILE.is_file() and os.access(DEFAULT_ENV_FILE, os.R_OK):
        return file_settings(DEFAULT_ENV_FILE)
    return None
