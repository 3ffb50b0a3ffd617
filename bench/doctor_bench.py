"""P3: the doctor as a user runs it, a whole `kescheck doctor` process, against KES stand-ins.

    python bench/doctor_bench.py [--timeout 2] [--runs 5]

fan_out(timeout): eight endpoints (six answering KES stand-ins, two that accept TCP and never
answer), `kescheck doctor --timeout T`; the wall time should stay within T + 1 s because the
endpoints are probed concurrently. healthy(): one answering endpoint; should stay under 1 s.

The KES stand-ins and the PKI come from the test suite (tests/kes_server.py, tests/kes_fixtures.py)
and run in this process; the doctor runs as a subprocess against them.
"""
from __future__ import annotations

import argparse
import atexit
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_state: dict = {}


def _setup():
    """One PKI, six KES stand-ins and two black holes for the whole benchmark process."""
    if _state:
        return _state
    from tests.kes_fixtures import make_pki
    from tests.kes_server import Blackhole, KesServer

    directory = Path(tempfile.mkdtemp(prefix="kescheck-doctor-bench-"))
    pki = make_pki(directory / "pki")
    policies = pki.minio_policy()
    servers = [KesServer(pki.server_cert, pki.server_key, admin=pki.admin_identity, policies=policies).start()
               for _ in range(6)]
    holes = [Blackhole().start() for _ in range(2)]

    def stop():
        for server in servers + holes:
            server.stop()

    atexit.register(stop)
    urls = [server.url() for server in servers]
    hole_urls = [f"https://127.0.0.1:{hole.port}" for hole in holes]
    _state.update(
        pki=pki,
        fan_env=pki.env(",".join(urls[:3] + hole_urls + urls[3:]), name="fan-out.env"),
        one_env=pki.env(urls[0], name="healthy.env"),
    )
    return _state


def _doctor(env: Path, timeout: float) -> float:
    command = [sys.executable, "-m", "kescheck", "doctor", "--minio-env", str(env), "--timeout", f"{timeout:g}",
               "--format", "plain"]
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def fan_out(timeout: float) -> float:
    """Seconds for one doctor run over eight endpoints, two of which never answer."""
    return _doctor(_setup()["fan_env"], timeout)


def healthy() -> float:
    """Seconds for one doctor run against a single healthy endpoint."""
    return _doctor(_setup()["one_env"], 5.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fan = [fan_out(args.timeout) for _ in range(args.runs)]
    one = [healthy() for _ in range(args.runs)]
    print(f"fan-out (8 endpoints, 2 silent, --timeout {args.timeout:g}): median {statistics.median(fan):.2f} s "
          f"(target <= {args.timeout + 1:g} s)")
    print(f"healthy one-endpoint: median {statistics.median(one):.2f} s (target <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
