"""Work done in forked child processes while this one goes on: the charts, while the tables are written.

Drawing a run's charts takes matplotlib about as long as the rest of the run's
outputs, and the simulation's workers are gone by then, so the second core is free.
:func:`aside` forks a child that sees the finished run as it is in memory: nothing is
pickled, and its pixels are those this process would draw. :func:`share` spreads a
list of such pieces of work (charts) over this process and forked children, each
taking the next piece when it is free. :func:`prepared` forks a child at the start of
a run, which imports what the work needs (matplotlib: half a second of CPU) while
this process simulates, then is handed the work, pickled (small runs only: a city's
series would be hundreds of megabytes). Where ``fork`` does not exist (Windows) the
work is done in this process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import threading
import traceback
from typing import Any, Callable, Iterator, Optional, Sequence

from ..leftovers import settle_forked_child


class AsideError(RuntimeError):
    """The work done aside raised; the message holds the child's traceback."""


@contextlib.contextmanager
def aside(work: Callable[[], Any]) -> Iterator[Callable[[], Any]]:
    """Start ``work()`` in a forked child; yield a function that waits for it and returns its (picklable) result.

    Leaving the block early (an error, Ctrl-C) kills the child. The result is
    read only through the yielded function, inside the block; an ``OSError`` of
    the child (a full disk) is raised as itself, anything else as ``AsideError``.
    """
    if not hasattr(os, "fork"):
        value = work()
        yield lambda: value
        return
    read_end, write_end = os.pipe()
    parent = os.getpid()
    # The parent's objects go to the collector's permanent generation for the fork: a collection in the child
    # would otherwise walk (and so copy, page by page) the whole of a city's run that it shares. Objects frozen
    # already (``collector.kept_frozen``: a run's results) are left so for whoever froze them.
    frozen = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        child = os.fork()
    except OSError:  # no process to be had: the pipe goes too
        os.close(read_end)
        os.close(write_end)
        raise
    finally:
        if os.getpid() == parent and not frozen:  # here (or the fork failed): the collector as it was
            gc.unfreeze()
    if child == 0:  # the child: do the work, hand back its result or traceback, leave without any clean-up
        status = 1
        try:
            settle_forked_child(parent)  # the charts of a killed run are not drawn
            os.close(read_end)
            try:
                message, status = pickle.dumps((True, work())), 0
            except BaseException as exc:  # an OSError (a full disk) is handed back as itself
                message = pickle.dumps((False, (traceback.format_exc(), exc if isinstance(exc, OSError) else None)))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(message)
        finally:
            os._exit(status)
    os.close(write_end)
    pipe = os.fdopen(read_end, "rb")
    reaped = False

    def result() -> Any:
        nonlocal reaped
        message = pipe.read()
        os.waitpid(child, 0)
        reaped = True
        if not message:
            raise AsideError("the child process ended without a result")
        done, value = pickle.loads(message)
        if not done:
            text, error = value
            if error is not None:
                raise error
            raise AsideError(f"in the child process:\n{text}")
        return value

    try:
        yield result
    finally:
        pipe.close()
        if not reaped:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


def share(items: Sequence[Any], work: Callable[[Any], Any], processes: int = 2) -> list[Any]:
    """``[work(item) for item in items]``, done by this process and ``processes - 1`` forked children.

    Each process takes the next item when it is free (put the longest first), so a
    few pieces of uneven length end about together. Results (picklable) come in the
    items' order. At most 255 items (their indices travel as single bytes on a pipe).
    """
    if len(items) > 255:
        raise ValueError(f"share takes at most 255 items, not {len(items)}")
    if processes <= 1 or len(items) <= 1 or not hasattr(os, "fork"):
        return [work(item) for item in items]
    read_end, write_end = os.pipe()
    os.write(write_end, bytes(range(len(items))))  # the queue: a byte per item, well within a pipe's buffer
    os.close(write_end)

    def take() -> dict[int, Any]:
        done = {}
        while taken := os.read(read_end, 1):  # a one-byte read from a pipe is atomic: no item is taken twice
            done[taken[0]] = work(items[taken[0]])
        return done

    try:
        with contextlib.ExitStack() as children:
            helpers = [children.enter_context(aside(take)) for _ in range(min(processes, len(items)) - 1)]
            done = take()
            for helper in helpers:
                done.update(helper())
    finally:
        os.close(read_end)
    return [done[index] for index in range(len(items))]


class Prepared:
    """A forked child that has prepared (imported) what a piece of work needs, waiting to be handed it."""

    def __init__(self, job: Optional[int], result: Callable[[], Any]):
        self._job, self._result = job, result

    def start(self, work: Callable[[], Any]) -> Callable[[], Any]:
        """Hand ``work`` (pickled: a module-level function with its arguments) to the child; return a
        function that waits for its result. Without ``fork``: done here, now."""
        if self._job is None:
            value = work()
            return lambda: value
        message, job = pickle.dumps(work), self._job
        self._job = None

        def send() -> None:  # in a thread: the child may still be importing when this process has tables to write
            try:
                with os.fdopen(job, "wb") as pipe:
                    pipe.write(message)
            except BrokenPipeError:  # the child ended early: its result() says why
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()

        def result() -> Any:
            sender.join()
            return self._result()

        return result


@contextlib.contextmanager
def prepared(prepare: Callable[[], Any]) -> Iterator[Prepared]:
    """Fork a child now that runs ``prepare()`` and then waits for the work of :meth:`Prepared.start`.

    Leaving the block kills the child if its result was not read (the work never came, or an error).
    """
    if not hasattr(os, "fork"):
        yield Prepared(None, lambda: None)
        return
    job_read, job_write = os.pipe()

    def serve() -> Any:
        os.close(job_write)
        prepare()
        with os.fdopen(job_read, "rb") as pipe:
            message = pipe.read()
        if not message:
            raise AsideError("no work was handed over")
        return pickle.loads(message)()

    ready: Optional[Prepared] = None
    try:
        with aside(serve) as result:
            os.close(job_read)
            job_read = -1
            ready = Prepared(job_write, result)
            yield ready
    finally:
        if job_read >= 0:
            os.close(job_read)
        if ready is None:
            os.close(job_write)
        elif ready._job is not None:  # the work never came
            os.close(ready._job)
