"""KSC001-KSC099: kescheck's own suppressions, which must stay honest.

KSC001 and KSC002 need every other finding first, so `kescheck.suppress.apply` reports
them after the rules ran; the directive checks below look at one file at a time.
"""
from __future__ import annotations

from ..findings import Severity
from .base import Example, rule

_HOW = "`# kescheck: ignore[CODE] -- reason` after the value, or alone on the line above it"


def _directives(deployment):
    from ..suppress import scan

    if deployment.kes is not None:
        yield from scan(deployment.kes.source, "kes")
    for env in deployment.envs:
        yield from scan(env.source, env.source_kind)
    for unit in ([deployment.unit] if deployment.unit is not None else []) + deployment.minio_units:
        yield from scan(unit.source, "unit")
    for source in {id(c.source): c.source for c in deployment.containers}.values():
        yield from scan(source, "containers")


def _finding(directive, message, fix=None):
    from ..findings import Finding

    return Finding(directive.location(), message, fix=fix, anchor=f"directive:{','.join(directive.codes)}")


@rule("KSC001", "unused-suppression", Severity.WARNING, "A suppression silences nothing",
      rationale="""A suppression that matches no finding is either left over from a fixed problem or
      misplaced (wrong line, wrong code). Left in place it would silently hide the next, unreviewed
      finding of that rule there.""",
      fix="Remove the unused code from the comment (or the entry from `suppressions`), or move it to the line the finding points at.",
      examples=(Example.kes("address: 0.0.0.0:7373  # kescheck: ignore[KES001] -- reviewed\n", True),
                Example.kes("address: 0.0.0.0:7373\naddress: 0.0.0.0:7374  # kescheck: ignore[KES001] -- tested\n",
                            False)))
def unused_suppression(deployment):
    return iter(())


@rule("KSC002", "expired-suppression", Severity.WARNING, "A suppression has passed its expiry date",
      rationale="""A suppression with `expires=` (inline) or `expires` (settings) is a promise to fix the
      finding by that day. After it the suppression stops working, so the finding fails the run again,
      and this finding says why it came back.""",
      fix="Fix the finding, or renew the suppression with a later date and a reason that is still true.",
      examples=(Example.kes("address: 0.0.0.0:7373\n"
                            "address: 0.0.0.0:7374  # kescheck: ignore[KES001] expires=2001-01-31 -- until migration\n",
                            True),
                Example.kes("address: 0.0.0.0:7373\n"
                            "address: 0.0.0.0:7374  # kescheck: ignore[KES001] expires=2999-12-31 -- until migration\n",
                            False)))
def expired_suppression(deployment):
    return iter(())


@rule("KSC003", "suppression-without-reason", Severity.WARNING, "A suppression gives no reason",
      rationale="""A reviewer cannot judge a silenced finding without knowing why it is acceptable, and
      nobody can tell later whether the reason still holds. The suppression works, but the missing
      reason is reported.""",
      fix=f"Add the reason after ` -- `: {_HOW}.",
      examples=(Example.kes("address: 0.0.0.0:7373\naddress: 0.0.0.0:7374  # kescheck: ignore[KES001]\n", True),
                Example.kes("address: 0.0.0.0:7373\n# kescheck: ignore[KES001] -- the test rig reads the last one\n"
                            "address: 0.0.0.0:7374\n", False)))
def suppression_without_reason(deployment):
    for directive in _directives(deployment):
        if directive.problem is None and not directive.reason:
            yield _finding(directive, f"this suppression of {', '.join(directive.codes)} gives no reason after ` -- `")


@rule("KSC004", "invalid-suppression", Severity.WARNING, "A `# kescheck:` comment is not a valid suppression",
      rationale="""A mistyped directive or an unknown rule code suppresses nothing, so the finding it
      was meant for is still reported and the comment misleads the next reader.""",
      fix=f"Write {_HOW}; `expires=YYYY-MM-DD` may follow the brackets; `kescheck rules` lists the codes.",
      examples=(Example.kes("address: 0.0.0.0:7373  # kescheck: ignore KES001 because it is fine\n", True),
                Example.kes("address: 0.0.0.0:7373  # kescheck: ignore[NOPE999] -- typo\n", True),
                Example.kes("address: 0.0.0.0:7373  # a comment that mentions kescheck: fine\n", False)))
def invalid_suppression(deployment):
    from . import find_rule

    for directive in _directives(deployment):
        if directive.problem is not None:
            yield _finding(directive, f"this kescheck comment is ignored: {directive.problem}")
            continue
        for code in directive.codes:
            if find_rule(code) is None:
                yield _finding(directive, f"`{code}` in this suppression is not a kescheck rule code or name")
