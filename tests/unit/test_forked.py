"""report/forked.py: work done in forked children while the caller goes on, shared by two processes, or handed to a child prepared earlier."""

from __future__ import annotations

import functools
import gc
import os
import pickle
import signal
import time

import pytest

from simsampling.report import forked
from simsampling.report.forked import AsideError, aside
from simsampling.stopping import ProcessDied, stopped_by_signals


def test_the_result_comes_back_and_the_child_ran_in_another_process(tmp_path):
    def work():
        (tmp_path / "drawn").write_text(str(os.getpid()))
        return [tmp_path / "drawn", 42]

    with aside(work) as result:
        assert result() == [tmp_path / "drawn", 42]
    assert int((tmp_path / "drawn").read_text()) != os.getpid()


def test_an_error_in_the_child_is_raised_with_its_traceback():
    def work():
        raise ValueError("no chart today")

    with pytest.raises(AsideError, match="no chart today"):
        with aside(work) as result:
            result()


def test_leaving_early_kills_the_child(tmp_path):
    def work():
        time.sleep(30)
        (tmp_path / "late").write_text("should never be written")

    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with aside(work):
            raise KeyboardInterrupt
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "late").exists()


def test_without_fork_the_work_is_done_here_first(monkeypatch):
    monkeypatch.delattr(forked.os, "fork")
    with aside(os.getpid) as result:
        assert result() == os.getpid()


def test_shared_work_is_done_once_per_item_by_two_processes_in_the_items_order(tmp_path):
    def work(item):
        time.sleep(0.05)  # both processes get items
        (tmp_path / f"{item}-{os.getpid()}").touch()
        return item * 10

    assert forked.share(list(range(12)), work) == [item * 10 for item in range(12)]
    done = [path.name.split("-") for path in tmp_path.iterdir()]
    assert sorted(int(item) for item, _ in done) == list(range(12))  # each item once
    assert len({pid for _, pid in done}) == 2


def test_an_error_in_shared_work_is_raised():
    def work(item):
        if item == 3:
            raise ValueError("item three")
        return item

    with pytest.raises((ValueError, AsideError), match="item three"):
        forked.share(list(range(6)), work)


def prepared_where(name: str) -> str:
    return os.environ[name]


def test_a_prepared_child_does_the_work_handed_later_with_what_it_prepared():
    with forked.prepared(lambda: os.environ.__setitem__("PREPARED_IN", str(os.getpid()))) as child:
        result = child.start(functools.partial(prepared_where, "PREPARED_IN"))
        assert int(result()) != os.getpid()
    assert "PREPARED_IN" not in os.environ


def test_a_prepared_child_hands_data_to_its_own_then():
    """``then`` is the child's since the fork (not pickled: it may hold what both processes share); only the data
    handed over travels."""
    shared = {"big": list(range(1000))}
    prepared_in = []
    with forked.prepared(lambda: prepared_in.append(os.getpid()),
                         then=lambda handed: (len(shared["big"]) + handed, prepared_in[0])) as child:
        total, where = child.start(5)()
    assert total == 1005 and where != os.getpid() and prepared_in == []


def test_without_fork_a_prepared_then_runs_here_after_prepare(monkeypatch):
    monkeypatch.delattr(forked.os, "fork")
    steps = []
    with forked.prepared(lambda: steps.append("prepare"), then=lambda handed: steps.append(handed) or len(steps)) as child:
        assert steps == []
        assert child.start("then")() == 2
    assert steps == ["prepare", "then"]


def test_a_prepared_child_never_handed_work_is_ended():
    started = time.perf_counter()
    with forked.prepared(lambda: None):
        pass
    with pytest.raises(KeyboardInterrupt):
        with forked.prepared(lambda: time.sleep(30)):
            raise KeyboardInterrupt
    assert time.perf_counter() - started < 10


def test_without_fork_prepared_work_is_done_here(monkeypatch):
    monkeypatch.delattr(forked.os, "fork")
    with forked.prepared(lambda: None) as child:
        assert child.start(os.getpid)() == os.getpid()
    assert forked.share([1, 2, 3], lambda item: (item, os.getpid())) == [(1, os.getpid()), (2, os.getpid()), (3, os.getpid())]


def test_a_fork_that_fails_leaves_the_collector_and_no_pipe(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forked.os, "fork", no_fork)
    opened = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with pytest.raises(OSError):
        with forked.aside(lambda: 1):
            pass
    assert gc.get_freeze_count() == 0
    if opened is not None:
        assert len(os.listdir("/proc/self/fd")) == opened


