"""The rule catalogue, generated from rule metadata only: `kescheck rules`, `kescheck explain`, docs/rules.md."""
from __future__ import annotations

import json
import re

from .rules.base import DOCTOR_SERVER_WORDS, DoctorScenario, Example, Rule

REGENERATE = "python -m kescheck rules --format markdown > docs/rules.md"
_LANGUAGE = {".yaml": "yaml", ".yml": "yaml", ".env": "sh", ".service": "ini"}


def how_to_suppress(rule: Rule) -> str:
    if rule.family == "SYS":
        where = (f"Alone on the line above the one the finding points at, `# kescheck: ignore[{rule.code}] -- reason` "
                 "(systemd reads a `#` after a value as part of it; inside a continued `ExecStart=` a comment line "
                 "is skipped by systemd); for a ")
    else:
        where = (f"On the line the finding points at, `# kescheck: ignore[{rule.code}] -- reason` (in env files: alone "
                 "on the line above the variable, since MinIO reads a trailing comment as part of the value); for a ")
    return (where +
            f"whole file, `# kescheck: ignore-file[{rule.code}] -- reason`; for paths, a settings entry "
            f"`[[tool.kescheck.suppressions]]` with `rule = \"{rule.code}\"`, `path`, `reason` and optional `expires`.")


def _shown(text: str) -> str:
    """Example text as it can be printed: bytes that are not UTF-8 appear as `\\xNN`, a carriage return as `\\r`, the
    invisible byte order mark as `\\ufeff`."""
    shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]", lambda m: repr(m[0])[1:-1], shown)


def options_text(example: Example) -> str:
    return ", ".join(f"`{name}={value!r}`" for name, value in example.options)


def server_text(scenario: DoctorScenario) -> str:
    """The scenario's server words with their meaning, e.g. "`kes keystore=down`: a KES server ...; the keystore ..."."""
    meanings = []
    for word in scenario.server.split():
        key = word.split("=", 1)[0]
        meaning = DOCTOR_SERVER_WORDS.get(word) or next(
            (text for pattern, text in DOCTOR_SERVER_WORDS.items() if pattern.startswith(key + "=")), "")
        meanings.append(meaning.replace("=FILE", "=" + word.split("=", 1)[-1]) if "=FILE" in meaning else meaning)
    return f"`{scenario.server}`: " + "; ".join(m for m in meanings if m)


def _examples(rule: Rule, fails: bool) -> list[Example]:
    return [e for e in rule.examples if e.fails == fails]


def rule_record(rule: Rule) -> dict:
    return {
        "code": rule.code,
        "name": rule.name,
        "family": rule.family,
        "severity": rule.severity.label,
        "security_severity": rule.security_severity,
        "title": rule.title,
        "rationale": rule.rationale,
        "fix": rule.fix,
        "suppress": how_to_suppress(rule),
        "live_probe": rule.doctor,
        "examples": [_example_record(e) for e in rule.examples],
    }


def _example_record(example: Example) -> dict:
    record = {"fails": example.fails, "note": example.note, "options": dict(example.options),
              "files": [{"name": n, "text": _shown(t)} for n, t in example.files]}
    if isinstance(example, DoctorScenario):
        record.update(server=example.server, runnable=not example.not_runnable, not_runnable=example.not_runnable)
    return record


def rules_json(rules: list[Rule]) -> str:
    return json.dumps({"rules": [rule_record(r) for r in rules]}, indent=2, ensure_ascii=False) + "\n"


def rules_text(rules: list[Rule]) -> str:
    width = max((len(r.name) for r in rules), default=0)
    lines = [f"{r.code:<8}{r.severity.label:<9}{r.name:<{width + 2}}{r.title}{'  (doctor)' if r.doctor else ''}"
             for r in rules]
    return "\n".join(lines) + f"\n\n{len(rules)} rules. `kescheck explain CODE` shows one in full.\n"


def _fence(text: str) -> str:
    return "~~~~" if "```" in text else "```"


def _example_markdown(example: Example) -> list[str]:
    out = [f"_{example.note}_", ""] if example.note else []
    if isinstance(example, DoctorScenario):
        out += [f"Server: {server_text(example)}.", ""]
        if example.not_runnable:
            out += [f"Not performed by the test suite: {example.not_runnable}", ""]
    if example.options:
        out += [f"Run with {options_text(example)}.", ""]
    for name, text in example.files:
        shown = _shown(text)
        fence = _fence(shown)
        language = "" if shown.startswith("!") else _LANGUAGE.get("." + name.rsplit(".", 1)[-1], "")
        out += [f"`{name}`:", "", f"{fence}{language}", shown.rstrip("\n"), fence, ""]
    return out


