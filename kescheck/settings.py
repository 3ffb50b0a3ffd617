"""Project settings from `[tool.kescheck]` in pyproject.toml or from `.kescheck.toml`."""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from .findings import Severity
from .load.source import InputError, read_bytes

SETTINGS_FILES = (".kescheck.toml", "pyproject.toml")


class SettingsError(ValueError):
    """Settings that cannot be used; the CLI exits with status 2."""


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    kes: Path | None
    envs: tuple[Path, ...]
    base_dir: Path | None

    def files(self) -> tuple[Path, ...]:
        return ((self.kes,) if self.kes else ()) + self.envs


@dataclass(frozen=True)
class SuppressionSpec:
    rule: str
    path: str
    reason: str
    expires: dt.date | None = None
    origin: str = ""


def selects(selector: str, code: str, name: str) -> bool:
    """A rule code, a prefix of one (`KES`, `CRT02`), or a rule name selects the rule."""
    return code.upper().startswith(selector.upper()) or name == selector.lower()


def _names(key: str, code: str, name: str) -> bool:
    """A severity key names exactly one rule, by its code or its name."""
    return key.upper() == code.upper() or key.lower() == name


def names_a_rule(selector: str, rules) -> bool:
    return bool(selector) and any(selects(selector, rule.code, rule.name) for rule in rules)


@dataclass
class Settings:
    path: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    per_path_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expiry_warning_days: int | None = None
    kes_version: str | None = None
    kes_auth: str | None = None
    """`on` or `off`: how KES <= 2023-09-28 runs `kes server --auth`."""
    deployments: tuple[DeploymentSpec, ...] = ()
    suppressions: tuple[SuppressionSpec, ...] = ()
    origins: dict[str, str] = field(default_factory=dict)
    """Where each effective setting came from, for `kescheck settings`."""

    def rule_enabled(self, code: str, name: str) -> bool:
        if self.select and not any(selects(s, code, name) for s in self.select):
            return False
        return not any(selects(s, code, name) for s in self.ignore)

    def ignored_for_path(self, code: str, name: str, path: Path) -> bool:
        base = self.path.parent if self.path else None
        return any(any(selects(s, code, name) for s in selectors) and path_matches(pattern, path, base)
                   for pattern, selectors in self.per_path_ignores.items())

    def unknown_selectors(self, rules) -> list[str]:
        """The rule selectors of the settings that name no rule of `rules` (a typo, say), each with the setting and file
        that hold it: such a `select` silently checks nothing, such an `ignore`, severity or suppression silently does
        nothing."""
        named = [("select", s) for s in self.select] + [("ignore", s) for s in self.ignore]
        named += [(f"per-path-ignores.{pattern}", s) for pattern, found in self.per_path_ignores.items() for s in found]
        found = [f"{setting} '{selector}'" + (f" in {self.origins[setting]}" if setting in self.origins else "")
                 for setting, selector in named if not names_a_rule(selector, rules)]
        found += [f"rule '{spec.rule}' of {spec.origin or 'a settings suppression'}" for spec in self.suppressions
                  if not names_a_rule(spec.rule, rules)]
        return found + [f"severity '{key}' in {self.origins.get(f'severity.{key}', 'the settings')}"
                        for key in self.severity if not any(_names(key, rule.code, rule.name) for rule in rules)]

    def severity_for(self, code: str, name: str, default: Severity) -> Severity:
        for key, value in self.severity.items():
            if _names(key, code, name):
                return value
        return default


def path_matches(pattern: str, path: Path, base: Path | None) -> bool:
    """Whether a settings glob matches `path` as shown (relative to the working directory), relative to `base` (the
    settings file's directory: the same settings mean the same files wherever kescheck runs), or at its end."""
    candidates = [path.as_posix()]
    if base is not None:
        try:
            candidates.append(path.absolute().relative_to(base.absolute()).as_posix())
        except ValueError:
            pass
    return any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(text, f"*/{pattern}") for text in candidates)


