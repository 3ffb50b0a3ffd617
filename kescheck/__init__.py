"""kescheck: lint, cross-check and probe MinIO server-side encryption with MinIO KES."""
__version__ = "0.1.0"
