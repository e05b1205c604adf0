"""simsampling.model: invariants of the SimPy point model on many layouts.

Checked on a fixed grid of layouts (queue shared / per_tent x registration
per_tent / desks / absent x temperature present / absent) and on random small
scenarios drawn by hypothesis.

Timestamps are compared exactly (``EPS`` = 0): the model lands its clock on each
arrival instant to the last bit (see model.point.delay_until and
tests/validation/test_erlang_c.py::test_zero_waits_are_exactly_zero).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsampling.draws import draw_residents
from simsampling.log import EventLog
from simsampling.metrics import point_series, replication_kpis
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario

EPS = 0.0


def stage_times(swab, **others) -> dict[str, np.ndarray]:
    """Hand-made service times by stage, in flow order (the stages given, then swab)."""
    times = {name: np.asarray(values, dtype=float) for name, values in others.items() if values is not None}
    return {**times, "swab": np.asarray(swab, dtype=float)}


# ------------------------------------------------------------------ checks


def max_concurrent(begin: np.ndarray, end: np.ndarray) -> int:
    """Most intervals [begin, end) open at once (an end frees its server before a start at the same instant)."""
    times = np.concatenate([begin, end])
    steps = np.concatenate([np.ones(begin.size, dtype=int), -np.ones(end.size, dtype=int)])
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max(initial=0))


def assert_fifo(enter: np.ndarray, start: np.ndarray, what: str) -> None:
    """Whoever joined a line strictly earlier started no later (ties in joining are free)."""
    if enter.size < 2:
        return
    key = np.round(enter, 6)  # residents joining within a microsecond count as simultaneous
    groups, inverse = np.unique(key, return_inverse=True)
    latest = np.full(groups.size, -np.inf)
    earliest = np.full(groups.size, np.inf)
    np.maximum.at(latest, inverse, start)
    np.minimum.at(earliest, inverse, start)
    before = np.maximum.accumulate(latest)[:-1]
    bad = np.flatnonzero(before > earliest[1:])
    assert bad.size == 0, f"{what}: a later joiner started first at line time {groups[bad[0] + 1]}"


def assert_work_conserving(log: EventLog, stage: str) -> None:
    """In a pooled line, a resident who waited started the instant a server freed."""
    served = log.served
    start = log.start[stage][served]
    ready = np.maximum(log.enter(stage)[served], log.open_s)
    waited = start > ready + EPS
    assert np.all(np.isin(start[waited], log.end[stage][served])), f"{stage}: waited while a server was idle"


def assert_joins_shortest_line(point, log: EventLog) -> None:
    """per_tent: each resident joins the station with fewest residents not yet swabbed (lowest on ties)."""
    served = log.served
    stage = "registration" if point.paired_registration else "swab"
    chose = log.enter(stage)[served]
    station = log.station[served]
    done = log.end["swab"][served]
    for i in range(chose.size):
        t = chose[i]
        others = np.arange(chose.size) != i
        if np.any(others & (np.abs(chose - t) < 1e-6)) or np.any(np.abs(done - t) < 1e-6):
            continue  # simultaneous events: the order SimPy processes them decides
        waiting = others & (chose < t) & (done > t)
        lines = np.bincount(station[waiting], minlength=point.stations)
        assert station[i] == int(np.argmin(lines)), f"resident {i} at {t}: lines {lines}, chose {station[i]}"


def assert_next_free_station_first(point, log: EventLog) -> None:
    """Shared line: the head of the line takes the station (paired: the registrar) free the longest.

    Replays the free list: stations 0, 1, ... free at opening, a station rejoins the back of
    the list when its resident leaves it. Valid when no two events share an instant
    except at opening (continuous service times).
    """
    served = log.served
    station = log.station[served]
    if point.paired_registration:
        take, free, line = log.start["registration"][served], log.start["swab"][served], log.enter("registration")[served]
    else:
        take, free, line = log.start["swab"][served], log.end["swab"][served], log.enter("swab")[served]
    n = station.size
    # (time, 0 = frees before 1 = takes at the same instant, order within, resident)
    events = [(log.open_s, 0, k, -1) for k in range(point.stations)]
    events += [(free[i], 0, 0, i) for i in range(n)]
    events += [(take[i], 1, line[i], i) for i in range(n)]
    events.sort()
    queue: list[int] = []
    for _, kind, order, i in events:
        if kind == 0:
            queue.append(order if i < 0 else int(station[i]))
        else:
            assert queue, "a resident started while no station was free"
            k = queue.pop(0)
            assert station[i] == k, f"resident {i} went to station {station[i]}, station {k} was free longer"


def check_invariants(scenario, replication: int = 0) -> EventLog:
    point, clock = scenario.points[0], scenario.clock
    draws = draw_residents(scenario, point, replication)
    log = simulate_point(point, clock, draws, replication)
    stages = log.stages
    served = log.served

    # Every arrival is either sampled or unserved; exactly those arriving by closing are served.
    assert log.arrived == draws.count and log.no_show == draws.no_show
    np.testing.assert_array_equal(log.resident, draws.resident)
    np.testing.assert_array_equal(served, draws.arrival_s <= clock.close_s)
    assert log.sampled + int(np.count_nonzero(~served)) == log.arrived
    assert set(stages) == {s for s in ("temperature", "registration", "swab") if getattr(point.stages, s) is not None}
    for stage in stages:
        assert np.isfinite(log.start[stage][served]).all() and np.isfinite(log.end[stage][served]).all()
        assert np.isnan(log.start[stage][~served]).all() and np.isnan(log.end[stage][~served]).all()
    assert np.all((log.station[served] >= 0) & (log.station[served] < point.stations))
    assert np.all(log.station[~served] == -1)

    # Timestamps never go backwards; nobody starts before arriving or before opening.
    first = stages[0]
    assert np.all(log.start[first][served] >= log.arrival_s[served] - EPS)
    previous_end = None
    for stage in stages:
        start, end = log.start[stage][served], log.end[stage][served]
        assert np.all(start >= clock.open_s)
        assert np.all(end >= start)
        if previous_end is not None:
            assert np.all(start >= previous_end)
        previous_end = end
    # Service times are the drawn ones.
    drawn = draws.service_s
    for stage in stages:
        np.testing.assert_allclose(log.service(stage), drawn[stage][served], rtol=1e-12, atol=1e-9)

    # Busy servers never exceed the servers of a stage; a station swabs one resident at a time.
    for stage in stages:
        assert max_concurrent(log.start[stage][served], log.end[stage][served]) <= point.servers(stage)
    station = log.station[served]
    s_start, s_end = log.start["swab"][served], log.end["swab"][served]
    # A resident kept waiting for a station starts the instant its previous user leaves.
    s_ready = np.maximum(log.enter("swab")[served], clock.open_s)
    for k in range(point.stations):
        mine = np.flatnonzero(station == k)
        order = mine[np.lexsort((s_end[mine], s_start[mine]))]  # zero-length swabs first on ties
        assert np.all(s_start[order][1:] >= s_end[order][:-1]), f"station {k} swabs two at once"
        waited = s_start[order][1:] > s_ready[order][1:] + EPS
        assert np.all(s_start[order][1:][waited] == s_end[order][:-1][waited]), f"station {k} idle while its next resident waited"
    if point.paired_registration:
        # The registrar of station k is held from registration start until the swab starts.
        r_start = log.start["registration"][served]
        r_ready = np.maximum(log.enter("registration")[served], clock.open_s)
        for k in range(point.stations):
            mine = np.flatnonzero(station == k)
            order = mine[np.lexsort((s_start[mine], r_start[mine]))]
            assert np.all(r_start[order][1:] >= s_start[order][:-1]), f"registrar {k} serves two at once"
            waited = r_start[order][1:] > r_ready[order][1:] + EPS
            assert np.all(r_start[order][1:][waited] == s_start[order][:-1][waited]), f"registrar {k} idle while its resident waited"

    # FIFO in every pooled line; the first stage's line is in arrival order.
    pooled = []
    if "temperature" in stages:
        pooled.append("temperature")
    if "registration" in stages and not point.paired_registration:
        pooled.append("registration")
    if point.queue == "shared":
        pooled.append("registration" if point.paired_registration else "swab")
    for stage in pooled:
        assert_fifo(log.enter(stage)[served], log.start[stage][served], stage)
    if first in pooled:
        assert np.all(np.diff(log.start[first][served]) >= 0), "first line not served in arrival order"
    for stage in pooled:
        if not (stage == "registration" and point.paired_registration):
            assert_work_conserving(log, stage)
    if point.queue == "per_tent":
        assert_joins_shortest_line(point, log)

    # Metrics built on the log agree with it.
    kpis = replication_kpis([log])
    assert kpis["sampled"] == log.sampled and kpis["unserved"] == log.arrived - log.sampled
    series = point_series(log)
    for stage in stages:
        assert series.busy[stage].max(initial=0) <= point.servers(stage) + 1e-9
        assert series.queue[stage].sum() * 60 == pytest.approx(log.wait(stage).sum(), rel=1e-9, abs=1e-6)
    return log


# ------------------------------------------------------------------ fixed layouts


def layout_scenario(queue, registration, temperature, population=500, tents=3, seed=7, arrivals=None, temperature_servers=1):
    stages = {"swab": {"service_s": {"dist": "lognormal", "mean": 25, "sd": 8}}}
    if temperature:
        stages["temperature"] = {"servers": temperature_servers, "service_s": {"dist": "triangular", "low": 2, "mode": 3, "high": 6}}
    if registration is not None:
        stages["registration"] = {"servers": registration, "qr_share": 0.7}
    return validate_scenario(
        {
            "name": "layout",
            "seed": seed,
            "clock": {"open": "07:00", "close": "11:00"},
            "points": [{"id": "p", "population": population, "tents": tents, "queue": queue, "stages": stages}],
            "arrivals": arrivals
            or {
                "kind": "slots",
                "show_up": 0.9,
                # Early arrivals wait for opening; late ones arrive after closing.
                "lateness_min": {"dist": "normal", "mean": 0, "sd": 15},
                "slots": [{"start": "07:00", "end": "08:00", "share": 0.7}, {"start": "10:00", "end": "11:00", "share": 0.3}],
            },
        }
    )


LAYOUTS = list(itertools.product(["shared", "per_tent"], ["per_tent", 2, None], [True, False]))


@pytest.mark.parametrize("queue, registration, temperature", LAYOUTS)
def test_invariants_on_every_layout(queue, registration, temperature):
    scenario = layout_scenario(queue, registration, temperature)
    log = check_invariants(scenario)
    served = log.served
    assert 0 < log.sampled < log.arrived, "the scenario should have both served and unserved residents"
    assert np.any(log.arrival_s < scenario.clock.open_s), "the scenario should have early arrivals"
    if queue == "shared":
        assert_next_free_station_first(scenario.points[0], log)
    # Early arrivals at an idle point start exactly at opening.
    first = log.stages[0]
    early = log.arrival_s[served] < scenario.clock.open_s
    assert log.start[first][served][early].min() == scenario.clock.open_s
    assert np.all(log.wait(first)[early] >= scenario.clock.open_s - log.arrival_s[served][early])
    # Everyone inside at closing is served, overtime if needed.
    assert log.last_swab_s >= log.finish_s[served].max()


@pytest.mark.parametrize("queue, registration, temperature", LAYOUTS)
def test_no_waits_anywhere_when_every_stage_has_a_server_per_resident(queue, registration, temperature):
    population = 30
    scenario = layout_scenario(
        queue,
        registration if registration != 2 else population,
        temperature,
        population=population,
        tents=population,
        temperature_servers=population,
        arrivals={"kind": "poisson", "rate_per_hour": 60},
    )
    if temperature:
        assert scenario.points[0].servers("temperature") == population
    log = check_invariants(scenario)
    assert log.sampled > 10
    for stage in log.stages:
        np.testing.assert_allclose(log.wait(stage), 0.0, rtol=0, atol=EPS)


@pytest.mark.parametrize("queue", ["shared", "per_tent"])
def test_empty_and_all_late_points(queue):
    empty = layout_scenario(queue, "per_tent", True, population=0)
    log = check_invariants(empty)
    assert log.arrived == 0 and log.sampled == 0 and log.last_swab_s == empty.clock.open_s
    late = validate_scenario(
        {
            "name": "late",
            "clock": {"open": "07:00", "close": "08:00"},
            "points": [{"id": "p", "population": 50, "tents": 2, "queue": queue}],
            "arrivals": {
                "kind": "slots",
                "lateness_min": {"dist": "fixed", "value": 120},
                "slots": [{"start": "07:00", "end": "08:00", "share": 1.0}],
            },
        }
    )
    log = check_invariants(late)
    assert log.arrived > 0 and log.sampled == 0


def test_overloaded_point_serves_everyone_admitted_after_closing():
    scenario = layout_scenario("shared", "per_tent", True, population=800, tents=1)
    log = check_invariants(scenario)
    assert log.last_swab_s > scenario.clock.close_s
    assert log.sampled == np.count_nonzero(log.arrival_s <= scenario.clock.close_s)


# ------------------------------------------------------------------ random scenarios


def durations(low: float, high: float):
    """A duration distribution with values of order [low, high] seconds."""
    mean = st.floats(low, high)
    return st.one_of(
        st.builds(lambda m: {"dist": "exponential", "mean": m}, mean),
        st.builds(lambda m, cv: {"dist": "lognormal", "mean": m, "sd": m * cv}, mean, st.floats(0, 1.5)),
        st.builds(lambda v: {"dist": "fixed", "value": v}, st.sampled_from([0.0, low, high, round((low + high) / 2)])),
        st.builds(lambda a, b: {"dist": "uniform", "low": min(a, b), "high": max(a, b)}, mean, mean),
        st.builds(lambda m: {"dist": "triangular", "low": 0.5 * m, "mode": m, "high": 2 * m}, mean),
        st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, mean, st.floats(0, high)),
        st.builds(lambda v: {"dist": "empirical", "values": v}, st.lists(st.sampled_from([0.0, low, high]), min_size=1, max_size=4)),
    )


@st.composite
def slot_arrivals(draw, open_h, close_h):
    marks = range(open_h * 2, close_h * 2 + 1)  # half hours
    slots = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.sampled_from(marks[:-1]))
        end = draw(st.sampled_from([m for m in marks if m > start]))
        slots.append((start, end))
    weights = draw(st.lists(st.integers(1, 10), min_size=len(slots), max_size=len(slots)))
    hhmm = lambda m: f"{m // 2:02d}:{30 * (m % 2):02d}"  # noqa: E731
    lateness = draw(
        st.one_of(
            st.builds(lambda m, s: {"dist": "normal", "mean": m, "sd": s}, st.floats(-30, 30), st.floats(0, 30)),
            st.just({"dist": "fixed", "value": 0.0}),
            st.builds(lambda a: {"dist": "uniform", "low": -a, "high": a}, st.floats(0, 60)),
        )
    )
    return {
        "kind": "slots",
        "show_up": draw(st.floats(0, 1)),
        "lateness_min": lateness,
        "slots": [{"start": hhmm(a), "end": hhmm(b), "share": w / sum(weights)} for (a, b), w in zip(slots, weights)],
    }


@st.composite
def small_scenario_data(draw):
    open_h = draw(st.integers(6, 9))
    close_h = open_h + draw(st.integers(1, 6))
    stages = {"swab": {"servers": draw(st.one_of(st.just("per_tent"), st.integers(1, 6))), "service_s": draw(durations(5, 90))}}
    if draw(st.booleans()):
        stages["temperature"] = {"servers": draw(st.integers(1, 3)), "service_s": draw(durations(1, 10))}
    registration = draw(st.sampled_from([None, "per_tent", "desks"]))
    if registration is not None:
        stages["registration"] = {
            "servers": "per_tent" if registration == "per_tent" else draw(st.integers(1, 4)),
            "qr_share": draw(st.floats(0, 1)),
            "service_s": {"qr": draw(durations(2, 15)), "manual": draw(durations(20, 90))},
        }
    if draw(st.booleans()):
        arrivals = draw(slot_arrivals(open_h, close_h))
    else:
        arrivals = {"kind": "poisson", "rate_per_hour": draw(st.floats(10, 600))}
    return (
        {
            "name": "random",
            "seed": draw(st.integers(0, 2**32)),
            "clock": {"open": f"{open_h:02d}:00", "close": f"{close_h:02d}:00"},
            "points": [
                {
                    "id": "p",
                    "population": draw(st.integers(0, 300)),
                    "tents": draw(st.integers(1, 5)),
                    "queue": draw(st.sampled_from(["shared", "per_tent"])),
                    "stages": stages,
                }
            ],
            "arrivals": arrivals,
        }
    )


small_scenarios = small_scenario_data().map(validate_scenario)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=small_scenarios, replication=st.integers(0, 5))
def test_invariants_on_random_small_scenarios(scenario, replication):
    check_invariants(scenario, replication)


# ------------------------------------------------------------------ staff plans and resident behaviour


@st.composite
def people_scenarios(draw):
    """Random small scenarios with rotas, breaks, relief, balking, reneging, green channels, disinfection."""
    data = draw(small_scenario_data())
    point = data["points"][0]
    open_h, close_h = (int(data["clock"][key][:2]) for key in ("open", "close"))
    stations = point["stages"]["swab"]["servers"]
    stations = point["tents"] if stations == "per_tent" else stations
    staff = {"relief": draw(st.integers(0, 2)), "marshals": draw(st.integers(0, 3))}
    if draw(st.booleans()):
        staff["breaks"] = {"every_min": draw(st.floats(20, 120)), "length_min": draw(st.floats(1, 30)), "stagger_min": draw(st.floats(0, 20))}
    if draw(st.booleans()):
        hours = list(range(open_h, close_h + 1))
        staff["rota"] = []
        for _ in range(draw(st.integers(1, 3))):
            start = draw(st.sampled_from(hours[:-1]))
            end = draw(st.sampled_from([h for h in hours if h > start]))
            staff["rota"].append({"role": "sampler", "count": draw(st.integers(0, stations + 1)), "start": f"{start:02d}:00", "end": f"{end:02d}:00"})
    else:
        staff["samplers"] = draw(st.integers(1, stations + 1))
    stages = point["stages"]
    if "registration" in stages and stages["registration"]["servers"] != "per_tent" and draw(st.booleans()):
        staff["registrars"] = draw(st.integers(0, stages["registration"]["servers"]))
    if "temperature" in stages and draw(st.booleans()):
        staff["temperature"] = draw(st.integers(0, stages["temperature"]["servers"]))
    point["staff"] = staff
    if draw(st.booleans()):
        point["balking"] = {"threshold": draw(durations(1, 20)), "return_share": draw(st.floats(0, 1)),
                            "return_after_min": draw(durations(1, 60))}
    if draw(st.booleans()):
        point["reneging"] = {"patience_min": draw(durations(1, 60))}
    if draw(st.booleans()):
        channel = "dedicated" if stations > 1 and draw(st.booleans()) else "priority"
        point["green_channel"] = {"share": draw(st.floats(0, 1)), "channel": channel, "service_factor": draw(st.floats(1, 3))}
    if draw(st.booleans()):
        stages["swab"]["disinfection_s"] = draw(durations(1, 15))
    if draw(st.booleans()):
        point["waiting_area"] = {"length_m": draw(st.floats(1, 100)), "spacing_m": draw(st.sampled_from([1.0, 2.0]))}
    return validate_scenario(data)


def check_people_invariants(scenario, replication: int) -> None:
    point, clock = scenario.points[0], scenario.clock
    draws = draw_residents(scenario, point, replication)
    log = simulate_point(point, clock, draws, replication)
    served, stages = log.served, log.stages
    admitted = draws.arrival_s <= clock.close_s

    # Every resident who came is sampled, balked, reneged or turned away, exactly once. Turned
    # away: arrived after closing, or still in line when the last staff left for good.
    turned_away = ~served & ~log.balked & ~log.reneged
    assert not np.any(served & ~admitted) and not np.any(log.balked & log.reneged)
    stranded = turned_away & admitted
    if stranded.any():
        assert np.isinf(log.closures.end_s).any(), "residents left waiting although staff came back"
    kpis = replication_kpis([log])
    assert kpis["sampled"] + kpis["balked"] + kpis["reneged"] + kpis["turned_away"] == log.arrived
    # Balkers never started anything; renegers left from a line, after arriving, before their swab.
    for stage in stages:
        assert np.isnan(log.start[stage][log.balked]).all()
    assert np.all(log.left_s[log.reneged] >= log.arrival_s[log.reneged])
    assert np.isnan(log.start["swab"][log.reneged]).all()
    left_at = log.left_stage[log.reneged]
    for index, stage in enumerate(stages):
        assert np.isnan(log.start[stage][log.reneged & (log.left_stage < index)]).all()
    assert set(left_at.tolist()) <= set(range(len(stages)))

    # Served residents: timestamps in order, the drawn service times (priority factor included).
    previous = log.arrival_s[served]
    for stage in stages:
        start, end = log.start[stage][served], log.end[stage][served]
        assert np.all(start >= previous) and np.all(end >= start)
        previous = end
    np.testing.assert_allclose(log.service("swab"), draws.service_s["swab"][served], rtol=1e-12, atol=1e-9)

    # A station swabs one resident at a time, never while closed for lack of staff; its
    # disinfection keeps it busy too.
    closures = log.closures
    free = log.station_free_s()[served]
    station, s_start = log.station[served], log.start["swab"][served]
    for k in range(point.stations):
        begin, end = s_start[station == k], free[station == k]
        order = np.lexsort((end, begin))  # zero-length swabs first on ties
        begin, end = begin[order], end[order]
        assert np.all(begin[1:] >= end[:-1] - 1e-9), f"station {k} swabs two at once"
        shut = (closures.role == "sampler") & (closures.slot == k)
        for a, b in zip(closures.start_s[shut], closures.end_s[shut]):
            assert not np.any((begin < b - 1e-9) & (end > a + 1e-9)), f"station {k} served while closed {a}-{b}"
    if point.green_channel is not None and point.green_channel.channel == "dedicated":
        dedicated = log.station[served] < point.green_channel.stations
        np.testing.assert_array_equal(dedicated, log.priority[served])
    # Pooled stages: busy servers plus closed ones never exceed the servers.
    for stage, role in (("temperature", "temperature"), ("registration", "registrar")):
        if stage not in stages or (stage == "registration" and point.paired_registration):
            continue
        shut = closures.role == role
        begin = np.concatenate([log.start[stage][served], closures.start_s[shut]])
        end = np.concatenate([log.end[stage][served], closures.end_s[shut]])
        assert max_concurrent(begin, end) <= point.servers(stage)

    # KPIs finite where defined, shares within [0, 1]; the line series integrate to the time in line.
    for stage, value in kpis["utilization"].items():
        assert 0.0 <= value <= 1.0 + 1e-9 or (np.isnan(value) and log.sampled == 0)
    for value in kpis["idle_share"].values():
        assert np.isnan(value) or -1e-9 <= value <= 1.0
    assert kpis["waiting_over_capacity_person_min"] >= 0 and kpis["stations_closed_min"] >= 0
    series = point_series(log)
    for stage in stages:
        joined, left = log.line(stage)
        assert series.queue[stage].sum() * 60 == pytest.approx((left - joined).sum(), rel=1e-9, abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=people_scenarios(), replication=st.integers(0, 3))
def test_staff_and_behaviour_invariants_on_random_small_scenarios(scenario, replication):
    check_people_invariants(scenario, replication)
