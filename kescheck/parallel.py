"""A batch split over forked worker processes, for CI runs over many deployments.

Workers are forked after every file is parsed, so they inherit the parsed trees instead of
receiving them; each sends back only its results, pickled through a pipe. Anything that goes
wrong in a worker (it dies, its answer is cut short) makes the parent compute that share itself:
parallelism may make a run faster, never different.
"""
from __future__ import annotations

import contextlib
import gc
import math
import os
import sys
import threading
from typing import Callable, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MINIMUM_SHARE = 50
"""Items per worker below which a fork costs more than it saves."""
MAXIMUM_JOBS = 16


def usable_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity mask, capped by a container's CPU quota. A CI pod limited
    to 2 CPUs on a 64-core node sees all 64 in its affinity; more workers than its quota only queue."""
    try:
        count = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cpu_quota(cgroup_root)
    return max(1, min(count, math.ceil(quota))) if quota else count


def _cpu_quota(cgroup_root: str) -> float | None:
    """CPUs granted by the cgroup (v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`); None: no limit."""
    try:
        with open(os.path.join(cgroup_root, "cpu.max")) as handle:
            quota, period = handle.read().split()[:2]
    except (OSError, ValueError):
        try:
            with open(os.path.join(cgroup_root, "cpu", "cpu.cfs_quota_us")) as handle:
                quota = handle.read().strip()
            with open(os.path.join(cgroup_root, "cpu", "cpu.cfs_period_us")) as handle:
                period = handle.read().strip()
        except OSError:
            return None
    try:
        granted = int(quota) / int(period)
    except ValueError:  # `max`: no limit
        return None
    return granted if granted > 0 else None


@contextlib.contextmanager
def frozen_objects():
    """Every object that exists now is left out of garbage collections until the outermost such block ends
    (`gc.freeze`). Objects that live through the block anyway (parsed files, a parent's memory shared with its
    workers) then cost no collection time; they are still freed as soon as nothing refers to them.

    The block gives a `settle()` to call whenever many more such objects have been made: it frees cyclic
    garbage (an aborted parse can leave some) and freezes the rest. Loading a batch settles every so many files,
    so the collector's full passes never rescan the trees already loaded (they cost ~0.1 s per 1,000 configs)."""
    outermost = not gc.get_freeze_count()
    gc.freeze()

    def settle() -> None:
        gc.collect()
        gc.freeze()

    try:
        yield settle
    finally:
        if outermost:
            gc.unfreeze()


def can_fork() -> bool:
    """Linux only (fork is unsafe with macOS system frameworks, absent on Windows), and only from a
    single-threaded process: a fork copies no other thread, so a lock one of them held stays held."""
    return hasattr(os, "fork") and sys.platform.startswith("linux") and threading.active_count() == 1


def split_map(work: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item], jobs: int,
              before_fork: Callable[[], None] | None = None) -> list[Result]:
    """`work(items)`, with `items` cut into up to `jobs` contiguous shares computed in parallel.

    `work` must return one result per item, in order, and its results must pickle. `before_fork` runs in
    this process just before workers are forked, and only then: for state the workers would compute in
    vain, since nothing they change reaches this process."""
    jobs = min(jobs, MAXIMUM_JOBS, len(items) // MINIMUM_SHARE)
    if jobs < 2 or not can_fork():
        return work(items)
    if before_fork is not None:
        before_fork()
    bounds = [len(items) * k // jobs for k in range(jobs + 1)]
    shares = [items[bounds[k]:bounds[k + 1]] for k in range(jobs)]
    # Objects that exist before the fork stay out of the workers' garbage collections, which would
    # otherwise touch (and so copy) every page the parent holds.
    with frozen_objects():
        workers = [_fork(work, share) for share in shares[1:]]
    results = work(shares[0])
    for worker, share in zip(workers, shares[1:]):
        answer = _collect(*worker)
        results.extend(answer if answer is not None and len(answer) == len(share) else work(share))
    return results


def _fork(work, share) -> tuple[int, int]:
    import pickle  # here, not at the top: a run that never forks does not pay for the import

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns, never runs the parent's exit handlers or flushes its buffers
        status = 1
        try:
            os.close(read_end)
            payload = pickle.dumps(work(share), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(pid: int, read_end: int):
    """The worker's results, or None if it failed."""
    import pickle

    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        return pickle.loads(payload)
    except Exception:  # a truncated or garbled answer: the share is computed again
        return None
