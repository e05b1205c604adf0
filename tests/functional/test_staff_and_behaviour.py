"""Staff rotas and resident behaviour in whole runs of the point model, with figures checked by hand.

Each case uses fixed service times and residents arriving at known instants,
so every count and time below follows from arithmetic. Times in seconds since
midnight; the point opens at 08:00 and closes at 10:00 unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from simsampling.draws import ResidentDraws
from simsampling.metrics import replication_kpis
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario

H = 3600.0
M = 60.0
OPEN = 8 * H
HOURS = [(OPEN, 10 * H)]
SWAB = {"swab": {"service_s": {"dist": "fixed", "value": 30}}}


def make_point(**fields):
    data = {"id": "p", "population": 1000, "tents": 1, "stages": SWAB, **fields}
    scenario = validate_scenario({"name": "hand-made", "points": [data], "arrivals": {"kind": "poisson", "rate_per_hour": 1}})
    return scenario.points[0]


def make_draws(arrival, swab=30.0, **extra) -> ResidentDraws:
    """Residents arriving at the given instants, every swab ``swab`` seconds, and any extra draws."""
    n = len(arrival)
    return ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        service_s={"swab": np.full(n, swab) if np.isscalar(swab) else np.asarray(swab, dtype=float)},
        no_show=0,
        **{key: np.asarray(value) for key, value in extra.items()},
    )


def run(point, draws, hours=HOURS):
    log = simulate_point(point, hours, draws)
    return log, replication_kpis([log])


# ------------------------------------------------------------------ breaks and relief

BREAK = {"breaks": {"every_min": 60, "length_min": 15}}


def test_a_break_without_relief_closes_the_station_for_exactly_its_length():
    log, kpis = run(make_point(staff=BREAK), make_draws([OPEN] * 400))
    start = np.sort(log.start["swab"])
    # 120 swabs of 30 s fill 08:00-09:00; the break runs 09:00-09:15; the 121st starts at 09:15.
    assert start[119] == pytest.approx(OPEN + 119 * 30)
    assert start[120] == pytest.approx(9 * H + 15 * M)
    assert list(log.closures.start_s) == pytest.approx([9 * H]) and list(log.closures.end_s) == pytest.approx([9.25 * H])
    assert kpis["stations_closed_min"] == pytest.approx(15.0)
    # Throughput drops by the break: 210 by closing instead of 240; the last swab 15 min later.
    assert np.count_nonzero(log.finish_s <= 10 * H) == 210
    assert log.last_swab_s == pytest.approx(OPEN + 400 * 30 + 15 * M)


def test_a_break_starts_when_the_resident_in_the_chair_is_done():
    log, _ = run(make_point(staff=BREAK), make_draws([OPEN] * 200, swab=[50.0] * 200))
    # Swabs of 50 s end at 08:59:10 and 09:00:00: the break starts when the chair is free.
    assert log.closures.start_s[0] == pytest.approx(OPEN + 72 * 50)
    assert log.closures.end_s[0] - log.closures.start_s[0] == pytest.approx(15 * M)


def test_with_a_relief_sampler_the_station_never_closes():
    log, kpis = run(make_point(staff={**BREAK, "relief": 1}), make_draws([OPEN] * 400))
    assert log.closures.start_s.size == 0 and kpis["stations_closed_min"] == 0
    assert np.count_nonzero(log.finish_s <= 10 * H) == 240
    assert log.last_swab_s == pytest.approx(OPEN + 400 * 30)


def test_staff_hours_equal_the_rota():
    rota = [{"role": "sampler", "count": 2, "start": "08:00", "end": "09:00"},
            {"role": "sampler", "count": 1, "start": "09:00", "end": "10:00"},
            {"role": "marshal", "count": 1, "start": "08:00", "end": "10:00"}]
    log, kpis = run(make_point(tents=2, staff={"rota": rota}), make_draws([OPEN + 60 * k for k in range(100)]))
    # One resident a minute, swabs of 30 s: nobody waits, nobody works late.
    assert log.last_swab_s < 10 * H
    assert kpis["staff_hours_by_role"] == pytest.approx({"sampler": 3.0, "relief": 0.0, "registrar": 0.0, "temperature": 0.0, "marshal": 2.0, "home": 0.0})
    assert kpis["staff_hours"] == pytest.approx(5.0)
    assert kpis["residents_per_sampler_hour"] == pytest.approx(100 / 3)
    # Station 1 is off from 09:00: nobody is swabbed there after it.
    assert not np.any((log.station == 1) & (log.start["swab"] >= 9 * H))


def test_a_sampler_leaving_at_a_shift_end_serves_the_line_out_and_is_paid_for_it():
    rota = [{"role": "sampler", "count": 2, "start": "08:00", "end": "09:00"},
            {"role": "sampler", "count": 1, "start": "09:00", "end": "10:00"}]
    log, kpis = run(make_point(tents=2, queue="per_tent", staff={"rota": rota}), make_draws([OPEN] * 400))
    # Joining the shortest line splits the 400 into 200 per station; station 1 serves its 200
    # until 09:40 (200 x 30 s) and closes then; staff-hours add those 40 minutes.
    assert np.count_nonzero(log.station == 1) == 200
    assert log.closures.start_s[0] == pytest.approx(OPEN + 200 * 30)
    assert kpis["staff_hours_by_role"]["sampler"] == pytest.approx(3.0 + 40 / 60)


def test_a_station_closed_at_opening_takes_nobody_from_the_line_waiting_for_it():
    for queue in ("shared", "per_tent"):
        log, _ = run(make_point(tents=3, queue=queue, staff={"samplers": 2}), make_draws([OPEN - 600] * 30))
        assert set(log.station.tolist()) == {0, 1}, queue
        assert log.closures.start_s[0] == OPEN


def test_fewer_samplers_than_stations_leave_stations_closed():
    log, kpis = run(make_point(tents=3, staff={"samplers": 2}), make_draws([OPEN] * 300))
    assert set(log.station.tolist()) == {0, 1}
    # 300 swabs over two stations end at 09:15; station 2 was closed 08:00-09:15.
    assert log.last_swab_s == pytest.approx(OPEN + 150 * 30)
    assert kpis["stations_closed_min"] == pytest.approx(120.0)
    assert kpis["utilization"]["swab"] == pytest.approx(150 * 30 * 2 / (2 * 2 * H), rel=1e-9)


# ------------------------------------------------------------------ balking and reneging

def balking(returns, threshold=0.0, back_s=300.0, n=10):
    return {"balk_threshold": [threshold] * n, "balk_returns": [returns] * n, "balk_return_s": [back_s] * n}


def test_a_zero_balking_threshold_turns_away_everyone_who_faces_a_line():
    point = make_point(balking={"threshold": {"dist": "fixed", "value": 0}, "return_share": 0})
    arrivals = [OPEN + k for k in range(10)]
    log, kpis = run(point, make_draws(arrivals, **balking(False)))
    # The first is swabbed at once, the second waits behind it; the other eight see a line and go.
    assert kpis["sampled"] == 2 and kpis["balked"] == 8 and kpis["unserved"] == 8
    assert list(log.status()) == ["sampled"] * 2 + ["balked"] * 8


def test_balking_residents_may_come_back_once():
    point = make_point(balking={"threshold": {"dist": "fixed", "value": 0}, "return_share": 1})
    log, kpis = run(point, make_draws([OPEN + k for k in range(10)], **balking(True)))
    # Back 300 s later (line empty since 08:01): the 3rd comes in, the 4th waits behind it,
    # the 5th to 10th see a line again and leave for good.
    assert kpis["sampled"] == 4 and kpis["balked"] == 6 and kpis["returned_after_balking"] == 2
    assert log.arrival_s[2] == pytest.approx(OPEN + 2 + 300)


def test_reneging_residents_leave_when_their_patience_runs_out():
    point = make_point(reneging={"patience_min": {"dist": "fixed", "value": 10.25}})
    log, kpis = run(point, make_draws([OPEN] * 100, patience_s=[615.0] * 100))
    # Swabs start every 30 s: those starting by 08:10:15 (the first 21) stay.
    assert kpis["sampled"] == 21 and kpis["reneged"] == 79
    assert np.all(log.left_s[log.reneged] == pytest.approx(OPEN + 615))
    # Their time in line still counts in the line's length: 99 waiting at the peak.
    assert kpis["queue_max"]["swab"] == 99


# ------------------------------------------------------------------ green channel

def test_a_green_channel_resident_never_waits_behind_a_non_priority_one():
    rng = np.random.default_rng(7)
    n = 600
    arrival = np.sort(OPEN + rng.uniform(0, 1.5 * H, n))
    priority = rng.random(n) < 0.3
    point = make_point(tents=3, green_channel={"share": 0.3})
    log, _ = run(point, make_draws(arrival, swab=rng.exponential(30.0, n) + 5, priority=priority))
    enter, start = log.arrival_s, log.start["swab"]
    assert np.isfinite(start).all() and log.wait("swab").max() > 5 * M  # a real line formed
    for i in np.flatnonzero(priority):
        overtaken = ~priority & (start > enter[i]) & (start < start[i])
        assert not overtaken.any(), f"priority resident {i} waited while others were called"


def test_dedicated_green_stations_serve_only_priority_residents():
    priority = np.arange(40) % 4 == 0
    point = make_point(tents=3, green_channel={"share": 0.25, "channel": "dedicated"})
    log, _ = run(point, make_draws([OPEN] * 40, priority=priority))
    assert set(log.station[priority].tolist()) == {0}
    assert set(log.station[~priority].tolist()) == {1, 2}


# ------------------------------------------------------------------ station overhead and space

def test_hand_disinfection_keeps_the_station_busy_between_residents():
    stages = {"swab": {"service_s": {"dist": "fixed", "value": 30}, "disinfection_s": {"dist": "fixed", "value": 10}}}
    log, kpis = run(make_point(stages=stages), make_draws([OPEN] * 100, disinfection_s=[10.0] * 100))
    assert log.last_swab_s == pytest.approx(OPEN + 100 * 40 - 10)
    assert kpis["throughput_per_station_hour"] == pytest.approx(3600 / 40, rel=0.01)
    # Busy 100 x (30 + 10) s of the two opening hours, disinfection included.
    assert kpis["utilization"]["swab"] == pytest.approx(100 * 40 / (2 * H))


def test_people_beyond_the_waiting_area_are_counted():
    point = make_point(waiting_area={"length_m": 20, "spacing_m": 2})
    log, kpis = run(point, make_draws([OPEN] * 100))
    # 99 wait at first, one fewer every 30 s; 10 fit: 89 over, then 88...: 30 s x (1 + ... + 89).
    assert kpis["waiting_peak_overflow"] == 89
    assert kpis["waiting_over_capacity_person_min"] == pytest.approx(30 * 89 * 90 / 2 / 60)


# ------------------------------------------------------------------ households in sealed compounds

def test_sealed_compound_households_fill_one_tube_each():
    from simsampling.draws import draw_residents

    scenario = validate_scenario({
        "name": "compound",
        "seed": 3,
        "clock": {"open": "08:00", "close": "12:00"},
        "arrivals": {"kind": "calling", "batch_households": 10, "gap_min": 10, "household_size": 3.0},
        "points": [{
            "id": "p", "population": 600, "tents": 3,
            "stages": {"temperature": {}, "registration": {"servers": 2}, "swab": {}},
            "pooling": {"ratio": 5, "by_household": True, "seal_after_min": 120},
        }],
    })
    point = scenario.points[0]
    draws = draw_residents(scenario, point, 0)
    log = simulate_point(point, scenario.hours, draws)
    served = log.served
    tube, household = log.tube[served], draws.household[served]
    # No tube mixes households; a household of up to 5 fills exactly one, a larger one ceil(size / 5).
    assert all(np.unique(household[tube == t]).size == 1 for t in np.unique(tube))
    sizes = np.bincount(household)[np.unique(household)]
    tubes = np.array([np.unique(tube[household == h]).size for h in np.unique(household)])
    np.testing.assert_array_equal(tubes, -(-sizes // 5))
    assert sizes.max() > 5 and log.tubes.count == tubes.sum()
    # Members of a household are swabbed one after another at one station.
    members = np.bincount(household)
    for h in np.unique(household):
        assert np.unique(log.station[served][household == h]).size == 1 or members[h] > 5


def test_one_tube_per_household_needs_households_and_a_shared_line():
    from simsampling.scenario import ScenarioError

    base = {"name": "x", "points": [{"id": "p", "population": 10, "tents": 1, "pooling": {"by_household": True}}]}
    with pytest.raises(ScenarioError, match="pooling.by_household: .*needs households: a calling plan"):
        validate_scenario({**base, "arrivals": {"kind": "poisson", "rate_per_hour": 1}})
    with pytest.raises(ScenarioError, match="by_household: needs `queue: shared` and registration desks"):
        validate_scenario({**base, "arrivals": {"kind": "calling"}})
