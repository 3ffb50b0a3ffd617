"""KES001-KES009: the file must be one readable YAML document KES can decode."""
from __future__ import annotations

from ..findings import Severity
from ..load.kesconfig import predates
from .base import Example, at_line, rule

YAML_V3_SINCE = (0, 22, 0)
"""KES reads its config with yaml.v3 since 0.22 (field-failures E1), with yaml.v2 before."""


@rule("KES001", "yaml-syntax", Severity.ERROR, "The KES config is not valid YAML",
      rationale="""KES decodes its config with a strict YAML parser and refuses to start on a syntax
      error, a tab used for indentation, a duplicate key in one mapping, more than one document or an
      empty file; KES before 0.22 (--kes-version), whose YAML parser is older, also on an unquoted value with a `:`
      inside a flow collection (`{endpoint: https://vault:8200}`), which later releases read. It reports only the
      first such error; kescheck reports each with its position.""",
      fix="""Correct the YAML at the marked position: indent with spaces, keep each key once per
      mapping, and keep exactly one document (no `---` separators) in the file.""",
      examples=(Example.kes("address: 0.0.0.0:7373\naddress: 0.0.0.0:7374\n", True),
                Example.kes("root: disabled\ntls: {key: /k, cert: /c}\nkeys: {vault: {endpoint: https://v:8200}}\n", True,
                            "a URL in a flow mapping: KES before 0.22 refuses it unquoted",
                            options=(("kes_version", "0.21"),)),
                Example.kes("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\n"
                            "keystore: {vault: {endpoint: https://v:8200, approle: {id: a, secret: b}}}\n", False,
                            "KES since 0.22 reads a URL in a flow mapping"),
                Example.kes("address: 0.0.0.0:7373\n", False)))
def yaml_syntax(deployment):
    if deployment.kes is None:
        return
    source = deployment.kes.source
    version = deployment.options.kes_version
    for problem in deployment.kes.doc.problems:
        if problem.kind == "flow-colon":
            if not predates(version, YAML_V3_SINCE):
                continue  # KES's YAML parser since 0.22 reads it
            message = (f"{problem.message}: KES {version.strip()} (whose YAML parser, before KES 0.22, does not allow "
                       "it) refuses to start; quote the value")
        elif problem.kind == "empty":
            message = "the file is empty: KES refuses to start with `EOF`"
        elif problem.kind == "duplicate-key":
            message = f"{problem.message}: KES refuses to start on a duplicate key"
        elif problem.kind == "limit":
            message = f"kescheck stopped reading this file: {problem.message}"
        else:
            message = f"{problem.message}: KES refuses to start on invalid YAML"
        yield at_line(source, problem.line, problem.column, message, anchor=f"yaml:{problem.kind}")


@rule("KES002", "not-utf8", Severity.ERROR, "The file is not UTF-8 text",
      rationale="""KES and MinIO read their configuration as UTF-8. Bytes that are not UTF-8 usually
      come from a copy through a word processor or a wrong editor encoding, and change values silently.""",
      fix="Save the file as UTF-8 and retype the value that holds the marked bytes.",
      examples=(Example.env("MINIO_SITE_NAME=caf\udce9\n", True, "byte 0xE9: Latin-1, not UTF-8"),
                Example.env("MINIO_SITE_NAME=caf\u00e9\n", False)))
def not_utf8(deployment):
    for source in deployment.sources:
        if source.undecodable_at is not None:
            # the decoder put U+FFFD where the first bad byte was
            column = source.lines[source.undecodable_line - 1].find("\ufffd") + 1 or 1
            yield at_line(source, source.undecodable_line, column,
                          f"byte {source.undecodable_at} of the file is not UTF-8, the encoding KES and MinIO expect: "
                          "the value here is not the text your editor shows", anchor="encoding")
