"""An offline wheelhouse for kescheck, made from the environment the tests run in.

pre-commit installs a `language: python` hook with pip; with `PIP_NO_INDEX=1` and
`PIP_FIND_LINKS=<wheelhouse>` pip needs every wheel locally. The installed distributions
are repacked into wheels (their files and metadata are all there; only RECORD is
rewritten), and the build backend comes from the wheels virtualenv embeds.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import shutil
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

_NOT_PACKED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _tag(dist: metadata.Distribution) -> str:
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    if not tags:
        return "py3-none-any"
    parts = [sorted({t.split("-")[i] for t in tags}) for i in range(3)]
    return "-".join(".".join(p) for p in parts)


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(dist: metadata.Distribution, directory: Path) -> Path:
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = directory / f"{name}-{dist.version}-{_tag(dist)}.whl"
    info_dir = next(str(f.parts[0]) for f in dist.files if str(f.parts[0]).endswith(".dist-info"))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
                continue
            if parts[0] == info_dir and parts[-1] in _NOT_PACKED:
                continue
            data = Path(dist.locate_file(file)).read_bytes()
            archive.writestr(file.as_posix(), data)
            writer.writerow([file.as_posix(), _digest(data), len(data)])
        writer.writerow([f"{info_dir}/RECORD", "", ""])
        archive.writestr(f"{info_dir}/RECORD", record.getvalue())
    return wheel


def _closure(requirements: list[str]) -> list[metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        found[key] = metadata.distribution(requirement.name)
        pending.extend(Requirement(r) for r in found[key].requires or [])
    return list(found.values())


def _build_backend(directory: Path, minimum: Version) -> None:
    """A setuptools wheel for pip's isolated build of kescheck itself."""
    import virtualenv

    embedded = Path(virtualenv.__file__).parent / "seed" / "wheels" / "embed"
    candidates = sorted(embedded.glob("setuptools-*.whl"), key=lambda p: Version(p.name.split("-")[1]))
    usable = [p for p in candidates if Version(p.name.split("-")[1]) >= minimum]
    if usable:
        shutil.copy(usable[-1], directory)
        return
    installed = metadata.distribution("setuptools")
    if Version(installed.version) < minimum:
        raise RuntimeError(f"no setuptools >= {minimum} wheel available offline")
    repack(installed, directory)


def build_wheelhouse(repository: Path, directory: Path) -> Path:
    project = tomllib.loads((repository / "pyproject.toml").read_text("utf-8"))
    directory.mkdir(parents=True, exist_ok=True)
    for dist in _closure(project["project"]["dependencies"]):
        repack(dist, directory)
    backend = next(Requirement(r) for r in project["build-system"]["requires"] if Requirement(r).name == "setuptools")
    floor = min((Version(s.version) for s in backend.specifier if s.operator in (">=", "==")), default=Version("0"))
    _build_backend(directory, floor)
    return directory
