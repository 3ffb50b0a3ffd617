"""Commands that fit kescheck into a workflow: the rule catalogue and the effective settings."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, fail, load_project_settings


class CatalogueFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class SettingsFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def rules(format: CatalogueFormat = typer.Option(CatalogueFormat.text, "--format", "-f",
                                                 help="text, json or markdown (docs/rules.md is the markdown).")):
    """List every rule: code, default severity, name and what it checks."""
    from ..catalogue import RENDERERS
    from ..rules import all_rules

    typer.echo(RENDERERS[format.value](all_rules()), nl=False)


@app.command()
def explain(rule: str = typer.Argument(..., help="A rule code (KES001) or name (yaml-syntax).")):
    """Explain one rule: what it checks, why, failing and passing examples, fix, suppression."""
    import difflib

    from ..catalogue import explain_text
    from ..rules import all_rules, find_rule

    found = find_rule(rule)
    if found is None:
        known = [r.code for r in all_rules()] + [r.name for r in all_rules()]
        close = difflib.get_close_matches(rule.upper() if rule[:1].isalpha() and rule[-1:].isdigit() else rule.lower(),
                                          known, n=3, cutoff=0.6)
        fail(f"no rule {rule!r}" + (f" (did you mean {', '.join(close)}?)" if close else "; `kescheck rules` lists them"))
    typer.echo(explain_text(found), nl=False)


def effective_settings(settings) -> list[tuple[str, object, str]]:
    """(setting, value, where it came from) for every setting, defaults included."""

    def origin(key: str) -> str:
        return settings.origins.get(key, "default")

    rows: list[tuple[str, object, str]] = [
        ("select", list(settings.select) or "all rules", origin("select")),
        ("ignore", list(settings.ignore), origin("ignore")),
        ("expiry-warning-days", settings.expiry_warning_days if settings.expiry_warning_days is not None else 30,
         origin("expiry-warning-days")),
        ("kes-version", settings.kes_version or "detect from the config", origin("kes-version")),
        ("kes-auth", settings.kes_auth or "on (KES <= 2023-09-28 verifies client certificates by default)", origin("kes-auth")),
    ]
    rows += [(f"severity.{key}", value.label, origin(f"severity.{key}")) for key, value in settings.severity.items()]
    rows += [(f"per-path-ignores.{pattern}", list(codes), origin(f"per-path-ignores.{pattern}"))
             for pattern, codes in settings.per_path_ignores.items()]
    for spec in settings.deployments:
        value = {"kes": spec.kes.as_posix() if spec.kes else None, "env": [e.as_posix() for e in spec.envs],
                 "base-dir": spec.base_dir.as_posix() if spec.base_dir else None}
        rows.append((f"deployments.{spec.name}", value, origin(f"deployments.{spec.name}")))
    for index, spec in enumerate(settings.suppressions):
        value = {"rule": spec.rule, "path": spec.path, "reason": spec.reason,
                 "expires": spec.expires.isoformat() if spec.expires else None}
        rows.append((f"suppressions[{index}]", value, spec.origin or "settings file"))
    return rows


@app.command()
def settings(
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default: .kescheck.toml or pyproject.toml upwards)."),
    format: SettingsFormat = typer.Option(SettingsFormat.text, "--format", "-f", help="text or json."),
):
    """Show the effective settings and where each one came from."""
    loaded = load_project_settings(config)
    rows = effective_settings(loaded)
    source = loaded.path.as_posix() if loaded.path else None
    if format is SettingsFormat.json:
        document = {"settings_file": source,
                    "settings": [{"name": n, "value": v, "origin": o} for n, v, o in rows]}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    searched = "(none found from the working directory upwards: .kescheck.toml, pyproject.toml [tool.kescheck])"
    lines = [f"settings file: {source or searched}", ""]
    width = max(len(n) for n, _, _ in rows)
    for name, value, where in rows:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{name:<{width}}  {shown}  ({where})")
    typer.echo("\n".join(lines))
