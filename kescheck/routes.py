"""KES API route names as current KES (>= 0.23) knows them in its `api:` section (reference §3, §4).

A route that takes a resource (a key name, a pattern) is named with its trailing slash, the
way `api:` entries must spell it: `/v1/key/decrypt/`. Derived from the one route catalogue in
kescheck.policy.
"""
from __future__ import annotations

from .load.kesconfig import Generation
from .policy import routes_for

_CURRENT = routes_for(Generation.G2)

READ_ONLY_ROUTES = frozenset(r.base for r in _CURRENT if r.operation in ("ready", "status", "metrics", "api"))
"""Routes that expose no key material or configuration; the only ones fit for `skip_auth`."""

ROUTES = frozenset(r.base for r in _CURRENT)

_SENSITIVE = frozenset(r.base for r in _CURRENT if r.area in ("key", "policy", "identity", "log"))
"""Routes that hand out keys, policies, identities or logs: never without authentication."""


def is_sensitive(route: str) -> bool:
    return route in _SENSITIVE
