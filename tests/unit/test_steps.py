"""steps.py's coarsening: whole groups of k steps, and one group when k outgrows the series (no padding to k)."""

from __future__ import annotations

import numpy as np
import pytest

from simsampling.steps import end_of_groups, mean_of_groups, sum_of_groups


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
