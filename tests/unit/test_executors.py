"""Batching of tasks and in-order collection of results (experiment/executors.py)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.experiment import executors
from simsampling.experiment.costs import task_s
from simsampling.experiment.executors import BATCH_S, batch_tasks, check_executor, in_order, run_batches


def test_batches_are_consecutive_and_cover_every_task_once():
    costs = [0.3, 0.05, 0.9, 2.5, 0.01, 0.01, 0.6, 0.6, 0.2]
    batches = batch_tasks(costs, target_s=1.0)
    assert [i for batch in batches for i in batch] == list(range(len(costs)))
    assert all(batch.step == 1 and len(batch) > 0 for batch in batches)


def test_every_batch_but_the_last_reaches_the_target_and_big_tasks_stand_alone():
    costs = [0.3, 0.05, 0.9, 2.5, 0.01, 0.01, 0.6, 0.6, 0.2]
    batches = batch_tasks(costs, target_s=1.0)
    assert [list(b) for b in batches] == [[0, 1, 2], [3], [4, 5, 6, 7], [8]]
    for batch in batches[:-1]:
        assert sum(costs[i] for i in batch) >= 1.0
        # closed as soon as the target was reached: without its last task it was below
        assert sum(costs[i] for i in batch[:-1]) < 1.0


def test_thousands_of_tiny_points_make_few_batches():
    costs = [task_s(20)] * 4485  # Xi'an-sized count of points with 20 residents each, on SimPy
    batches = batch_tasks(costs)
    assert 15 <= len(batches) <= 25  # 4485 * 4.5 ms ~ 20 s of work, batches of a second
    assert batch_tasks([]) == []
    assert [list(b) for b in batch_tasks([0.1, 0.1])] == [[0, 1]]  # less than a second: one batch


def finish_times(costs, batches, workers):
    """When each worker is done if every free worker takes the next batch, in order (a pool's queue)."""
    done = [0.0] * workers
    for batch in batches:
        first_free = done.index(min(done))
        done[first_free] += sum(costs[i] for i in batch)
    return done


def test_with_several_workers_the_last_batches_shrink_so_the_workers_end_together():
    costs = [0.0029] * 4485  # about the Xi'an round on the fast engine: 13 s of work
    plain, tapered = batch_tasks(costs), batch_tasks(costs, workers=2)
    assert [i for batch in tapered for i in batch] == list(range(len(costs)))
    sizes = [len(batch) for batch in tapered]
    assert sizes[0] == len(plain[0]) and sizes[-2] < sizes[0] / 10  # a second's work at first, then less and less
    assert all(later <= earlier for earlier, later in zip(sizes, sizes[1:]))
    assert min(sizes[:-1]) * 0.0029 >= BATCH_S / executors.MIN_BATCH_SHARE
    plain_done, tapered_done = finish_times(costs, plain, 2), finish_times(costs, tapered, 2)
    assert max(plain_done) - min(plain_done) > 0.9  # 13 batches of a second: one worker runs the last alone
    assert max(tapered_done) - min(tapered_done) <= BATCH_S / executors.MIN_BATCH_SHARE
    assert max(tapered_done) < max(plain_done) - 0.4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 3.0), max_size=300), st.integers(1, 8))
def test_tapered_batches_cover_every_task_once_and_close_at_their_goal(costs, workers):
    batches = batch_tasks(costs, target_s=1.0, workers=workers)
    assert [i for batch in batches for i in batch] == list(range(len(costs)))
    if sum(costs) < 1.0:
        assert len(batches) <= 1  # a run of less than the target stays whole (in the calling process)
    least = 1.0 / executors.MIN_BATCH_SHARE
    for batch in batches[:-1]:  # each closed on the task that brought it to its goal, between least and target
        assert sum(costs[i] for i in batch) >= least
        assert sum(costs[i] for i in batch[:-1]) < 1.0


