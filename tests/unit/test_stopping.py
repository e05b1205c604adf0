"""stopping.py: how a process that died is described, and signals that stop a command as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import time

import pytest

from simsampling import stopping
from simsampling.stopping import ProcessDied, Stopped, interruption, stopped_by_signals


def killed_status(number: int) -> int:
    """The wait status of a child ended by signal ``number``."""
    child = os.fork()
    if child == 0:
        os.kill(os.getpid(), number)
        os._exit(0)
    return os.waitpid(child, 0)[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="wait statuses of forked children")
def test_how_a_process_died_is_said_and_memory_only_when_the_out_of_memory_killer_acted(monkeypatch):
    monkeypatch.setattr(stopping, "_OOM_KILLS_AT_START", 3)
    monkeypatch.setattr(stopping, "oom_kills", lambda: 3)
    status = killed_status(signal.SIGKILL)
    assert str(ProcessDied("a worker", status)) == "a worker died (killed by SIGKILL)"
    assert str(ProcessDied("a worker")) == "a worker died (ended abruptly)"
    monkeypatch.setattr(stopping, "oom_kills", lambda: 4)
    assert str(ProcessDied("a worker", status)) == "a worker died (killed, it seems by the system because memory ran out)"
    monkeypatch.setattr(stopping, "oom_kills", lambda: None)  # not Linux: no count to read
    assert str(ProcessDied("a worker", status)) == "a worker died (killed by SIGKILL, perhaps for want of memory)"
    assert str(ProcessDied("a worker", killed_status(signal.SIGTERM))) == "a worker died (killed by SIGTERM)"


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM to oneself")
def test_sigterm_in_the_block_is_an_interruption_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Stopped) as stopped:
        with stopped_by_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler raises at once: never slept out
    assert interruption(stopped.value) == "interrupted by SIGTERM"
    assert interruption(KeyboardInterrupt()) == "interrupted"
    assert signal.getsignal(signal.SIGTERM) == before
