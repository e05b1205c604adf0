"""Validation against queueing theory: a swab-only point is an M/M/c (or M/G/1) queue.

A point with only the swab stage, one shared line, Poisson walk-ins and
exponential swab times is exactly an M/M/c queue with c = stations, so its
steady-state mean wait in line and probability of waiting are given by the
Erlang C formula. The single-station variants check the Pollaczek-Khinchine
formula for fixed and lognormal swab times (which also checks that the
lognormal is parameterised by the mean and sd of the values themselves).

Terminating simulation handled as such
--------------------------------------
Each replication is one day, open 00:00-24:00, starting empty. The estimate of
a replication is the mean wait of the residents who arrived after a warm-up:

* Start-up transient: the system starts empty, which biases early waits
  downwards. The relaxation time is about 1 / (c mu (1 - sqrt rho)^2): ~22 min
  for c=4, rho=0.8, mean swab 60 s; 7-12 min for the other M/M/c cases; ~37 min
  for the single station at rho=0.7. Residents arriving in the first
  ``WARM_UP_S`` = 3 h (at least 4.8 relaxation times) are discarded, so the
  remaining bias is below e^-4.8 ~ 1% of the initial deficit (itself at most
  Wq), i.e. under a tenth of each CI half-width (9-14% of Wq).
* Closing: no arrival is turned away before 24:00 and everyone inside is served;
  in a FIFO line a resident's wait does not depend on anyone arriving later, so
  stopping arrivals at closing does not bias the waits of those who came.
* The population caps Poisson walk-ins; it is set far above the expected count
  and the tests check the cap never binds.

Replications are independent (separate random streams per replication), so
their per-replication means are i.i.d. and a Student t interval applies.

Why 99%: with a fixed seed each test is deterministic; the level says how often
a correct model would fail for an arbitrary seed (1 in 100 per check). 95%
would make seed changes fail too often for a regression suite, while 99.9%
would widen the interval by ~30% and hide real biases of that size.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simsampling.draws import ResidentDraws
from simsampling.experiment import run_scenario, simulate_task
from simsampling.metrics import summarise
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario

SEED = 20240601
CONFIDENCE = 0.99
WARM_UP_S = 3 * 3600.0
# Float noise tolerated on "zero" waits (see test_zero_waits_are_exactly_zero).
ZERO_S = 1e-6


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu < c."""
    if not 0 < a < c:
        raise ValueError("needs 0 < a < c")
    # Erlang B by its stable recursion, then C = B / (1 - rho (1 - B)).
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(c: int, mean_service: float, rho: float) -> float:
    """Steady-state mean wait in line of M/M/c (seconds)."""
    mu = 1.0 / mean_service
    lam = rho * c * mu
    return erlang_c(c, lam / mu) / (c * mu - lam)


def pk_mean_wait(lam: float, mean_service: float, second_moment: float) -> float:
    """Pollaczek-Khinchine mean wait in line of M/G/1 (seconds)."""
    rho = lam * mean_service
    return lam * second_moment / (2.0 * (1.0 - rho))


def test_erlang_c_formula_against_known_values():
    # Textbook values: M/M/1 waits with probability rho; C(2, 1) = 1/3.
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)
    # Direct (factorial) form of Erlang C.
    c, a = 4, 3.2
    top = a**c / math.factorial(c) * c / (c - a)
    direct = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    assert erlang_c(c, a) == pytest.approx(direct, rel=1e-12)
    # M/M/1: Wq = rho / (mu - lambda).
    assert mmc_mean_wait(1, 10.0, 0.5) == pytest.approx(0.5 / (0.1 - 0.05))
    # P-K with exponential service equals M/M/1.
    assert pk_mean_wait(0.05, 10.0, 2 * 10.0**2) == pytest.approx(mmc_mean_wait(1, 10.0, 0.5))


def swab_only(stations: int, service: dict, rate_per_hour: float, population: int = 1_000_000, seed: int = SEED, replications: int = 1):
    return validate_scenario(
        {
            "name": "queueing-validation",
            "seed": seed,
            "replications": replications,
            "clock": {"open": "00:00", "close": "24:00"},
            "points": [
                {
                    "id": "q",
                    "population": population,
                    "tents": stations,
                    "queue": "shared",
                    "stages": {"swab": {"service_s": service}},
                }
            ],
            "arrivals": {"kind": "poisson", "rate_per_hour": rate_per_hour},
        }
    )


