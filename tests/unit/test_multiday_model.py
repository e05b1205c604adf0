"""simsampling.model over a multi-day round: opening hours by day, set-up delay, door-to-door teams.

Every case runs the SimPy model on hand-made draws (fixed service times, no
randomness) and compares timestamps exactly with a timeline computed by hand.
Times are seconds since midnight of day 0; ``D`` is a day.
"""

from __future__ import annotations

import numpy as np
import pytest

from simsampling.draws import HomeDraws, ResidentDraws, draw_residents
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario
from simsampling.scenario.schema import DAY_S

try:  # pytest puts tests/ on sys.path (tests/ has no __init__.py)
    from unit.test_model_invariants import stage_times
except ImportError:  # pragma: no cover - run from the repository root under another import mode
    from tests.unit.test_model_invariants import stage_times

D = DAY_S
H = 3600.0
M = 60.0
NAN = np.nan


def make_point(tents=1, stages=None, home=None, queue="shared", setup=None):
    point = {"id": "p", "population": 100, "tents": tents, "queue": queue, "stages": stages or {"swab": {}}}
    if home is not None:
        point["home"] = home
    if setup is not None:
        point["setup_min"] = setup
    scenario = validate_scenario({"name": "hand-made", "points": [point], "arrivals": {"kind": "poisson", "rate_per_hour": 1}})
    return scenario.points[0]


def make_draws(arrival, swab, day=None, temperature=None, registration=None, setup_s=0.0, home=None) -> ResidentDraws:
    n = len(arrival)
    assert list(arrival) == sorted(arrival), "draws come in arrival order"
    return ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        service_s=stage_times(swab, temperature=temperature, registration=registration),
        no_show=0,
        day=None if day is None else np.asarray(day, dtype=np.int16),
        setup_s=setup_s,
        home=home,
    )


def hours(open_h, close_h, days=2):
    return [(d * D + open_h * H, d * D + close_h * H) for d in range(days)]


def nan_equal(actual, expected):
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected, dtype=float))


# ------------------------------------------------------------------ opening hours by day


def test_two_day_round_admits_by_the_day_each_arrival_counts_for():
    round_hours = hours(7, 8)
    rows = [
        # arrival, day, expected swab start (None: turned away)
        (6.5 * H, 0, 7 * H),  # early for day 0: waits for the opening
        (7.5 * H, 1, D + 7 * H),  # early for day 1, while day 0 is open: waits for day 1's opening
        (8 * H, 0, 8 * H),  # at day 0's closing: still let in
        (8 * H + 1, 0, None),  # after day 0's closing: turned away
        (23 * H, 1, D + 7 * H + 60),  # early for day 1, behind the first day-1 arrival
        (D + 6.99 * H, 1, D + 7 * H + 120),
        (D + 7.25 * H, 0, None),  # counts for day 0, arrives on day 1: long after its closing
        (D + 7.5 * H, 1, D + 7.5 * H),
        (D + 8 * H + 1, 1, None),  # after day 1's closing
    ]
    arrival = [r[0] for r in rows]
    draws = make_draws(arrival, [60.0] * len(rows), day=[r[1] for r in rows])
    log = simulate_point(make_point(), round_hours, draws)
    served = [r[2] is not None for r in rows]
    np.testing.assert_array_equal(log.served, served)
    nan_equal(log.start["swab"], [NAN if r[2] is None else r[2] for r in rows])
    nan_equal(log.end["swab"], [NAN if r[2] is None else r[2] + 60 for r in rows])
    np.testing.assert_array_equal(log.station, [0 if s else -1 for s in served])
    # The log keeps the days and the round's hours.
    np.testing.assert_array_equal(log.day, [r[1] for r in rows])
    assert log.hours == round_hours
    assert log.open_s == 7 * H and log.close_s == D + 8 * H
    assert log.sampled == 6 and log.arrived == 9
    np.testing.assert_array_equal(log.table()["day"], [r[1] for r in rows])


