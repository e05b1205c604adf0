"""run_scenario folds the points' tallies in groups (replicate.FOLD_EVERY): the figures do not depend on the group size."""

from __future__ import annotations

import numpy as np

from simsampling import run_scenario
from simsampling.experiment import replicate
from simsampling.experiment.replicate import pool_counts
from simsampling.metrics import Durations
from simsampling.scenario import validate_scenario


def district():
    return validate_scenario({
        "name": "folding", "seed": 5, "replications": 2,
        "clock": {"open": "07:00", "close": "13:00"},
        "defaults": {"tents": 2, "queue": "shared", "stages": {"swab": {}}},
        "points": [{"id": f"p{k}", "population": 150 + 40 * k} for k in range(7)],
        "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "12:00", "share": 1.0}]},
    })


def test_folding_point_by_point_or_all_at_once_gives_the_same_figures(monkeypatch):
    scenario = district()
    at_once = run_scenario(scenario, executor="serial")
    monkeypatch.setattr(replicate, "FOLD_EVERY", 1)
    one_by_one = run_scenario(scenario, executor="serial")
    assert at_once.run_kpis == one_by_one.run_kpis  # exact: the same sums in the same order
    assert at_once.summary["points"] == one_by_one.summary["points"]
    assert at_once.point_summaries == {p: replicate.summarise(k) for p, k in at_once.point_kpis.items()}


def test_batches_of_any_size_add_up_their_counts_to_the_same_figures(monkeypatch):
    """A worker adds up its batch's durations' bins and wait counts, per replication (replicate.pool_counts):
    batches of several tasks, across a replication's end, give the figures of one task at a time."""
    scenario = district()
    one_by_one = run_scenario(scenario, executor="serial")  # in this process, a task at a time
    monkeypatch.setattr(replicate, "runs_in_process", lambda *args: False)
    for size in (3, 14):
        monkeypatch.setattr(replicate, "batch_tasks", lambda costs, size=size, **_: [range(start, min(start + size, len(costs)))
                                                                               for start in range(0, len(costs), size)])
        batches = []
        monkeypatch.setattr(replicate, "pool_counts", lambda runs: batches.append(len(runs)) or pool_counts(runs))
        batched = run_scenario(scenario, executor="serial")
        assert batches == [size] * (14 // size) + ([14 % size] if 14 % size else [])
        assert repr(batched.run_kpis) == repr(one_by_one.run_kpis)  # exact (NaN included)
        assert repr(batched.summary["points"]) == repr(one_by_one.summary["points"])
        assert list(batched.wait_counts) == list(one_by_one.wait_counts)
        for stage, counts in one_by_one.wait_counts.items():
            assert batched.wait_counts[stage].dtype == counts.dtype
            np.testing.assert_array_equal(batched.wait_counts[stage], counts)


def test_a_batch_sends_its_counts_added_up_on_each_replications_first_run():
    scenario = district()
    shared = replicate._Shared(scenario, 60.0, False, ("simpy",) * len(scenario.points))
    batch = [(0, 5), (0, 6), (1, 0), (1, 1)]
    alone = [replicate.simulate_task(scenario, rep, index, 60.0, keep_log=False, engine="simpy") for rep, index in batch]
    runs = replicate._run_batch(shared, batch)
    assert [run.pooled is not None for run in runs] == [True, False, True, False]
    assert all(run.wait_counts == {} and all(d.bins.size == 0 for d in run.tally.durations.values()) for run in runs)
    for first, pair in ((runs[0], alone[:2]), (runs[2], alone[2:])):
        for stage, counts in first.pooled.wait_counts.items():
            np.testing.assert_array_equal(counts, pair[0].wait_counts[stage] + pair[1].wait_counts[stage])
        for kind, (bins, counts) in first.pooled.bins.items():
            want = Durations.pooled([run.tally.durations[kind] for run in pair])
            np.testing.assert_array_equal(bins, want.bins)
            np.testing.assert_array_equal(counts, want.counts)
