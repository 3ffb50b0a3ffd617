"""The doctor run: read the inputs, probe every endpoint concurrently, check the KES host, add the
static findings, and turn whatever is not ok into findings the reporters understand."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from ..engine import LintResult, lint, run_rules
from ..findings import Finding, Location, Severity
from ..load.kesconfig import KesConfig, load_kes_config
from ..load.source import InputError, read_source, same_file
from ..model import Deployment, Options
from ..rules import all_rules
from ..rules import doctor as doc
from ..rules.base import at_entry, at_file, at_node
from ..settings import Settings
from .checks import Check, Status
from .endpoint import Progress, ProbePlan, probe_endpoint
from .host import kes_host_checks
from ..minio_names import ENDPOINT, KEY_NAME
from .minio import MinioService, MinioSettings, find_service, find_settings, kes_unit_for, sets_kes
from .tls import client_tls

MAX_PARALLEL = 32
MAX_PROBED_ENDPOINTS = 4 * MAX_PARALLEL
"""More KES endpoints than any deployment runs; probing a typo's thousands of hosts would take hours."""
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_WARNING = 0, 1, 2, 3
ENDPOINTS_TITLE = "KES endpoints"
STATIC_TITLE = "static checks (kescheck lint)"


class DoctorUsageError(Exception):
    """The doctor cannot run with these inputs (exit status 2)."""


@dataclass(frozen=True)
class DoctorOptions:
    minio_env: Path | None = None
    kes_config: Path | None = None
    minio_unit: Path | None = None
    """MinIO's systemd unit; None: minio.service in the system unit directories, if there is one."""
    timeout: float = 5.0
    round_trip: bool = True
    insecure: bool = False
    expiry_warning_days: int = 30
    environ: Mapping[str, str] | None = None
    """The process environment to read MinIO's settings from; None: os.environ."""
    at: dt.datetime | None = None


@dataclass
class DoctorReport:
    root: Check
    result: LintResult
    """Static and doctor findings together, with the rules that describe them (for json/sarif)."""
    options: DoctorOptions
    inputs: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return self.root.rolled_up()

    def exit_status(self, fail_on_warning: bool = False) -> int:
        status = self.status
        if status is Status.FAIL:
            return EXIT_FAILURE
        if status is Status.WARN:
            return EXIT_FAILURE if fail_on_warning else EXIT_WARNING
        return EXIT_OK

    def counts(self) -> dict[str, int]:
        tally = {s.label: 0 for s in Status}
        for check in self.root.walk():
            # A group counts its own failure or warning (a TLS handshake that failed, with the probe's detail below).
            if not check.children or check.status >= Status.WARN:
                tally[check.status.label] += 1
        return tally


def _settings_checks(settings: MinioSettings, node: Check) -> tuple[list, str]:
    endpoints_check = node.add(Check(ENDPOINT, anchor=ENDPOINT))
    key_check = node.add(Check(KEY_NAME, anchor=KEY_NAME))
    endpoints, errors = settings.endpoints()
    too_many = len(endpoints) > MAX_PROBED_ENDPOINTS
    if settings.entry(ENDPOINT) is None:
        endpoints_check.fail(doc.SETTINGS_INCOMPLETE, f"{ENDPOINT} is not set: MinIO has no KES to talk to")
    elif errors:
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        endpoints_check.fail(doc.INVALID_ENDPOINT, "; ".join(str(e) for e in errors[:5]) + more)
    elif not endpoints:
        endpoints_check.fail(doc.SETTINGS_INCOMPLETE, f"{ENDPOINT} lists no endpoint: MinIO refuses to start")
    elif too_many:
        endpoints_check.fail(doc.INVALID_ENDPOINT, f"{ENDPOINT} expands to {len(endpoints)} endpoints; the doctor "
                                                   f"probes at most {MAX_PROBED_ENDPOINTS} (is a range a typo?)")
    else:
        endpoints_check.ok(f"{len(endpoints)} endpoint(s): {', '.join(e.url for e in endpoints)}")
    if too_many:
        endpoints = []
    key = settings.value(KEY_NAME)
    if key:
        key_check.ok(f"default key '{key}'")
    else:
        key_check.fail(doc.SETTINGS_INCOMPLETE, f"{KEY_NAME} is not set: MinIO refuses to start")
    return endpoints, key


