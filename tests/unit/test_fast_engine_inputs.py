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


def test_nobody_at_home_gives_home_replays_own_empty_log():
    """A point with door-to-door teams and nobody to visit: its log's arrays are those ``home_replay`` returns for
    no household (dtypes included), without the call."""
    from simsampling.draws import draw_residents
    from simsampling.model.fast.events import future_events
    from simsampling.model.fast.home import home_log, home_replay
    from simsampling.model.point import opening_hours
    from simsampling.scenario import validate_scenario

    home = {"share": 0.0, "teams": 2, "household_size": 1.5, "travel_min": {"dist": "fixed", "value": 5},
            "service_min": {"dist": "fixed", "value": 2}, "ppe_change_min": {"dist": "fixed", "value": 15}}
    s = validate_scenario({"name": "nobody home", "seed": 3, "points": [{"id": "p", "population": 40, "tents": 2, "home": home}],
                           "arrivals": {"kind": "slots", "show_up": 0.9, "slots": [{"start": "08:00", "end": "10:00", "share": 1.0}]}})
    point, hours = s.points[0], s.hours
    draws = draw_residents(s, point, 0)
    assert draws.home.resident.size == 0
    open_hours = opening_hours(hours, draws.setup_s)
    opening_time = np.array([open_s for open_s, _ in open_hours])
    log = home_log(point, draws, open_hours, opening_time, 0.0)
    want = home_replay(2, np.zeros(1, dtype=np.int64), draws.home.travel_s, draws.home.service_s, draws.home.ppe_s, opening_time,
                       np.array([close for _, close in open_hours]), opening_time, 0.0, *future_events(2 + len(open_hours) + 1))
    for got, made in zip((log.team, log.start_s, log.end_s), want):
        assert got.dtype == made.dtype and got.shape == made.shape == (0,)
