"""Placeholders the MinIO and KES documentation write where a real value belongs (MinIO env files and KES
configs copied from it keep them more often than one would think)."""
from __future__ import annotations

import re

# Upper-case stand-ins from the MinIO KES tutorials (Vault, AWS, Azure, GCP pages) and the MinIO install docs.
PLACEHOLDER_WORDS = re.compile(r"\b(?:HOSTNAME|REGION|VAULTAPPID|VAULTAPPSECRET|AWSACCESSKEY|AWSSECRETKEY|"
                               r"ROOTUSER|ROOTPASSWORD|CHANGEME)\b")
# `|kescertpath|`-style Sphinx substitutions the docs render into paths.
SUBSTITUTION = re.compile(r"\|[A-Za-z][A-Za-z0-9_.-]*\|")
# A literal example path the docs ask to replace (`engine: "/path/to/engine"`).
EXAMPLE_PATH = re.compile(r"/path/to/")
# Any of them, and `<key-name>`-style angle brackets: what makes a value a placeholder rather than a value.
ANY_PLACEHOLDER = re.compile("|".join((SUBSTITUTION.pattern, r"<[A-Za-z][A-Za-z0-9 _.-]*>", PLACEHOLDER_WORDS.pattern,
                                       EXAMPLE_PATH.pattern)))
