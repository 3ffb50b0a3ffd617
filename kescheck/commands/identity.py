"""`kescheck identity`: the KES identity of certificates and API keys, as `kes identity of` prints it."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import typer

from ..cli import app


class IdentityError(ValueError):
    """Why an argument has no identity; never contains key material."""


def redacted_api_key(text: str) -> str:
    return "kes:v1:…"


def identity_of_pem(data: bytes) -> tuple[str, str]:
    """(identity, remark) for PEM text: the non-CA certificate of a chain, else a lone certificate or key."""
    from ..identity import identity_of_certificate, identity_of_public_key_der
    from ..load.pem import FileState, PemFile, is_ca, load_private_key, parse_blocks, spki_der

    from cryptography import x509

    blocks, _ = parse_blocks(data)
    certificates = []
    for block in blocks:
        if block.label == "CERTIFICATE" and block.der is not None:
            try:
                certificates.append(x509.load_der_x509_certificate(block.der))
            except ValueError:
                raise IdentityError("a CERTIFICATE block does not parse") from None
    if certificates:
        non_ca = [c for c in certificates if not is_ca(c)]
        if len(non_ca) == 1:
            return identity_of_certificate(non_ca[0]), ""
        if len(certificates) == 1:
            return identity_of_certificate(certificates[0]), \
                "the certificate is a CA (CA:TRUE): KES >= 2023-10-24 does not accept it as a client certificate"
        if non_ca:
            raise IdentityError(f"{len(non_ca)} non-CA certificates: KES refuses such a client chain")
        raise IdentityError("every certificate is a CA: KES finds no client certificate in the chain")
    pem = PemFile(Path("-"), FileState.OK, blocks=blocks)
    loaded = load_private_key(pem, None)
    if loaded.key is not None:
        return identity_of_public_key_der(spki_der(loaded.key.public_key())), "computed from a private key"
    if loaded.problem and pem.key_blocks:
        raise IdentityError(loaded.problem)
    raise IdentityError("no PEM certificate, private key or KES API key found")


def identity_of_argument(argument: str, stdin_data: bytes | None = None) -> tuple[str, str, str]:
    """(label to show, identity, remark). Raises IdentityError."""
    from ..identity import ApiKeyError, identity_of_api_key, looks_like_api_key
    from ..load.source import InputError, read_bytes

    if argument.strip().startswith("kes:") or (looks_like_api_key(argument) and not Path(argument).exists()):
        try:
            return redacted_api_key(argument), identity_of_api_key(argument), ""
        except ApiKeyError as err:
            raise IdentityError(f"invalid API key: {err}") from None
    if argument == "-":
        data, label = stdin_data or b"", "-"
    else:
        try:
            data, label = read_bytes(Path(argument)), argument
        except InputError as err:
            raise IdentityError(err.reason) from None
    text = data.strip()
    if text.startswith(b"kes:") or looks_like_api_key(text.decode("ascii", "replace")):
        try:
            return label, identity_of_api_key(text.decode("ascii", "replace")), "the file holds an API key"
        except ApiKeyError as err:
            raise IdentityError(f"invalid API key: {err}") from None
    identity, remark = identity_of_pem(data)
    return label, identity, remark


@app.command()
def identity(
    arguments: List[str] = typer.Argument(..., metavar="FILE|APIKEY...",
                                          help="Certificate files, KES API keys (kes:v1:…), or - for stdin."),
):
    """Print the KES identity of certificates and API keys, as `kes identity of` does.

    With several arguments each line is `IDENTITY  ARGUMENT` (API keys shown as kes:v1:…).
    """
    stdin_data = sys.stdin.buffer.read(1 << 20) if "-" in arguments and hasattr(sys.stdin, "buffer") else None
    if stdin_data is None and "-" in arguments:
        stdin_data = sys.stdin.read().encode()
    failed = False
    for argument in arguments:
        shown = redacted_api_key(argument) if argument.strip().startswith("kes:") else argument
        try:
            label, value, remark = identity_of_argument(argument, stdin_data)
        except IdentityError as err:
            typer.echo(f"kescheck: {shown}: {err}", err=True)
            failed = True
            continue
        typer.echo(value if len(arguments) == 1 else f"{value}  {label}")
        if remark:
            typer.echo(f"kescheck: {label}: note: {remark}", err=True)
    raise typer.Exit(2 if failed else 0)
