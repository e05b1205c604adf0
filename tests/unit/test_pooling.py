"""Pooled tubes at the swab stations (simsampling.model.point, ``pooled`` block).

Hand-made draws (fixed arrivals, swab and handling times) at a one-station
swab-only point give timelines computed by hand: tubes filled in swab order,
sealed when full at swab end + handling (the sampler is busy meanwhile),
sealed at opened + ``seal_after_min`` when left open too long, and sealed at
the end of the day when still open. Random multi-station runs check the tube
count against a replay of the station's swabs.

Times are seconds since midnight of day 0; the clock is 07:00-23:00 unless
said otherwise, so ``OPEN`` = 25,200 s and ``CLOSE`` = 82,800 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsampling.draws import ResidentDraws, draw_residents
from simsampling.log import EventLog
from simsampling.metrics import tally
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario

OPEN = 7 * 3600.0
CLOSE = 23 * 3600.0
DAY = 86_400.0


def pooled_point(arrival, swab, handling, pooling, stations=1, days=1, day=None) -> EventLog:
    """A swab-only point with pooled tubes, run on hand-made draws (nothing random)."""
    data = {
        "name": "pooled-by-hand",
        "clock": {"open": "07:00", "close": "23:00"},
        "round": {"days": days},
        "points": [{"id": "p", "population": len(arrival), "tents": stations, "stages": {"swab": {}}}],
        "arrivals": {"kind": "poisson", "rate_per_hour": 1},
    }
    if pooling is not None:
        data["points"][0]["pooling"] = pooling
    scenario = validate_scenario(data)
    point = scenario.points[0]
    n = len(arrival)
    draws = ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        service_s={"swab": np.asarray(swab, dtype=float)},
        no_show=0,
        day=None if day is None else np.asarray(day, dtype=np.int16),
        pooling=scenario.pooling_for(point),
        tube_handling_s=np.asarray(handling, dtype=float),
    )
    return simulate_point(point, scenario.hours, draws)


# ------------------------------------------------------------------ hand-computed timelines


def test_tubes_fill_in_swab_order_and_seal_when_full_after_handling():
    """Ratio 5, swab 20 s, handling 10 s: seven residents waiting at opening.

    Residents 0-4 are swabbed 07:00:00-07:01:40 back to back; the fifth swab ends at
    25,300 and the sampler spends 10 s sealing tube 0 (sealed 25,310). Resident 5
    starts only then (25,310-25,330) and opens tube 1; resident 6 follows (25,330-25,350).
    Tube 1 is still open at the end of the day: sealed at min(25,310 + 1,800, max(close,
    last swab)) = 27,110.
    """
    log = pooled_point([OPEN] * 7, [20.0] * 7, [10.0] * 7, {"ratio": 5, "seal_after_min": 30})
    assert log.pool_ratio == 5
    assert log.start["swab"].tolist() == [25200, 25220, 25240, 25260, 25280, 25310, 25330]
    assert log.end["swab"].tolist() == [25220, 25240, 25260, 25280, 25300, 25330, 25350]
    assert log.tube.tolist() == [0, 0, 0, 0, 0, 1, 1]
    tubes = log.tubes
    assert tubes.count == 2
    assert tubes.station.tolist() == [0, 0]
    assert tubes.opened_s.tolist() == [25200, 25310]
    assert tubes.sealed_s.tolist() == [25300 + 10, 25310 + 1800]
    assert tubes.members.tolist() == [5, 2]


def test_the_handling_time_is_the_filling_residents_own():
    """The handling draw of the resident whose swab fills the tube is the one spent."""
    handling = [1.0, 2.0, 3.0, 4.0, 30.0, 6.0, 7.0]
    log = pooled_point([OPEN] * 7, [20.0] * 7, handling, {"ratio": 5})
    # 0-4: 25200-25300 back to back; resident 4 fills tube 0 and seals it in 30 s -> 25330.
    assert log.start["swab"].tolist() == [25200, 25220, 25240, 25260, 25280, 25330, 25350]
    assert log.tubes.sealed_s[0] == 25330
    # Tube 1 (residents 5, 6) is open at the end: sealed at opened + 30 min.
    assert log.tubes.sealed_s[1] == 25330 + 1800


def test_a_tube_open_too_long_is_sealed_at_the_limit_and_the_next_resident_opens_a_new_one():
    """Ratio 5, seal after 30 min, swab 20 s, handling 10 s.

    * 07:00 (25,200) resident 0 opens tube 0 (swab ends 25,220).
    * 27,060 = 25,200 + 1,800 + 60: resident 1 finds tube 0 open 31 min, so it was sealed
      at 25,200 + 1,800 = 27,000 (while the station stood idle); resident 1 opens tube 1.
    * 28,860 = 27,060 + 1,800: resident 2 finds tube 1 open exactly 30 min, not longer
      than the limit, and joins it.
    * 28,881: tube 1 has been open 1,821 s > 1,800: it is sealed at the limit (28,860) but not
      before resident 2's swab ends (28,880); resident 3 opens tube 2.
    """
    arrival = [OPEN, 27060.0, 28860.0, 28881.0]
    log = pooled_point(arrival, [20.0] * 4, [10.0] * 4, {"ratio": 5, "seal_after_min": 30})
    assert log.start["swab"].tolist() == arrival
    assert log.tube.tolist() == [0, 1, 1, 2]
    tubes = log.tubes
    assert tubes.opened_s.tolist() == [25200, 27060, 28881]
    assert tubes.members.tolist() == [1, 2, 1]
    assert tubes.sealed_s[0] == 25200 + 1800
    assert tubes.sealed_s[1] == 28860 + 20
    # The last tube is open at the end of the day: opened + limit comes before the closing.
    assert tubes.sealed_s[2] == 28881 + 1800


def test_a_tube_open_at_the_end_of_the_day_is_sealed_at_the_closing():
    """Resident at 22:50 (82,200): opened + 30 min = 23:20 is after closing (23:00) -> 82,800."""
    log = pooled_point([82200.0], [20.0], [10.0], {"ratio": 10, "seal_after_min": 30})
    assert log.tubes.opened_s.tolist() == [82200]
    assert log.tubes.sealed_s.tolist() == [CLOSE]
    assert log.tubes.members.tolist() == [1]


def test_a_tube_open_at_the_end_of_the_day_waits_for_the_last_swab_in_overtime():
    """Three residents at 22:59:50 (82,790), swab 500 s, limit 60 min.

    Swabs 82,790-83,290, 83,290-83,790, 83,790-84,290 (overtime after 23:00). The tube is
    sealed at min(82,790 + 3,600, max(82,800, 84,290)) = 84,290, the last swab.
    """
    log = pooled_point([82790.0] * 3, [500.0] * 3, [10.0] * 3, {"ratio": 5, "seal_after_min": 60})
    assert log.end["swab"].tolist() == [83290, 83790, 84290]
    assert log.tube.tolist() == [0, 0, 0]
    assert log.tubes.sealed_s.tolist() == [84290]


def test_a_full_tube_in_overtime_is_sealed_after_its_handling():
    """The full-tube rule has no day limit: swab end + handling, even after closing."""
    log = pooled_point([82790.0] * 2, [500.0] * 2, [15.0] * 2, {"ratio": 1})
    # 82,790-83,290 + 15 -> 83,305; 83,305-83,805 + 15 -> 83,820 (closing was 82,800).
    assert log.tubes.sealed_s.tolist() == [83305, 83820]


def test_ratio_one_gives_one_tube_per_resident_each_sealed_after_its_swab_and_handling():
    swab = [20.0, 25.0, 30.0, 35.0]
    handling = [5.0, 6.0, 7.0, 8.0]
    log = pooled_point([OPEN] * 4, swab, handling, {"ratio": 1})
    # 25200-25220 +5, 25225-25250 +6, 25256-25286 +7, 25293-25328 +8.
    assert log.start["swab"].tolist() == [25200, 25225, 25256, 25293]
    assert log.tube.tolist() == [0, 1, 2, 3]
    assert log.tubes.members.tolist() == [1, 1, 1, 1]
    assert log.tubes.opened_s.tolist() == [25200, 25225, 25256, 25293]
    assert log.tubes.sealed_s.tolist() == [25225, 25256, 25293, 25336]
    counts = tally(log, CLOSE).counts
    assert counts["tubes"] == 4
    assert counts["part_filled_tubes"] == 0


def test_tally_counts_tubes_and_part_filled_tubes():
    log = pooled_point([OPEN] * 7, [20.0] * 7, [10.0] * 7, {"ratio": 5})
    counts = tally(log, CLOSE).counts
    assert counts["tubes"] == 2
    assert counts["part_filled_tubes"] == 1  # tube 1 holds 2 of 5


def test_without_pooling_there_are_no_tubes():
    log = pooled_point([OPEN] * 3, [20.0] * 3, [10.0] * 3, None)
    assert log.tube is None and log.tubes is None and log.pool_ratio == 0
    assert log.end["swab"].tolist() == [25220, 25240, 25260]  # no handling time at all
    counts = tally(log, CLOSE).counts
    assert counts["tubes"] == 0 and counts["part_filled_tubes"] == 0


def test_a_chain_makes_points_pool_by_the_default_ratio():
    scenario = validate_scenario(
        {
            "name": "chain-default",
            "points": [{"id": "a", "population": 5, "tents": 1}, {"id": "b", "population": 5, "tents": 1, "pooling": {"ratio": 20}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 1},
            "chain": {"labs": [{"id": "lab"}]},
        }
    )
    default = scenario.pooling_for(scenario.points[0])
    assert default.ratio == 10 and default.seal_after_min == 30.0
    assert scenario.pooling_for(scenario.points[1]).ratio == 20
    without = validate_scenario(
        {"name": "no-chain", "points": [{"id": "a", "population": 5, "tents": 1}], "arrivals": {"kind": "poisson", "rate_per_hour": 1}}
    )
    assert without.pooling_for(without.points[0]) is None


def test_stations_fill_their_own_tubes():
    """Two stations, shared line, ratio 5, ten residents at opening: stations alternate."""
    log = pooled_point([OPEN] * 10, [20.0] * 10, [10.0] * 10, {"ratio": 5}, stations=2)
    # Both stations free up together every 20 s; the one freed first (station 0) takes the head.
    assert log.station.tolist() == [0, 1] * 5
    assert log.tube.tolist() == [0, 1] * 5
    assert log.tubes.station.tolist() == [0, 1]
    assert log.tubes.members.tolist() == [5, 5]
    assert log.tubes.sealed_s.tolist() == [25310, 25310]


# ------------------------------------------------------------------ sealing never cuts a swab, nor crosses days


def test_a_tube_is_never_sealed_before_its_last_swab_ends():
    """Tube opened 25,200; resident 1 starts 26,990 (10 s before the limit), swab 30 s -> 27,020.

    Resident 2 at 27,200 finds the tube open 2,000 s > 1,800: the model seals it at
    25,200 + 1,800 = 27,000, 20 s before resident 1's swab went in. The sampler cannot
    seal during the swab: expected the later of the limit and the last swab, 27,020.
    """
    log = pooled_point([OPEN, 26990.0, 27200.0], [20.0, 30.0, 20.0], [10.0] * 3, {"ratio": 5, "seal_after_min": 30})
    assert log.tube.tolist() == [0, 0, 1]
    last_swab = np.zeros(log.tubes.count)
    np.maximum.at(last_swab, log.tube, log.end["swab"])
    assert np.all(log.tubes.sealed_s >= last_swab), (log.tubes.sealed_s, last_swab)


def test_a_tube_open_at_a_days_end_is_sealed_at_that_days_end_on_multi_day_rounds():
    """Two days; resident 0 at 22:50 on day 0, resident 1 at 07:00 on day 1.

    Expected tube 0 sealed at min(82,200 + 1,800, max(82,800, 82,220)) = 82,800 (23:00),
    as when nobody comes the next day (test above). The model gives 84,000 (23:20).
    """
    log = pooled_point([82200.0, DAY + OPEN], [20.0, 20.0], [10.0, 10.0], {"ratio": 10}, days=2, day=[0, 1])
    assert log.tube.tolist() == [0, 1]
    assert log.tubes.sealed_s[0] == CLOSE


def test_a_tube_does_not_carry_over_to_the_next_day():
    log = pooled_point([82200.0, DAY + OPEN], [20.0, 20.0], [10.0, 10.0], {"ratio": 10, "seal_after_min": 1440}, days=2, day=[0, 1])
    assert log.tube.tolist() == [0, 1]


# ------------------------------------------------------------------ random multi-station runs


def replay_station(start: np.ndarray, ratio: int, limit: float) -> tuple[list[int], int]:
    """Tube number (from 0) of each swab at a station, in swab-start order; and the time-limit seals."""
    tube, fill, opened, early = -1, 0, -math.inf, 0
    numbers = []
    for now in start.tolist():
        if fill and now - opened > limit:
            fill, early = 0, early + 1
        if not fill:
            tube, opened = tube + 1, now
        numbers.append(tube)
        fill += 1
        if fill == ratio:
            fill = 0
    return numbers, early


def check_tubes(log: EventLog, handling: np.ndarray, ratio: int, limit_s: float) -> None:
    served = log.served
    tube = log.tube
    tubes = log.tubes
    members = tubes.members
    # Every sampled resident is in exactly one tube; nobody else is in any.
    assert np.all((tube >= 0) == served)
    assert np.array_equal(members, np.bincount(tube[served], minlength=tubes.count))
    assert int(members.sum()) == log.sampled
    assert np.all(members >= 1) and np.all(members <= ratio)
    # A tube belongs to one station, that of each of its members.
    assert np.array_equal(tubes.station[tube[served]], log.station[served])
    start, end = log.start["swab"], log.end["swab"]
    assert np.all(tubes.sealed_s >= tubes.opened_s)
    total = 0
    for k in range(log.servers["swab"]):
        here = np.flatnonzero(served & (log.station == k))
        here = here[np.lexsort((end[here], start[here]))]
        numbers, early = replay_station(start[here], ratio, limit_s)
        mine = np.flatnonzero(tubes.station == k)
        assert len(mine) == (numbers[-1] + 1 if numbers else 0)
        total += len(mine)
        # Filled in swab order: the station's tubes are numbered as the replay opens them.
        assert np.array_equal(tube[here], mine[numbers]) if numbers else True
        # Count: ceil(residents / ratio) plus the extra part-filled tubes sealed by the limit.
        n = here.size
        part = members[mine] < ratio
        extra = int(np.count_nonzero(part)) - math.ceil(int(members[mine][part].sum()) / ratio)
        assert len(mine) == math.ceil(n / ratio) + extra
        assert 0 <= extra <= early
        if early == 0:
            assert len(mine) == math.ceil(n / ratio)
        # Seal times; the resident whose swab filled a full tube also sealed it.
        filler = set()
        for index, number in enumerate(mine.tolist()):
            who = here[tube[here] == number]
            last = who[-1]
            assert tubes.opened_s[number] == start[who[0]]
            if members[number] == ratio:
                filler.add(int(last))
                assert tubes.sealed_s[number] == end[last] + handling[last]
            elif index + 1 < len(mine):
                assert tubes.sealed_s[number] == max(tubes.opened_s[number] + limit_s, end[who].max())
                assert tubes.opened_s[mine[index + 1]] - tubes.opened_s[number] > limit_s
            else:
                assert tubes.sealed_s[number] == max(min(tubes.opened_s[number] + limit_s, CLOSE), end[who].max())
        # The sampler is busy while it seals a full tube: the next swab starts after.
        for a, b in zip(here[:-1].tolist(), here[1:].tolist()):
            assert start[b] >= end[a] + (handling[a] if a in filler else 0.0)
    assert tubes.count == total
    counts = tally(log, CLOSE).counts
    assert counts["tubes"] == tubes.count
    assert counts["part_filled_tubes"] == np.count_nonzero(members < ratio)


LAYOUTS = [
    ("shared", {"swab": {}}),
    ("per_tent", {"swab": {}}),
    ("shared", {"temperature": {}, "registration": {}, "swab": {}}),
    ("per_tent", {"temperature": {}, "registration": {}, "swab": {}}),
    ("shared", {"registration": {"servers": 2}, "swab": {}}),
]


def random_point(seed, stations, layout, ratio, seal_min, rate, population):
    queue, stages = LAYOUTS[layout]
    scenario = validate_scenario(
        {
            "name": "pooled-random",
            "seed": seed,
            "clock": {"open": "07:00", "close": "23:00"},
            "points": [
                {
                    "id": "p",
                    "population": population,
                    "tents": stations,
                    "queue": queue,
                    "stages": stages,
                    "pooling": {"ratio": ratio, "seal_after_min": seal_min},
                }
            ],
            "arrivals": {"kind": "poisson", "rate_per_hour": rate, "start": "07:00", "end": "09:00"},
        }
    )
    point = scenario.points[0]
    draws = draw_residents(scenario, point, 0)
    return simulate_point(point, scenario.hours, draws), draws


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    stations=st.integers(1, 4),
    layout=st.integers(0, len(LAYOUTS) - 1),
    ratio=st.sampled_from([1, 5, 10, 20]),
    seal_min=st.sampled_from([0.5, 2.0, 5.0, 30.0]),
    rate=st.sampled_from([20.0, 120.0, 400.0]),
    population=st.integers(0, 300),
)
def test_random_runs_fill_and_count_tubes_as_a_replay_of_the_stations(seed, stations, layout, ratio, seal_min, rate, population):
    log, draws = random_point(seed, stations, layout, ratio, seal_min, rate, population)
    check_tubes(log, draws.tube_handling_s, ratio, seal_min * 60.0)


@pytest.mark.parametrize("seed", range(6))
def test_fixed_seeds_fill_and_count_tubes(seed):
    """The same checks on a busier point with a short limit, so that early seals happen."""
    log, draws = random_point(seed, 3, seed % len(LAYOUTS), 10, 1.0, 150.0, 400)
    check_tubes(log, draws.tube_handling_s, 10, 60.0)
    part = log.tubes.members < 10
    assert np.count_nonzero(part) > 1  # the limit did seal part-filled tubes here


# ------------------------------------------------------------------ group entry


def test_group_entry_swabs_a_group_together_one_tube_each():
    """Ratio 5, group entry, swab 20 s, handling 10 s, one station; residents every 60 s from 07:00.

    * Residents 0-4 arrive 25,200..25,440: the group is full at 25,440 and goes in then:
      swabs 25,440-25,540 back to back, handling to 25,550 (tube 0 sealed), station free.
    * Residents 5-6 arrive 25,500 and 25,560: the group does not fill; it goes in
      seal_after_min (30 min) after its first member joined: 25,500 + 1,800 = 27,300;
      swabs 27,300-27,340, handling to 27,350 (tube 1 sealed).
    """
    arrival = [25200.0 + 60.0 * i for i in range(7)]
    log = pooled_point(arrival, [20.0] * 7, [10.0] * 7, {"ratio": 5, "seal_after_min": 30, "group_entry": True})
    assert log.tube.tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert log.start["swab"].tolist() == [25440, 25460, 25480, 25500, 25520, 27300, 27320]
    assert log.tubes.members.tolist() == [5, 2]
    assert log.tubes.opened_s.tolist() == [25440, 27300]
    assert log.tubes.sealed_s.tolist() == [25550, 27350]
    assert log.wait("swab").tolist()[0] == 240.0  # the first member waited for the group to fill


def test_a_partial_group_goes_in_at_the_closing():
    """Two residents at 22:50 and 22:55 (closing 23:00): their group goes in at 23:00."""
    log = pooled_point([82200.0, 82500.0], [20.0, 20.0], [10.0, 10.0], {"ratio": 10, "seal_after_min": 30, "group_entry": True})
    assert log.start["swab"].tolist() == [82800.0, 82820.0]
    assert log.tubes.sealed_s.tolist() == [82850.0]


def test_group_entry_needs_a_shared_line_and_desks():
    from simsampling.scenario import ScenarioError

    base = {"name": "g", "points": [{"id": "p", "population": 10, "tents": 2, "queue": "per_tent",
                                     "stages": {"swab": {}}, "pooling": {"group_entry": True}}],
            "arrivals": {"kind": "calling"}}
    with pytest.raises(ScenarioError, match="group_entry: needs `queue: shared`"):
        validate_scenario(base)
    base["points"][0]["queue"] = "shared"
    assert validate_scenario(base).points[0].pooling.group_entry