def test_overtime_of_day_zero_ends_before_day_one_opens():
    """Everyone admitted by 08:00 is served, however late; day-1 residents then wait for nobody."""
    arrival = [7 * H + 50 * M] * 4 + [D + 6 * H, D + 7 * H]
    day = [0, 0, 0, 0, 1, 1]
    log = simulate_point(make_point(), hours(7, 8), make_draws(arrival, [15 * M] * 6, day=day))
    assert log.served.all()
    starts = [7 * H + 50 * M + k * 15 * M for k in range(4)] + [D + 7 * H, D + 7 * H + 15 * M]
    nan_equal(log.start["swab"], starts)
    assert log.end["swab"][3] == 8 * H + 50 * M  # 50 minutes of overtime
    assert log.wait("swab")[4] == 1 * H  # from 06:00 to the opening, no one ahead


def test_overtime_running_past_the_next_opening_is_served_first_in_line_order():
    """07:00-23:00 on two days, one station: a 9-hour swab admitted at 22:59 runs to 07:59 on day 1."""
    arrival = [22 * H + 59 * M, 23 * H, D + 6 * H, D + 7 * H, D + 7 * H + 30 * M]
    swab = [9 * H, 60.0, 60.0, 60.0, 60.0]
    log = simulate_point(make_point(), hours(7, 23), make_draws(arrival, swab, day=[0, 0, 1, 1, 1]))
    assert log.served.all()
    t = D + 7 * H + 59 * M
    nan_equal(log.start["swab"], [22 * H + 59 * M, t, t + 60, t + 120, t + 180])


def test_overtime_holds_only_the_stations_it_uses():
    """Two stations: the long overtime swab holds one; day-1 residents use the other from the opening."""
    arrival = [22 * H + 59 * M, 23 * H, D + 6 * H, D + 6.5 * H, D + 7 * H + 30 * M]
    swab = [9 * H, 60.0, 60.0, 60.0, 60.0]
    log = simulate_point(make_point(tents=2), hours(7, 23), make_draws(arrival, swab, day=[0, 0, 1, 1, 1]))
    nan_equal(log.start["swab"], [22 * H + 59 * M, 23 * H, D + 7 * H, D + 7 * H + 60, D + 7 * H + 30 * M])
    np.testing.assert_array_equal(log.station, [0, 1, 1, 1, 1])


def test_every_stage_waits_for_the_day_and_early_residents_enter_in_arrival_order():
    stages = {
        "temperature": {"service_s": {"dist": "fixed", "value": 3}},
        "registration": {"servers": "per_tent"},
        "swab": {},
    }
    arrival = [D + 6 * H, D + 6.5 * H]
    draws = make_draws(arrival, [30.0, 30.0], day=[1, 1], temperature=[3.0, 3.0], registration=[10.0, 10.0])
    log = simulate_point(make_point(stages=stages), hours(7, 8), draws)
    o = D + 7 * H
    nan_equal(log.start["temperature"], [o, o + 3])
    nan_equal(log.start["registration"], [o + 3, o + 13])  # the registrar is free once resident 0 sits at the swab
    nan_equal(log.start["swab"], [o + 13, o + 43])
    nan_equal(log.end["swab"], [o + 43, o + 73])


def test_draws_without_days_are_a_one_day_round():
    draws = make_draws([6.5 * H, 8 * H + 1], [60.0, 60.0])
    log = simulate_point(make_point(), hours(7, 8, days=1), draws)
    np.testing.assert_array_equal(log.served, [True, False])
    np.testing.assert_array_equal(log.day, [0, 0])


# ------------------------------------------------------------------ set-up delay


@pytest.mark.parametrize("setup_s", [0.0, 600.0, 1234.5])
def test_setup_delays_the_first_opening_exactly(setup_s):
    arrival = [6.5 * H, 6.75 * H, 7 * H + 20 * M, D + 6 * H + 50 * M]
    draws = make_draws(arrival, [300.0] * 4, day=[0, 0, 0, 1], setup_s=setup_s)
    log = simulate_point(make_point(), hours(7, 8), draws)
    first = 7 * H + setup_s
    assert log.start["swab"][0] == first
    assert log.start["swab"][1] == first + 300
    assert log.start["swab"][2] == max(7 * H + 20 * M, first + 600)
    assert log.start["swab"][3] == D + 7 * H  # only the first opening waits for the set-up
    assert log.setup_s == setup_s


