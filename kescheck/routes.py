"""KES API route names as current KES (>= 0.23) knows them (reference §3, §4).

A route that takes a resource (a key name, a pattern) is named with its trailing slash, the
way `api:` entries must spell it: `/v1/key/decrypt/`.
"""
from __future__ import annotations

READ_ONLY_ROUTES = frozenset({"/v1/ready", "/v1/status", "/v1/metrics", "/v1/api"})
"""Routes that expose no key material or configuration; the only ones fit for `skip_auth`."""

ROUTES = READ_ONLY_ROUTES | frozenset({
    "/version",
    "/v1/key/create/", "/v1/key/import/", "/v1/key/describe/", "/v1/key/delete/", "/v1/key/list/",
    "/v1/key/generate/", "/v1/key/encrypt/", "/v1/key/decrypt/", "/v1/key/hmac/",
    "/v1/policy/describe/", "/v1/policy/read/", "/v1/policy/list/",
    "/v1/identity/describe/", "/v1/identity/list/", "/v1/identity/self/describe",
    "/v1/log/error", "/v1/log/audit",
})

SENSITIVE_PREFIXES = ("/v1/key/", "/v1/policy/", "/v1/identity/", "/v1/log/")
"""Routes that hand out keys, policies, identities or logs: never without authentication."""


def is_sensitive(route: str) -> bool:
    return route.startswith(SENSITIVE_PREFIXES)
