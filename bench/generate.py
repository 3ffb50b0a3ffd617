"""Generate N deployment directories (KES config + MinIO env file, typical sizes, no certificates)."""
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "examples" / "g2"


def generate(root: Path, count: int) -> Path:
    kes = (EXAMPLE / "kes-config.yaml").read_text()
    env = (EXAMPLE / "minio.env").read_text()
    for index in range(count):
        directory = root / f"deployment-{index:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        name = f"tenant-{index}"
        (directory / "kes-config.yaml").write_text(kes.replace("minio-default-key", f"{name}-key"))
        (directory / "minio.env").write_text(env.replace("minio-default-key", f"{name}-key")
                                             .replace("kes1.example.net", f"kes1.{name}.example.net"))
    return root


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
