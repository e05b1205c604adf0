"""Where a run's tasks execute: in this process, in local worker processes, or on a Dask cluster.

The unit of work handed to a worker is a *batch*: consecutive tasks of the run
(in task order) whose estimated cost adds up to about a second, so that a
district of thousands of small points becomes hundreds of batches, not
thousands of tiny tasks whose scheduling would cost more than their work.
``batch_tasks`` forms them from per-task costs (the caller's: ``costs.task_s``).

Whatever the executor, the results come back in batch order: a batch that
finishes early waits (as a finished future, on its worker or in the pool) until
every batch before it has been handed back, so the caller folds results in task
order and figures never depend on the executor or the number of workers. At
most a few batches per worker are in flight at once, which bounds what is held
while the first batches finish.

Executors:

* ``serial``: every batch in the calling process.
* ``processes`` (the default): a ``ProcessPoolExecutor`` of ``jobs`` workers;
  with one job or one batch, the calling process runs it. On Linux the workers
  are forked (``START_METHOD``): they start with the package imported and what
  every batch needs in memory, as the caller has them; elsewhere they are
  spawned (a fresh interpreter) and read what every batch needs from a
  temporary file. The caller never waits for a worker to start or to stop:
  once every batch is back the pool is closed in a thread.
* ``dask``: ``dask.distributed`` (the optional ``cluster`` extra): the
  scheduler at ``scheduler`` (``tcp://host:8786``; its workers must have the
  same version of simsampling installed), or, without one, a ``LocalCluster``
  of ``jobs`` worker processes with one thread each, closed when the run ends
  or is interrupted. What every batch needs (the scenario...) is sent to each
  worker once. A scheduler is reached within ``CONNECT_S`` or not at all
  (:class:`SchedulerUnreachable`): nothing that answers otherwise (a closed
  port, a server that never speaks, another protocol) stalls or crashes a run,
  and one without workers is refused rather than waited for.

This module knows nothing of the model: the caller passes a module-level
function ``function(shared, batch) -> list`` and the ``shared`` object.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import logging
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from ..choices import DEFAULT_EXECUTOR, EXECUTORS
from ..leftovers import exit_when_orphaned, owned_prefix, remove, settle_forked_child, stale
from ..stopping import ProcessDied, die_by_signals

BATCH_S = 1.0
"""Target work per batch, in seconds of one process: Dask's overhead per task
is about a millisecond on a local cluster and more over a network."""
TAPER = 2.0
"""Near a run's end a batch holds at most the work still to batch over this many times the workers: the last
batches get smaller and smaller, so that no worker is left with a large one while the others have none."""
MIN_BATCH_SHARE = 20
"""The smallest batch the tapering makes is the target over this (0.05 s of work), so that the last batches'
own costs (a submission and its result, about a millisecond on a local Dask cluster) stay small."""
IN_FLIGHT_PER_WORKER = 4
"""Batches submitted ahead per worker: enough to keep workers busy while the
oldest batch finishes, few enough to bound the results held out of order."""

T = TypeVar("T")
Batch = list


class ExecutorUnavailable(RuntimeError):
    """The executor asked for cannot run here (``dask`` without dask.distributed installed)."""


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler with workers answered at ``filename`` (the address); ``strerror`` says why."""

    def __init__(self, address: str, cause: str):
        super().__init__(None, cause, address)


