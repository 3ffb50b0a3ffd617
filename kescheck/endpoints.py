"""MINIO_KMS_KES_ENDPOINT: comma-separated URLs with MinIO's `{1...4}` ellipsis ranges."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

KES_DEFAULT_PORT = 7373
MAX_EXPANSION = 4096
"""More endpoints than any deployment has; a bigger range is a typo (or hostile)."""

_ELLIPSIS = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"^([0-9a-fA-F]+)\.\.\.([0-9a-fA-F]+)$")


class EndpointError(ValueError):
    """A value MinIO refuses (malformed ellipsis) or cannot use (not a URL)."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    """One expanded endpoint as written (after ellipsis expansion)."""
    scheme: str
    host: str
    """Host name or IP literal, without brackets."""
    port: int | None
    path: str
    index: int
    """Position of the list entry (before expansion) this endpoint came from."""

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (443 if self.scheme == "https" else 80)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
            return True
        except ValueError:
            return False

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.effective_port}"


def _expand_range(body: str, text: str) -> list[str]:
    if "," in body:
        raise EndpointError(f"'{{{body}}}' in '{text}': MinIO ellipsis ranges take the form {{1...4}}, not a list")
    match = _RANGE.match(body)
    if not match:
        raise EndpointError(f"'{{{body}}}' in '{text}' is not an ellipsis range such as {{1...4}}")
    first, last = match[1], match[2]
    hexadecimal = not (first.isdigit() and last.isdigit())
    base = 16 if hexadecimal else 10
    start, end = int(first, base), int(last, base)
    if start > end:
        raise EndpointError(f"'{{{body}}}' in '{text}': the range runs backwards")
    if end - start + 1 > MAX_EXPANSION:
        raise EndpointError(f"'{{{body}}}' in '{text}' expands to more than {MAX_EXPANSION} endpoints")
    width = len(first) if first.startswith("0") and len(first) == len(last) else 0
    return [format(n, "x" if hexadecimal else "d").zfill(width) for n in range(start, end + 1)]


def expand_ellipsis(text: str) -> list[str]:
    """All strings a `{a...b}` pattern stands for, in order; plain text comes back as itself."""
    if "..." not in text and "{" not in text:
        return [text]
    parts = _ELLIPSIS.split(text)
    if "{" in "".join(parts[0::2]) or "}" in "".join(parts[0::2]):
        raise EndpointError(f"'{text}' has an unmatched brace in its ellipsis pattern")
    results = [""]
    for i, part in enumerate(parts):
        choices = [part] if i % 2 == 0 else _expand_range(part, text)
        results = [r + c for r in results for c in choices]
        if len(results) > MAX_EXPANSION:
            raise EndpointError(f"'{text}' expands to more than {MAX_EXPANSION} endpoints")
    return results


def parse_url(url: str, index: int) -> Endpoint:
    split = urlsplit(url)
    try:
        port = split.port
    except ValueError:
        raise EndpointError(f"'{url}' has an invalid port") from None
    if not split.scheme or not split.hostname:
        raise EndpointError(f"'{url}' is not a URL with a scheme and a host (e.g. https://kes.example.net:7373)")
    return Endpoint(url, split.scheme.lower(), split.hostname, port, split.path, index)


def split_endpoint_list(value: str) -> list[tuple[int, str]]:
    """(list position, entry) for each non-blank comma-separated entry; MinIO skips blank ones."""
    return [(i, part.strip()) for i, part in enumerate(value.split(",")) if part.strip()]


def parse_endpoints(value: str) -> tuple[list[Endpoint], list[EndpointError]]:
    endpoints: list[Endpoint] = []
    errors: list[EndpointError] = []
    for index, entry in split_endpoint_list(value):
        try:
            expanded = expand_ellipsis(entry)
        except EndpointError as err:
            errors.append(err)
            continue
        for url in expanded:
            try:
                endpoints.append(parse_url(url, index))
            except EndpointError as err:
                errors.append(err)
    return endpoints, errors
