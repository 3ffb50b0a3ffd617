"""A large batch checked by forked workers (`--jobs`) gives exactly what one process gives."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, strategies as st

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
    return subprocess.run([sys.executable, "-m", "kescheck", *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def _in_fresh_process(code: str):
    """Run `code` (which binds `result`) in a new interpreter; its `result`, through JSON."""
    program = "import json, os\nfrom kescheck import parallel\nfrom kescheck.parallel import split_map\n" \
              + textwrap.dedent(code) + "\nprint(json.dumps(result))\n"
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, timeout=120)
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
    """Four shares for four processes, each taking long enough that every process gets one."""
    result = _in_fresh_process("""
        import time

        def work(share):
            time.sleep(1.0)
            return [(item, os.getpid()) for item in share]

        result = [split_map(work, list(range(200)), 4), os.getpid()]
    """)
    results, parent = result
    assert [item for item, _ in results] == list(range(200))
    pids = {pid for _, pid in results}
    assert len(pids) == 4 and parent in pids


def test_a_slow_process_is_helped_by_the_others():
    """Eight shares of fifty for two processes: the worker's take long, so the parent finishes all the others."""
    result = _in_fresh_process("""
        import time
        parent = os.getpid()

        def work(share):
            time.sleep(3.0 if os.getpid() != parent else 0.4)
            return [os.getpid() for _ in share]

        result = [split_map(work, list(range(400)), 2), parent]
    """)
    pids, parent = result
    assert len(pids) == 400 and pids.count(parent) >= 300 and len(set(pids)) == 2


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
    """The worker dies on the first share of the second half it takes: that share and all it would have done next
    are the parent's, and what it sent before stays."""
    result = _in_fresh_process("""
        import time
        parent = os.getpid()

        def work(share):
            if os.getpid() != parent and share[0] >= 100:
                os._exit(7)  # a worker that dies without answering
            time.sleep(0.6)
            return [[item * 2, os.getpid()] for item in share]

        result = [split_map(work, list(range(200)), 2), parent]
    """)
    results, parent = result
    assert [doubled for doubled, _ in results] == [item * 2 for item in range(200)]
    assert {pid for _, pid in results[100:]} == {parent} and len({pid for _, pid in results}) == 2


def test_results_larger_than_a_pipe_holds_arrive_whole():
    """Each share's result (~1.5 MB) is more than a worker's pipe holds, so it arrives in many reads, some while
    this process still works on its own shares."""
    result = _in_fresh_process("""
        def work(share):
            return [f"{item}:{os.getpid()}:" + "x" * 30_000 for item in share]

        texts = split_map(work, list(range(400)), 2)
        result = [[text.split(":")[0] for text in texts], len({text.split(":")[1] for text in texts}),
                  sorted({len(text) - len(text.rstrip("x")) for text in texts})]
    """)
    items, processes, tails = result
    assert items == [str(item) for item in range(400)] and processes == 2 and tails == [30_000]


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


# --- two phases: shards prepared in parallel, then finished once the parent agrees ---------------------

def test_two_phases_prepare_in_workers_and_finish_in_order():
    """Three shares for three processes, each step taking long enough that every process prepares one, and then
    finishes the one it prepared."""
    result = _in_fresh_process("""
        import time
        from kescheck.parallel import split_in_two_phases
        seen = []
        shares = [list(range(k * 10, k * 10 + 10)) for k in range(3)]

        def prepare(share):
            time.sleep(0.8)
            return (os.getpid(), sum(share)), [x * 2 for x in share]

        def finish(state):
            time.sleep(0.8)
            return [state, os.getpid()]

        results = split_in_two_phases(prepare, lambda summaries: seen.extend(summaries) or True, finish, shares, 3)
        result = [results, seen, os.getpid()]
    """)
    results, summaries, parent = result
    assert [state for state, _ in results] == [[x * 2 for x in range(k * 10, k * 10 + 10)] for k in range(3)]
    assert [total for _, total in summaries] == [45, 145, 245]
    assert len({pid for pid, _ in summaries}) == 3 and parent in {pid for pid, _ in summaries}
    assert [pid for _, pid in results] == [pid for pid, _ in summaries]  # each share finished where it was prepared


