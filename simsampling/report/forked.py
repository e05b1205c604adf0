"""Work done in a forked child process while this one goes on: the charts, while the tables are written.

Drawing a city's charts takes matplotlib 3-4 s of one core, about as long as
writing its tables, and the simulation's workers are gone by then, so the second
core is free. A forked child sees the finished run as it is in memory: nothing
is pickled, and its pixels are those this process would draw. Where ``fork``
does not exist (Windows) the work is done in this process, first.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import traceback
from typing import Any, Callable, Iterator


class AsideError(RuntimeError):
    """The work done aside raised; the message holds the child's traceback."""


@contextlib.contextmanager
def aside(work: Callable[[], Any]) -> Iterator[Callable[[], Any]]:
    """Start ``work()`` in a forked child; yield a function that waits for it and returns its (picklable) result.

    Leaving the block early (an error, Ctrl-C) kills the child. The result is
    read only through the yielded function, inside the block.
    """
    if not hasattr(os, "fork"):
        value = work()
        yield lambda: value
        return
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: do the work, hand back its result or traceback, leave without any clean-up
        status = 1
        try:
            os.close(read_end)
            # Fresh standard streams: a thread of the parent (a progress bar) may have held theirs.
            sys.stdout = open(1, "w", encoding=sys.stdout.encoding, errors="replace", closefd=False)
            sys.stderr = open(2, "w", encoding=sys.stderr.encoding, errors="backslashreplace", closefd=False)
            try:
                message, status = pickle.dumps((True, work())), 0
            except BaseException:
                message = pickle.dumps((False, traceback.format_exc()))
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
            raise AsideError(f"in the child process:\n{value}")
        return value

    try:
        yield result
    finally:
        pipe.close()
        if not reaped:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
