"""kescheck's performance figures, each measured side by side with its reference in one run.

    python bench/run.py [--runs 15] [--only P1,P2,P3,P4]

P1  cold single file: `kescheck lint` on the example G2 config vs `check-jsonschema
    --schemafile schemas/kes-config-g2.schema.json` on the same file. Target: ratio <= 0.8.
P2  batch: `kescheck lint` over 1,000 generated deployment directories vs the floor, one
    Python process that only parses the same files with ruamel.yaml. Target: ratio <= 1.5.
P3  doctor fan-out: eight endpoints, two of which accept TCP and never answer, --timeout 2.
    Target: wall time <= timeout + 1 s; a healthy one-endpoint doctor run <= 1 s.
P4  memory: peak RSS of the P2 kescheck run. Target: <= 80 MiB. kescheck forks workers for a large
    batch, so the figure judged is the peak of the summed PSS (proportional set size: a page shared
    by two processes counts half in each) of the whole process tree, sampled every 2 ms in runs of
    their own; the largest single-process peak RSS (wait4) is shown beside it.

Runs alternate between the two commands so that machine noise hits both alike; medians are
reported. Needs check-jsonschema for P1 (`pip install check-jsonschema`).

--instructions adds P2's ratio in instructions executed (valgrind's callgrind, one process, PYTHONHASHSEED=0): on a
shared VM the wall times of the same command vary by a third between runs, instruction counts by well under 1 %.
It is not a target, only the steadier way to see whether a change made kescheck do less work (~5 minutes).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fixtures" / "examples" / "g2" / "kes-config.yaml"
G2_SCHEMA = ROOT / "schemas" / "kes-config-g2.schema.json"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from kescheck.parallel import usable_cpus  # noqa: E402 (after the path set-up above)


def compile_bytecode() -> None:
    """Byte-compile kescheck as `pip install` does, so a checkout is measured like an installed copy
    (with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile all of kescheck again)."""
    import compileall

    compileall.compile_dir(str(ROOT / "kescheck"), quiet=1)


def kescheck_command() -> list[str]:
    found = shutil.which("kescheck")
    return [found] if found else [sys.executable, "-m", "kescheck"]


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS in KiB (wait4 reports it per child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed with status {process.returncode}: {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def side_by_side(first: list[str], second: list[str], runs: int, cwd: Path = ROOT) -> tuple[list, list]:
    timed(first, cwd), timed(second, cwd)  # warm the page cache for both
    a, b = [], []
    for _ in range(runs):
        a.append(timed(first, cwd))
        b.append(timed(second, cwd))
    return a, b


def median_seconds(samples) -> float:
    return statistics.median(s for s, _ in samples)


def report(name: str, value: float, target: float, unit: str, detail: str) -> bool:
    ok = value <= target
    print(f"{name}: {value:.3f} {unit} (target <= {target:g}) {'PASS' if ok else 'FAIL'}  {detail}")
    return ok


def p1(runs: int) -> bool:
    checker = shutil.which("check-jsonschema")
    if checker is None:
        print("P1: skipped: check-jsonschema is not installed (pip install check-jsonschema)")
        return False
    ours, peer = side_by_side(kescheck_command() + ["lint", str(EXAMPLE), "--format", "plain"],
                              [checker, "--schemafile", str(G2_SCHEMA), str(EXAMPLE)], runs)
    mine, theirs = median_seconds(ours), median_seconds(peer)
    return report("P1 cold single file", mine / theirs, 0.8, "x",
                  f"kescheck {mine * 1000:.0f} ms vs check-jsonschema {theirs * 1000:.0f} ms (medians of {runs})")


def _process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak_pss(command: list[str]) -> float:
    """Peak of the summed PSS of `command` and every process it forks, in MiB (Linux /proc)."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_kib(pid) for pid in _process_tree(process.pid)))
        time.sleep(0.002)
    return peak / 1024


