"""CLI commands beyond `lint`, one module per area; each registers itself on `kescheck.cli.app`."""
