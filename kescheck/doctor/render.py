"""The doctor's tree as text (plain, or styled through rich), and its JSON document."""
from __future__ import annotations

from ..report.text import Segment, join_segments
from .checks import Check, Status
from .run import DoctorReport

LABEL = {Status.OK: " ok ", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIP: "skip"}
STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}
EXIT_MEANING = {0: "all ok", 1: "failures", 3: "warnings only"}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _check_lines(check: Check, lead: str, branch: str, out: list[Segment]) -> None:
    status = check.rolled_up()
    out.append((lead + branch, "dim"))
    out.append((f"[{LABEL[status]}] ", STYLE[status]))
    out.append((check.title, "bold" if check.children else ""))
    if check.summary:
        out.append((f": {check.summary}", STYLE[status] if status >= Status.WARN else ""))
    if check.duration is not None:
        out.append((f"  ({duration_text(check.duration)})", "dim"))
    out.append(("\n", ""))
    child_lead = lead + ("    " if branch in ("└── ", "") else "│   ")
    for detail in check.details:
        out.append((f"{child_lead}  {detail}\n", "dim"))
    if check.advice and check.status >= Status.WARN:
        out.append((f"{child_lead}  fix: ", "green"))
        out.append((check.advice + "\n", ""))
    for index, child in enumerate(check.children):
        _check_lines(child, child_lead, "└── " if index == len(check.children) - 1 else "├── ", out)


def segments(report: DoctorReport, fail_on_warning: bool) -> list[Segment]:
    options = report.options
    out: list[Segment] = [(f"kescheck doctor: {'; '.join(report.inputs)}; timeout {options.timeout:g} s per probe"
                           f"{'' if options.round_trip else '; --no-probe'}\n", "bold")]
    if options.insecure:
        out.append(("WARNING: --insecure: the KES server certificate is NOT verified; this run cannot show whether "
                    "MinIO trusts KES.\n", "bold yellow"))
    for check in report.root.children:
        _check_lines(check, "", "", out)
    tally = report.counts()
    status = report.exit_status(fail_on_warning)
    verdict = report.status
    out.append((f"\n{verdict.label.upper()}: {tally['fail']} failed, {tally['warn']} warnings, {tally['ok']} ok, "
                f"{tally['skip']} skipped; exit status {status} ({EXIT_MEANING.get(status, '')})\n", STYLE[verdict]))
    return out


def render_text(report: DoctorReport, color: bool, fail_on_warning: bool, width: int = 100) -> str:
    return join_segments(segments(report, fail_on_warning), color, width)


def progress_text(state: dict[str, str | None]) -> str:
    """One line per endpoint while the probes run: what each is doing now (a URL's password masked: this goes to the
    terminal before the report's redaction)."""
    from ..load.envfile import without_url_passwords

    lines = []
    for url, step in state.items():
        lines.append(f"  {'…' if step else '✓'} {without_url_passwords(url)}: {step or 'done'}")
    return "probing KES endpoints\n" + "\n".join(lines)