def rule_markdown(rule: Rule) -> list[str]:
    out = [f'<a id="{rule.code.lower()}"></a>', f"### {rule.code} {rule.name}", ""]
    severity = f"Default severity: **{rule.severity.label}**"
    if rule.security_severity is not None:
        severity += f" (security severity {rule.security_severity:.1f})"
    if rule.doctor:
        severity += ". Reported by `kescheck doctor` from live probes"
    out += [f"**What it reports:** {rule.title}.", "", f"**Why it matters:** {rule.rationale}", "", severity + ".", ""]
    for fails, label in ((True, "Fails"), (False, "Passes")):
        for example in _examples(rule, fails):
            out += [f"**{label}:**", ""] + _example_markdown(example)
    out += [f"**How to fix:** {rule.fix}", "", f"**How to suppress:** {how_to_suppress(rule)}", ""]
    return out


EXAMPLE_NOTATION = (
    "Each rule has a failing and a passing example; the test suite runs every one. An example is a small "
    "deployment directory. Certificates, keys and API keys in it are made when the example runs, so none "
    "expires: a file shown as `!cert cn=NAME dns=... days=N [issuer=FILE] [ca]` is such a certificate (its key "
    "is written beside it as `.key`), `!key of=FILE [password=...]` a key for it, `!apikey` a new KES API key; "
    "`${identity:FILE}` stands for the KES identity of that certificate or API key, `${apikey:FILE}` for the "
    "API key itself, and `${dir}` for the example's directory."
)


DOCTOR_NOTATION = (
    "The doctor's rules (DOC) have scenarios instead: a run of `kescheck doctor` with `minio.env` as --minio-env "
    "and/or `kes-config.yaml` as --kes-config (and `minio.service` as --minio-unit), where `${dir}` is the "
    "scenario's directory and `${port}` is the port of the server the scenario describes in "
    "these words (options are `kescheck doctor` settings such as `insecure` and `timeout`). The test suite performs every scenario against a KES stand-in on "
    "loopback, except the few marked as not performed, which say why:"
)


def rules_markdown(rules: list[Rule]) -> str:
    words = [f"* `{word}`: {meaning}" for word, meaning in DOCTOR_SERVER_WORDS.items()]
    out = ["# kescheck rules", "", f"<!-- Generated from the rule metadata; do not edit. Regenerate: {REGENERATE} -->",
           "", EXAMPLE_NOTATION, "", DOCTOR_NOTATION, ""] + words + ["", "| Code | Name | Severity | What it checks |", "|---|---|---|---|"]
    out += [f"| [{r.code}](#{r.code.lower()}) | `{r.name}` | {r.severity.label} | {r.title} |" for r in rules]
    out.append("")
    family = None
    for rule in rules:
        if rule.family != family:
            family = rule.family
            out += [f"## {family}", ""]
        out += rule_markdown(rule)
    return "\n".join(out).rstrip("\n") + "\n"


def explain_text(rule: Rule) -> str:
    out = [f"{rule.code} {rule.name} ({rule.severity.label}{', doctor' if rule.doctor else ''})", "", rule.title + ".",
           "", "Why it matters:", f"  {rule.rationale}", ""]
    for fails, label in ((True, "Fails"), (False, "Passes")):
        for example in _examples(rule, fails):
            out.append(f"{label}:" + (f" ({example.note})" if example.note else "")
                       + (f" run with {options_text(example)}" if example.options else ""))
            if isinstance(example, DoctorScenario):
                out.append(f"  server {server_text(example)}")
                if example.not_runnable:
                    out.append(f"  not performed by the test suite: {example.not_runnable}")
            for name, text in example.files:
                out.append(f"  {name}:")
                out += [f"    {line}" for line in _shown(text).rstrip("\n").splitlines()]
            out.append("")
    out += ["How to fix:", f"  {rule.fix}", "", "How to suppress:", f"  {how_to_suppress(rule)}", ""]
    return "\n".join(out)


RENDERERS = {"text": rules_text, "json": rules_json, "markdown": rules_markdown}
