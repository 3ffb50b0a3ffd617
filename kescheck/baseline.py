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


def finding_key(finding: Finding, base: Path, secrets: frozenset[str] = frozenset()) -> tuple[str, str, str]:
    """`secrets`: those that occur in anchors (`anchored_secrets`). The baseline file is written outside the reporters'
    redaction, so an anchor holding one (an env file's line that is a pasted token, read as a variable's name) is
    hashed; so is the message, the next most stable address without an anchor (its numbers blanked out)."""
    anchor = finding.anchor
    if not anchor:
        anchor = "message:" + _digest(re.sub(r"\d+", "N", finding.message))
    elif any(secret in anchor for secret in secrets):
        anchor = "secret:" + _digest(anchor)
    return _relative(finding.location.path, base), finding.code, anchor


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def anchored_secrets(findings: list[Finding], secrets: set[str]) -> frozenset[str]:
    """The secrets that occur in the findings' anchors, found as the reports find those they mask."""
    from .report import secrets_in

    return frozenset(secrets_in("\n".join(finding.anchor for finding in findings), secrets))


def baselinable(finding: Finding) -> bool:
    """Findings nobody has silenced otherwise (those a previous baseline covered count too)."""
    return finding.suppressed_by is None or finding.suppressed_by.startswith("baseline")


def write_baseline(findings: list[Finding], path: Path, secrets: set[str] = frozenset()) -> int:
    base = path.absolute().parent
    hidden = anchored_secrets(findings, secrets)
    keys = Counter(finding_key(f, base, hidden) for f in findings if baselinable(f))
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


def apply_baseline(findings: list[Finding], keys: Counter, path: Path,
                   secrets: set[str] = frozenset()) -> list[Finding]:
    """Mark as suppressed the findings the baseline already knew, up to its count per key."""
    base = path.absolute().parent
    hidden = anchored_secrets(findings, secrets)
    remaining = Counter(keys)
    marked = []
    for finding in findings:
        key = finding_key(finding, base, hidden)
        if finding.suppressed_by is None and remaining[key] > 0:
            remaining[key] -= 1
            finding = replace(finding, suppressed_by=f"baseline ({path.as_posix()}): accepted when the baseline was written")
        marked.append(finding)
    return marked