def p2_p4(runs: int) -> list[bool]:
    from generate import generate

    with tempfile.TemporaryDirectory(prefix="kescheck-bench-") as tmp:
        root = generate(Path(tmp) / "deployments", 1000)
        lint = kescheck_command() + ["lint", str(root), "--format", "json", "--output", os.devnull]
        floor_command = [sys.executable, str(ROOT / "bench" / "floor_parse.py"), str(root)]
        ours, floor = side_by_side(lint, floor_command, runs)
        serial, serial_floor = side_by_side(lint + ["--jobs", "1"], floor_command, runs)
        pss = [tree_peak_pss(lint) for _ in range(runs)] if os.path.exists("/proc/self/smaps_rollup") else []
    mine, base = median_seconds(ours), median_seconds(floor)
    ok2 = report("P2 batch of 1,000 deployments", mine / base, 1.5, "x",
                 f"kescheck {mine:.2f} s vs ruamel-only floor {base:.2f} s (medians of {runs}; "
                 f"{usable_cpus()} worker processes)")
    one, one_base = median_seconds(serial), median_seconds(serial_floor)
    print(f"    one process (--jobs 1): {one / one_base:.2f} x, kescheck {one:.2f} s vs floor {one_base:.2f} s")
    largest = max(kib for _, kib in ours) / 1024
    if not pss:
        return [ok2, report("P4 peak RSS of P2", largest, 80, "MiB", "(no /proc: largest single process)")]
    ok4 = report("P4 peak memory of P2", max(pss), 80, "MiB",
                 f"(summed PSS of the process tree, max over {runs} runs; largest single-process RSS "
                 f"{largest:.0f} MiB, --jobs 1 {max(k for _, k in serial) / 1024:.0f} MiB; "
                 f"floor {max(k for _, k in floor) / 1024:.0f} MiB)")
    return [ok2, ok4]


def instruction_count(command: list[str]) -> int:
    """Instructions `command` executes, by valgrind's callgrind (which counts the process it starts only)."""
    environment = dict(os.environ, PYTHONHASHSEED="0")  # string hashes decide dict layouts, and so the count
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command], cwd=ROOT,
                          env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    counted = re.search(r"Collected : (\d+)", done.stderr)
    if counted is None:
        raise SystemExit(f"valgrind counted nothing for {' '.join(command)}:\n{done.stderr[-2000:]}")
    return int(counted[1])


def p2_instructions() -> None:
    if shutil.which("valgrind") is None:
        print("P2 in instructions: skipped: valgrind is not installed (apt-get install valgrind)")
        return
    from generate import generate

    with tempfile.TemporaryDirectory(prefix="kescheck-bench-") as tmp:
        root = generate(Path(tmp) / "deployments", 1000)
        ours = instruction_count(kescheck_command() + ["lint", str(root), "--format", "json", "--output", os.devnull,
                                                       "--jobs", "1"])
        floor = instruction_count([sys.executable, str(ROOT / "bench" / "floor_parse.py"), str(root)])
    print(f"P2 in instructions (one process, not a target): {ours / floor:.2f} x, kescheck {ours / 1e9:.2f} G vs "
          f"floor {floor / 1e9:.2f} G")


def p3(runs: int) -> list[bool]:
    try:
        from doctor_bench import fan_out, healthy
    except ImportError as err:
        print(f"P3: skipped: {err}")
        return [False]
    timeout = 2.0
    fan = [fan_out(timeout) for _ in range(max(3, runs // 3))]
    ok_fan = report("P3 doctor fan-out (8 endpoints, 2 silent)", statistics.median(fan), timeout + 1, "s",
                    f"--timeout {timeout:g}, median of {len(fan)}")
    quick = [healthy() for _ in range(max(3, runs // 3))]
    ok_one = report("P3 healthy one-endpoint doctor", statistics.median(quick), 1.0, "s", f"median of {len(quick)}")
    return [ok_fan, ok_one]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="P1,P2,P3,P4")
    parser.add_argument("--instructions", action="store_true", help="also count P2's instructions with valgrind")
    args = parser.parse_args()
    wanted = {w.strip().upper() for w in args.only.split(",")}
    results = []
    compile_bytecode()
    if "P1" in wanted:
        results.append(p1(args.runs))
    if wanted & {"P2", "P4"}:
        results.extend(p2_p4(max(3, args.runs // 3)))
    if "P3" in wanted:
        results.extend(p3(args.runs))
    if args.instructions:
        p2_instructions()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
