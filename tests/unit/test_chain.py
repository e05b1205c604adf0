"""The sample chain (simsampling.model.chain): couriers, laboratories, positive pools, recalls.

Hand-built :class:`PointTubes` run through ``simulate_chain`` on scenarios with
fixed courier travel (``{dist: fixed, value: 20}``), so every timestamp can be
computed by hand: tubes sealed -> courier leaves (interval tick or full box) ->
picked one travel later -> at the laboratory one more travel later -> run start
(full batch, oldest tube waited ``max_wait_min``, or the next shift start) ->
released at run end. Random end-to-end runs (draws -> point -> chain) check that
no tube is lost or counted twice.

Times below are given in minutes after the 07:00 opening (``at(m)`` = 25,200 + 60 m
seconds since midnight), so integer minutes are exact in floating point.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsampling.chain_metrics import chain_kpis, identification_s
from simsampling.draws import draw_residents
from simsampling.experiment.replicate import run_scenario
from simsampling.model import simulate_point
from simsampling.model.chain import ChainLog, PointTubes, shift_windows, simulate_chain
from simsampling.scenario import ScenarioError, load_scenario, validate_scenario

OPEN = 7 * 3600.0
DAY_MIN = 24 * 60
FIXED_20 = {"dist": "fixed", "value": 20}


def at(minutes) -> np.ndarray:
    return OPEN + 60.0 * np.asarray(minutes, dtype=float)


def minutes(seconds) -> list[float]:
    return ((np.asarray(seconds, dtype=float) - OPEN) / 60.0).tolist()


def chain_scenario(labs, points=None, couriers=None, prevalence=0.0, recall_min=30, days=1, pooling=None):
    """A scenario with a chain; points are swab-only and unused unless simulated."""
    points = points or [{"id": "p", "population": 10, "tents": 1, "stages": {"swab": {}}}]
    if pooling is not None:
        points = [{**p, "pooling": pooling} for p in points]
    return validate_scenario(
        {
            "name": "chain-by-hand",
            "clock": {"open": "07:00", "close": "23:00"},
            "round": {"days": days},
            "points": points,
            "arrivals": {"kind": "poisson", "rate_per_hour": 1},
            "chain": {
                "labs": labs,
                "couriers": couriers or {"pickup_interval_min": 60, "box_tubes": 4, "travel_min": FIXED_20},
                "prevalence": prevalence,
                "recall": {"delay_min": {"dist": "fixed", "value": recall_min}},
            },
        }
    )


def tubes(sealed_min, members=None, infected=None, point_index=0, recall_min=30.0) -> PointTubes:
    """Tubes sealed at the given minutes, opened 5 min earlier; members swabbed 1 min before sealing."""
    sealed = at(sealed_min)
    members = np.asarray(members if members is not None else [2] * sealed.size, dtype=np.int64)
    member_tube = np.repeat(np.arange(sealed.size), members).astype(np.int64)
    infected = np.zeros(member_tube.size, dtype=bool) if infected is None else np.asarray(infected, dtype=bool)
    return PointTubes(
        point_index=point_index,
        opens_s=OPEN,
        opened_s=sealed - 300.0,
        sealed_s=sealed,
        members=members,
        member_tube=member_tube,
        member_swab_s=sealed[member_tube] - 60.0,
        member_infected=infected,
        member_recall_s=np.full(member_tube.size, 60.0 * recall_min),
    )


def lab(**fields):
    return {"id": "lab", "instruments": 1, "tubes_per_run": 3, "run_min": 60, "max_wait_min": 30, **fields}


# ------------------------------------------------------------------ the whole timeline by hand


def test_a_timeline_computed_by_hand():
    """One point, one lab (1 instrument, 3 tubes per run, 60 min runs, max wait 30 min).

    Couriers: every 60 min from opening, or at a full box of 4; travel 20 min each way.

    Tubes sealed (min): A 10, B 30, C 90, D 95, E 100, F 105, G 122, H 150, I 210.

    Courier:
    * tick 60: leaves, at the point 80 (A, B sealed), at the lab 100. Next tick 120.
    * back at 100: the box of C, D, E, F is full at 105 (before the tick at 120): leaves
      105, at the point 125 (C-G, G sealed 122), at the lab 145. Ticks 120 passed: next 180.
    * H sealed 150, no full box: tick 180, picks H at 200, lab 220. Next tick 240.
    * I sealed 210: tick 240, picks 260, lab 280.

    Lab:
    * 100: A, B wait (2 < 3); max wait reached at 130: run 130-190 (A, B).
    * 145: C-G arrive (5 >= 3) but the instrument is busy until 190: run 190-250 (C, D, E).
      F, G have waited since 145 (> 30 min): next run as soon as the instrument frees.
    * 220: H arrives. 250: run 250-310 (F, G, H).
    * 280: I arrives; max wait at 310, the instrument frees at 310: run 310-370 (I).
    """
    scenario = chain_scenario([lab()])
    log = simulate_chain(scenario, 0, [tubes([10, 30, 90, 95, 100, 105, 122, 150, 210])])
    assert minutes(log.picked_s) == [80, 80, 125, 125, 125, 125, 125, 200, 260]
    assert minutes(log.arrived_s) == [100, 100, 145, 145, 145, 145, 145, 220, 280]
    assert minutes(log.run_start_s) == [130, 130, 190, 190, 190, 250, 250, 250, 310]
    assert minutes(log.released_s) == [190, 190, 250, 250, 250, 310, 310, 310, 370]
    assert [(p, minutes(left), minutes(back), load) for p, left, back, load in log.trips] == [
        (0, 80, 100, 2), (0, 125, 145, 5), (0, 200, 220, 1), (0, 260, 280, 1),
    ]
    assert [(lab_, minutes(s), minutes(e), n) for lab_, s, e, n in log.runs] == [
        (0, 130, 190, 2), (0, 190, 250, 3), (0, 250, 310, 3), (0, 310, 370, 1),
    ]
    assert log.tube_lab.tolist() == [0] * 9
    assert not log.positive.any() and log.recall_swab_s.size == 0


def test_pickups_follow_the_interval_ticks_from_the_points_opening():
    """No full box (box 50): a courier leaves at opening + 60, + 120, ... whenever something is sealed."""
    scenario = chain_scenario([lab(tubes_per_run=96, max_wait_min=0)], couriers={"pickup_interval_min": 60, "box_tubes": 50, "travel_min": FIXED_20})
    part = tubes([5, 59, 61, 200])
    part.opens_s = at(30)  # a set-up delay: ticks count from the point's own opening (07:30)
    log = simulate_chain(scenario, 0, [part])
    # Ticks at 90, 150, 210, 270. Tick 90: picks at 110 what is sealed by then (5, 59, 61).
    # Tick 150: nothing sealed since -> no trip. Tick 210: 200 is sealed: picks at 230.
    assert minutes(log.picked_s) == [110, 110, 110, 230]
    assert minutes(log.arrived_s) == [130, 130, 130, 250]
    assert len(log.trips) == 2
    # max_wait_min 0: each delivery is run at once.
    assert minutes(log.run_start_s) == [130, 130, 130, 250]
    assert minutes(log.released_s) == [190, 190, 190, 310]


@pytest.mark.parametrize("interval_min", [5e-324, 2.2250738585072014e-308, 1e-9])
def test_visits_every_instant_pick_up_each_tube_when_it_is_sealed(interval_min):
    """Visits more often than the clock can tell apart (found by the run fuzzer: the visits stood still at
    the opening, a loop without end) or than 100,000 visits before the next tube: the courier is at the
    point as each tube is sealed, as visits every instant would have it."""
    scenario = chain_scenario([lab(tubes_per_run=96, max_wait_min=0)],
                              couriers={"pickup_interval_min": interval_min, "box_tubes": 50, "travel_min": FIXED_20})
    log = simulate_chain(scenario, 0, [tubes([10, 59, 61, 200])])
    # Sealed 10: picked at 30 (at the lab 50); 59: the courier sets off, picks 59 and 61 at 79; 200: at 220.
    assert minutes(log.picked_s) == pytest.approx([30, 79, 79, 220], abs=1e-6)
    assert len(log.trips) == 3


def test_a_tube_sealed_years_after_the_opening_is_picked_up_at_the_first_visit_after():
    """An hourly courier and a tube sealed about 3e16 years later (a heavy-tailed swab time; found by the run
    fuzzer): 1e20 visits that find nothing are not simulated one by one."""
    scenario = chain_scenario([lab(tubes_per_run=96, max_wait_min=0)], couriers={"pickup_interval_min": 60, "box_tubes": 50, "travel_min": FIXED_20})
    part = tubes([10, 1e24 / 60])
    log = simulate_chain(scenario, 0, [part])
    assert minutes(log.picked_s)[0] == 80  # the first visit at 60, as before
    # The first visit at or after the sealing, then the drive (an hour and 20 minutes: below the clock's step there).
    assert part.sealed_s[1] <= log.picked_s[1] <= part.sealed_s[1] * (1 + 1e-12)
    assert len(log.trips) == 2


def test_a_full_box_calls_the_courier_between_ticks():
    """Box of 3: the third tube, sealed at 15, calls the courier; it takes what is sealed on arrival."""
    scenario = chain_scenario([lab(instruments=4, max_wait_min=0)], couriers={"pickup_interval_min": 60, "box_tubes": 3, "travel_min": FIXED_20})
    log = simulate_chain(scenario, 0, [tubes([10, 12, 15, 30, 58])])
    # Full at 15: leaves 15, at the point 35 (10, 12, 15 and 30), lab 55. Tick 60: picks 58 at 80.
    assert minutes(log.picked_s) == [35, 35, 35, 35, 80]
    assert minutes(log.arrived_s) == [55, 55, 55, 55, 100]
    assert [load for *_, load in log.trips] == [4, 1]


def test_a_points_own_travel_time_and_laboratory():
    """Point b drives 5 min (its courier_travel_min) to its own lab; point a 20 min to the first lab."""
    points = [
        {"id": "a", "population": 10, "tents": 1, "stages": {"swab": {}}},
        {"id": "b", "population": 10, "tents": 1, "stages": {"swab": {}}, "lab": "lab2", "courier_travel_min": {"dist": "fixed", "value": 5}},
    ]
    scenario = chain_scenario([lab(max_wait_min=0), lab(id="lab2", max_wait_min=0)], points=points)
    assert scenario.lab_for(scenario.points[0]).id == "lab"  # no lab given: the first of chain.labs
    assert scenario.lab_for(scenario.points[1]).id == "lab2"
    log = simulate_chain(scenario, 0, [tubes([10]), tubes([10], point_index=1)])
    assert log.tube_point.tolist() == [0, 1]
    assert log.tube_lab.tolist() == [0, 1]
    assert minutes(log.picked_s) == [80, 65]
    assert minutes(log.arrived_s) == [100, 70]
    assert minutes(log.run_start_s) == [100, 70]


def test_a_courier_shared_by_two_points_serves_them_one_after_the_other():
    """per_points 2: one courier; at the tick (60) it drives to point 0 (80) and its lab (100),
    then to point 1 (120) and the lab (140)."""
    points = [{"id": name, "population": 10, "tents": 1, "stages": {"swab": {}}} for name in ("a", "b")]
    couriers = {"per_points": 2, "pickup_interval_min": 60, "box_tubes": 50, "travel_min": FIXED_20}
    scenario = chain_scenario([lab(instruments=2, max_wait_min=0)], points=points, couriers=couriers)
    log = simulate_chain(scenario, 0, [tubes([10]), tubes([10], point_index=1)])
    assert minutes(log.picked_s) == [80, 120]
    assert minutes(log.arrived_s) == [100, 140]
    # One courier each (per_points 1): both picked at 80.
    scenario = chain_scenario([lab(instruments=2, max_wait_min=0)], points=points, couriers={**couriers, "per_points": 1})
    log = simulate_chain(scenario, 0, [tubes([10]), tubes([10], point_index=1)])
    assert minutes(log.picked_s) == [80, 80]


# ------------------------------------------------------------------ laboratory runs


def test_a_full_batch_starts_at_once():
    log = simulate_chain(chain_scenario([lab()]), 0, [tubes([10, 20, 30])])
    assert minutes(log.arrived_s) == [100] * 3
    assert minutes(log.run_start_s) == [100] * 3  # 3 = tubes_per_run, no wait
    assert minutes(log.released_s) == [160] * 3


def test_a_batch_larger_than_a_run_is_split_in_arrival_order():
    scenario = chain_scenario([lab(instruments=2)], couriers={"pickup_interval_min": 60, "box_tubes": 50, "travel_min": FIXED_20})
    log = simulate_chain(scenario, 0, [tubes([10, 20, 30, 40, 50])])
    # 5 arrive at 100: run 1 takes 3 (instrument 1), the 2 left wait 30 min: run 2 at 130.
    assert minutes(log.run_start_s) == [100, 100, 100, 130, 130]
    assert sorted(n for *_, n in log.runs) == [2, 3]


def test_runs_wait_for_the_next_shift():
    """Shift 10:00-12:00 (180-300): a tube at the lab at 100, due at 130, runs at 180."""
    scenario = chain_scenario([lab(shifts=[{"start": "10:00", "end": "12:00"}])])
    log = simulate_chain(scenario, 0, [tubes([10])])
    assert minutes(log.run_start_s) == [180]
    assert minutes(log.released_s) == [240]


@pytest.mark.parametrize("end", ["09:00", "09:10"])
def test_runs_after_a_days_shift_wait_for_the_next_days_shift(end):
    """Shift 08:00-09:00 or 08:00-09:10 (ends at 120 or 130): the tube is due at 130, at or
    after the shift's end (a shift's end is not in it): it runs at 08:00 the next day."""
    scenario = chain_scenario([lab(shifts=[{"start": "08:00", "end": end}])])
    log = simulate_chain(scenario, 0, [tubes([10])])
    assert minutes(log.run_start_s) == [DAY_MIN + 60]
    assert_runs_in_shifts(log, scenario)


def test_shifts_repeat_every_day_of_the_round_and_three_days_after():
    windows = shift_windows(chain_scenario([lab(shifts=[{"start": "13:00", "end": "14:00"}, {"start": "08:00", "end": "09:00"}])]).chain.labs[0], 2)
    assert len(windows) == 2 * (2 + 3)
    assert windows[:3] == [(8 * 3600.0, 9 * 3600.0), (13 * 3600.0, 14 * 3600.0), (86_400 + 8 * 3600.0, 86_400 + 9 * 3600.0)]
    assert windows == sorted(windows)
    assert shift_windows(chain_scenario([lab()]).chain.labs[0], 1) == [(-math.inf, math.inf)]


def test_no_run_starts_outside_a_shift():
    """Many tubes, two instruments, two short shifts a day: every run starts within a shift."""
    scenario = chain_scenario(
        [lab(instruments=2, tubes_per_run=4, run_min=30, max_wait_min=20, shifts=[{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}])],
        couriers={"pickup_interval_min": 30, "box_tubes": 10, "travel_min": FIXED_20},
    )
    log = simulate_chain(scenario, 0, [tubes(np.arange(5, 600, 7))])
    assert_runs_in_shifts(log, scenario)
    assert_chain_consistent(log, scenario)


def test_a_run_waiting_for_an_instrument_past_the_shifts_end_waits_for_the_next_shift():
    """Shift 08:00-10:00 (60-180), one instrument, 1 tube per run, 90 min runs, no max wait.

    Two tubes at the lab at 100: the first runs 100-190. The second waits for the
    instrument, which frees at 190, after the shift: it should run at 08:00 the next
    day (1,500), not at 190.
    """
    scenario = chain_scenario([lab(tubes_per_run=1, run_min=90, max_wait_min=0, shifts=[{"start": "08:00", "end": "10:00"}])])
    log = simulate_chain(scenario, 0, [tubes([10, 10])])
    assert minutes(log.run_start_s)[0] == 100
    assert_runs_in_shifts(log, scenario)


# ------------------------------------------------------------------ positive pools and recalls


def test_a_positive_pool_is_recalled_and_resampled_singly_ahead_of_waiting_tubes():
    """Lab: 1 instrument, 2 tubes per run, 60 min runs, max wait 30; box 50; recall delay 30.

    * A (2 members, the first infected) sealed 10: picked 80, lab 100, run 130-190.
    * Released 190, positive: both members recalled, swabbed again at 220, at the lab 240
      (one travel, no courier round).
    * D, E, F, G sealed 150-165: tick 180, picked 200, lab 220: run 220-280 (D, E); F, G
      wait for the instrument.
    * 280: the re-sampled single tubes go first: run 280-340 (both recalls), then F, G 340-400.
    """
    scenario = chain_scenario([lab(tubes_per_run=2)], couriers={"pickup_interval_min": 60, "box_tubes": 50, "travel_min": FIXED_20})
    part = tubes([10, 150, 155, 160, 165], members=[2, 2, 2, 2, 2], infected=[True] + [False] * 9)
    log = simulate_chain(scenario, 0, [part])
    assert log.positive.tolist() == [True, False, False, False, False]
    assert minutes(log.released_s) == [190, 280, 280, 400, 400]
    assert log.recall_positive_tube.tolist() == [0, 0]
    assert minutes(log.recall_swab_s) == [220, 220]
    assert minutes(log.recall_arrived_s) == [240, 240]
    assert minutes(log.recall_released_s) == [340, 340]
    assert log.recall_infected.tolist() == [True, False]
    assert minutes(log.recall_first_swab_s) == [9, 9]
    assert [(minutes(s), n) for _, s, _, n in log.runs] == [(130, 1), (220, 2), (280, 2), (340, 2)]
    # The infected member is identified by its single tube: 340 - 9 min after its first swab.
    assert (identification_s(log) / 60.0).tolist() == [331]
    kpis = chain_kpis(log, OPEN, OPEN + 16 * 3600, 4.0)
    assert kpis["tubes"] == 5 and kpis["tubes_without_result"] == 0
    assert kpis["positive_pools"] == 1 and kpis["recalls"] == 2 and kpis["infected"] == 1
    assert kpis["courier_trips"] == 2 and kpis["tubes_per_trip"] == 2.5
    assert kpis["identification_h"]["max"] == pytest.approx(331 / 60)
    assert_chain_consistent(log, scenario)


def test_every_member_of_every_positive_pool_is_recalled_and_identified():
    """Everyone infected (prevalence 1), pools of 2 to 5: recalls = members of all positive tubes."""
    members = [5, 3, 2, 5, 4]
    part = tubes([10, 40, 70, 100, 130], members=members, infected=[True] * sum(members))
    scenario = chain_scenario([lab()], prevalence=1.0)
    log = simulate_chain(scenario, 0, [part])
    assert log.positive.all()
    assert log.recall_swab_s.size == sum(members)
    assert np.bincount(log.recall_positive_tube, minlength=5).tolist() == members
    assert log.recall_infected.all()
    assert not np.isnan(log.recall_released_s).any()
    identified = identification_s(log)
    assert identified.size == sum(members)
    assert np.all(identified > 0)
    assert_chain_consistent(log, scenario)


def simulated_round(prevalence, ratio, seed=3, population=120, days=1, labs=None, couriers=None):
    """Draws -> point -> PointTubes for two small points, and the scenario."""
    points = [
        {"id": "a", "population": population, "tents": 2, "stages": {"swab": {}}},
        {"id": "b", "population": population // 2, "tents": 1, "stages": {"swab": {}}, "courier_travel_min": {"dist": "uniform", "low": 5, "high": 40}},
    ]
    scenario = validate_scenario(
        {
            "name": "chain-simulated",
            "seed": seed,
            "clock": {"open": "07:00", "close": "23:00"},
            "round": {"days": days},
            "points": [{**p, "pooling": {"ratio": ratio, "seal_after_min": 20}} for p in points],
            "arrivals": {"kind": "poisson", "rate_per_hour": 60, "start": "07:00", "end": "12:00"},
            "chain": {
                "labs": labs or [{"id": "lab", "tubes_per_run": 8, "run_min": 45, "max_wait_min": 20}],
                "couriers": couriers or {"pickup_interval_min": 45, "box_tubes": 6},
                "prevalence": prevalence,
            },
        }
    )
    parts, logs = [], []
    for index, point in enumerate(scenario.points):
        log = simulate_point(point, scenario.hours, draw_residents(scenario, point, 0))
        logs.append(log)
        parts.append(PointTubes.of(log, index))
    return scenario, logs, parts


def test_prevalence_zero_gives_no_positive_pool_and_no_recall():
    scenario, logs, parts = simulated_round(0.0, 10)
    log = simulate_chain(scenario, 0, parts)
    assert log.sealed_s.size > 0
    assert not log.member_infected.any() and not log.positive.any()
    assert log.recall_swab_s.size == 0 and identification_s(log).size == 0
    assert_chain_consistent(log, scenario)


def test_prevalence_one_recalls_every_pooled_resident_and_identifies_everyone():
    scenario, logs, parts = simulated_round(1.0, 10)
    log = simulate_chain(scenario, 0, parts)
    assert log.member_infected.all() and log.positive.all()
    assert log.member_tube.size == sum(l.sampled for l in logs)
    pooled = np.flatnonzero(log.members > 1)
    assert pooled.size > 0
    recalled = np.bincount(log.recall_positive_tube, minlength=log.members.size)
    assert np.array_equal(recalled[pooled], log.members[pooled])  # every pooled member, once
    assert identification_s(log).size == log.member_tube.size  # each infected resident, once
    assert_chain_consistent(log, scenario)


def test_with_pools_of_one_infected_residents_are_identified_by_their_first_result():
    scenario, logs, parts = simulated_round(0.3, 1)
    log = simulate_chain(scenario, 0, parts)
    assert np.all(log.members == 1)
    infected = log.member_infected
    assert infected.any() and not infected.all()
    assert np.array_equal(log.positive[log.member_tube], infected)
    first = (log.released_s[log.member_tube] - log.member_swab_s)[infected]
    assert np.array_equal(np.sort(identification_s(log)), np.sort(first))


def test_with_pools_of_one_nobody_is_recalled():
    scenario, logs, parts = simulated_round(0.3, 1)
    log = simulate_chain(scenario, 0, parts)
    assert log.positive.any()
    assert log.recall_swab_s.size == 0


# ------------------------------------------------------------------ no tube lost or counted twice


@pytest.mark.parametrize("seed", range(5))
def test_random_rounds_lose_no_tube_and_count_none_twice(seed):
    labs = [
        {"id": "north", "instruments": 2, "tubes_per_run": 5, "run_min": 40, "max_wait_min": 15},
        {"id": "south", "instruments": 1, "tubes_per_run": 12, "run_min": 90, "max_wait_min": 45},
    ]
    couriers = {"per_points": 2, "pickup_interval_min": 30 + 15 * seed, "box_tubes": 3 + seed}
    scenario, logs, parts = simulated_round(0.05 * seed, [5, 10, 20, 10, 5][seed], seed=seed, population=200, labs=labs, couriers=couriers)
    if seed % 2:
        scenario = scenario.model_copy(
            update={"points": [scenario.points[0], scenario.points[1].model_copy(update={"lab": "south"})]}
        )
    log = simulate_chain(scenario, seed, parts)
    assert log.sealed_s.size == sum(l.tubes.count for l in logs)
    assert int(log.members.sum()) == sum(l.sampled for l in logs)
    assert log.tube_lab.tolist() == [0] * parts[0].sealed_s.size + [seed % 2] * parts[1].sealed_s.size
    assert_chain_consistent(log, scenario)
    assert chain_kpis(log, OPEN, OPEN + 16 * 3600, 4.0)["tubes_without_result"] == 0


def test_a_run_reports_the_chain_of_each_replication():
    scenario = validate_scenario(
        {
            "name": "chain-run",
            "replications": 2,
            "points": [{"id": "a", "population": 80, "tents": 2, "stages": {"swab": {}}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 40, "start": "07:00", "end": "10:00"},
            "chain": {"labs": [{"id": "lab", "tubes_per_run": 4, "run_min": 30}]},
        }
    )
    result = run_scenario(scenario)
    assert len(result.run_kpis) == 2
    for kpis in result.run_kpis:
        assert kpis["chain"]["tubes"] == kpis["tubes"] > 0
        assert kpis["chain"]["tubes_without_result"] == 0
        assert kpis["chain"]["recalls"] == 0  # prevalence 0 by default
    assert isinstance(result.first_chain, ChainLog)
    assert int(result.first_chain.members.sum()) == result.run_kpis[0]["sampled"]


# ------------------------------------------------------------------ validation


def test_lab_ids_must_be_unique_and_a_points_lab_must_exist():
    with pytest.raises(ScenarioError) as error:
        chain_scenario(
            [lab(), lab()],
            points=[{"id": "p", "population": 10, "tents": 1, "lab": "elsewhere"}],
        )
    found = {(p.field, p.message) for p in error.value.problems}
    assert ("chain.labs[1].id", '"lab" is already used by another lab') in found
    assert ("points[0].lab", '"elsewhere" is not a lab of chain.labs (lab, lab)') in found


def test_a_chain_needs_a_lab():
    with pytest.raises(ScenarioError) as error:
        chain_scenario([])
    assert any(p.field == "chain.labs" for p in error.value.problems)


def test_a_points_csv_may_name_a_lab_whose_id_is_a_number(tmp_path):
    (tmp_path / "points.csv").write_text("id,population,tents,lab\na,10,1,2\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: t\npoints_file: points.csv\narrivals: {kind: poisson, rate_per_hour: 10}\n"
        "chain:\n  labs: [{id: \"1\"}, {id: \"2\"}]\n",
        encoding="utf-8",
    )
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.lab_for(scenario.points[0]).id == "2"


# ------------------------------------------------------------------ checks


def assert_runs_in_shifts(log: ChainLog, scenario) -> None:
    for lab_index, start, _, _ in log.runs:
        windows = shift_windows(scenario.chain.labs[lab_index], scenario.round.days)
        assert any(a <= start < b for a, b in windows), f"run at {start} (minute {minutes(start)}) outside the shifts"


def assert_chain_consistent(log: ChainLog, scenario) -> None:
    """No tube lost or counted twice; each tube's timestamps in order; runs within capacity."""
    labs = scenario.chain.labs
    tubes = log.sealed_s.size
    recalls = log.recall_swab_s.size
    # Every tube reached its lab and got a result (labs here always reach a shift).
    for column in (log.picked_s, log.arrived_s, log.run_start_s, log.released_s):
        assert column.shape == (tubes,) and not np.isnan(column).any()
    assert np.all(log.opened_s <= log.sealed_s)
    assert np.all(log.sealed_s <= log.picked_s)
    assert np.all(log.picked_s < log.arrived_s)
    assert np.all(log.arrived_s <= log.run_start_s)
    assert np.all(log.run_start_s < log.released_s)
    run_min = np.array([labs[k].run_min * 60.0 for k in log.tube_lab])
    assert np.allclose(log.released_s - log.run_start_s, run_min, rtol=0, atol=1e-6)
    # Trips: every tube carried once.
    assert sum(load for *_, load in log.trips) == tubes
    carried = {}
    for point, left, back, load in log.trips:
        carried[(point, left)] = carried.get((point, left), 0) + load
        assert back > left
    here = {}
    for point, picked in zip(log.tube_point.tolist(), log.picked_s.tolist()):
        here[(point, picked)] = here.get((point, picked), 0) + 1
    assert here == carried
    # Runs: every delivered tube and every recalled single tube in exactly one run.
    assert sum(n for *_, n in log.runs) == tubes + recalls
    in_runs = {}
    for lab_index, start, end, n in log.runs:
        assert 1 <= n <= labs[lab_index].tubes_per_run
        assert end - start == pytest.approx(labs[lab_index].run_min * 60.0)
        in_runs[(lab_index, start)] = in_runs.get((lab_index, start), 0) + n
    started = {}
    for lab_index, start in zip(log.tube_lab.tolist(), log.run_start_s.tolist()):
        started[(lab_index, start)] = started.get((lab_index, start), 0) + 1
    positive_lab = log.tube_lab[log.recall_positive_tube] if recalls else np.zeros(0, dtype=int)
    for lab_index, released in zip(positive_lab.tolist(), log.recall_released_s.tolist()):
        matches = [s for (k, s) in in_runs if k == lab_index and s + labs[k].run_min * 60.0 == pytest.approx(released)]
        assert matches, "a recalled tube is in no run"
        key = (lab_index, matches[0])
        started[key] = started.get(key, 0) + 1
    assert started == in_runs
    # Instruments: never more runs at once than a lab has.
    for lab_index, config in enumerate(labs):
        spans = sorted((s, e) for k, s, e, _ in log.runs if k == lab_index)
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
        level = 0
        for _, step in events:
            level += step
            assert level <= config.instruments
    # Positive pools and recalls.
    infected_tube = np.zeros(tubes, dtype=bool)
    infected_tube[log.member_tube[log.member_infected]] = True
    assert np.array_equal(log.positive, infected_tube)
    if recalls:
        assert log.positive[log.recall_positive_tube].all()
        assert np.all(log.recall_swab_s >= log.released_s[log.recall_positive_tube])
        assert np.all(log.recall_arrived_s > log.recall_swab_s)
        assert np.all(log.recall_released_s - log.recall_arrived_s >= positive_lab_run_min(log, labs) - 1e-6)
    pooled_positive = np.flatnonzero(log.positive & (log.members > 1))
    recalled = np.bincount(log.recall_positive_tube, minlength=tubes) if recalls else np.zeros(tubes, dtype=int)
    assert np.array_equal(recalled[pooled_positive], log.members[pooled_positive])
    assert not recalled[~log.positive].any()


def positive_lab_run_min(log: ChainLog, labs) -> np.ndarray:
    return np.array([labs[k].run_min * 60.0 for k in log.tube_lab[log.recall_positive_tube]])


@pytest.mark.parametrize(("points", "count", "per_courier"), [(5, 2, 3), (4, 4, 1), (3, 10, 1), (7, 1, 7)])
def test_a_courier_count_is_shared_out_in_equal_groups(points, count, per_courier):
    from simsampling.scenario import validate_scenario

    scenario = validate_scenario({
        "name": "c", "points": [{"id": f"p{i}", "population": 1, "tents": 1} for i in range(points)],
        "arrivals": {"kind": "calling"},
        "chain": {"labs": [{"id": "lab"}], "couriers": {"count": count}},
    })
    assert scenario.points_per_courier == per_courier
    assert -(-points // per_courier) <= count
