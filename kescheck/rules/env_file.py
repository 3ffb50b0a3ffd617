"""ENV001-ENV049: how MinIO's own reader and systemd's `EnvironmentFile=` read a MinIO env file.

MinIO reads the file itself when `MINIO_CONFIG_ENV_FILE` points at it; under systemd the
unit's `EnvironmentFile=` reads it first. The two parsers agree on plain `NAME=value` lines
only: these rules point at every line where a reader does something its author did not expect,
or where the two readers disagree (reference §5).
"""
from __future__ import annotations

import re

from ..findings import Finding, Location, Severity
from ..load.containers import MinioEnvironment
from ..load.envfile import EnvEntry, EnvFile, go_trim, is_valid_variable_name
from ..load.source import same_file
from ..minio_names import CONFIG_ENV_FILE
from .base import Example, at_entry, at_line, rule, text_anchor

_INLINE_COMMENT = re.compile(r"(?:^|[ \t])#")
_QUOTES = "\"'"


def _envs(deployment):
    """The env files MinIO's reader (or systemd) reads: a container's environment (`MinioEnvironment`, an env file
    Compose reads for a service among them) has no lines for those readers to split."""
    return [env for env in deployment.envs if not isinstance(env, MinioEnvironment)]


def _envs_systemd_may_read(deployment):
    """The env files whose systemd reading matters: a rule that only compares it with MinIO's skips the others, and
    so those that MinIO's unit hands to MinIO's own reader (`MINIO_CONFIG_ENV_FILE`) and loads with no
    `EnvironmentFile=`."""
    return [env for env in _envs(deployment) if env.systemd_may_read and not _read_by_minio_alone(deployment, env)]


def _read_by_minio_alone(deployment, env: EnvFile) -> bool:
    for unit in deployment.minio_units:
        path = unit.assigned_value(CONFIG_ENV_FILE)
        if path is None:
            continue
        systemd_reads = [ref.path.text for ref in unit.environment_files if not ref.ignored]
        if not systemd_reads:
            return True  # systemd reads no env file for MinIO: MinIO's reader is the only one
        if same_file(path, env.source.path) and not any(same_file(other, env.source.path) for other in systemd_reads):
            return True
    return False


def _same_value(systemd_value: str, entry: EnvEntry) -> bool:
    """systemd's value agrees with MinIO's: the exact text MinIO exports (spaces inside quotes kept by both), or
    the trimmed value MinIO's KMS code uses (`K= v`: a space that only MinIO exports, and nothing reads)."""
    return systemd_value in (entry.env_value, entry.value)


def _systemd_view(env: EnvFile, entry: EnvEntry) -> str:
    assignment = env.systemd.starting_at(entry.line)
    if assignment is None:
        return "systemd does not read this line as an assignment"
    if not assignment.valid:
        return f"systemd ignores it (`{assignment.name}` is not a valid variable name)"
    if entry.is_secret:
        return "systemd reads the same" if _same_value(assignment.value, entry) else "systemd reads a different value"
    shown = assignment.value.replace("\n", "\\n")
    return f"systemd's EnvironmentFile= reads `{shown}`"


def _has_inline_comment(entry: EnvEntry) -> bool:
    return not entry.quote and _INLINE_COMMENT.search(entry.env_value) is not None


def _quotes_kept_by_leading_space(entry: EnvEntry) -> bool:
    trimmed = go_trim(entry.env_value)
    return (not entry.quote and entry.env_value != entry.env_value.lstrip(" \t") and len(trimmed) >= 2
            and trimmed[0] in _QUOTES and trimmed[-1] == trimmed[0])


def _unmatched_quote(entry: EnvEntry) -> str | None:
    """The stray quote character of a value MinIO keeps quotes in, when it is never closed."""
    if entry.quote or _has_inline_comment(entry):
        return None
    value = entry.value
    if value and value[0] in _QUOTES and value[0] not in value[1:]:
        return value[0]
    if value and value[-1] in _QUOTES and value[-1] not in value[:-1]:
        return value[-1]
    return None