def test_setup_shifts_the_first_swab_by_the_delay():
    arrival = [6.5 * H, 6.75 * H]
    plain = simulate_point(make_point(), hours(7, 8), make_draws(arrival, [300.0, 300.0]))
    delayed = simulate_point(make_point(), hours(7, 8), make_draws(arrival, [300.0, 300.0], setup_s=600.0))
    np.testing.assert_array_equal(delayed.start["swab"] - plain.start["swab"], [600.0, 600.0])


def test_setup_from_the_scenario_shifts_the_first_swab_exactly():
    stages = {"swab": {"service_s": {"dist": "fixed", "value": 30}}}
    base = {
        "name": "setup",
        "clock": {"open": "07:00", "close": "12:00"},
        "arrivals": {
            "kind": "slots",
            "show_up": 1.0,
            "lateness_min": {"dist": "fixed", "value": -60},  # everyone waits before opening
            "slots": [{"start": "07:00", "end": "07:30", "share": 1.0}],
        },
    }
    firsts = []
    for setup in (None, {"dist": "fixed", "value": 12}):
        point = {"id": "p", "population": 50, "tents": 2, "stages": stages}
        if setup is not None:
            point["setup_min"] = setup
        scenario = validate_scenario({**base, "points": [point]})
        draws = draw_residents(scenario, scenario.points[0], 0)
        log = simulate_point(scenario.points[0], scenario.hours, draws)
        assert np.all(log.arrival_s < 7 * H)
        firsts.append(log.start["swab"].min())
        assert np.count_nonzero(log.start["swab"] == log.start["swab"].min()) == 2  # both stations start together
    assert firsts == [7 * H, 7 * H + 720.0]


# ------------------------------------------------------------------ door-to-door teams


def home_draws(household, service, travel, ppe, resident=None) -> HomeDraws:
    household = np.asarray(household, dtype=np.int64)
    return HomeDraws(
        resident=np.asarray(resident if resident is not None else 10 + np.arange(household.size), dtype=np.int64),
        household=household,
        service_s=np.asarray(service, dtype=float),
        travel_s=np.asarray(travel, dtype=float),
        ppe_s=np.asarray(ppe, dtype=float),
    )


HOME = {"share": 0.1, "teams": 1}


def run_home(home: HomeDraws, teams=1, round_hours=None, setup_s=0.0, arrival=(), swab=()):
    point = make_point(home={**HOME, "teams": teams})
    draws = make_draws(list(arrival), list(swab), setup_s=setup_s, home=home)
    return simulate_point(point, round_hours or hours(7, 8, days=1), draws)


# Five households: [10, 11], [12], [13, 14], [15], [16]; 2 min each, 5 min travel, 10 min PPE change.
FIVE = dict(household=[0, 0, 1, 2, 2, 3, 4], service=[120.0] * 7, travel=[300.0] * 5, ppe=[600.0] * 5)


def test_one_team_visit_timeline_by_hand():
    log = run_home(home_draws(**FIVE))
    home = log.home
    h = 7 * H
    # 07:00 travel, 07:05 + 07:07 two members, PPE to 07:19; 07:19 travel, 07:24 one member, PPE to 07:36;
    # 07:36 travel, 07:41 + 07:43, PPE to 07:55; 07:55 (still open) travel, 08:00 one member, PPE to 08:12;
    # 08:12 is after closing: the last household is not visited.
    nan_equal(home.start_s, [h + 5 * M, h + 7 * M, h + 24 * M, h + 41 * M, h + 43 * M, h + 60 * M, NAN])
    nan_equal(home.end_s, [h + 7 * M, h + 9 * M, h + 26 * M, h + 43 * M, h + 45 * M, h + 62 * M, NAN])
    np.testing.assert_array_equal(home.team, [0, 0, 0, 0, 0, 0, -1])
    np.testing.assert_array_equal(home.resident, 10 + np.arange(7))
    assert home.sampled == 6 and home.visits == 4
    assert home.teams == 1 and home.team_size == 2
    assert log.home_sampled == 6 and log.last_sample_s == h + 62 * M
    table = log.table()
    assert table["status"].tolist() == ["home_sampled"] * 6 + ["home_unserved"]


