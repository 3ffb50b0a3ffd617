"""MINIO_KMS_KES_ENDPOINT: comma-separated URLs with MinIO's `{1...4}` ellipsis ranges."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

KES_DEFAULT_PORT = 7373
MAX_EXPANSION = 4096
"""More endpoints than any deployment has; a bigger range is a typo (or hostile)."""

# MinIO recognises a range only in lower-case hex or decimal between braces, with exactly three dots.
_ELLIPSIS = re.compile(r"\{([0-9a-z]*\.\.\.[0-9a-z]*)\}")
ELLIPSIS_FORM = "ellipsis ranges are written {N...M} with three dots, e.g. https://kes{1...4}.example.net:7373"


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


def _bound(text: str) -> tuple[int, bool]:
    """MinIO reads each bound as decimal first, then as hexadecimal."""
    if text.isdigit():
        return int(text), False
    try:
        return int(text, 16), True
    except ValueError:
        raise EndpointError(f"'{text}' is neither a decimal nor a hexadecimal number") from None


def _expand_range(body: str, text: str) -> list[str]:
    first, _, last = body.partition("...")
    if "..." in last:
        raise EndpointError(f"'{{{body}}}' in '{text}' has more than one '...'; {ELLIPSIS_FORM}")
    try:
        (start, hex_start), (end, hex_end) = _bound(first), _bound(last)
    except EndpointError as err:
        raise EndpointError(f"'{{{body}}}' in '{text}': {err}") from None
    if start > end:
        raise EndpointError(f"'{{{body}}}' in '{text}': the range runs backwards ({start} > {end})")
    if end - start + 1 > MAX_EXPANSION:
        raise EndpointError(f"'{{{body}}}' in '{text}' expands to more than {MAX_EXPANSION} endpoints")
    form = "x" if hex_start or hex_end else "d"
    width = len(last) if (first.startswith("0") and len(first) > 1) or last.startswith("0") else 0
    return [format(n, form).zfill(width) for n in range(start, end + 1)]


def has_ellipsis(text: str) -> bool:
    """MinIO treats an entry as a pattern when it holds `...` or both braces."""
    return "..." in text or ("{" in text and "}" in text)


def expand_ellipsis(text: str) -> list[str]:
    """All strings a `{a...b}` pattern stands for, in order; plain text comes back as itself."""
    if not has_ellipsis(text):
        return [text]
    parts = _ELLIPSIS.split(text)
    if len(parts) == 1:
        raise EndpointError(f"'{text}' is not a valid ellipsis pattern: {ELLIPSIS_FORM}")
    literal = "".join(parts[0::2])
    if "{" in literal or "}" in literal:
        raise EndpointError(f"'{text}' has a brace outside a valid ellipsis range: {ELLIPSIS_FORM}")
    results = [""]
    for i, part in enumerate(parts):
        choices = [part] if i % 2 == 0 else _expand_range(part, text)
        if len(results) * len(choices) > MAX_EXPANSION:  # checked before building: two ranges multiply
            raise EndpointError(f"'{text}' expands to more than {MAX_EXPANSION} endpoints")
        results = [r + c for r in results for c in choices]
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
        if len(endpoints) + len(expanded) > MAX_EXPANSION:
            errors.append(EndpointError(f"the list expands to more than {MAX_EXPANSION} endpoints"))
            break
        for url in expanded:
            try:
                endpoints.append(parse_url(url, index))
            except EndpointError as err:
                errors.append(err)
    return endpoints, errors
