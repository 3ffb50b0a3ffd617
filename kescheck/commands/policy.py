"""`kescheck policy explain` and `kescheck policy minimal`: KES policies, evaluated as KES does."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, fail, read_env_mapping

SELF_DESCRIBE = "/v1/identity/self/describe"
"""The one request KES answers without asking the caller's policy."""

policy_app = typer.Typer(name="policy", help="Explain KES policy decisions and print minimal MinIO policies.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(policy_app, name="policy")


def identity_argument(text: str) -> tuple[str, str]:
    """(identity, how it was obtained) from a 64-hex identity, a certificate file, an API key file or an API key, read
    as `kescheck identity` reads them."""
    from ..identity import is_identity_hash
    from .identity import IdentityError, identity_of_argument, redacted_api_key

    value = text.strip()
    if is_identity_hash(value.lower()):
        return value.lower(), "as given"
    path = Path(value).expanduser()
    try:
        label, identity, remark = identity_of_argument(str(path) if path.exists() else value)
    except IdentityError as err:
        if not path.exists() and "API key" not in str(err):
            fail(f"--identity {value!r} is neither an identity (64 hex digits) nor a certificate or API key file")
        fail(f"--identity {redacted_api_key(value) if value.startswith('kes:') else value}: {err}")
    how = "of the API key given" if label == redacted_api_key(value) else f"from {label}"
    return identity, how + (f"; {remark}" if remark else "")


@policy_app.command()
def explain(
    config: Path = typer.Argument(..., help="The KES config file."),
    identity: str = typer.Option(..., "--identity", help="Identity (64 hex), client certificate file or API key file."),
    path: str = typer.Option(..., "--path", help="The request path, e.g. /v1/key/generate/minio-default-key."),
    kes_version: Optional[str] = typer.Option(None, "--kes-version", help="Target KES version (X.Y or a release date); default: detect."),
    kes_env: Optional[Path] = typer.Option(None, "--kes-env", help="Env file KES starts with: resolves ${VAR} identities."),
):
    """Say whether KES allows IDENTITY to call PATH, and which pattern decided. Exit 0: allowed, 1: denied."""
    from ..load.kesconfig import env_reference, generation_of_version, load_kes_config
    from ..load.source import InputError, read_source
    from ..policy import authorize, load_policies, policies_of_identity
    from ..rules.policy_patterns import BROKEN_MATCHER_RELEASES

    if kes_version:
        try:
            generation_of_version(kes_version)
        except ValueError as err:
            fail(str(err))
    if not path.startswith("/"):
        fail(f"--path {path!r} must be a URL path starting with `/`, such as /v1/key/generate/my-key")
    who, how = identity_argument(identity)
    try:
        source = read_source(config)
    except InputError as err:
        fail(str(err))
    kes = load_kes_config(source, kes_version)
    if kes.doc.root is None:
        problem = kes.doc.problems[0] if kes.doc.problems else None
        fail(f"{source.path}: not a readable KES config" + (f" ({problem.message} at line {problem.line})" if problem else ""))
    env = read_env_mapping(kes_env)[0] if kes_env else None
    found = load_policies(kes)
    release = (kes_version or "").strip().removeprefix("RELEASE.")
    broken = release.startswith(BROKEN_MATCHER_RELEASES)
    if broken:  # those releases match no pattern ending in `*` (POL013)
        found = [replace(policy, allow=[p for p in policy.allow if not p.text.endswith("*")],
                         deny=[p for p in policy.deny if not p.text.endswith("*")]) for policy in found]
    decision = authorize(kes, found, who, path, kes.generation, env)
    matching = ("glob matching (Go path.Match)" if kes.generation.glob_policies
                else "prefix matching (a final `*` is the only wildcard)")
    lines = [f"{'allow' if decision.allowed else 'deny'} {path}",
             f"  identity {who} ({how})",
             f"  KES generation: {kes.generation_reason}; {matching}"]
    claimed = [policy.name for policy in policies_of_identity(found, who, env)]
    if len(claimed) > 1 or (claimed and decision.reason == "admin"):
        holders = ", ".join(f"`{name}`" for name in claimed) + (" and the admin" if decision.reason == "admin" else "")
        answered = "the admin" if decision.reason == "admin" else f"`{claimed[0]}`"
        lines.append(f"  note: KES refuses to start with this config: {holders} claim this identity (KES102/KES103); "
                     f"the answer below is {answered}'s")
    if broken:
        lines.append(f"  note: KES {release[:10]} matches no pattern ending in `*` (POL013), so such patterns are left out")
    if path == SELF_DESCRIBE and decision.reason != "admin":
        lines[0] = f"allow {path}"
        lines.append("  decided by: KES lets every client with a certificate ask about itself, whatever its policy "
                     "(KES 0.23 and later answer 404 to all but the admin)")
        typer.echo("\n".join(lines))
        raise typer.Exit(0)
    if decision.reason == "admin":
        admin = kes.admin_node
        lines.append(f"  decided by: the identity is the KES admin ({source.path}:{admin.line}), which bypasses policies")
    elif decision.reason == "no-policy":
        lines.append("  decided by: no policy lists this identity, so KES answers 403")
        if env is None and any(env_reference(node) is not None for p in found for node in p.identities):
            lines.append("  note: some policy identities are ${VAR} references; pass --kes-env FILE to resolve them")
    else:
        policy = decision.policy
        lines.append(f"  policy: `{policy.name}` ({source.path}:{policy.key.line})")
        if decision.pattern is not None:
            pattern = decision.pattern
            lines.append(f"  decided by: {pattern.effect.value} pattern `{pattern.text}` ({source.path}:{pattern.line})")
        else:
            lines.append(f"  decided by: no allow pattern of policy `{policy.name}` matches, so KES answers 403")
    typer.echo("\n".join(lines))
    raise typer.Exit(0 if decision.allowed else 1)


@policy_app.command()
def minimal(
    key_name: str = typer.Option(..., "--key-name", help="MINIO_KMS_KES_KEY_NAME."),
    prefix: Optional[str] = typer.Option(None, "--prefix", help="Grant the key operations on every key starting with PREFIX."),
    policy_name: str = typer.Option("minio", "--policy-name", help="Name of the policy in the YAML."),
    identity: Optional[str] = typer.Option(None, "--identity", help="MinIO's identity, certificate file or API key file."),
):
    """Print the minimal KES policy MinIO needs for its key, as YAML for the KES config."""
    from ..identity import is_valid_name
    from ..policy import minimal_minio_policy_yaml

    for label, value in (("--key-name", key_name), ("--policy-name", policy_name)):
        if not is_valid_name(value):
            fail(f"{label} {value!r} is not a name KES accepts (1-80 of 0-9 A-Z a-z _ -, no hyphen first or last)")
    if prefix is not None:
        if not prefix or any(c not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-" for c in prefix):
            fail(f"--prefix {prefix!r} must be a non-empty start of a key name (0-9 A-Z a-z _ -)")
        if not key_name.startswith(prefix):
            fail(f"--prefix {prefix!r} does not cover --key-name {key_name!r}: MinIO would get 403 for its own key")
    who = identity_argument(identity)[0] if identity else None
    typer.echo(minimal_minio_policy_yaml(key_name, prefix, policy_name, who), nl=False)