def _service_check(service: MinioService | None, settings: MinioSettings, loads_settings: bool, check: Check) -> None:
    """Whether MinIO's systemd unit gives MinIO the settings the doctor checks (`loads_settings`: it loads their env
    file): variables exported in a shell, or an env file no `EnvironmentFile=` loads, never reach the service
    (field-failures FM-07)."""
    if service is None:
        check.skip("no minio.service in the system unit directories (--minio-unit names another unit)")
        return
    unit = service.unit
    check.title = f"MinIO's systemd unit ({service.files[0]})"
    check.at = Location((unit.executable.source or unit.source).path, unit.executable.line, unit.executable.column)
    loads = unit.env_file_paths()
    if loads_settings:
        check.ok(f"{service.name} loads {settings.path}")
        return
    why = unit.unknown_environment() or ("its Environment= sets MINIO_KMS_ variables" if unit.sets_kms() else None)
    if why:
        check.skip(f"{service.name} may give MinIO settings the doctor does not read: {why}")
        return
    with_settings = [path for path in loads if sets_kes(path)]
    loaded = f"it loads {', '.join(map(str, loads))}" if loads else "it loads no env file"
    ignored = "".join(f"; systemd ignores EnvironmentFile={text} (not an absolute path)" for text in service.ignored())
    advice = (f"Load the file with MinIO's settings in {service.name} (`EnvironmentFile=-/etc/default/minio`, or "
              "`systemctl edit minio` for a drop-in), then `systemctl daemon-reload` and restart MinIO.")
    if settings.path is None:
        if with_settings:
            check.skip(f"the doctor checked the variables of its own environment; {service.name} gives MinIO those "
                       f"of {with_settings[-1]} (check them with --minio-env {with_settings[-1]})")
        else:
            check.fail(doc.SERVICE_WITHOUT_SETTINGS, f"MINIO_KMS_KES_* are set in the doctor's environment, but "
                                                     f"{service.name} gives MinIO none ({loaded}{ignored}): variables "
                                                     "exported in a shell do not reach the service, so MinIO runs "
                                                     "without KES", advice)
    elif with_settings:
        check.warn(doc.SERVICE_WITHOUT_SETTINGS, f"{service.name} does not load {settings.path} but "
                                                 f"{with_settings[-1]}: the doctor checked settings MinIO does not use",
                   f"Run the doctor with --minio-env {with_settings[-1]}, or load {settings.path} in {service.name}.")
    else:
        check.fail(doc.SERVICE_WITHOUT_SETTINGS, f"{service.name} does not load {settings.path} ({loaded}{ignored}): "
                                                 "MinIO starts without these KMS settings and runs without KES", advice)


