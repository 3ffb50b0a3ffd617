"""The command line: a thin shell that parses options, calls the library and picks reporters."""
from __future__ import annotations

import datetime as dt
import importlib
import os
import sys
import warnings
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import List, NoReturn, Optional

import typer

from . import __version__

app = typer.Typer(
    name="kescheck",
    help="Lint, cross-check and probe MinIO server-side encryption with MinIO KES.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"
    never = "never"


class OnOff(str, Enum):
    on = "on"
    off = "off"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def fail(message: str, status: int = 2) -> None:
    from .report.common import printable

    typer.echo(f"kescheck: {printable(message)}", err=True)
    raise typer.Exit(status)


def _version_callback(value: bool):
    if value:
        typer.echo(f"kescheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")):
    """kescheck: configuration validator, linter and doctor for MinIO SSE with KES."""


def parse_timestamp(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at {text!r} is not an ISO 8601 timestamp (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def use_color(choice: Color, stream) -> bool:
    if choice is Color.always:
        return True
    if choice is Color.never:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def read_env_mapping(path: Path) -> tuple[dict[str, str], frozenset[str]]:
    """The variables of the `--kes-env` file, and its secret values (which reports must mask)."""
    from .load.envfile import parse_env
    from .load.source import InputError, read_source

    try:
        env = parse_env(read_source(path))
    except InputError as err:
        fail(f"--kes-env {err}")
    return {entry.name.strip(): entry.value for entry in env.entries}, frozenset(env.source.secret_values)


def _split(values: List[str]) -> list[str]:
    """`--select KES001,KES002` as ruff takes it: each value may list several selectors."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _check_selectors(settings, select: List[str], ignore: List[str]) -> None:
    """A selector that names no rule is a usage error: `--select CRT01` (a typo) would check nothing and pass."""
    from .rules import all_rules
    from .settings import names_a_rule

    rules = all_rules()
    unknown = [f"--{option} '{selector}'" for option, values in (("select", select), ("ignore", ignore))
               for selector in _split(values) if not names_a_rule(selector, rules)]
    unknown += settings.unknown_selectors(rules)
    if unknown:
        fail(f"{', '.join(unknown)} names no rule: give rule codes (KES001), code prefixes (KES, CRT02) or rule "
             "names (unknown-key); `kescheck rules` lists them")


def load_project_settings(config: Optional[Path]):
    from .settings import SettingsError, find_settings_file, load_settings

    try:
        return load_settings(config if config else find_settings_file(Path.cwd()))
    except SettingsError as err:
        fail(str(err))


def write_reports(result, formats: list[str], outputs: list[Path], fail_on, show_suppressed: bool, statistics: bool,
                  color: Color, exit_zero: bool = False) -> None:
    from .report import FORMATS, ReportContext, render

    if len(outputs) > len(formats):
        fail("more --output than --format options: the Nth --output receives the Nth --format")
    to_stdout = len(formats) - len(outputs)
    if to_stdout > 1:
        fail("only one --format can go to standard output; give the others an --output FILE")
    for index, name in enumerate(formats):
        if name not in FORMATS:
            fail(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
        target = outputs[index] if index < len(outputs) else None
        stream = sys.stdout
        colored = name == "rich" and target is None and use_color(color, stream)
        context = ReportContext(format=name, color=colored, fail_on=fail_on, exit_zero=exit_zero,
                                show_suppressed=show_suppressed, statistics=statistics)
        text = render(result, context)
        if name == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
            append_step_summary(Path(os.environ["GITHUB_STEP_SUMMARY"]),
                                render(result, replace(context, extra={"part": "step-summary"})))
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                # A file name that is not UTF-8 is written as standard output writes it.
                target.write_text(text, encoding="utf-8", errors="surrogateescape")
            except OSError as err:
                fail(f"cannot write {target}: {err.strerror or err}")


def apply_baselines(result, baseline: Optional[Path], write_baseline: Optional[Path]):
    from .baseline import BaselineError, apply_baseline, load_baseline, write_baseline as write
    from .engine import with_findings

    findings = result.findings
    try:
        if baseline:
            findings = apply_baseline(findings, load_baseline(baseline), baseline, result.secrets)
        if write_baseline:
            count = write(findings, write_baseline, result.secrets)
            typer.echo(f"kescheck: wrote {count} finding{'s' if count != 1 else ''} to baseline {write_baseline}", err=True)
            findings = apply_baseline(findings, load_baseline(write_baseline), write_baseline, result.secrets)
    except BaselineError as err:
        fail(str(err))
    return with_findings(result, findings)


def append_step_summary(path: Path, text: str) -> None:
    """GitHub caps annotations per step; the job summary lists every finding."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        typer.echo(f"kescheck: cannot write the job summary {path}: {err.strerror or err}", err=True)


def default_format() -> str:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from .report import FORMATS

        if "github" in FORMATS:
            return "github"
    return "rich"


@app.command()
def lint(
    paths: List[str] = typer.Argument(..., help="KES configs, MinIO env files or directories; - reads stdin."),
    format: List[str] = typer.Option([], "--format", "-f", help="rich, plain, json, sarif, github, junit or gitlab (repeatable)."),
    output: List[Path] = typer.Option([], "--output", "-o", help="Write the matching --format to FILE."),
    fail_on: FailOn = typer.Option(FailOn.error, "--fail-on", help="Lowest severity that makes the exit status 1."),
    kes_version: Optional[str] = typer.Option(None, "--kes-version", help="Target KES version (X.Y); default: detect."),
    kes_env: Optional[Path] = typer.Option(None, "--kes-env", help="Env file KES starts with: resolve ${VAR} against it."),
    kes_auth: Optional[OnOff] = typer.Option(None, "--kes-auth", help="`kes server --auth` of KES <= 2023-09-28 (default: the KES unit's --auth, else on, as KES)."),
    expiry_warning: Optional[int] = typer.Option(None, "--expiry-warning", min=0, help="Warn about certificates expiring within DAYS (default 30)."),
    at: Optional[str] = typer.Option(None, "--at", help="Judge certificate validity at this ISO 8601 time."),
    require_files: bool = typer.Option(False, "--require-files", help="Referenced certificate/key files must exist."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default: .kescheck.toml or pyproject.toml upwards)."),
    select: List[str] = typer.Option([], "--select", help="Run only these rule codes, prefixes or names."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these rule codes, prefixes or names."),
    color: Color = typer.Option(Color.auto, "--color", help="Colour the rich report."),
    show_suppressed: bool = typer.Option(False, "--show-suppressed", help="List suppressed findings too."),
    statistics: bool = typer.Option(False, "--statistics", help="Count findings per rule."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when findings reach --fail-on."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Only findings missing from this baseline count."),
    write_baseline: Optional[Path] = typer.Option(None, "--write-baseline", help="Record today's findings in FILE as accepted."),
    no_inline_ignores: bool = typer.Option(False, "--no-inline-ignores", help="Ignore `# kescheck: ignore` comments (strict CI)."),
    by_content: bool = typer.Option(False, "--by-content", help="Skip named files that are not a KES config or MinIO env file by content (hooks)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes for a large batch (default 0: one per CPU; 1: none)."),
):
    """Check KES configs and MinIO env files, and the deployments they form."""
    from .engine import lint as run_lint
    from .findings import Severity
    from .load.kesconfig import generation_of_version
    from .model import Options
    from .parallel import frozen_objects, usable_cpus

    settings = load_project_settings(config)
    _check_selectors(settings, select, ignore)
    if select:
        settings.select = tuple(_split(select))
    if ignore:
        settings.ignore = settings.ignore + tuple(_split(ignore))
    if paths.count("-") > 1:  # the second read would find standard input at its end: an empty file
        fail("standard input (-) can be named only once")
    if any(not path for path in paths):  # pathlib reads "" as ".": a script's unset variable would lint the whole tree
        fail("an empty path was given (an unset variable?): name a file or directory, `.` for the current one")
    version = kes_version or settings.kes_version
    if version:
        try:
            generation_of_version(version)
        except ValueError as err:
            fail(str(err))
    kes_environment, kes_env_secrets = read_env_mapping(kes_env) if kes_env else (None, frozenset())
    options = Options(
        kes_version=version,
        kes_env=kes_environment,
        kes_env_secrets=kes_env_secrets,
        kes_auth={None: None, "on": True, "off": False}[kes_auth.value if kes_auth else settings.kes_auth],
        expiry_warning_days=next(days for days in (expiry_warning, settings.expiry_warning_days, 30) if days is not None),
        at=parse_timestamp(at) if at else None,
        require_files=require_files,
        inline_ignores=not no_inline_ignores,
        by_content=by_content,
    )
    # The run's files and findings live until it ends: kept out of collections while it reports too, where a full
    # collection over what workers sent back took ~70 ms of a 1,000-deployment run.
    with frozen_objects():
        result = run_lint(paths, options, settings, jobs=jobs or usable_cpus())
        if baseline or write_baseline:
            result = apply_baselines(result, baseline, write_baseline)
        from .report.common import printable

        for error in result.input_errors:
            typer.echo(printable(f"kescheck: {error.path}: {error.reason}"), err=True)
        if not result.files and not result.input_errors:
            typer.echo(printable(f"kescheck: no KES config or MinIO env file found in {', '.join(paths)}"), err=True)
        threshold = None if fail_on is FailOn.never else Severity.parse(fail_on.value)
        write_reports(result, format or [default_format()], output, threshold, show_suppressed, statistics, color,
                      exit_zero)
    raise typer.Exit(result.exit_status(threshold, exit_zero))


@app.command()
def schema(generation: str = typer.Option("G2", "--generation", "-g", help="G0, G1 or G2.")):
    """Print the JSON Schema of a KES config generation (for editors and yaml-language-server)."""
    from .schema import schema_text

    try:
        typer.echo(schema_text(generation), nl=False)
    except KeyError:
        fail(f"unknown generation {generation!r} (choose G0, G1 or G2)")


# Each module in kescheck.commands registers its commands on `app` when imported.
COMMAND_MODULES: tuple[str, ...] = ("identity", "policy", "doctor", "workflow")
for _module in COMMAND_MODULES:
    importlib.import_module(f"kescheck.commands.{_module}")


def main() -> NoReturn:
    _exit_without_teardown(run_command_line())


def run_command_line() -> int:
    """Runs the command `sys.argv` names; its exit status."""
    if not sys.warnoptions:  # a library's deprecation notice (DSA keys, say) is no finding: kescheck reports those
        warnings.simplefilter("ignore")
    try:
        app()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("kescheck: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except SystemExit as done:
        return _status_of(done)
    except OSError as err:  # a report that cannot be written (a full disk): say why, not "internal error"
        sys.stderr.write(f"kescheck: cannot write the output: {err.strerror or type(err).__name__}\n")
        return 2
    except Exception as err:  # never a traceback for the user: name the failure and ask for a report
        sys.stderr.write(f"kescheck: internal error ({type(err).__name__}); please report it with the command you ran\n")
        return 2


def _status_of(done: SystemExit) -> int:
    """The exit status `sys.exit` would give: None is 0, a message is printed and is 1."""
    if done.code is None or isinstance(done.code, int):
        return done.code or 0
    sys.stderr.write(f"{done.code}\n")
    return 1


def _exit_without_teardown(status: int) -> NoReturn:
    """Ends the process once its output is out, without tearing the interpreter down: freeing, one by one, every
    object a large run made (parsed files, findings, the report) took ~50 ms of a 1,000-deployment run. Nothing
    kescheck does waits for teardown: files are closed where they are written, temporary directories removed
    where they are made, and no exit handler of its own is registered."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that went away (`| head`), or a stream already closed
            status = status or 1
        except OSError as err:  # `> /dev/full`
            os.write(2, f"kescheck: cannot write the output: {err.strerror or type(err).__name__}\n".encode())
            status = 2
    os._exit(status)