def test_households_left_at_the_end_of_a_day_wait_for_the_next_opening():
    log = run_home(home_draws(**FIVE), round_hours=hours(7, 8, days=2))
    home = log.home
    assert home.served.all()
    # The fifth household: the team is back at 08:12, after closing; it sets out at day 1's opening.
    assert home.start_s[6] == D + 7 * H + 5 * M and home.end_s[6] == D + 7 * H + 7 * M
    nan_equal(home.end_s[:6], [7 * H + m * M for m in (7, 9, 26, 43, 45, 62)])


def test_teams_take_households_in_order():
    # Single-member households, 1 min each, PPE change 5 min; travel 5, 10, 2, 1 minutes.
    draws = home_draws([0, 1, 2, 3], [60.0] * 4, [300.0, 600.0, 120.0, 60.0], [300.0] * 4)
    home = run_home(draws, teams=2).home
    h = 7 * H
    # Team 0: household 0 (travel 07:00-07:05, sample to 07:06, PPE to 07:11), then household 2 at 07:11.
    # Team 1: household 1 (travel 07:00-07:10, sample to 07:11, PPE to 07:16), then household 3 at 07:16.
    nan_equal(home.start_s, [h + 5 * M, h + 10 * M, h + 13 * M, h + 17 * M])
    np.testing.assert_array_equal(home.team, [0, 1, 0, 1])


def test_more_teams_than_households():
    draws = home_draws([0, 1], [60.0, 60.0], [300.0, 300.0], [600.0, 600.0])
    home = run_home(draws, teams=4).home
    nan_equal(home.start_s, [7 * H + 5 * M] * 2)
    np.testing.assert_array_equal(home.team, [0, 1])


def test_teams_wait_for_the_set_up():
    draws = home_draws([0, 1], [60.0, 60.0], [300.0, 300.0], [600.0, 600.0])
    home = run_home(draws, setup_s=900.0).home
    h = 7 * H + 15 * M
    nan_equal(home.start_s, [h + 5 * M, h + 21 * M])  # 07:15 travel, 07:20 sample, 07:21 PPE, 07:31 travel


def test_no_visit_starts_at_closing():
    # The first visit ends (with its PPE change) exactly at 08:00: the second is not started.
    draws = home_draws([0, 1], [60.0, 60.0], [1200.0, 60.0], [2340.0, 60.0])
    home = run_home(draws).home
    assert home.start_s[0] == 7 * H + 20 * M and home.end_s[0] == 7 * H + 21 * M  # then PPE to 08:00
    assert np.isnan(home.start_s[1]) and home.team[1] == -1


def test_home_teams_and_the_point_do_not_share_staff():
    """The point's station and the team work at the same time; nobody waits for the other."""
    draws = home_draws([0], [120.0], [300.0], [600.0])
    log = run_home(draws, arrival=[7 * H + 5 * M], swab=[30.0])
    assert log.start["swab"][0] == 7 * H + 5 * M
    assert log.home.start_s[0] == 7 * H + 5 * M