def batch_tasks(costs: Sequence[float], target_s: Optional[float] = None, workers: int = 1) -> list[range]:
    """Split tasks ``0..len(costs)-1`` into consecutive batches, in order.

    A batch closes as soon as its estimated cost reaches its goal, the target
    (default ``BATCH_S``), so a task costlier than the target is a batch of its
    own. A run of less than the target is one batch, run in the calling process
    by the ``processes`` executor: starting workers would cost more (about 2 s
    each where they are spawned). With several ``workers``, the goal shrinks
    towards the run's end (the cost still to batch over ``TAPER`` times the
    workers, at least ``target / MIN_BATCH_SHARE``), so the workers run out of
    work together: with batches of equal size, the last one would run on one
    worker while the others wait (on the Xi'an round, an odd count of 0.9 s
    batches would leave one core idle for most of a batch; benchmarks/README.md).
    """
    if not costs:
        return []
    target = BATCH_S if target_s is None else target_s
    remaining = math.fsum(costs)
    tapered = workers > 1 and remaining >= target  # a run of less than the target stays whole
    least = target / MIN_BATCH_SHARE

    def goal() -> float:
        return min(target, max(least, remaining / (TAPER * workers))) if tapered else target

    batches: list[range] = []
    start, cost, closing = 0, 0.0, goal()
    for index, task in enumerate(costs):
        cost += task
        if cost >= closing:
            batches.append(range(start, index + 1))
            remaining -= cost
            start, cost, closing = index + 1, 0.0, goal()
    if start < len(costs):
        batches.append(range(start, len(costs)))
    return batches