def test_two_phases_a_share_taken_over_is_prepared_again_where_it_is_finished():
    """Two processes, four shares, two prepared by each: the worker is slow to finish its own, so the parent, done
    with its two, takes over the worker's second and prepares it itself (the worker's state of it is left unused)."""
    result = _in_fresh_process("""
        import time
        from kescheck.parallel import split_in_two_phases
        parent = os.getpid()

        def prepare(share):
            time.sleep(0.6)
            return os.getpid(), [share, os.getpid()]

        def finish(state):
            time.sleep(2.5 if os.getpid() != parent else 0.8)
            return [state, os.getpid()]

        summaries = []
        results = split_in_two_phases(prepare, lambda seen: summaries.extend(seen) or True, finish, [0, 1, 2, 3], 2)
        result = [results, summaries, parent]
    """)
    results, summaries, parent = result
    worker = ({*summaries} - {parent}).pop()
    assert sorted(summaries) == sorted([parent, parent, worker, worker])
    assert [share for (share, _), _ in results] == [0, 1, 2, 3]
    assert all(prepared_by == finished_by for (_, prepared_by), finished_by in results)  # its own state
    finishers = [finished_by for _, finished_by in results]
    taken_over = [share for share in range(4) if summaries[share] == worker and finishers[share] == parent]
    assert finishers.count(parent) == 3 and len(taken_over) == 1


