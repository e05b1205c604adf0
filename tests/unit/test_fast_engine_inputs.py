"""The fast engine's inputs made from a point: each the same as the plain way of making it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from simsampling.model.fast.engine import station_lanes


@given(st.integers(0, 40), st.integers(0, 40), st.integers(1, 60))
def test_each_station_is_in_the_first_lane_that_holds_it(dedicated, reserved, others):
    """As ``stages.swab.lanes`` numbers them: everyone else's, the green channel's first, the reserved next."""
    stations = dedicated + reserved + others
    groups = [range(dedicated + reserved, stations), range(dedicated), range(dedicated, dedicated + reserved)]
    plain = np.array([next(lane for lane, group in enumerate(groups) if k in group) for k in range(stations)], dtype=np.int64)
    made = station_lanes(groups, stations)
    assert made.dtype == plain.dtype and np.array_equal(made, plain)