def replicate(scenario, replications: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-replication mean wait (s) and share who waited, after the warm-up."""
    means, waited = [], []
    for rep in range(replications):
        log = simulate_task(scenario, rep, 0).log
        assert log.arrived < log.population, "the population cap must not bind"
        assert log.sampled == log.arrived, "everyone arriving before 24:00 is served"
        keep = log.arrival_s[log.served] >= WARM_UP_S
        wait = log.wait("swab")[keep]
        means.append(wait.mean())
        waited.append(np.mean(wait > ZERO_S))
    return np.asarray(means), np.asarray(waited)


def t_interval(values: np.ndarray, level: float = CONFIDENCE) -> tuple[float, float]:
    n = values.size
    half = stats.t.ppf(0.5 + level / 2.0, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return values.mean() - half, values.mean() + half


@pytest.mark.parametrize(
    "stations, mean_service, rho, replications",
    [
        (4, 60.0, 0.8, 50),  # the case of the brief
        (1, 60.0, 0.5, 30),
        (10, 120.0, 0.7, 30),
    ],
)
def test_mmc_mean_wait_and_probability_of_waiting_match_erlang_c(stations, mean_service, rho, replications):
    rate_per_hour = rho * stations / mean_service * 3600.0
    scenario = swab_only(stations, {"dist": "exponential", "mean": mean_service}, rate_per_hour)
    means, waited = replicate(scenario, replications)

    wq = mmc_mean_wait(stations, mean_service, rho)
    low, high = t_interval(means)
    assert low <= wq <= high, f"Erlang C Wq={wq:.2f}s outside {CONFIDENCE:.0%} CI [{low:.2f}, {high:.2f}]"
    # The interval must be informative: a half-width under 25% of the value
    # (a CI wide enough to contain anything would make the check vacuous).
    assert (high - low) / 2 < 0.25 * wq

    p_wait = erlang_c(stations, rho * stations)
    low, high = t_interval(waited)
    assert low <= p_wait <= high, f"Erlang C P(wait)={p_wait:.3f} outside CI [{low:.3f}, {high:.3f}]"


@pytest.mark.parametrize(
    "service, second_moment",
    [
        ({"dist": "fixed", "value": 60.0}, 60.0**2),  # M/D/1
        ({"dist": "lognormal", "mean": 60.0, "sd": 40.0}, 40.0**2 + 60.0**2),  # M/G/1
    ],
)
def test_single_station_mean_wait_matches_pollaczek_khinchine(service, second_moment):
    rho, mean_service = 0.7, 60.0
    lam = rho / mean_service
    scenario = swab_only(1, service, lam * 3600.0)
    means, waited = replicate(scenario, 30)
    low, high = t_interval(means)
    wq = pk_mean_wait(lam, mean_service, second_moment)
    assert low <= wq <= high, f"P-K Wq={wq:.2f}s outside CI [{low:.2f}, {high:.2f}]"
    # In M/G/1 an arrival waits exactly when the server is busy: P = rho.
    low, high = t_interval(waited)
    assert low <= rho <= high


def test_run_kpis_report_the_same_waits_as_the_logs():
    """The run's KPI (minutes, all residents) is the plain mean of the log's waits."""
    scenario = swab_only(4, {"dist": "exponential", "mean": 60.0}, 192.0, replications=3)
    result = run_scenario(scenario)
    for rep, kpis in enumerate(result.run_kpis):
        log = simulate_task(scenario, rep, 0).log
        assert kpis["wait_min"]["swab"]["mean"] == pytest.approx(log.wait("swab").mean() / 60.0, rel=1e-12)
    summary = summarise(result.run_kpis)["wait_min"]["swab"]["mean"]
    assert summary["n"] == 3
    assert summary["mean"] == pytest.approx(np.mean([k["wait_min"]["swab"]["mean"] for k in result.run_kpis]))


# ------------------------------------------------------------ guaranteed zero waits


def many_stations(seed: int, queue: str = "shared"):
    """200 residents, 200 stations: a free station always exists, whatever the draws."""
    return validate_scenario(
        {
            "name": "no-wait",
            "seed": seed,
            "clock": {"open": "00:00", "close": "24:00"},
            "points": [
                {
                    "id": "p",
                    "population": 200,
                    "tents": 200,
                    "queue": queue,
                    "stages": {"swab": {"service_s": {"dist": "exponential", "mean": 600}}},
                }
            ],
            # ~240 expected walk-ins: the cap of 200 binds in most replications.
            "arrivals": {"kind": "poisson", "rate_per_hour": 10},
        }
    )


@pytest.mark.parametrize("queue", ["shared", "per_tent"])
def test_no_waits_when_stations_outnumber_residents(queue):
    for seed in range(20):
        log = simulate_task(many_stations(seed, queue), 0, 0).log
        assert log.sampled == log.arrived > 0
        np.testing.assert_allclose(log.wait("swab"), 0.0, rtol=0, atol=1e-9)
        assert np.all(log.station[log.served] >= 0)


def simulate_draws(arrival, swab, stations: int = 1, open_="00:00", close="24:00"):
    """Run a swab-only point on hand-made draws (no randomness at all)."""
    scenario = validate_scenario(
        {
            "name": "hand-made",
            "clock": {"open": open_, "close": close},
            "points": [{"id": "p", "population": len(arrival), "tents": stations, "stages": {"swab": {}}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 1},
        }
    )
    n = len(arrival)
    draws = ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        service_s={"swab": np.asarray(swab, dtype=float)},
        no_show=0,
    )
    return simulate_point(scenario.points[0], scenario.clock, draws)


# Two residents who find a free station, so both waits are exactly zero. In each
# pair the second arrives more than twice as late (in seconds since midnight) as
# the first, so arrival_2 - arrival_1 is not exact in floating point.
ULP_PAIRS = [
    ([9.268710607285914, 57.923635224397536], "00:00", "24:00"),  # just after a 00:00 opening
    ([27901.313, 62587.782], "07:00", "22:00"),  # 07:45:01 and 17:23:07, nobody in between
]


@pytest.mark.parametrize("arrival, open_, close", ULP_PAIRS)
def test_zero_waits_are_exactly_zero(arrival, open_, close):
    log = simulate_draws(arrival, [10.0, 10.0], stations=1, open_=open_, close=close)
    assert log.sampled == 2
    wait = log.wait("swab")
    assert np.all(wait == 0.0), f"nonzero waits {wait}"
    assert np.all(log.start["swab"] >= log.arrival_s)


def test_deterministic_arrivals_slower_than_service_never_wait():
    """D/D/1 with inter-arrival 60 s > swab 59 s: no one ever waits, exactly."""
    n = 1000
    arrival = 3600.0 + 60.0 * np.arange(n)
    log = simulate_draws(arrival, np.full(n, 59.0))
    assert log.sampled == n
    assert np.all(log.wait("swab") == 0.0)
    np.testing.assert_array_equal(log.finish_s, arrival + 59.0)
