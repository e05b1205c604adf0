"""steps.py's coarsening: whole groups of k steps, and one group when k outgrows the series (no padding to k)."""

from __future__ import annotations

import numpy as np
import pytest

from simsampling.steps import end_of_groups, mean_of_groups, step_edges, sum_of_groups


@pytest.mark.parametrize("k", [3, 50, 51, 10**13])
def test_groups_of_a_series_shorter_or_longer_than_k(k: int):
    values = np.arange(1.0, 51.0)  # whole numbers: sums are exact whatever the order
    padded = np.concatenate([values, np.zeros(-values.size % k if k < 10**6 else 0)])
    groups = max(1, -(-values.size // k))
    if k < 10**6:
        assert np.array_equal(mean_of_groups(values, k), padded.reshape(groups, k).mean(axis=1))
        assert np.array_equal(sum_of_groups(values, k), padded.reshape(groups, k).sum(axis=1))
    else:  # a century's step over a day in minutes: one group, in the series' memory
        assert np.array_equal(mean_of_groups(values, k), [values.sum() / k])
        assert np.array_equal(sum_of_groups(values, k), [values.sum()])
    assert end_of_groups(values, k)[-1] == 50.0 and end_of_groups(values, k).size == groups


def test_an_empty_series_stays_empty():
    empty = np.empty(0)
    assert mean_of_groups(empty, 10**13).size == sum_of_groups(empty, 10**13).size == end_of_groups(empty, 10**13).size == 0


def test_step_edges_are_numpys_arange_times_the_step_and_shared():
    """Each span's edges are ``np.arange(first, stop) * step_s`` to the bit (a negative first, an empty span, a step
    that does not divide a minute, spans beyond what was made so far), later spans of a step views of one array."""
    rng = np.random.default_rng(3)
    for step in (60.0, 900.0, 7.3, 1e-300, 0.1):
        spans = [(0, 2881), (1, 2), (-3, 5), (4, 4), (700, 2100), (0, 9000), (8000, 20_161)]
        spans += [tuple(sorted(rng.integers(0, 30_000, 2).tolist())) for _ in range(20)]
        for first, stop in spans:
            edges = step_edges(first, stop, step)
            assert edges.dtype == np.float64 and edges.tobytes() == (np.arange(first, stop) * step).tobytes(), (step, first, stop)
        assert np.shares_memory(step_edges(0, 100, step), step_edges(50, 60, step))
