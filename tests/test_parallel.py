"""A large batch checked by forked workers (`--jobs`) gives exactly what one process gives."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO
from kescheck import parallel

# Not `can_fork()`: that also asks for a single-threaded process, which pytest's own process need not be;
# the tests that fork run in fresh interpreters.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")

SECRET = "kes:v1:CANARYPARALLEL{index:03d}x9AGaV6VXHasF0FnaB60WdCOeTZ8"


def _batch(root, copies: int):
    """`copies` deployment directories cycling through the example and broken fixtures, each env file
    holding its own secret on a line that draws a finding (so reports show that line)."""
    sources = [REPO / "fixtures" / "examples" / g for g in ("g0", "g1", "g2")]
    sources += sorted(p for p in (REPO / "fixtures" / "broken" / "deployments").iterdir() if p.is_dir())
    for index in range(copies):
        target = root / f"d{index:03d}"
        shutil.copytree(sources[index % len(sources)], target)
        with (target / "minio.env").open("a") as env:
            env.write(f"MINIO_KMS_KES_API_KEY = {SECRET.format(index=index)}\n")
    return root


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return _batch(tmp_path_factory.mktemp("batch"), 160)


def _kescheck(*args: str) -> subprocess.CompletedProcess:
    """A fresh process: pytest's own process may hold threads from other tests, and is then never forked."""
    return subprocess.run([sys.executable, "-m", "kescheck", *args], capture_output=True, text=True, cwd=REPO)


def _in_fresh_process(code: str):
    """Run `code` (which binds `result`) in a new interpreter; its `result`, through JSON."""
    program = "import json, os\nfrom kescheck import parallel\nfrom kescheck.parallel import split_map\n" \
              + textwrap.dedent(code) + "\nprint(json.dumps(result))\n"
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("fmt", ["json", "sarif", "plain"])
def test_workers_report_byte_for_byte_what_one_process_reports(batch, fmt):
    serial = _kescheck("lint", str(batch), "--format", fmt, "--jobs", "1")
    forked = _kescheck("lint", str(batch), "--format", fmt, "--jobs", "3")
    assert serial.returncode == forked.returncode == 1
    assert serial.stdout.count(str(batch)) > 300
    assert forked.stdout == serial.stdout


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_secrets_read_by_workers_are_masked_by_the_parent(batch, fmt):
    run = _kescheck("lint", str(batch), "--format", fmt, "--jobs", "3")
    assert "MINIO_KMS_KES_API_KEY" in run.stdout
    assert "CANARYPARALLEL" not in run.stdout + run.stderr
    if fmt == "plain":
        assert run.stdout.count("********") >= 100


def test_shares_run_in_separate_processes_and_come_back_in_order():
    result = _in_fresh_process("""
        result = [split_map(lambda share: [(item, os.getpid()) for item in share], list(range(200)), 4), os.getpid()]
    """)
    results, parent = result
    assert [item for item, _ in results] == list(range(200))
    assert len({pid for _, pid in results}) == 4
    assert results[0][1] == parent


def test_small_batches_stay_in_one_process():
    pids = _in_fresh_process("""
        result = split_map(lambda share: [os.getpid() for _ in share], list(range(parallel.MINIMUM_SHARE * 2 - 1)), 8)
    """)
    assert len(set(pids)) == 1


def test_a_process_with_other_threads_is_never_forked():
    pids = _in_fresh_process("""
        import threading
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        result = split_map(lambda share: [os.getpid() for _ in share], list(range(400)), 4)
        stop.set()
        other.join()
    """)
    assert len(set(pids)) == 1


def test_a_failing_worker_share_is_computed_by_the_parent():
    result = _in_fresh_process("""
        parent = os.getpid()

        def work(share):
            if os.getpid() != parent and share[0] >= 100:
                os._exit(7)  # a worker that dies without answering
            return [[item * 2, os.getpid()] for item in share]

        result = [split_map(work, list(range(200)), 2), parent]
    """)
    results, parent = result
    assert results == [[item * 2, parent] for item in range(200)]


def test_a_garbled_worker_answer_is_computed_by_the_parent():
    result = _in_fresh_process("""
        parent = os.getpid()
        import pickle
        real_dumps = pickle.dumps
        pickle.dumps = lambda value, protocol: real_dumps(value, protocol)[:-5] if os.getpid() != parent \\
            else real_dumps(value, protocol)
        result = [split_map(lambda share: [os.getpid() for _ in share], list(range(200)), 2), parent]
    """)
    pids, parent = result
    assert pids == [parent] * 200


def test_before_fork_runs_only_when_workers_are_forked():
    calls = _in_fresh_process("""
        calls = []
        split_map(lambda share: list(share), list(range(60)), 4, before_fork=lambda: calls.append("small"))
        split_map(lambda share: list(share), list(range(400)), 4, before_fork=lambda: calls.append("large"))
        result = calls
    """)
    assert calls == ["large"]


@pytest.mark.parametrize("files, quota", [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "50000 100000\n"}, 0.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3.0),
    ({}, None),
    ({"cpu.max": "garbage"}, None),
], ids=["v2-unlimited", "v2-1.5-cpus", "v2-half-cpu", "v1-unlimited", "v1-3-cpus", "no-cgroup", "unreadable"])
def test_worker_count_respects_a_container_cpu_quota(tmp_path, files, quota):
    import math

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert parallel._cpu_quota(str(tmp_path)) == quota
    unlimited = parallel.usable_cpus(str(tmp_path / "absent"))
    assert parallel.usable_cpus(str(tmp_path)) == (unlimited if quota is None else min(unlimited, math.ceil(quota)))