def find_settings_file(start: Path) -> Path | None:
    """The nearest `.kescheck.toml`, or `pyproject.toml` with a `[tool.kescheck]` table, upwards."""
    for directory in [start, *start.parents]:
        for name in SETTINGS_FILES:
            candidate = directory / name
            if candidate.is_file():
                if name == "pyproject.toml":
                    import tomllib  # only when a settings file exists: ~4 ms of start-up otherwise

                    try:
                        tool = tomllib.loads(read_bytes(candidate).decode("utf-8")).get("tool")
                        if not isinstance(tool, dict) or "kescheck" not in tool:
                            continue
                    except (InputError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                        continue
                return candidate
    return None


def _table(value, where: str) -> dict:
    """A TOML table the user may have written as something else (settings files come from anyone's PR)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be a table")
    return value


def _strings(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SettingsError(f"{where} must be a string or a list of strings")


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    import tomllib

    try:
        data = tomllib.loads(read_bytes(path).decode("utf-8"))
    except InputError as err:
        raise SettingsError(f"{path}: {err.reason}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{path}: not valid TOML: {err}") from None
    # pyproject.toml (or any file given with --config that has one) keeps the settings in [tool.kescheck];
    # .kescheck.toml holds them at the top level.
    in_tool_table = path.name == "pyproject.toml" or set(data) == {"tool"}
    if in_tool_table:
        table = _table(_table(data.get("tool"), f"{path}: [tool]").get("kescheck"), f"{path}: [tool.kescheck]")
    else:
        table = data
    base = path.parent
    where = f"{path}" + (" [tool.kescheck]" if in_tool_table else "")
    settings = Settings(path=path)
    known = {"select", "ignore", "severity", "per-path-ignores", "expiry-warning-days", "kes-version", "kes-auth",
             "deployments", "suppressions"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if "select" in table:
        settings.select = _strings(table["select"], f"{where} select")
        settings.origins["select"] = where
    if "ignore" in table:
        settings.ignore = _strings(table["ignore"], f"{where} ignore")
        settings.origins["ignore"] = where
    for key, value in _table(table.get("severity"), f"{where} severity").items():
        try:
            settings.severity[key] = Severity.parse(str(value))
        except ValueError as err:
            raise SettingsError(f"{where} severity.{key}: {err}") from None
        settings.origins[f"severity.{key}"] = where
    for pattern, value in _table(table.get("per-path-ignores"), f"{where} per-path-ignores").items():
        settings.per_path_ignores[pattern] = _strings(value, f"{where} per-path-ignores.{pattern}")
        settings.origins[f"per-path-ignores.{pattern}"] = where
    if "expiry-warning-days" in table:
        days = table["expiry-warning-days"]
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise SettingsError(f"{where} expiry-warning-days must be a whole number of days")
        settings.expiry_warning_days = days
        settings.origins["expiry-warning-days"] = where
    if "kes-version" in table:
        if not isinstance(table["kes-version"], str):  # a TOML number: `0.20` would read as 0.2, another generation
            raise SettingsError(f"{where} kes-version must be a string, quoted: kes-version = \"0.20\" (a TOML number "
                                "drops trailing zeros, so 0.20 would mean KES 0.2)")
        settings.kes_version = table["kes-version"]
        settings.origins["kes-version"] = where
    if "kes-auth" in table:
        auth = str(table["kes-auth"]).strip().lower()
        if auth not in ("on", "off"):
            raise SettingsError(f"{where} kes-auth must be \"on\" or \"off\" (`kes server --auth` of KES <= 2023-09-28)")
        settings.kes_auth = auth
        settings.origins["kes-auth"] = where
    specs = []
    for name, spec in sorted(_table(table.get("deployments"), f"{where} deployments").items()):
        spec = _table(spec, f"{where} deployments.{name}")
        kes = spec.get("kes")
        envs = _strings(spec.get("env", []), f"{where} deployments.{name}.env")
        base_dir = spec.get("base-dir")
        for key, value in (("kes", kes), ("base-dir", base_dir)):
            if value is not None and not isinstance(value, str):
                raise SettingsError(f"{where} deployments.{name}.{key} must be a path (a string)")
        specs.append(DeploymentSpec(name, (base / kes) if kes else None, tuple(base / e for e in envs),
                                    (base / base_dir) if base_dir else None))
        settings.origins[f"deployments.{name}"] = where
    settings.deployments = tuple(specs)
    suppressions = []
    entries = table.get("suppressions") or []
    if not isinstance(entries, list):
        raise SettingsError(f"{where} suppressions must be an array of tables ([[suppressions]])")
    for index, item in enumerate(entries):
        if not isinstance(item, dict) or "rule" not in item or "reason" not in item:
            raise SettingsError(f"{where} suppressions[{index}] needs at least `rule` and `reason`")
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise SettingsError(f"{where} suppressions[{index}].expires is not a date (YYYY-MM-DD)") from None
        elif isinstance(expires, dt.datetime):
            expires = expires.date()
        elif expires is not None and not isinstance(expires, dt.date):
            raise SettingsError(f"{where} suppressions[{index}].expires is not a date (YYYY-MM-DD)")
        suppressions.append(SuppressionSpec(str(item["rule"]), str(item.get("path", "*")), str(item["reason"]),
                                            expires, f"{where} suppressions[{index}]"))
    settings.suppressions = tuple(suppressions)
    return settings
