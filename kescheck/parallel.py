"""A batch split over forked worker processes, for CI runs over many deployments.

Two ways, one worker protocol. `split_in_two_phases` forks workers that each load and check shards of the
files: they report what they loaded, and go on only if the parent agrees that the shards are independent.
`split_map` forks workers after every file is parsed, so they inherit the parsed trees instead of receiving them.
Either way the work is cut into more shares than processes, and a process that is done with its own takes over
shares the others have not started. A worker keeps what it parsed and sends back only small summaries and its
results, pickled through a pipe. Anything that goes wrong in a worker (it dies, its answer is cut short) makes
the parent compute that share itself: parallelism may make a run faster, never different.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import math
import os
import sys
import threading
from typing import Callable, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Share = TypeVar("Share")
Summary = TypeVar("Summary")
State = TypeVar("State")

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


BATCH_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation during a batch (Python's default: 700)."""


@contextlib.contextmanager
def frozen_objects():
    """Every object that exists now is left out of garbage collections until the outermost such block ends
    (`gc.freeze`). Objects that live through the block anyway (parsed files, a parent's memory shared with its
    workers) then cost no collection time; they are still freed as soon as nothing refers to them.

    The block gives a `settle()` to call whenever many more such objects have been made: it frees cyclic
    garbage (an aborted parse can leave some) and freezes the rest. Loading a batch settles every so many files,
    so the collector's full passes never rescan the trees already loaded (they cost ~0.1 s per 1,000 configs).

    Inside the outermost block the youngest generation is collected every `BATCH_COLLECTION_THRESHOLD`
    allocations instead of every 700: a batch makes objects that either die at once (freed by their reference
    counts, never seen by a collection) or live to the end, and the frequent young collections only rescanned
    the latter (~2 % of a 1,000-deployment run's instructions)."""
    outermost = not gc.get_freeze_count()
    thresholds = gc.get_threshold()
    if outermost:
        gc.set_threshold(BATCH_COLLECTION_THRESHOLD, *thresholds[1:])
    gc.freeze()

    def settle() -> None:
        gc.collect()
        gc.freeze()

    try:
        yield settle
    finally:
        if outermost:
            gc.unfreeze()
            gc.set_threshold(*thresholds)


def can_fork() -> bool:
    """Linux only (fork is unsafe with macOS system frameworks, absent on Windows), and only from a
    single-threaded process: a fork copies no other thread, so a lock one of them held stays held."""
    return hasattr(os, "fork") and sys.platform.startswith("linux") and threading.active_count() == 1


