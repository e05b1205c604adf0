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
import time
import traceback
from typing import Any, Callable, Iterator, Optional, Sequence

from ..leftovers import own_children, settle_forked_child
from ..stopping import STOP_SIGNALS, ProcessDied, Stopped, stop_by_signals


class AsideError(RuntimeError):
    """The work done aside raised; the message holds the child's traceback."""


END_GRACE_S = 5.0
"""Seconds a child asked to stop (SIGTERM) has to end its own children and leave before it is killed (SIGKILL)."""


class Child:
    """A child forked by :func:`aside`: call it for its result; :meth:`end` stops it."""

    def __init__(self, pid: int, pipe, what: str):
        self._pid, self._pipe, self._what = pid, pipe, what
        self._status: Optional[int] = None

    def __call__(self) -> Any:
        """Wait for the child; its result, its ``OSError``, ``AsideError`` or, if it (or a child of its own) died or was
        stopped by a signal sent to it alone, ``ProcessDied``."""
        message = self._pipe.read()
        status = self._reap()
        if not message:
            raise ProcessDied(self._what, status)
        done, value = pickle.loads(message)
        if not done:
            text, error = value
            if error is not None:
                raise error
            raise AsideError(f"in the child process:\n{text}")
        return value

    def end(self) -> None:
        """Stop the child, and return once it is gone. Asked first (SIGTERM), it unwinds as for Ctrl-C, and so
        kills and waits for children of its own (``share``'s helpers); killed outright, they would go on writing
        into a folder this process is about to remove. One that does not leave within ``END_GRACE_S`` is killed."""
        if self._status is not None:
            return
        os.kill(self._pid, signal.SIGTERM)
        end = time.monotonic() + END_GRACE_S
        while time.monotonic() < end:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
            if pid:
                self._status = status
                return
            time.sleep(0.005)
        os.kill(self._pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> int:
        if self._status is None:
            self._status = os.waitpid(self._pid, 0)[1]
        return self._status


@contextlib.contextmanager
def aside(work: Callable[[], Any], what: str = "a child process") -> Iterator[Callable[[], Any]]:
    """Start ``work()`` in a forked child; yield a function that waits for it and returns its (picklable) result.

    Leaving the block early (an error, Ctrl-C) ends the child (``Child.end``). The
    result is read only through the yielded function, inside the block; an
    ``OSError`` of the child (a full disk) is raised as itself, a child that died
    (``what``, in the message) as ``ProcessDied``, as is one stopped by a signal sent to it
    alone (it unwinds, then ends by that signal) or one whose own child died (``share``'s
    helpers), anything else as ``AsideError``.
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
    # The signals that stop a process are held back over the fork: the parent may end the child at once (a run
    # that fails just after starting its chart drawer), and a SIGTERM in the child's first instructions would run
    # the parent's handler, whose ``Stopped`` would unwind the child into the parent's code, a second copy of it.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS + (signal.SIGINT,))
    try:
        child = os.fork()
    except OSError:  # no process to be had: the pipe goes too
        os.close(read_end)
        os.close(write_end)
        raise
    finally:
        if os.getpid() == parent:  # here (or the fork failed): the signals and the collector as they were
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            if not frozen:
                gc.unfreeze()
    if child == 0:  # the child: do the work, hand back its result or traceback, leave without any clean-up
        status, stopped_by = 1, None
        try:
            stop_by_signals()  # asked to stop, it unwinds: its own children are ended and waited for
            settle_forked_child(parent)  # the charts of a killed run are not drawn
            os.close(read_end)
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a stop asked meanwhile comes now, to its own handler
                message, status = pickle.dumps((True, work())), 0
            except KeyboardInterrupt as exc:  # asked to stop: unwound, it ends by that signal (the parent: ProcessDied)
                stopped_by, message = signal.Signals[str(exc)] if isinstance(exc, Stopped) else signal.SIGINT, b""
            except BaseException as exc:  # an OSError (a full disk) or a death of its own (a helper's) as itself
                handed = exc if isinstance(exc, (OSError, ProcessDied)) else None
                message = pickle.dumps((False, (traceback.format_exc(), handed)))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(message)
        finally:
            if stopped_by is not None:
                # A signal that came while it forked a helper of its own was raised before the helper was known
                # to it (``share``'s block): the helper, never told, would go on drawing into the folder the
                # parent removes until it noticed that its parent was gone. Whatever of its own still runs ends now.
                for pid in own_children():
                    Child(pid, None, "").end()
                signal.signal(stopped_by, signal.SIG_DFL)
                os.kill(os.getpid(), stopped_by)
            os._exit(status)
    os.close(write_end)
    pipe = os.fdopen(read_end, "rb")
    result = Child(child, pipe, what)
    try:
        yield result
    finally:
        result.end()
        pipe.close()


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
            helpers = [children.enter_context(aside(take, "a helper process")) for _ in range(min(processes, len(items)) - 1)]
            done = take()
            for helper in helpers:
                done.update(helper())
    finally:
        os.close(read_end)
    return [done[index] for index in range(len(items))]


def _called(work: Callable[[], Any]) -> Any:
    return work()


class Prepared:
    """A forked child that has prepared (imported) what a piece of work needs, waiting to be handed it."""

    def __init__(self, job: Optional[int], result: Callable[[], Any], here: Optional[Callable[[Any], Any]] = None):
        self._job, self._result, self._here = job, result, here

    def start(self, work: Any) -> Callable[[], Any]:
        """Hand ``work`` (pickled: a module-level function with its arguments, or what ``prepared``'s ``then``
        takes) to the child; return a function that waits for its result. Without ``fork``: done here, now."""
        if self._job is None:
            value = self._here(work)
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

    def end(self) -> None:
        """Stop the child now, and return once it is gone (``Child.end``): the work handed to it stops with it."""
        if isinstance(self._result, Child):
            self._result.end()


@contextlib.contextmanager
def prepared(prepare: Callable[[], Any], what: str = "a child process",
             then: Callable[[Any], Any] = _called) -> Iterator[Prepared]:
    """Fork a child now that runs ``prepare()`` and then waits for the work of :meth:`Prepared.start`.

    The child returns ``then(work)``: by default the work is called; a ``then`` of the caller's (not pickled:
    the child has it since the fork) is handed data instead, e.g. what it must know of a result that this
    process and the child both hold since the fork. Leaving the block ends the child if its result was
    not read (the work never came, or an error); ``what`` names it if it dies (``ProcessDied``).
    Without ``fork``, ``prepare`` and ``then`` are run here when the work is handed over.
    """
    if not hasattr(os, "fork"):
        yield Prepared(None, lambda: None, lambda work: (prepare(), then(work))[1])
        return
    job_read, job_write = os.pipe()

    def serve() -> Any:
        os.close(job_write)
        prepare()
        with os.fdopen(job_read, "rb") as pipe:
            message = pipe.read()
        if not message:
            raise AsideError("no work was handed over")
        return then(pickle.loads(message))

    ready: Optional[Prepared] = None
    try:
        with aside(serve, what) as result:
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