def test_two_phases_finish_nothing_when_the_parent_disagrees(tmp_path):
    result = _in_fresh_process(f"""
        from kescheck.parallel import split_in_two_phases
        marks = {str(tmp_path)!r}

        def finish(state):
            open(os.path.join(marks, str(os.getpid())), "w").close()
            return state

        answer = split_in_two_phases(lambda share: (len(share), share), lambda summaries: False, finish,
                                     [[1], [2, 3], [4]], 3)
        try:
            os.waitpid(-1, os.WNOHANG)
            left = "a child is left"
        except ChildProcessError:
            left = "no child left"
        result = [answer, left]
    """)
    assert result == [None, "no child left"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("phase", ["prepare", "finish"])
def test_a_worker_failing_in_either_phase_has_its_share_done_by_the_parent(phase, tmp_path):
    """One worker dies on the first share it prepares (or finishes): another process does that share."""
    result = _in_fresh_process(f"""
        import time
        from kescheck.parallel import split_in_two_phases
        parent = os.getpid()

        def die_once(when):
            if {phase!r} == when and os.getpid() != parent:
                try:
                    open({str(tmp_path / "died")!r}, "x").close()
                except FileExistsError:
                    return  # another worker died already
                os._exit(3)

        def prepare(share):
            time.sleep(0.6)  # every process takes a share
            die_once("prepare")
            return share[0], share

        def finish(state):
            time.sleep(0.6)
            die_once("finish")
            return [state, os.getpid()]

        result = [split_in_two_phases(prepare, lambda summaries: summaries == [1, 2, 3, 4], finish,
                                      [[1], [2], [3], [4]], 3), parent]
    """)
    results, parent = result
    assert (tmp_path / "died").exists()
    assert [state for state, _ in results] == [[1], [2], [3], [4]]
    assert len({pid for _, pid in results}) == 2  # the parent and the worker that lived


# --- a walked batch checked in shards of whole directories -------------------------------------------

def _lint_counting_parent_loads(paths, jobs: int = 3):
    """Files the parent process itself loaded, and all the files checked, in a fresh interpreter."""
    return _in_fresh_process(f"""
        from kescheck import engine
        loads = []
        real_load = engine._load
        engine._load = lambda *args, **kwargs: (loads.append(1), real_load(*args, **kwargs))[1]
        run = engine.lint({[str(p) for p in paths]!r}, jobs={jobs})
        result = [len(loads), len(run.files)]
    """)


def test_a_walked_batch_is_loaded_and_checked_in_shards(batch):
    parent_loads, files = _lint_counting_parent_loads([batch])
    assert files == 320
    assert parent_loads < files  # workers loaded some shards (a free process may take over others, loading them again)


def _deployments(root, count: int, first: int = 0):
    for index in range(first, first + count):
        directory = root / f"d{index:03d}"
        directory.mkdir()
        shutil.copy(REPO / "fixtures" / "examples" / "g2" / "kes-config.yaml", directory)
        shutil.copy(REPO / "fixtures" / "examples" / "g2" / "minio.env", directory)


def _only_config_in_the_run(root):
    _deployments(root, 1)
    for index in range(1, 320):
        directory = root / f"d{index:03d}"
        directory.mkdir()
        shutil.copy(REPO / "fixtures" / "examples" / "g2" / "minio.env", directory)


def _unit_naming_a_config_of_another_shard(root):
    _deployments(root, 160)
    (root / "d159" / "kes.service").write_text(
        f"[Service]\nExecStart=/usr/local/bin/kes server --config {root / 'd000' / 'kes-config.yaml'}\n")


def _file_linked_into_another_shard(root):
    _deployments(root, 160)
    (root / "d159" / "minio.env").unlink()
    (root / "d159" / "minio.env").symlink_to(root / "d000" / "minio.env")


_MINIO_SERVICE = "services:\n  minio:\n    image: minio/minio\n    env_file: {env_file}\n"


def _env_file_of_another_shard(root):
    _deployments(root, 160)
    (root / "d159" / "compose.yaml").write_text(_MINIO_SERVICE.format(env_file="../d000/minio.env"))


_MINIO_UNIT = "[Service]\n{extra}ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n"


def _minio_unit_loading_an_env_file_of_another_shard(root):
    _deployments(root, 160)
    (root / "d159" / "minio.service").write_text(_MINIO_UNIT.format(extra=f"EnvironmentFile={root / 'd000' / 'minio.env'}\n"))


def _minio_unit_and_the_only_env_file(root):
    """Two KES configs and one env file in other directories than the MinIO unit: one process joins the unit to the
    only env file of the run, which a shard cannot know is the only one."""
    _deployments(root, 320)
    for env in sorted(root.glob("d*/minio.env"))[1:]:
        env.unlink()
    (root / "units").mkdir()
    (root / "units" / "minio.service").write_text(_MINIO_UNIT.format(extra=""))


@pytest.mark.parametrize("make", [_only_config_in_the_run, _unit_naming_a_config_of_another_shard,
                                  _file_linked_into_another_shard, _env_file_of_another_shard,
                                  _minio_unit_loading_an_env_file_of_another_shard, _minio_unit_and_the_only_env_file])
def test_shards_that_are_not_independent_are_checked_in_one_process(tmp_path, make):
    make(tmp_path)
    parent_loads, files = _lint_counting_parent_loads([tmp_path])
    assert parent_loads >= files  # the shards' loading was thrown away and the parent loaded everything
    serial = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "1")
    forked = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "3")
    assert json.loads(serial.stdout)["summary"]["files"] == files
    assert forked.stdout == serial.stdout


@pytest.mark.parametrize("units", [("d000", "d159"), ("d010",)], ids=["in-two-shards", "making-the-only-config"])
def test_units_naming_a_config_outside_the_walk(tmp_path, units):
    """The config outside the walked tree is loaded by each shard whose unit names it: one process loads it once,
    and with no other config in the run it is the only one, which every env file joins."""
    outside = tmp_path / "etc" / "kes-config.yaml"
    outside.parent.mkdir()
    shutil.copy(REPO / "fixtures" / "examples" / "g2" / "kes-config.yaml", outside)
    walked = tmp_path / "walked"
    walked.mkdir()
    _deployments(walked, 160 * (3 - len(units)))
    if len(units) == 1:  # no config in the walked tree itself (and as many files as two shards need)
        for config in walked.glob("*/kes-config.yaml"):
            config.unlink()
    for name in units:
        (walked / name / "kes.service").write_text(f"[Service]\nExecStart=/usr/local/bin/kes server --config {outside}\n")
    parent_loads, files = _lint_counting_parent_loads([walked])
    assert parent_loads >= files - 1  # one process loaded everything (the outside config it may count once)
    serial = _kescheck("lint", str(walked), "--format", "json", "--jobs", "1")
    forked = _kescheck("lint", str(walked), "--format", "json", "--jobs", "3")
    assert forked.stdout == serial.stdout and str(outside) in serial.stdout


