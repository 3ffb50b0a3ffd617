"""Run the fuzz properties of tests/test_fuzz.py and tests/test_fuzz_loaders.py (KES YAML, env files,
PEM files, systemd's env reading, settings, baselines, suppression comments, the doctor's statuses) and
the block-YAML scanner's comparison with ruamel (tests/test_yaml_scanner.py) and the comparison of configs inside
Kubernetes Secrets with the same files (tests/test_kubernetes_in_place.py) with a large budget, e.g. for an hour:

    python bench/fuzz_long.py --minutes 60

Rounds of `--examples` examples per property, each round with a new seed, until the time
is up. A failure prints hypothesis' minimal reproduction and the script exits 1. Seeds count up
from `--seed`, by default a random one that is printed, so that a second run does not repeat
the examples of the first and a failing round can be run again.
"""
import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ_MODULES = ["tests/test_fuzz.py", "tests/test_fuzz_loaders.py", "tests/test_yaml_scanner.py",
                "tests/test_kubernetes_in_place.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--examples", type=int, default=5000, help="examples per property per round")
    parser.add_argument("--seed", type=int, default=None, help="the first round's seed (default: random)")
    args = parser.parse_args()
    first_seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    print(f"first seed: {first_seed}", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    environment = dict(os.environ, KESCHECK_FUZZ_EXAMPLES=str(args.examples))
    rounds = 0
    while time.monotonic() < deadline:
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                   *FUZZ_MODULES, f"--hypothesis-seed={first_seed + rounds}"]
        if subprocess.run(command, cwd=ROOT, env=environment).returncode != 0:
            return 1
        rounds += 1
    print(f"{rounds} rounds of {args.examples} examples per property without a failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
