"""The MinIO environment variables for KES that kescheck reads (reference §5)."""

ENDPOINT = "MINIO_KMS_KES_ENDPOINT"
KEY_NAME = "MINIO_KMS_KES_KEY_NAME"
API_KEY = "MINIO_KMS_KES_API_KEY"
CERT_FILE = "MINIO_KMS_KES_CERT_FILE"
KEY_FILE = "MINIO_KMS_KES_KEY_FILE"
KEY_PASSWORD = "MINIO_KMS_KES_KEY_PASSWORD"
CAPATH = "MINIO_KMS_KES_CAPATH"
OPTS = "MINIO_OPTS"
"""Not MinIO's own: the standard systemd unit runs `minio server $MINIO_OPTS $MINIO_VOLUMES`."""
ENCLAVE = "MINIO_KMS_KES_ENCLAVE"
SECRET_KEY = "MINIO_KMS_SECRET_KEY"
SECRET_KEY_FILE = "MINIO_KMS_SECRET_KEY_FILE"
AUTO_ENCRYPTION = "MINIO_KMS_AUTO_ENCRYPTION"
ROOT_USER = "MINIO_ROOT_USER"
ROOT_PASSWORD = "MINIO_ROOT_PASSWORD"
ROOT_ACCESS = "MINIO_API_ROOT_ACCESS"
"""`off` (exactly) lets MinIO RELEASE.2024-03-03 and later derive root credentials from the KMS when none are set."""
ROOT_CREDENTIALS = (ROOT_USER, ROOT_PASSWORD, "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY",
                    "MINIO_ROOT_USER_FILE", "MINIO_ROOT_PASSWORD_FILE", "MINIO_ACCESS_KEY_FILE",
                    "MINIO_SECRET_KEY_FILE")
"""Every variable MinIO takes its root credentials from: the current pair, the deprecated pair MinIO still reads,
and the `_FILE` variants (Docker secrets: a path, or a name under /run/secrets/)."""
CONFIG_ENV_FILE = "MINIO_CONFIG_ENV_FILE"
"""A further env file MinIO loads itself: it may hold anything, root credentials included."""
