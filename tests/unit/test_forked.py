"""report/forked.py: work done in a forked child while the caller goes on."""

from __future__ import annotations

import os
import time

import pytest

from simsampling.report import forked
from simsampling.report.forked import AsideError, aside


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