def test_a_child_that_dies_is_named_with_how_it_died():
    with pytest.raises(ProcessDied, match=r"^the process drawing the charts died \(killed"):
        with aside(lambda: os.kill(os.getpid(), signal.SIGKILL), "the process drawing the charts") as result:
            result()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_child_stopped_by_a_signal_of_its_own_is_named_with_the_signal(number):
    """A signal sent to the child alone (a ``kill`` of the process seen busy in ``top``) stops it as it stops the
    command (its own children ended), then it ends by that signal: it died, said in one line, not a traceback."""
    def work():
        os.kill(os.getpid(), number)
        time.sleep(30)

    # A command started in the background ignores SIGINT, and so does its child (``stop_by_signals``): this test
    # wants the usual case, whatever the shell that started pytest did.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(ProcessDied, match=rf"^the process writing the tables died \(killed by {number.name}\)$"):
            with aside(work, "the process writing the tables") as result:
                result()
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_child_asked_to_stop_as_it_is_forked_ends_and_never_runs_its_parents_code(monkeypatch):
    """The parent may end its child right after forking it (a run that fails at once ends the chart drawer it had
    just started). A SIGTERM that reaches the child before its own handlers are set must not run the handler it
    inherited, which would raise ``Stopped`` outside the child's clean-up: unwound into the parent's code, the child
    would go on as a second copy of the parent (here, of this test, reporting a result of its own)."""
    fork, me = os.fork, os.getpid()

    def fork_then_stopped():
        pid = fork()
        if pid == 0:  # the signal reaches the child in its very first instructions
            os.kill(os.getpid(), signal.SIGTERM)
        return pid

    monkeypatch.setattr(os, "fork", fork_then_stopped)
    try:
        with stopped_by_signals(), pytest.raises(ProcessDied, match=r"^the process drawing the charts died \(killed by SIGTERM\)$"):
            with aside(lambda: 1, "the process drawing the charts") as result:
                result()
    finally:
        if os.getpid() != me:  # the child, unwound into this test: it must not go on
            os._exit(99)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="a child's own children are found in /proc")
def test_a_stopped_child_ends_children_of_its_own_it_did_not_know_of_yet(tmp_path):
    """A signal that comes while the child forks a helper is raised before the helper is known to the child (in
    ``share``'s block): stopping, the child ends whatever children of its own still run."""
    def work():
        if os.fork() == 0:  # a helper of its own, not (yet) known to it
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                for index in range(3000):
                    (tmp_path / str(index)).touch()
                    time.sleep(0.005)
            finally:
                os._exit(0)
        while len(list(tmp_path.iterdir())) < 5:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

    started = time.perf_counter()
    with pytest.raises(ProcessDied, match=r"killed by SIGTERM"):
        with aside(work) as result:
            result()
    assert time.perf_counter() - started < 5  # not once the helper, holding the result's pipe, is done (15 s)
    written = sorted(tmp_path.iterdir())
    time.sleep(0.3)
    assert sorted(tmp_path.iterdir()) == written


def test_a_helper_that_dies_is_named_by_the_child_that_shared_its_work_with_it():
    owner = []

    def draw(item):
        if os.getpid() != owner[0]:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer ends it
        time.sleep(0.2)
        return item

    def work():
        owner.append(os.getpid())
        return forked.share([1, 2, 3, 4], draw)

    with pytest.raises(ProcessDied, match=r"^a helper process died \(killed by SIGKILL"):
        with aside(work, "the process drawing the charts") as result:
            result()


def test_a_process_died_travels_whole_through_pickle():
    died = pickle.loads(pickle.dumps(ProcessDied("a helper process", 9)))
    assert isinstance(died, ProcessDied) and str(died) == str(ProcessDied("a helper process", 9))


def test_leaving_early_ends_the_child_s_own_children_before_returning(tmp_path):
    """A child asked to stop ends the helpers it shares its work with: killed outright, they would go on writing
    into a folder the caller is about to remove."""
    def draw(item):
        for index in range(3000):
            (tmp_path / f"{item}-{index}").touch()
            time.sleep(0.005)

    with pytest.raises(KeyboardInterrupt):
        with aside(lambda: forked.share([1, 2], draw)):
            while len(list(tmp_path.iterdir())) < 20:  # both are writing
                time.sleep(0.01)
            raise KeyboardInterrupt
    written = sorted(tmp_path.iterdir())
    time.sleep(1.0)
    assert sorted(tmp_path.iterdir()) == written
