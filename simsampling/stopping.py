"""How a command stops short of finishing: a signal that stops it as Ctrl-C does, or a process of its own that died.

SIGTERM (``kill``, a scheduler's time limit) and SIGHUP (the terminal closed) raise
:class:`Stopped`, a ``KeyboardInterrupt``, in the command's main thread: the command
unwinds as for Ctrl-C, its workers and forked children are ended, its scratch
folders removed, and it exits with the status of an interruption. A worker or
forked child that dies (the system's out-of-memory killer, a ``kill``) is raised as
:class:`ProcessDied`, which says what died and how: the command ends with one line.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from pathlib import Path
from typing import Iterator, Optional

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that stop a command as Ctrl-C does (SIGHUP does not exist on Windows)."""


class Stopped(KeyboardInterrupt):
    """The command was asked to stop by a signal other than Ctrl-C's; ``str()`` is the signal's name."""


class ProcessDied(RuntimeError):
    """A process working for the command ended without its result: ``str()`` says which and how."""

    def __init__(self, what: str, status: Optional[int] = None, how: Optional[str] = None):
        self.what, self.how = what, how if how is not None else _how(status)
        super().__init__(f"{what} died ({self.how})")

    def __reduce__(self):
        """Pickled whole (how it died, as said where it was seen): a forked child hands back the death of its own."""
        return ProcessDied, (self.what, None, self.how)


def interruption(exc: KeyboardInterrupt) -> str:
    """How the command was interrupted, as the first words of its last line."""
    return f"interrupted by {exc}" if isinstance(exc, Stopped) else "interrupted"


def _raise_stopped(number: int, frame, ignored: tuple = STOP_SIGNALS) -> None:
    """Raise :class:`Stopped` (``KeyboardInterrupt`` for SIGINT), ignoring the signals ``ignored`` from now on: a
    second one while the process unwinds would interrupt its clean-up."""
    for each in ignored:
        signal.signal(each, signal.SIG_IGN)
    if number == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signal.Signals(number).name)


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` (in the main thread; elsewhere, nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _raise_stopped) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop_by_signals() -> None:
    """In a forked child that must clean up before it ends (kill and wait for its own children): SIGTERM and SIGHUP
    raise :class:`Stopped`, whatever the parent did with them, and SIGINT ``KeyboardInterrupt`` unless the parent
    ignores it (a command started in the background). Once one did, the others are ignored: Ctrl-C reaches the
    whole process group, then the parent ends the child with SIGTERM, which raised again while the child unwinds
    would take it out of its clean-up and past its ``os._exit``, into its parent's code."""
    interrupted = () if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else (signal.SIGINT,)  # as the parent has it
    once = functools.partial(_raise_stopped, ignored=STOP_SIGNALS + (signal.SIGINT,))  # Ctrl-C's, then the parent's SIGTERM
    for number in STOP_SIGNALS + interrupted:
        signal.signal(number, once)


def die_by_signals() -> None:
    """In a worker forked from a command: SIGTERM and SIGHUP end it at once, as for any process, rather than
    raising the command's :class:`Stopped` in the middle of its pool's loop (a traceback on the terminal)."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_DFL)


_OOM_KILLS = Path("/proc/vmstat")


def oom_kills() -> Optional[int]:
    """Processes the system's out-of-memory killer has ended since it started (Linux; elsewhere None)."""
    try:
        for line in _OOM_KILLS.read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


_OOM_KILLS_AT_START = oom_kills()


def _how(status: Optional[int]) -> str:
    """How a process ended, from its wait status (None: not known), and whether memory ran out."""
    code = None if status is None else os.waitstatus_to_exitcode(status)
    now = oom_kills()
    if now is not None and _OOM_KILLS_AT_START is not None and now > _OOM_KILLS_AT_START:
        return "killed, it seems by the system because memory ran out"
    if code is None:
        return "ended abruptly, perhaps for want of memory" if now is None else "ended abruptly"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        memory = ", perhaps for want of memory" if -code == getattr(signal, "SIGKILL", 9) and now is None else ""
        return f"killed by {name}{memory}"
    return f"exit status {code}"
