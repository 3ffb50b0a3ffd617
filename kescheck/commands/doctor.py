"""`kescheck doctor`: prove on a host, without changing anything, that MinIO can really use KES."""
from __future__ import annotations

import json
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..cli import Color, app, fail, parse_timestamp, use_color


class DoctorFormat(str, Enum):
    rich = "rich"
    plain = "plain"
    json = "json"
    sarif = "sarif"


class DoctorFailOn(str, Enum):
    error = "error"
    warning = "warning"


@app.command()
def doctor(
    minio_env: Optional[Path] = typer.Option(None, "--minio-env", help="MinIO env file (default: the process "
                                             "environment, else the file MinIO's systemd unit loads, else "
                                             "/etc/default/minio)."),
    minio_unit: Optional[Path] = typer.Option(None, "--minio-unit", help="MinIO's systemd unit (default: "
                                              "minio.service in the system unit directories)."),
    kes_config: Optional[Path] = typer.Option(None, "--kes-config", help="On a KES host: KES's config file."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, max=300, help="Seconds each probe may take."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip the generate + decrypt round trip."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify KES's certificate (loudly reported)."),
    format: DoctorFormat = typer.Option(DoctorFormat.rich, "--format", "-f", help="rich, plain, json or sarif."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to FILE."),
    fail_on: DoctorFailOn = typer.Option(DoctorFailOn.error, "--fail-on",
                                         help="warning: warnings exit 1 instead of 3."),
    expiry_warning: int = typer.Option(30, "--expiry-warning", min=0, help="Warn about certificates expiring "
                                       "within DAYS."),
    at: Optional[str] = typer.Option(None, "--at", help="Judge certificate validity at this ISO 8601 time."),
    color: Color = typer.Option(Color.auto, "--color", help="Colour the rich report."),
):
    """Probe the KES endpoints MinIO uses (and the KES host): exit 0 ok, 1 failures, 2 usage, 3 warnings only."""
    from ..doctor.run import DoctorOptions, DoctorUsageError, run_doctor
    options = DoctorOptions(minio_env, kes_config, minio_unit, timeout, not no_probe, insecure, expiry_warning,
                            at=parse_timestamp(at) if at else None)
    if insecure:
        typer.echo("kescheck: WARNING: --insecure: the KES server certificate is not verified", err=True)
    fail_on_warning = fail_on is DoctorFailOn.warning
    live = format is DoctorFormat.rich and output is None and sys.stdout.isatty()
    try:
        report = _run_with_progress(options, run_doctor) if live else run_doctor(options)
    except DoctorUsageError as err:
        fail(str(err))
    text = _render(report, format, color, output, fail_on_warning)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            # A file name that is not UTF-8 is written as standard output writes it.
            output.write_text(text, encoding="utf-8", errors="surrogateescape")
        except OSError as err:
            fail(f"cannot write {output}: {err.strerror or err}")
    raise typer.Exit(report.exit_status(fail_on_warning))


def _render(report, format: DoctorFormat, color: Color, output: Optional[Path], fail_on_warning: bool) -> str:
    from ..report import ReportContext, redact, redacted, redacted_strings, renderer

    status = report.exit_status(fail_on_warning)
    secrets = report.result.secrets
    if format is DoctorFormat.sarif:
        return renderer("sarif")(redacted(report.result), ReportContext(format="sarif"))
    if format is DoctorFormat.json:
        from ..report.json_report import document

        record = document(report.result, ReportContext(format="json"))
        record["summary"]["exit_status"] = status
        record["doctor"] = {"status": report.status.label, "exit_status": status, "inputs": report.inputs,
                            "timeout_s": report.options.timeout, "insecure": report.options.insecure,
                            "checks": [c.to_dict() for c in report.root.children]}
        return json.dumps(redacted_strings(record, secrets), indent=2, ensure_ascii=False) + "\n"
    from ..doctor.render import render_text

    colored = format is DoctorFormat.rich and output is None and use_color(color, sys.stdout)
    return redact(render_text(report, colored, fail_on_warning), secrets)


def _run_with_progress(options, run_doctor):
    """Live progress on a terminal: which probe each endpoint is in."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from ..doctor.render import progress_text

    state: dict[str, str | None] = {}
    lock = threading.Lock()

    def progress(url: str, step: str | None) -> None:
        with lock:
            state[url] = step

    def current():
        with lock:
            return Text(progress_text(dict(state)), style="dim")

    with Live(get_renderable=current, console=Console(stderr=False), transient=True, refresh_per_second=8):
        return run_doctor(options, progress)
