"""Baselines: accept the findings a repository already has, fail only on new ones.

A finding is keyed by its file (relative to the baseline file), its rule code and its
anchor (the YAML path or env variable name), never its line: moving or inserting lines does
not bring baselined findings back. Keys are counted, so a second identical problem is new.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from .findings import Finding
from .load.source import InputError, read_bytes

BASELINE_FORMAT = "kescheck-baseline"
BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 256 * 1024 * 1024
"""A baseline lists every accepted finding of a repository: far more than a configuration file, but bounded."""


class BaselineError(ValueError):
    """A baseline file that cannot be read or written; the CLI exits with status 2."""


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.absolute(), base.absolute())).as_posix()
    except ValueError:  # another drive on Windows
        return path.absolute().as_posix()


def finding_key(finding: Finding, base: Path) -> tuple[str, str, str]:
    # Without an anchor, the message with its numbers blanked out is the next most stable address;
    # hashed, because the baseline file is written outside the reporters' redaction.
    anchor = finding.anchor or "message:" + hashlib.sha256(re.sub(r"\d+", "N", finding.message).encode()).hexdigest()[:16]
    return _relative(finding.location.path, base), finding.code, anchor


def baselinable(finding: Finding) -> bool:
    """Findings nobody has silenced otherwise (those a previous baseline covered count too)."""
    return finding.suppressed_by is None or finding.suppressed_by.startswith("baseline")


def write_baseline(findings: list[Finding], path: Path) -> int:
    base = path.absolute().parent
    keys = Counter(finding_key(f, base) for f in findings if baselinable(f))
    entries = [{"path": p, "code": c, "anchor": a, "count": n} for (p, c, a), n in sorted(keys.items())]
    document = {"format": BASELINE_FORMAT, "version": BASELINE_VERSION, "findings": entries}
    try:
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as err:
        raise BaselineError(f"cannot write baseline {path}: {err.strerror or err}") from None
    return sum(keys.values())


def load_baseline(path: Path) -> Counter:
    try:
        document = json.loads(read_bytes(path, MAX_BASELINE_BYTES).decode("utf-8"))
    except InputError as err:
        raise BaselineError(f"cannot read baseline {path}: {err.reason}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BaselineError(f"baseline {path} is not JSON: {err}") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise BaselineError(f"{path} is not a kescheck baseline (write one with --write-baseline)")
    if document.get("version") != BASELINE_VERSION:
        raise BaselineError(f"baseline {path} has version {document.get('version')!r}; this kescheck reads "
                            f"version {BASELINE_VERSION}: write it again with --write-baseline")
    entries = document.get("findings") or []
    if not isinstance(entries, list):
        raise BaselineError(f"baseline {path} has no list of findings (write it again with --write-baseline)")
    keys: Counter = Counter()
    for entry in entries:
        try:
            keys[(str(entry["path"]), str(entry["code"]), str(entry["anchor"]))] += int(entry.get("count", 1))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"baseline {path} has an entry without path, code and anchor: {entry!r}") from None
    return keys


def apply_baseline(findings: list[Finding], keys: Counter, path: Path) -> list[Finding]:
    """Mark as suppressed the findings the baseline already knew, up to its count per key."""
    base = path.absolute().parent
    remaining = Counter(keys)
    marked = []
    for finding in findings:
        key = finding_key(finding, base)
        if finding.suppressed_by is None and remaining[key] > 0:
            remaining[key] -= 1
            finding = replace(finding, suppressed_by=f"baseline ({path.as_posix()}): accepted when the baseline was written")
        marked.append(finding)
    return marked