def check_executor(executor: str, scheduler: Optional[str] = None) -> None:
    """Raise, before anything runs, if ``executor`` is unknown, cannot run here, or ``scheduler`` is given
    without dask or is not an address (ValueError)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if executor != "dask" and scheduler is not None:
        raise ValueError("a scheduler address is for the dask executor only")
    if executor == "dask" and not dask_available():
        raise ExecutorUnavailable(DASK_MISSING)
    if scheduler is not None:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend

        try:
            scheme, location = parse_address(scheduler)
            get_backend(scheme)
            if scheme in ("tcp", "tls"):
                parse_host_port(location)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{scheduler!r} is not a scheduler address such as tcp://10.0.0.5:8786 ({exc})") from None


def runs_in_process(executor: str, jobs: int, batches: int) -> bool:
    """True when ``run_batches`` would run every batch in the calling process."""
    return executor == "serial" or (executor == "processes" and (jobs <= 1 or batches <= 1))


def forks_workers(executor: str, jobs: int, batches: int) -> bool:
    """True when ``run_batches`` would run the batches in forked local workers (``START_METHOD``)."""
    return executor == "processes" and START_METHOD == "fork" and not runs_in_process(executor, jobs, batches)


def run_batches(
    function: Callable[[Any, Batch], list[T]],
    shared: Any,
    batches: Sequence[Batch],
    executor: str = DEFAULT_EXECUTOR,
    jobs: int = 1,
    scheduler: Optional[str] = None,
) -> Iterator[list[T]]:
    """Yield ``function(shared, batch)`` for every batch, in batch order, computed by ``executor``.

    ``function`` must be importable by name (a module-level function) for the
    worker processes; ``shared`` is pickled once per worker.
    """
    check_executor(executor, scheduler)
    if runs_in_process(executor, jobs, len(batches)):
        for batch in batches:
            yield function(shared, batch)
    elif executor == "processes":
        yield from _processes(function, shared, batches, jobs)
    else:
        yield from _dask(function, shared, batches, jobs, scheduler)


def in_order(submit: Callable[[int, Batch], Any], batches: Iterable[Batch], in_flight: int) -> Iterator[Any]:
    """Submit batches (``submit(index, batch)`` returns a future), at most ``in_flight`` ahead; yield results in order.

    A future finished out of order keeps its result until its turn. If the
    consumer stops (an error, Ctrl-C, ``close()``), the futures not yet
    collected are cancelled.
    """
    numbered = enumerate(batches)
    pending: collections.deque = collections.deque(submit(i, b) for i, b in itertools.islice(numbered, max(1, in_flight)))
    try:
        while pending:
            result = pending.popleft().result()
            following = next(numbered, None)
            if following is not None:
                pending.append(submit(*following))
            yield result
    finally:
        for future in pending:
            future.cancel()


# ---------------------------------------------------------------- local processes

_worker: dict[str, Any] = {}

START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
"""How local workers start. ``fork``: a copy of the calling process, with simsampling, numpy and numba imported
and the shared object in memory (a spawned worker of a city round spent about 2 s of CPU on imports and
unpickling the scenario before its first point); only on Linux, where forking a process that has threads is
safe for what a worker does (no other thread runs in the child; its standard streams are opened afresh, as a
thread of the parent, a progress bar, may have held their locks). ``spawn`` elsewhere: macOS and Windows."""

_forked: dict[str, tuple[Callable[[Any, Batch], list], Any]] = {}
"""What forked workers find in the memory they inherit, by pool: the function and the shared object."""


SHARED_PREFIX = "simsampling-shared-"
"""Temporary files handing ``shared`` to local workers: ``simsampling-shared-<pid>@<host>-<random>.pickle``."""


def remove_stale_shared() -> list[Path]:
    """Remove the files that runs killed on this host left for their workers (``SHARED_PREFIX``); return them."""
    return [path for path in stale(Path(tempfile.gettempdir()), SHARED_PREFIX) if remove(path)]


WORKER = "a worker process of the simulation"
"""What a local worker is called if it dies (``stopping.ProcessDied``)."""


def _set_worker(function: Callable[[Any, Batch], list], shared_path: str, parent: Optional[int] = None) -> None:
    exit_when_orphaned(parent)  # a worker must not outlive a killed run
    with open(shared_path, "rb") as handle:
        _worker.update(function=function, shared=ForkingPickler.loads(handle.read()))


def _set_forked_worker(pool: str, parent: int) -> None:
    settle_forked_child(parent)
    die_by_signals()  # not the command's way of stopping, inherited with its memory
    function, shared = _forked[pool]
    _worker.update(function=function, shared=shared)


def _worker_batch(batch: Batch) -> list:
    return _worker["function"](_worker["shared"], batch)


def _processes(function, shared, batches: Sequence[Batch], jobs: int) -> Iterator[list]:
    workers = min(jobs, len(batches))
    if START_METHOD == "fork":
        pool_id = uuid.uuid4().hex
        _forked[pool_id] = (function, shared)  # the workers are forked at the first submit, and see it
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_set_forked_worker, initargs=(pool_id, os.getpid()))
        done = functools.partial(_forked.pop, pool_id, None)
    else:
        # ``shared`` reaches spawned workers in a file, pickled once: sent with their start-up message
        # (larger than a pipe holds), the parent would wait for each child in turn to import
        # simsampling and read it, about 2.5 s per worker for a city.
        remove_stale_shared()
        descriptor, shared_path = tempfile.mkstemp(prefix=owned_prefix(SHARED_PREFIX), suffix=".pickle")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(ForkingPickler.dumps(shared))
        except BaseException:
            os.remove(shared_path)
            raise
        # spawn: workers start clean (no inherited threads or locks from the parent).
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_set_worker, initargs=(function, shared_path, os.getpid()))
        done = functools.partial(os.remove, shared_path)
    try:
        yield from in_order(lambda _, batch: pool.submit(_worker_batch, batch), batches, IN_FLIGHT_PER_WORKER * workers)
    except BrokenProcessPool:  # the other workers are stopped by the pool itself
        _close(pool, done, cancel=True)
        raise ProcessDied(WORKER) from None
    except BaseException:  # an error, Ctrl-C or the caller stopping early: stop the workers now
        _close(pool, done, cancel=True)
        raise
    # Every batch is back. A worker takes up to a second to exit (a spawned one's interpreter
    # teardown, with numba loaded): the caller goes on meanwhile.
    threading.Thread(target=_close, args=(pool, done), name="simsampling-pool-close").start()


def _close(pool: ProcessPoolExecutor, done: Callable[[], Any], cancel: bool = False) -> None:
    """Shut the pool down, waiting for its workers, then forget what they were handed (``done``)."""
    try:
        pool.shutdown(wait=True, cancel_futures=cancel)
    finally:
        done()


# ---------------------------------------------------------------- Dask

DASK_MISSING = (
    "the dask executor needs dask.distributed, which is not installed; "
    'install it with pip install "simsampling[cluster]" (or pip install distributed), '
    "or use --executor processes"
)


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _ctrl_c_ignored():
    """Ignore SIGINT while child processes are started (in the main thread; elsewhere, do nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


CONNECT_S = 10.0
"""Seconds allowed to reach a Dask scheduler and hear from it."""


def scheduler_workers(address: str, timeout_s: float = CONNECT_S) -> int:
    """How many workers the Dask scheduler at ``address`` has, asked within ``timeout_s`` (its ``identity``).

    Asked with distributed's own messages over one connection, in a thread of its
    own with a deadline over the whole exchange: a server that accepts and never
    answers, answers another protocol (a length of exabytes: MemoryError) or is
    not there ends as a :class:`SchedulerUnreachable`, and leaves no client behind.
    """
    import asyncio

    from distributed.comm import connect as open_comm

    async def identity() -> dict:
        comm = await open_comm(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    box: dict[str, Any] = {}

    def ask() -> None:
        try:
            box["identity"] = asyncio.run(asyncio.wait_for(identity(), timeout_s))
        except BaseException as exc:  # noqa: BLE001 - whatever it is, it is reported below
            box["error"] = exc

    thread = threading.Thread(target=ask, name="simsampling-dask-identity", daemon=True)
    thread.start()
    thread.join(timeout_s + 2.0)
    error = box.get("error")
    if thread.is_alive() or isinstance(error, (asyncio.TimeoutError, TimeoutError)) or "Timed out" in str(error or ""):
        raise SchedulerUnreachable(address, f"no answer from a Dask scheduler within {timeout_s:g} s "
                                            "(is one running there?)")
    if error is not None:
        if isinstance(error, OSError) and error.strerror:
            raise SchedulerUnreachable(address, f"cannot be reached ({error.strerror})")
        cause = f"{type(error).__name__}: {error}"[:200].rstrip(": ")
        raise SchedulerUnreachable(address, f"did not answer as a Dask scheduler ({cause})")
    info = box.get("identity")
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise SchedulerUnreachable(address, "answered, but not as a Dask scheduler")
    return len(info.get("workers") or {})


_reached: set[str] = set()


def check_scheduler(address: str) -> None:
    """Refuse (``SchedulerUnreachable``) a scheduler that cannot be reached or has no workers; once per process."""
    if address in _reached:
        return
    if scheduler_workers(address) == 0:
        raise SchedulerUnreachable(address, "the Dask scheduler has no workers: start them first")
    _reached.add(address)


def _dask(function, shared, batches: Sequence[Batch], jobs: int, scheduler: Optional[str]) -> Iterator[list]:
    try:
        from distributed import Client, KilledWorker, LocalCluster
    except ImportError:
        raise ExecutorUnavailable(DASK_MISSING) from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            with _ctrl_c_ignored():  # the workers inherit it: Ctrl-C stops the run here, which closes them
                # Its warnings are Dask's housekeeping, not the planner's (on Ctrl-C: tasks cancelled as the
                # cluster closes, before the one line that says the run was interrupted); errors still show.
                cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
            stack.enter_context(cluster)
            client = stack.enter_context(Client(cluster))
        else:
            check_scheduler(scheduler)
            client = stack.enter_context(Client(scheduler, timeout=CONNECT_S))
        workers = max(1, sum(client.nthreads().values()))
        remote_shared = client.scatter(shared, broadcast=True, hash=False)
        run = uuid.uuid4().hex[:12]

        def submit(index: int, batch: Batch):
            # Earlier batches first (higher priority), so results arrive about in the order they are folded.
            return client.submit(
                function, remote_shared, batch, key=f"simsampling-batch-{run}-{index}", pure=False, priority=-index
            )

        try:
            yield from in_order(submit, batches, IN_FLIGHT_PER_WORKER * workers)
        except KilledWorker:  # the batch killed every worker that took it (Dask retries it on others first)
            raise ProcessDied("a Dask worker") from None