@pytest.mark.parametrize("name, text, needle, count", [
    ("compose.yaml", _MINIO_SERVICE.format(env_file="minio.env"), "minio.env", 121),  # Compose reads its own env file
    ("minio.service", _MINIO_UNIT.format(extra=""), '"code": "SYS015"', 120),  # MinIO's unit beside its env file
], ids=["compose", "minio-unit"])
def test_launchers_beside_their_env_files_are_sharded(tmp_path, name, text, needle, count):
    _deployments(tmp_path, 120)
    for directory in tmp_path.iterdir():
        (directory / name).write_text(text)
    parent_loads, files = _lint_counting_parent_loads([tmp_path])
    assert files == 360 and parent_loads < files
    serial = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "1")
    forked = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "3")
    assert "which Compose reads from this env file" not in serial.stdout  # notes are for the text report
    assert forked.stdout == serial.stdout and serial.stdout.count(needle) >= count


def test_units_with_drop_ins_give_what_one_process_gives(tmp_path):
    """A unit's drop-ins stand in a directory of their own, which a shard boundary may separate from the unit."""
    _deployments(tmp_path, 160)
    for directory in tmp_path.iterdir():
        (directory / "kes.service").write_text("[Service]\nWorkingDirectory=/etc/kes\n"
                                               "ExecStart=/usr/local/bin/kes server --config kes-config.yaml\n")
        (directory / "kes.service.d").mkdir()
        (directory / "kes.service.d" / "override.conf").write_text(
            "[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server --config kes-config.yaml --mlock\n")
    serial = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "1")
    forked = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "3")
    assert forked.stdout == serial.stdout
    flagged = [f for f in json.loads(serial.stdout)["findings"] if f["code"] == "SYS002"]
    assert len(flagged) == 160 and all(f["path"].endswith("kes.service.d/override.conf") for f in flagged)


def test_a_shard_with_one_env_file_does_not_take_it_for_the_only_one(tmp_path):
    """The last shard holds one env file of the run's hundred and a MinIO unit in a directory of its own: the unit
    joins that env file only when it is the only one of the run, which it is not."""
    _deployments(tmp_path, 320)
    for env in sorted(tmp_path.glob("d*/minio.env"))[100:-1]:
        env.unlink()
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "minio.service").write_text(_MINIO_UNIT.format(extra=""))
    parent_loads, files = _lint_counting_parent_loads([tmp_path])
    assert parent_loads < files
    serial = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "1")
    forked = _kescheck("lint", str(tmp_path), "--format", "json", "--jobs", "3")
    assert forked.stdout == serial.stdout and '"SYS015"' not in serial.stdout


def test_files_named_one_by_one_are_never_sharded(tmp_path):
    _deployments(tmp_path, 160)
    named = sorted(tmp_path.glob("d*/*"))
    parent_loads, files = _lint_counting_parent_loads(named)
    assert parent_loads == files == 320


@given(st.lists(st.integers(1, 5), min_size=1, max_size=30), st.integers(1, 8))
def test_directory_shares_never_split_a_directory(directories, count):
    from pathlib import Path

    from kescheck.engine import _directory_shares

    paths = [Path(f"/r/{index}/{name}") for index, files in enumerate(directories) for name in range(files)]
    shares = _directory_shares(paths, count)
    assert [path for share in shares for path in share] == paths
    assert 1 <= len(shares) <= count and all(shares)
    assert all(a[-1].parent != b[0].parent for a, b in zip(shares, shares[1:]))


def test_more_shares_than_a_queue_holds_are_refused_before_anything_forks():
    with pytest.raises(ValueError, match="at most 4096 shares"):
        parallel.split_in_two_phases(lambda share: (None, share), lambda summaries: True, lambda state: state,
                                     list(range(parallel.MAXIMUM_SHARES + 1)), 2)
    assert parallel.split_map(lambda share: list(share), list(range(10)), 1) == list(range(10))