def test_no_home_residents():
    draws = home_draws([], [], [], [], resident=[])
    log = run_home(draws, teams=3)
    assert log.home.resident.size == 0 and log.home.sampled == 0 and log.home.visits == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drawn_home_visits_start_only_during_opening_hours_and_in_household_order(seed):
    scenario = validate_scenario(
        {
            "name": "home",
            "seed": seed,
            "clock": {"open": "08:00", "close": "11:00"},
            "round": {"days": 2},
            "points": [
                {
                    "id": "p",
                    "population": 1500,
                    "tents": 2,
                    "setup_min": {"dist": "uniform", "low": 10, "high": 40},
                    "home": {"share": 0.08, "teams": 3, "household_size": 1.8},
                }
            ],
            "arrivals": {"kind": "poisson", "rate_per_hour": 60},
        }
    )
    point = scenario.points[0]
    draws = draw_residents(scenario, point, 0)
    log = simulate_point(point, scenario.hours, draws)
    home, drawn = log.home, draws.home
    assert home.resident.size > 60
    assert 0 < home.sampled < home.resident.size, "the round should end with households left"
    open_hours = [(scenario.hours[0][0] + draws.setup_s, scenario.hours[0][1])] + scenario.hours[1:]
    households = drawn.households
    first = np.searchsorted(drawn.household, np.arange(households))  # first member of each household
    visited = home.served[first]
    # Households left unvisited are the last ones, and a household is visited whole by one team.
    assert np.all(visited[: visited.sum()]) and not visited[visited.sum() :].any()
    for h in range(households):
        mine = drawn.household == h
        assert home.served[mine].all() == visited[h] and home.served[mine].any() == visited[h]
        if visited[h]:
            assert np.unique(home.team[mine]).size == 1
            starts, ends = home.start_s[mine], home.end_s[mine]
            np.testing.assert_allclose(ends - starts, drawn.service_s[mine], rtol=1e-12)
            np.testing.assert_array_equal(starts[1:], ends[:-1])  # members one after another
    # Each visit (travel included) sets out during opening hours, in household order.
    set_out = home.start_s[first][visited] - drawn.travel_s[visited]
    assert np.all(np.diff(set_out) >= -1e-6)
    inside = np.zeros(set_out.size, dtype=bool)
    for open_s, close_s in open_hours:
        inside |= (set_out >= open_s - 1e-6) & (set_out < close_s)
    assert inside.all()
    assert np.any(set_out >= open_hours[1][0] - 1e-6), "some visits should be on day 1"


# ------------------------------------------------------------------ drawn multi-day rounds


@pytest.mark.parametrize("queue, registration", [("shared", "per_tent"), ("per_tent", "per_tent"), ("shared", 2)])
@pytest.mark.parametrize("seed", [1, 2])
def test_drawn_multi_day_round_respects_each_day_s_hours(queue, registration, seed):
    """Calling plan over three days with a mop-up, a set-up delay and lateness both ways."""
    scenario = validate_scenario(
        {
            "name": "round",
            "seed": seed,
            "clock": {"open": "08:00", "close": "12:00"},
            "round": {"days": 3},
            "points": [
                {
                    "id": "p",
                    "population": 2500,
                    "tents": 3,
                    "queue": queue,
                    "setup_min": {"dist": "uniform", "low": 5, "high": 30},
                    "stages": {"temperature": {}, "registration": {"servers": registration}, "swab": {}},
                }
            ],
            "arrivals": {
                "kind": "calling",
                "batch_households": 12,
                "gap_min": 10,
                "household_size": 2.6,
                "show_up": 0.9,
                "lateness_min": {"dist": "normal", "mean": 0, "sd": 20},
                "mop_up": {"day": 2, "start": "11:00", "end": "12:00", "share": 0.5},
            },
        }
    )
    point = scenario.points[0]
    draws = draw_residents(scenario, point, 0)
    log = simulate_point(point, scenario.hours, draws)
    opens = np.array([o for o, _ in scenario.hours])
    opens[0] += draws.setup_s
    closes = np.array([c for _, c in scenario.hours])
    day = draws.days
    assert set(np.unique(day).tolist()) == {0, 1, 2}
    assert draws.not_called > 0  # 3 x 24 calls of 12 households do not reach everyone
    # Exactly those arriving by their own day's closing are served.
    np.testing.assert_array_equal(log.served, draws.arrival_s <= closes[day])
    assert 0 < log.sampled < log.arrived
    served = log.served
    first = log.stages[0]
    start = log.start[first][served]
    # Nobody starts before the opening of their day (day 0: after the set-up) nor before arriving.
    assert np.all(start >= opens[day[served]])
    assert np.all(start >= log.arrival_s[served])
    # The first line is served in arrival order within each day.
    for d in range(3):
        mine = served & (day == d)
        assert np.all(np.diff(log.start[first][mine]) >= 0)
    # The first resident waiting for a day's opening starts the first stage at it (the previous
    # day's overtime is long over by then).
    for d in range(3):
        early = np.flatnonzero(served & (day == d) & (log.arrival_s < opens[d]))
        assert early.size > 0
        assert log.start[first][early[0]] == pytest.approx(opens[d], abs=1e-6)