def worker_count(items: int, jobs: int, minimum_share: int) -> int:
    """Processes for `items` when `jobs` are allowed: a share smaller than `minimum_share` costs more than it saves."""
    return max(1, min(jobs, MAXIMUM_JOBS, items // minimum_share))


def share_count(items: int, processes: int, share_size: int) -> int:
    """Shares to cut `items` into: about `share_size` each, at least one per process, at most `MAXIMUM_SHARES` (a
    process done with its own shares takes over those the others have not started)."""
    return min(max(processes, items // share_size), MAXIMUM_SHARES)


def split_map(work: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item], jobs: int,
              before_fork: Callable[[], None] | None = None) -> list[Result]:
    """`work(items)`, with `items` cut into contiguous shares computed by up to `jobs` processes in parallel.

    `work` must return one result per item, in order, and its results must pickle. `before_fork` runs in
    this process just before workers are forked, and only then: for state the workers would compute in
    vain, since nothing they change reaches this process."""
    processes = worker_count(len(items), jobs, MINIMUM_SHARE)
    if processes < 2 or not can_fork():
        return work(items)
    if before_fork is not None:
        before_fork()
    count = share_count(len(items), processes, MINIMUM_SHARE)
    bounds = [len(items) * k // count for k in range(count + 1)]
    shares = [items[bounds[k]:bounds[k + 1]] for k in range(count)]

    def checked_work(share):
        results = work(share)
        if len(results) != len(share):
            raise ValueError("one result per item expected")
        return results

    answers = split_in_two_phases(lambda share: (None, share), lambda summaries: True, checked_work, shares, processes)
    return [result for answer in answers for result in answer]


MAXIMUM_SHARES = 4096
"""Shares one run may be cut into: their numbers, two bytes each, must fit in a pipe before any process reads it."""


def split_in_two_phases(prepare: Callable[[Share], tuple[Summary, State]], agree: Callable[[list[Summary]], bool],
                        finish: Callable[[State], Result], shares: Sequence[Share],
                        processes: int) -> list[Result] | None:
    """`finish(prepare(share)[1])` for every share, by this process and `processes - 1` forked workers; None (and
    nothing finished) if `agree` turns down the summaries that `prepare` made of the shares.

    Phase one: each process prepares the next share nobody has taken, until none is left, and the small summaries
    come to this process, which decides whether the workers go on. Phase two: each process finishes the shares it
    prepared, and once it has none left it takes over those another process has not started, preparing each again
    itself. A worker keeps its states (a share's parsed files, say), so only summaries and results cross between
    processes, pickled through pipes; and a process that runs slower (a busy CPU, costlier shares) is helped, so all
    end each phase within about one share of each other. A share whose worker fails in either phase is prepared or
    finished here. Call it only when `can_fork()`, with at most `MAXIMUM_SHARES` shares."""
    if len(shares) > MAXIMUM_SHARES:
        raise ValueError(f"at most {MAXIMUM_SHARES} shares")
    processes = max(1, min(processes, len(shares)))
    unprepared = _queue(range(len(shares)))
    prepared = [os.pipe() for _ in range(processes)]  # each process's prepared shares, waiting for phase two
    workers: list[_Worker] = []
    claims = _Claims(prepare, finish, shares, unprepared, prepared, 0)
    try:
        # Objects that exist before the fork stay out of the workers' garbage collections, which would
        # otherwise touch (and so copy) every page the parent holds.
        with frozen_objects():
            for number in range(1, processes):
                workers.append(_Worker.fork(_Claims(prepare, finish, shares, unprepared, prepared, number), workers))
        for _, write in prepared[1:]:
            os.close(write)  # each worker's own: its queue ends when the worker closes it
        summaries: dict[int, Summary] = {}
        claims.prepare_all(summaries.__setitem__)
        for worker in workers:
            worker.collect(summaries, wait=True)
        for index in range(len(shares)):
            if index not in summaries:  # what a failed worker took and never sent back
                summaries[index] = claims.prepared(index)
        claims.end_of_queue()
        if not agree([summaries[index] for index in range(len(shares))]):
            return None
        for worker in workers:
            worker.go_on()
        results: dict[int, Result] = {}
        # Between its own shares this process takes in what the workers have sent, so their pipes never fill up
        # and little is left to unpickle once the last share is done.
        claims.finish_all(results.__setitem__, lambda: [worker.collect(results) for worker in workers])
        for worker in workers:
            worker.collect(results, wait=True)
        # What a failed worker took and never sent back.
        return [results[index] if index in results else claims.finished(index) for index in range(len(shares))]
    finally:
        for worker in workers:
            worker.end()
        claims.end_of_queue()
        for fd in [unprepared] + [read for read, _ in prepared]:
            os.close(fd)


def _queue(block: range) -> int:
    """A pipe holding the share numbers of `block`, each two bytes; the read end (the write end is closed, so a
    read past the last number finds the end of the pipe). Each number is read by exactly one process."""
    read, write = os.pipe()
    try:
        os.write(write, b"".join(index.to_bytes(2, "big") for index in block))
    finally:
        os.close(write)
    return read


def _taken(queue: int) -> int | None:
    """The next share number of a queue, which no other process gets; None when the queue is at its end."""
    taken = os.read(queue, 2)
    return int.from_bytes(taken, "big") if len(taken) == 2 else None


class _Claims:
    """One process's part of `split_in_two_phases`: the shares it prepares, and those it then claims and finishes."""

    def __init__(self, prepare, finish, shares, unprepared: int, prepared: list[tuple[int, int]], own: int):
        self.prepare = prepare
        self.finish = finish
        self.shares = shares
        self.unprepared = unprepared
        self.own_queue: int | None = prepared[own][1]
        self.others_queues = [write for number, (_, write) in enumerate(prepared) if number != own]
        self.queues = [read for read, _ in prepared[own:] + prepared[:own]]  # its own first
        self.states: dict[int, object] = {}

    def prepare_all(self, done: Callable[[int, object], None]) -> None:
        """Prepares every share it can claim: `done(share number, summary)` for each."""
        while (index := _taken(self.unprepared)) is not None:
            done(index, self.prepared(index))

    def prepared(self, index: int):
        """Prepares a share here, keeps its state and puts the share in this process's queue; its summary."""
        summary, self.states[index] = self.prepare(self.shares[index])
        os.write(self.own_queue, index.to_bytes(2, "big"))
        return summary

    def end_of_queue(self) -> None:
        """Nothing more goes into this process's queue: once the others take what it holds, it is at its end."""
        if self.own_queue is not None:
            os.close(self.own_queue)
            self.own_queue = None

    def finished(self, index: int):
        state = self.states.pop(index) if index in self.states else self.prepare(self.shares[index])[1]
        return self.finish(state)

    def finish_all(self, done: Callable[[int, object], None], between: Callable[[], object] = lambda: None) -> None:
        """Finishes every share it can claim, its own first: `done(share number, result)` for each, then `between()`."""
        for queue in self.queues:
            while (index := _taken(queue)) is not None:
                done(index, self.finished(index))
                between()


class _Answer:
    """A worker's unpickled answer; a class of its own, since the answer itself may be None."""

    def __init__(self, value):
        self.value = value


PIPE_BYTES = 1 << 20
"""What a worker's pipe holds before the worker waits for this process to read (Linux lets a process ask for up to
1 MiB): a few finished shares."""


class _Worker:
    """A forked process that prepares shares and sends each summary, says when phase one is over (a None), waits to
    be told to go on, then finishes shares and sends each result as it is done. Each message is a length and a
    pickle of (share number, summary or result)."""

    def __init__(self, pid: int, results: int, orders: int):
        self.pid = pid
        self.results = results
        self.orders = orders
        self.ended = False
        self.received = bytearray()

    @classmethod
    def fork(cls, claims: _Claims, siblings: list["_Worker"]) -> "_Worker":
        import pickle  # here, not at the top: a run that never forks does not pay for the import

        results_read, results_write = os.pipe()
        orders_read, orders_write = os.pipe()
        with contextlib.suppress(AttributeError, OSError):
            fcntl.fcntl(results_write, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        pid = os.fork()
        if pid == 0:  # the worker: never returns, never runs the parent's exit handlers or flushes its buffers
            status = 1
            try:
                # The siblings' pipe ends held here would keep them waiting for orders that never come, and the
                # write ends of the other processes' queues would keep those queues from ever ending.
                for sibling in siblings:
                    os.close(sibling.results)
                    os.close(sibling.orders)
                os.close(results_read)
                os.close(orders_write)
                for write in claims.others_queues:
                    os.close(write)
                with os.fdopen(results_write, "wb") as out:
                    def send(message) -> None:
                        _send(out, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

                    claims.prepare_all(lambda index, summary: send((index, summary)))
                    claims.end_of_queue()
                    send(None)  # phase one is over
                    if os.read(orders_read, 1) == _GO_ON:
                        claims.finish_all(lambda index, result: send((index, result)))
                status = 0
            finally:
                os._exit(status)
        os.close(results_write)
        os.close(orders_read)
        return cls(pid, results_read, orders_write)

    def collect(self, into: dict, wait: bool = False) -> None:
        """What the worker has sent so far (summaries in phase one, results in phase two) into `into`, by share
        number; with `wait`, everything it sends until it says its phase one is over, or ends. A message cut short
        or garbled ends the worker: what it sent before stays."""
        while not self.ended:
            message = self._unpacked()
            if message is not None:
                if message.value is None:
                    return
                index, value = message.value
                into[index] = value
            elif not self.ended and not self._read(wait):
                if wait:
                    self.end()
                return

    def _read(self, wait: bool) -> bool:
        """Adds what the pipe holds to `received` (waiting for something with `wait`); False at the pipe's end, or
        when nothing is there and `wait` is not set."""
        os.set_blocking(self.results, wait)
        try:
            data = os.read(self.results, PIPE_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            self.end()
            return False
        self.received += data
        return bool(data)

    def _unpacked(self) -> _Answer | None:
        """The first whole message received, taken out; None until one is whole. A garbled one ends the worker."""
        import pickle

        if len(self.received) < 8:
            return None
        size = int.from_bytes(self.received[:8], "big")
        if len(self.received) < 8 + size:
            return None
        payload = bytes(self.received[8:8 + size])
        del self.received[:8 + size]
        try:
            return _Answer(pickle.loads(payload))
        except Exception:
            self.end()
            return None

    def go_on(self) -> None:
        if not self.ended:
            try:
                os.write(self.orders, _GO_ON)
            except OSError:
                self.end()

    def end(self) -> None:
        """Closes the pipes (a waiting worker reads the end and exits) and reaps the process."""
        if self.ended:
            return
        self.ended = True
        os.close(self.results)
        os.close(self.orders)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


_GO_ON = b"y"


def _send(out, payload: bytes) -> None:
    out.write(len(payload).to_bytes(8, "big"))
    out.write(payload)
    out.flush()