def _probe_all(endpoints, plan: ProbePlan, node: Check, progress: Progress | None) -> None:
    if not endpoints:
        node.skip("no endpoint to probe")
        return
    nodes = [Check(e.url, anchor=ENDPOINT) for e in endpoints]
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(endpoints)),
                                                     thread_name_prefix="kescheck-probe")
    futures = {executor.submit(probe_endpoint, e, plan, progress): i for i, e in enumerate(endpoints)}
    # Every probe is bounded by the timeout; this only guards against a bug leaving a thread behind.
    waves = -(-len(endpoints) // MAX_PARALLEL)
    done, _ = concurrent.futures.wait(futures, timeout=waves * (10 * plan.timeout + 5))
    for future, index in futures.items():
        if future in done and future.exception() is None:
            nodes[index] = future.result()
        elif future in done:
            nodes[index].fail(doc.UNEXPECTED_RESPONSE, f"kescheck's probe failed ({type(future.exception()).__name__}); "
                                                       "please report this")
        else:
            nodes[index].fail(doc.TIMED_OUT, "timed out: the probes of this endpoint did not finish")
    executor.shutdown(wait=False, cancel_futures=True)
    node.children.extend(nodes)


def _load_kes(path: Path) -> KesConfig:
    try:
        return load_kes_config(read_source(path))
    except InputError as err:
        raise DoctorUsageError(f"--kes-config {err}") from None


def _static(settings: MinioSettings | None, kes_path: Path | None, options: Options, units: list[Path]) -> LintResult:
    """The lint findings of MinIO's env file and KES's config, with the systemd `units` that start them."""
    paths = [p for p in ((settings.path if settings else None), kes_path) if p is not None] + units
    result = lint(paths, options) if paths else LintResult([], [], [], [r for r in all_rules() if not r.doctor])
    if settings is not None and settings.path is None:
        deployment = Deployment(settings.origin, None, [settings.env], None, options)
        extra = run_rules([deployment], result.rules, Settings())
        result = replace(result, findings=sorted(result.findings + extra, key=Finding.sort_key),
                         secrets=result.secrets | settings.env.source.secret_values)
    return result


def _static_node(result: LintResult, node: Check) -> None:
    active = result.active()
    if not active:
        node.ok("no findings")
        return
    for finding in active:
        status = {Severity.ERROR: Status.FAIL, Severity.WARNING: Status.WARN}.get(finding.severity, Status.OK)
        name = next((r.name for r in result.rules if r.code == finding.code), "")
        child = node.add(Check(f"{finding.code} {name}".strip(), status, f"{finding.location}: {finding.message}"))
        if status >= Status.WARN:
            child.advice = finding.fix or next((r.fix for r in result.rules if r.code == finding.code), "")


def doctor_findings(root: Check, settings: MinioSettings | None, kes: KesConfig | None) -> list[Finding]:
    """One finding per check that failed or warned, at the env or config line that defines what was probed."""
    found: list[Finding] = []

    def locate(check: Check, message: str, anchor_suffix: str) -> Finding:
        if check.at is not None:
            located = Finding(check.at, message, fix=check.advice)
        elif check.anchor.startswith("MINIO_") and settings is not None:
            entry = settings.entry(check.anchor)
            if entry is not None:
                located = at_entry(settings.env, entry, message, fix=check.advice)
            else:
                located = at_file(settings.env.source, message, fix=check.advice)
        elif kes is not None:
            node = kes.find(check.anchor) if check.anchor else None
            located = (at_node(kes.source, node, message, fix=check.advice) if node is not None
                       else at_file(kes.source, message, fix=check.advice))
        else:
            located = Finding(Location(Path("<doctor>")), message, fix=check.advice)
        return replace(located, anchor=f"{check.anchor or check.title}{anchor_suffix}")

    def visit(check: Check, subject: str) -> None:
        if check.rule is not None and check.status >= Status.WARN:
            message = f"{subject}: {check.summary}" if subject else check.summary
            severity = Severity.ERROR if check.status is Status.FAIL else Severity.WARNING
            finding = locate(check, message, f"[{subject}]" if subject else "")
            found.append(finding.stamped(check.rule.code, severity))
        for child in check.children:
            visit(child, subject)

    for group in root.children:
        if group.title == ENDPOINTS_TITLE:
            for endpoint in group.children:
                visit(endpoint, endpoint.title)
        elif group.title != STATIC_TITLE:
            visit(group, "")
    return found


def run_doctor(options: DoctorOptions, progress: Progress | None = None) -> DoctorReport:
    environ = os.environ if options.environ is None else options.environ
    try:
        service = find_service(options.minio_unit, environ)
    except InputError as err:
        raise DoctorUsageError(f"--minio-unit {err}") from None
    try:
        settings = find_settings(options.minio_env, environ, service)
    except InputError as err:
        raise DoctorUsageError(f"--minio-env {err}") from None
    if settings is not None and service is not None:
        settings.unit = service.unit  # the MinIO that runs here is started by it: its command line counts
    loads_settings = service is not None and settings is not None and settings.path is not None and \
        any(same_file(settings.path, path) for path in service.unit.env_file_paths())
    kes = _load_kes(options.kes_config) if options.kes_config else None
    if settings is None and kes is None:
        raise DoctorUsageError("no MinIO KES settings found: MINIO_KMS_KES_* is not in the environment, MinIO's "
                               "systemd unit loads no file that sets them and /etc/default/minio is not readable; "
                               "give --minio-env FILE and/or --kes-config FILE")
    now = options.at or dt.datetime.now(dt.timezone.utc)
    root = Check("kescheck doctor")
    inputs = []
    if settings is not None:
        inputs.append(f"MinIO settings from {settings.origin}")
        minio = root.add(Check(f"MinIO settings ({settings.origin})"))
        endpoints, key = _settings_checks(settings, minio)
        _service_check(service, settings, loads_settings, minio.add(Check("MinIO's systemd unit")))
        credentials = minio.add(Check("client credentials"))
        trust = minio.add(Check("trusted CAs for KES"))
        tls = client_tls(settings, options.insecure, credentials, trust)
        plan = ProbePlan(tls, key, options.timeout, options.round_trip, options.expiry_warning_days, now)
        _probe_all(endpoints, plan, root.add(Check(ENDPOINTS_TITLE)), progress)
    if kes is not None:
        inputs.append(f"KES config {kes.source.path}")
        deployment = Deployment(str(kes.source.path), kes, [])
        root.add(kes_host_checks(kes, deployment, options.timeout))
    lint_options = Options(expiry_warning_days=options.expiry_warning_days, at=options.at, require_files=True)
    # Lint reads a unit with the drop-ins beside it only, so a unit with others is not linted with the files it starts.
    units = [service.files[0]] if loads_settings and service.drop_ins_beside() else []
    kes_unit = kes_unit_for(options.kes_config, environ) if options.kes_config else None
    static = _static(settings, options.kes_config, lint_options, units + ([kes_unit] if kes_unit else []))
    _static_node(static, root.add(Check(STATIC_TITLE)))
    probed = doctor_findings(root, settings, kes)
    secrets = set(static.secrets)
    if settings is not None:
        secrets |= settings.env.source.secret_values
    if kes is not None:
        secrets |= kes.source.secret_values
    doctor_rules = [r for r in all_rules() if r.doctor]
    result = replace(static, findings=sorted(static.findings + probed, key=Finding.sort_key),
                     rules=static.rules + doctor_rules, secrets=secrets)
    return DoctorReport(root, result, options, inputs)
