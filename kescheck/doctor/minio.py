"""MinIO's KES settings as the doctor sees them: from a file, the process environment or /etc/default/minio."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..endpoints import Endpoint, EndpointError, parse_endpoints
from ..load.envfile import EnvEntry, EnvFile, parse_env
from ..load.source import SourceFile, read_source
from ..minio_names import ENDPOINT, OPTS
from ..model import Deployment

DEFAULT_ENV_FILE = Path("/etc/default/minio")
ENVIRONMENT = Path("<environment>")
"""The pseudo file that findings about process-environment variables point at."""



@dataclass
class MinioSettings:
    env: EnvFile
    origin: str
    """Where the settings came from, for the report."""
    path: Path | None
    """The env file, when they came from one (lint runs on it)."""

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.origin, None, [self.env])

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
    lines = [f'{name}="{value}"' for name, value in sorted(environ.items())
             if (name.startswith("MINIO_KMS_") or name == OPTS) and "\n" not in value and "\r" not in value]
    if not any(line.startswith("MINIO_KMS_KES_") for line in lines):
        return None
    source = SourceFile(ENVIRONMENT, "\n".join(lines) + "\n")
    return MinioSettings(parse_env(source), "the process environment", None)


def file_settings(path: Path) -> MinioSettings:
    """Raises InputError when the file cannot be read."""
    source = read_source(path)
    return MinioSettings(parse_env(source), str(source.path), path)


def find_settings(env_file: Path | None, environ: Mapping[str, str] | None = None) -> MinioSettings | None:
    """--minio-env FILE, else the process environment, else /etc/default/minio when readable."""
    if env_file is not None:
        return file_settings(env_file)
    found = environment_settings(os.environ if environ is None else environ)
    if found is not None:
        return found
    if DEFAULT_ENV_FILE.is_file() and os.access(DEFAULT_ENV_FILE, os.R_OK):
        return file_settings(DEFAULT_ENV_FILE)
    return None