def test_task_cost_grows_with_population_and_is_smaller_on_the_fast_engine():
    assert task_s(100_000, "simpy") > task_s(10_000, "simpy") > task_s(10_000, "fast")
    assert 1.5 < task_s(100_000) / BATCH_S < 4  # a big point is a batch of its own


def test_results_come_back_in_order_when_batches_finish_out_of_order():
    finished = []
    lock = threading.Lock()

    def work(index: int) -> int:
        time.sleep(0.02 * (6 - index))  # the first batches take longest
        with lock:
            finished.append(index)
        return index

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(in_order(lambda i, batch: pool.submit(work, batch), range(6), in_flight=6))
    assert results == list(range(6))
    assert finished != sorted(finished)  # they did finish out of order


def test_no_more_than_in_flight_batches_are_submitted_ahead():
    submitted = []

    class Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

        def cancel(self):
            pass

    def submit(index, batch):
        submitted.append(index)
        return Done(batch)

    results = in_order(submit, iter(range(10)), in_flight=3)
    assert next(results) == 0 and submitted == [0, 1, 2, 3]
    assert list(results) == list(range(1, 10))


def test_stopping_early_cancels_the_batches_not_collected():
    cancelled = []

    class Pending:
        def __init__(self, index):
            self.index = index

        def result(self):
            return self.index

        def cancel(self):
            cancelled.append(self.index)

    results = in_order(lambda i, batch: Pending(i), range(10), in_flight=4)
    assert next(results) == 0
    results.close()
    assert cancelled == [1, 2, 3, 4]


def _double(shared: int, batch: list) -> list:
    return [shared * x for x in batch]


@pytest.mark.parametrize("executor, jobs", [("serial", 1), ("processes", 1), ("processes", 2)])
def test_run_batches_returns_every_batch_in_order(executor: str, jobs: int):
    batches = [[1, 2], [3], [4, 5, 6]]
    assert list(run_batches(_double, 10, batches, executor=executor, jobs=jobs)) == [[10, 20], [30], [40, 50, 60]]


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_forked_and_spawned_workers_return_the_same_and_leave_nothing(start: str, monkeypatch):
    if start == "fork" and not hasattr(os, "fork"):
        pytest.skip("no fork here")
    monkeypatch.setattr(executors, "START_METHOD", start)
    shared = {"factor": 10, "big": list(range(100_000))}  # larger than a pipe holds
    batches = [[1, 2], [3], [4, 5, 6]]
    assert list(run_batches(_scaled, shared, batches, executor="processes", jobs=2)) == [[10, 20], [30], [40, 50, 60]]
    deadline = time.monotonic() + 30  # the pool closes in a thread
    while (executors._forked or executors.remove_stale_shared() or any(
            t.name == "simsampling-pool-close" for t in threading.enumerate())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executors._forked == {}


def _scaled(shared: dict, batch: list) -> list:
    return [shared["factor"] * x for x in batch]


def test_bad_executor_arguments_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="unknown executor"):
        check_executor("threads")
    with pytest.raises(ValueError, match="dask executor only"):
        check_executor("processes", "tcp://localhost:8786")
    monkeypatch.setattr(executors, "dask_available", lambda: False)
    with pytest.raises(executors.ExecutorUnavailable, match="distributed"):
        check_executor("dask")


def test_a_run_of_one_batch_starts_no_workers(monkeypatch):
    """The demo's five quick tasks are one batch: with --jobs 2 they still run here, task by task
    (starting worker processes would cost seconds each time; advise makes six such runs)."""
    from pathlib import Path

    from simsampling.experiment import replicate
    from simsampling.scenario import load_scenario

    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes were started for a run of one batch")

    monkeypatch.setattr(executors, "_processes", no_workers)
    demo = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml")
    done = []
    replicate.run_scenario(demo, jobs=2, progress=lambda d, total: done.append(d))
    assert done == [1, 2, 3, 4, 5]