@rule("ENV001", "line-without-equals", Severity.ERROR, "A line of the env file is not an assignment",
      rationale="""MinIO's env-file reader (`MINIO_CONFIG_ENV_FILE`) refuses to start on any line that is not
      empty, not a `#` comment and holds no `=`: it expects every line to be of the form 'KEY=value'.
      systemd skips such lines silently, so the same file works under one and kills the other.""",
      fix="""Make the line an assignment `NAME=value`, comment it out with `#`, or join it to the line before
      (MinIO knows no line continuations).""",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\nminio-key-2\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n# minio-key-2\n", False)))
def line_without_equals(deployment):
    for env in _envs(deployment):
        for problem in env.unparsable:
            continued = env.systemd.covering(problem.line)
            if continued is not None and continued.line < problem.line and continued.valid:
                why = (f"systemd reads it as the continuation of `{continued.name}` from line {continued.line}, "
                       "but MinIO's reader takes each line on its own and refuses to start on it")
            else:
                why = ("MinIO's env-file reader refuses to start on it (it expects every line to be of the form "
                       "'KEY=value'); systemd skips it silently")
            yield at_line(env.source, problem.line, problem.column, f"this line has no `=`: {why}",
                          anchor=text_anchor("line-without-equals", problem.raw))


@rule("ENV002", "inline-comment", Severity.ERROR, "A `#` comment after a value becomes part of the value",
      rationale="""Neither MinIO's env-file reader nor systemd's `EnvironmentFile=` knows comments after a value:
      in `MINIO_KMS_KES_KEY_NAME=minio-key # default key` the value is the whole `minio-key # default key`.
      Key names, endpoints, paths and credentials then no longer mean what the author wrote.""",
      fix="Move the comment to its own line above the variable.",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio-key # default key\n", True),
                Example.env("# default key\nMINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def inline_comment(deployment):
    for env in _envs(deployment):
        for entry in env.entries:
            if not _has_inline_comment(entry):
                continue
            hash_at = _INLINE_COMMENT.search(entry.env_value).end() - 1
            column = entry.value_column + hash_at
            if entry.is_secret:
                message = (f"the `#` comment after {entry.key} is part of the secret value for MinIO and systemd "
                           "alike: the credential MinIO uses is not the one written here")
            else:
                message = (f"MinIO uses `{entry.value}` as the value of {entry.key}, comment included: "
                           f"its reader strips no `#` comment after a value ({_systemd_view(env, entry)})")
            yield at_line(env.source, entry.line, column, message, anchor=entry.key, end_column=entry.value_end_column)


@rule("ENV003", "space-around-equals", Severity.ERROR, "Spaces around `=` change the name or keep the quotes",
      rationale="""MinIO's reader splits the line at the first `=` and trims only the whole line: in
      `MINIO_KMS_KES_KEY_NAME = minio-key` it sets a variable named `MINIO_KMS_KES_KEY_NAME ` (with the
      space) and the real one stays unset; in `NAME= "value"` the quotes are not removed because the value
      starts with a space. systemd trims both sides, so the file behaves differently under it.""",
      fix="Write `NAME=value` with no spaces around `=`.",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME = minio-key\n", True),
                Example.env('MINIO_KMS_KES_KEY_NAME= "minio-key"\n', True),
                Example.env('MINIO_KMS_KES_KEY_NAME="minio-key"\n', False)))
def space_around_equals(deployment):
    for env in _envs(deployment):
        for entry in env.entries:
            if entry.name != entry.name.rstrip() and is_valid_variable_name(entry.key):
                yield at_entry(env, entry, f"MinIO's reader sets a variable named `{entry.name}` (with the trailing "
                               f"space), so {entry.key} itself stays unset; systemd drops the space", on_value=False)
            elif _quotes_kept_by_leading_space(entry):
                shown = "the secret value" if entry.is_secret else f"`{entry.value}`"
                yield at_entry(env, entry, f"the space after `=` keeps the quotes: MinIO uses {shown} quotes included, "
                               "while systemd removes them")


@rule("ENV004", "unmatched-quote", Severity.ERROR, "A quote in a value is never closed",
      rationale="""MinIO's reader removes quotes only when the value starts and ends with the same quote
      character; an unmatched one stays part of the value. systemd instead reads on to the next matching
      quote, even across lines, so every assignment in between silently becomes part of this value.""",
      fix="Close the quote on the same line, or remove it.",
      examples=(Example.env('MINIO_KMS_KES_KEY_NAME="minio-key\nMINIO_KMS_KES_ENDPOINT=https://kes:7373\n', True),
                Example.env('MINIO_KMS_KES_KEY_NAME="minio-key"\n', False)))
def unmatched_quote(deployment):
    for env in _envs(deployment):
        for entry in env.entries:
            quote = _unmatched_quote(entry)
            if quote is None:
                continue
            assignment = env.systemd.starting_at(entry.line)
            if assignment is not None and assignment.end_line > entry.line:
                systemd = (f"systemd reads on to the next {quote} and swallows lines {entry.line + 1}-"
                           f"{assignment.end_line} into this value, so the variables there are not set")
            elif entry.value.startswith(quote):
                systemd = f"systemd reads on to the end of the file looking for the closing {quote}"
            else:
                systemd = "systemd keeps it too"
            yield at_entry(env, entry, f"the {quote} in {entry.key} is never closed: MinIO keeps it as part of the "
                           f"value; {systemd}")


@rule("ENV005", "readers-disagree", Severity.WARNING, "MinIO's reader and systemd read a line differently",
      rationale="""systemd's `EnvironmentFile=` treats `\\` as an escape and as a line continuation, removes
      quotes around part of a value, and (before systemd 254) continued a comment line ending in `\\`.
      MinIO's own reader does none of that. The value MinIO gets then depends on whether systemd or
      `MINIO_CONFIG_ENV_FILE` loaded the file. Not reported for an env file kept in a Kubernetes Secret or
      ConfigMap: MinIO reads it where it is mounted, and no systemd does.""",
      fix="""Write values without backslashes and without partial quoting, so that both readers see the same
      text; quote a whole value with `"..."` when it must contain spaces.""",
      examples=(Example.env("MINIO_KMS_KES_CERT_FILE=C:\\minio\\client.crt\n", True),
                Example.env("MINIO_KMS_KES_CERT_FILE=/etc/minio/client.crt\n", False)))
def readers_disagree(deployment):
    for env in _envs_systemd_may_read(deployment):
        for entry in env.entries:
            if (entry.had_export or _has_inline_comment(entry) or _unmatched_quote(entry)
                    or entry.name != entry.name.rstrip() or _quotes_kept_by_leading_space(entry)
                    or not is_valid_variable_name(entry.key)):
                continue  # a more specific rule explains this line
            covering = env.systemd.covering(entry.line)
            if covering is not None and covering.line < entry.line:
                yield at_entry(env, entry, f"systemd reads this line as part of the value of `{covering.name}` "
                               f"(line {covering.line} continues onto it), so under systemd {entry.key} is not set; "
                               "MinIO's reader sets it", on_value=False)
                continue
            assignment = env.systemd.starting_at(entry.line)
            if assignment is None or _same_value(assignment.value, entry):
                continue
            if entry.is_secret:
                message = (f"MinIO's reader and systemd read different values for {entry.key} (values not shown: "
                           "secret)")
            else:
                message = (f"MinIO's own reader (MINIO_CONFIG_ENV_FILE) uses `{entry.env_value}`; "
                           f"{_systemd_view(env, entry)}")
            if "\\" in entry.env_value:
                message += ": systemd treats `\\` as an escape or line continuation, MinIO does not"
            yield at_entry(env, entry, message)
        for line in env.systemd.continued_comments:
            following = next((e for e in env.entries if e.line == line + 1), None)
            if following is not None:
                yield at_line(env.source, line, 1, f"this comment ends in `\\`: systemd before version 254 treats line "
                              f"{line + 1} as part of the comment, so {following.key} is not set there",
                              anchor=following.key)


@rule("ENV006", "export-prefix", Severity.WARNING, "`export` means different things to MinIO and systemd",
      rationale="""MinIO's reader strips a leading `export`, even one glued to the name (`exportMINIO_X=1` sets
      `MINIO_X`). systemd's `EnvironmentFile=` does not know `export`: it ignores `export MINIO_X=1` (not a
      valid name) and sets a variable literally named `exportMINIO_X`. Under systemd the variable is unset. Not
      reported for an env file kept in a Kubernetes Secret or ConfigMap (the MinIO Operator's `config.env` is
      written with `export`): MinIO reads it where it is mounted, and no systemd does.""",
      fix="Remove `export`; an env file read by MinIO or systemd needs none (a shell script sourcing it can use `set -a`).",
      examples=(Example.env("export MINIO_KMS_KES_KEY_NAME=minio-key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def export_prefix(deployment):
    for env in _envs_systemd_may_read(deployment):
        for entry in env.entries:
            if not entry.had_export:
                continue
            glued = entry.raw.lstrip()[len("export"):][:1] not in (" ", "\t")
            if glued:
                message = (f"`export` is glued to the name: MinIO's reader strips it and sets {entry.key}, systemd sets "
                           f"a variable named `export{entry.key}`, so under systemd {entry.key} is unset")
            else:
                message = (f"MinIO's reader strips `export` and sets {entry.key}; systemd ignores the whole line "
                           f"(`export {entry.key}` is not a valid variable name), so under systemd it is unset")
            column = entry.raw.index("export") + 1
            yield at_line(env.source, entry.line, column, message, anchor=entry.key, end_column=entry.name_column)


@rule("ENV007", "duplicate-variable", Severity.WARNING, "A variable is set more than once",
      rationale="""Both readers let the last assignment win without a word. A second assignment is usually a
      leftover from an earlier setup (an old endpoint, a test key) that silently overrides the first, or is
      overridden by a later one the reader of the top of the file does not see.""",
      fix="Keep one assignment per variable and delete the others.",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\nMINIO_KMS_KES_KEY_NAME=test-key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def duplicate_variable(deployment):
    for env in _envs(deployment):
        first: dict[str, EnvEntry] = {}
        for entry in env.entries:
            if not entry.key:
                continue  # no name to repeat: ENV010 reports the line
            earlier = first.setdefault(entry.key, entry)
            if earlier is entry:
                continue
            same = "the same value" if earlier.value == entry.value else "a different value"
            finding = at_entry(env, entry, f"{entry.key} is set again here (first at line {earlier.line}) with {same}: "
                               f"the last assignment wins, so MinIO uses line {entry.line}'s value", on_value=False)
            yield Finding(finding.location, finding.message, anchor=finding.anchor,
                          related=(Location(env.source.path, earlier.line, earlier.name_column),))


@rule("ENV008", "carriage-return", Severity.WARNING, "Windows line endings or stray carriage returns",
      rationale="""MinIO's reader and systemd drop the `\\r` of Windows (CRLF) line endings, but a shell that
      sources the file (`. /etc/default/minio`, entrypoint scripts) keeps it at the end of every value, and a
      lone `\\r` inside a line ends the line for systemd but not for MinIO.""",
      fix="Convert the file to Unix line endings (`dos2unix FILE` or `sed -i 's/\\r$//' FILE`).",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\r\nMINIO_KMS_KES_ENDPOINT=https://kes:7373\r\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def carriage_return(deployment):
    for env in _envs(deployment):
        if env.crlf_lines:
            count = len(env.crlf_lines)
            yield at_line(env.source, env.crlf_lines[0], 1, f"this file has Windows (CRLF) line endings ({count} "
                          f"line{'s' if count != 1 else ''}): MinIO and systemd drop the `\\r`, but a shell sourcing "
                          "the file keeps it at the end of every value", anchor="crlf")
        for number, raw in enumerate(env.source.text.split("\n"), start=1):
            if "\r" in raw.rstrip("\r"):
                yield at_line(env.source, number, raw.index("\r") + 1, "a carriage return inside this line ends the "
                              "line for systemd but not for MinIO's reader: the two read different assignments",
                              anchor=_line_anchor(env, "cr", number, raw))


@rule("ENV009", "nul-byte", Severity.ERROR, "A NUL byte in the env file",
      rationale="""An environment variable cannot hold a NUL byte: the variable on that line is lost or cut short
      (which one depends on the reader), and systemd may stop reading the file there. A NUL byte usually comes
      from a file saved as UTF-16 or a broken copy.""",
      fix="Remove the NUL bytes (save the file as UTF-8 text) and check the values on the marked lines.",
      examples=(Example.env("MINIO_KMS_KES_KEY_NAME=minio\x00key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def nul_byte(deployment):
    for env in _envs(deployment):
        lines = env.source.text.split("\n")
        for number in env.nul_lines:
            entry = next((e for e in env.entries if e.line == number), None)
            what = f"{entry.key} cannot be set as written" if entry else "no reader can use this line"
            yield at_line(env.source, number, lines[number - 1].index("\x00") + 1,
                          f"NUL byte in this line: an environment variable cannot hold it, so {what}",
                          anchor=_line_anchor(env, "nul", number, lines[number - 1]))


@rule("ENV010", "invalid-variable-name", Severity.WARNING, "An assignment with a name no program can use",
      rationale="""A variable name is letters, digits and `_`, not starting with a digit. systemd ignores any
      other assignment; MinIO's reader passes it on under a name nothing looks up. The line is usually a
      typo, a pasted value or a `KEY: value` line from YAML.""",
      fix="Correct the name (letters, digits and `_`) or delete the line.",
      examples=(Example.env("MINIO KMS_KES_KEY_NAME=minio-key\n", True),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def invalid_variable_name(deployment):
    for env in _envs(deployment):
        for entry in env.entries:
            if is_valid_variable_name(entry.key):
                continue
            covering = env.systemd.covering(entry.line)
            if covering is not None and covering.line < entry.line:
                continue  # systemd reads the line as the rest of an earlier value: ENV005 explains it
            if not entry.key:
                name = "an empty name"
            elif entry.key in env.source.secret_values or len(entry.key) > 60:
                name = "this name"
            else:
                name = f"`{entry.key}`"
            yield at_entry(env, entry, f"{name} is not a valid variable name: systemd ignores this assignment and "
                           "nothing reads it under the name that was meant", on_value=False)


@rule("ENV012", "byte-order-mark", Severity.ERROR, "The env file starts with a byte order mark",
      rationale="""Some Windows editors save UTF-8 with a byte order mark (the bytes EF BB BF) at the start of the
      file. Neither MinIO's reader nor systemd's `EnvironmentFile=` removes it: it becomes part of the first
      variable's name, so that variable is not set under the name MinIO looks up (systemd ignores the invalid name),
      and nothing shows it: the mark is invisible in editors and `cat`.""",
      fix="Save the file as UTF-8 without a byte order mark (`sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`), or put a "
          "comment line first.",
      examples=(Example.env("\ufeffMINIO_KMS_KES_KEY_NAME=minio-key\n", True),
                Example.env("\ufeff# MinIO's KMS settings\nMINIO_KMS_KES_KEY_NAME=minio-key\n", False,
                            "the mark only hides a comment"),
                Example.env("MINIO_KMS_KES_KEY_NAME=minio-key\n", False)))
def byte_order_mark(deployment):
    for env in _envs(deployment):
        first = env.entries[0] if env.source.byte_order_mark and env.entries else None
        if first is not None and first.line == 1:
            yield at_line(env.source, 1, 1, f"this file starts with a UTF-8 byte order mark, which MinIO's reader and "
                          f"systemd keep as part of the first name: {first.key} is not set", anchor="bom")


def _compose_quoted(text: str) -> str:
    """`compose.yaml` with a MinIO service whose list-form environment sets the key name as `text` does."""
    return ("services:\n  minio:\n    image: minio/minio\n    environment:\n"
            "      - MINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
            f"      - {text}\n")


@rule("ENV011", "compose-list-quotes", Severity.WARNING, "Compose keeps the quotes of a `- NAME=\"value\"` item",
      rationale="""In a Compose `environment:` list, an item `NAME=value` gives the variable everything after
      the first `=`, quotes included (docker/compose#2854): `- MINIO_KMS_KES_KEY_NAME="minio-key"` makes MinIO ask
      KES for a key named `"minio-key"`, with the quotes, and an endpoint or file path in quotes is no endpoint or
      path at all. Env files and the mapping form remove them; this form does not.""",
      fix="Drop the quotes (`- NAME=value`), or write the mapping form (`NAME: \"value\"`), where YAML removes "
          "them.",
      examples=(Example((("compose.yaml", _compose_quoted('MINIO_KMS_KES_KEY_NAME="minio-key"')),), True),
                Example((("compose.yaml", _compose_quoted("MINIO_KMS_KES_KEY_NAME='minio-key'")),), True),
                Example((("compose.yaml", _compose_quoted("MINIO_KMS_KES_KEY_NAME=minio-key")),), False),
                Example((("compose.yaml", _compose_quoted('"MINIO_KMS_KES_KEY_NAME=minio-key"')),), False,
                        "YAML's quotes around the whole item are YAML's")))
def compose_list_quotes(deployment):
    for env in deployment.envs:
        if not isinstance(env, MinioEnvironment) or not env.compose_list:
            continue
        for entry in env.entries:
            text = entry.value
            if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
                shown = "its value" if entry.is_secret else f"`{text}`"
                yield at_entry(env, entry, f"Compose gives {entry.key} {shown} with the quotes: MinIO reads them as "
                                           "part of the value")


def _line_anchor(env, kind: str, number: int, raw: str) -> str:
    """The variable a line assigns, else a digest of the line (see `text_anchor`)."""
    entry = next((e for e in env.entries if e.line == number), None)
    return f"{kind}:{entry.key}" if entry is not None else text_anchor(kind, raw)
