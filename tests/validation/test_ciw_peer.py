"""Validation against a peer library: the three-stage point simulated with Ciw.

A point with ``queue: shared`` and registration by desks (``registration:
{servers: N}``) is a tandem of three FIFO multi-server queues: temperature
check (c1 servers) -> registration desks (c2) -> swab stations (c3), with no
capacity limit between stages, so nobody is ever blocked. Ciw
(https://ciw.readthedocs.io), an independent discrete-event library, simulates
the same network: Poisson arrivals at node 1, routing 1 -> 2 -> 3 -> exit,
FIFO, c_k servers at node k. Both simulators should give the same mean wait in
line at each stage; the test compares them per stage with Welch's t-test on the
per-replication means. With non-exponential service the departures of a stage
are not Poisson and no formula gives the downstream waits, which is what makes
a peer comparison worth having.

Same distributions: simsampling's ``lognormal`` is parameterised by the mean
and sd of the values, Ciw's ``Lognormal(mean, sd)`` by mu and sigma of the
underlying normal, so mu and sigma are computed from the mean and sd
(sigma^2 = ln(1 + (sd/mean)^2), mu = ln(mean) - sigma^2/2);
``test_ciw_distributions_have_the_same_mean_and_sd`` checks the conversion
on draws of both simulators.

Same estimator: each replication is one day, arrivals from 00:00 to 24:00,
starting empty; its estimate is the mean wait per stage of the residents
(customers) who arrived after the warm-up of ``WARM_UP_S`` = 3 h and before
24:00. simsampling serves everyone admitted after closing; Ciw cannot stop its
arrivals, so it runs until 24:00 + ``DRAIN_S`` and the test checks that every
customer kept has completed all three stages (later arrivals do not change the
waits of earlier ones in FIFO lines). Both simulators start empty at the same
time, so they estimate the same finite-horizon quantity and the warm-up is not
needed for the comparison to be fair; it is kept so that the figures are close
to steady state (the longest stage relaxation time, 1 / (c mu (1 - sqrt rho)^2),
is 40 min, for 5 swab stations at rho 0.84, so 3 h is about 4.5 of them)
and so that the exponential cases can be set beside the Jackson-network values
(by Burke's theorem each stage is then an M/M/c queue fed by Poisson arrivals;
reported by print_figures.py, not asserted). simsampling is run as
``simulate_task`` runs it (``draw_residents`` then ``simulate_point``), without
the tallies and time series that the comparison does not use.

Registration: every resident registers by QR code (``qr_share: 1``), so the
desk's service time has one law, the one given to Ciw.

Tolerance: per stage, Welch's t-test (unequal variances) on the two sets of
per-replication means must give p > 0.01, i.e. the 99% confidence interval of
the difference of means contains 0 (the 99% convention of test_erlang_c.py).
There are 12 such checks (4 cases x 3 stages), so for an arbitrary pair of seeds
a correct model fails one of them about 1 time in 10 (less, as the stages of a
case are correlated); the seeds are fixed, so the suite is deterministic.
The check must be informative: each interval's half-width must be under 25% of
the mean wait, so a test that could not see a bias of that size fails.
Replications are independent within each simulator (separate streams per
replication in simsampling, ``ciw.seed(CIW_SEED + rep)`` in Ciw) and the two
simulators share no random numbers, so the two samples are independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ciw
import numpy as np
import pytest
from scipy import stats

from simsampling.draws import draw_residents
from simsampling.model import simulate_point
from simsampling.random import sample
from simsampling.scenario import validate_scenario

from .test_erlang_c import CONFIDENCE, SEED, WARM_UP_S, mmc_mean_wait

CIW_SEED = 7_000_000
STAGES = ("temperature", "registration", "swab")
DAY_S = 24 * 3600.0
# Ciw runs past closing so that every customer arriving before 24:00 is served.
DRAIN_S = 3600.0
REPLICATIONS = 25
# A check must be able to see a bias of this size (relative to the mean wait).
MAX_HALF_WIDTH = 0.25


@dataclass(frozen=True)
class Case:
    label: str
    rate_per_hour: float
    servers: tuple[int, int, int]  # temperature, registration desks, swab stations
    service: tuple[dict, dict, dict]  # simsampling service-time distributions, seconds

    @property
    def exponential(self) -> bool:
        return all(spec["dist"] == "exponential" for spec in self.service)

    def utilisation(self, stage: int) -> float:
        return self.rate_per_hour / 3600.0 * mean_sd(self.service[stage])[0] / self.servers[stage]


CASES = [
    Case(
        "1-2-3, exponential",
        120.0,
        (1, 2, 3),
        ({"dist": "exponential", "mean": 21.0}, {"dist": "exponential", "mean": 45.0}, {"dist": "exponential", "mean": 72.0}),
    ),
    Case(
        "2-3-5, exponential",
        180.0,
        (2, 3, 5),
        ({"dist": "exponential", "mean": 28.0}, {"dist": "exponential", "mean": 48.0}, {"dist": "exponential", "mean": 84.0}),
    ),
    Case(
        "1-2-3, triangular / lognormal / fixed",
        120.0,
        (1, 2, 3),
        (
            {"dist": "triangular", "low": 10.0, "mode": 20.0, "high": 36.0},
            {"dist": "lognormal", "mean": 45.0, "sd": 25.0},
            {"dist": "fixed", "value": 72.0},
        ),
    ),
    Case(
        "2-3-5, triangular / lognormal / lognormal",
        180.0,
        (2, 3, 5),
        (
            {"dist": "triangular", "low": 7.0, "mode": 27.0, "high": 54.0},
            {"dist": "lognormal", "mean": 48.0, "sd": 40.0},
            {"dist": "lognormal", "mean": 84.0, "sd": 27.0},
        ),
    ),
]


def mean_sd(spec: dict) -> tuple[float, float]:
    """Mean and standard deviation of a simsampling service-time distribution."""
    kind = spec["dist"]
    if kind == "exponential":
        return spec["mean"], spec["mean"]
    if kind == "lognormal":
        return spec["mean"], spec["sd"]
    if kind == "fixed":
        return spec["value"], 0.0
    if kind == "triangular":
        a, c, b = spec["low"], spec["mode"], spec["high"]
        return (a + b + c) / 3.0, math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)
    raise ValueError(f"no Ciw counterpart for {kind}")


def ciw_dist(spec: dict) -> ciw.dists.Distribution:
    """The Ciw distribution with the same law as a simsampling one."""
    kind = spec["dist"]
    if kind == "exponential":
        return ciw.dists.Exponential(1.0 / spec["mean"])
    if kind == "lognormal":
        # Ciw takes mu and sigma of log(X); simsampling takes the mean and sd of X.
        sigma2 = math.log1p((spec["sd"] / spec["mean"]) ** 2)
        return ciw.dists.Lognormal(math.log(spec["mean"]) - sigma2 / 2.0, math.sqrt(sigma2))
    if kind == "fixed":
        return ciw.dists.Deterministic(spec["value"])
    if kind == "triangular":
        return ciw.dists.Triangular(spec["low"], spec["mode"], spec["high"])
    raise ValueError(f"no Ciw counterpart for {kind}")


def scenario_of(case: Case):
    temperature, registration, swab = case.service
    return validate_scenario(
        {
            "name": "ciw-peer",
            "seed": SEED,
            "replications": REPLICATIONS,
            "clock": {"open": "00:00", "close": "24:00"},
            "points": [
                {
                    "id": "peer",
                    "population": 1_000_000,
                    "tents": case.servers[2],
                    "queue": "shared",
                    "stages": {
                        "temperature": {"servers": case.servers[0], "service_s": temperature},
                        # Everyone registers by QR code: one service-time law for all.
                        "registration": {
                            "servers": case.servers[1],
                            "qr_share": 1.0,
                            "service_s": {"qr": registration, "manual": registration},
                        },
                        "swab": {"service_s": swab},
                    },
                }
            ],
            "arrivals": {"kind": "poisson", "rate_per_hour": case.rate_per_hour},
        }
    )


def simsampling_waits(case: Case, replications: int = REPLICATIONS) -> np.ndarray:
    """Per-replication mean wait (s) per stage after the warm-up: shape (replications, 3)."""
    scenario = scenario_of(case)
    point = scenario.points[0]
    out = np.empty((replications, len(STAGES)))
    for rep in range(replications):
        # What simulate_task does, without the tallies and time series it adds.
        log = simulate_point(point, scenario.hours, draw_residents(scenario, point, rep), rep)
        assert log.arrived < log.population, "the population cap must not bind"
        assert log.sampled == log.arrived, "everyone arriving before 24:00 is served"
        keep = log.arrival_s[log.served] >= WARM_UP_S
        out[rep] = [log.wait(stage)[keep].mean() for stage in STAGES]
    return out


def ciw_waits(case: Case, replications: int = REPLICATIONS) -> np.ndarray:
    """The same estimate from Ciw: node k is stage k, customers arriving in [warm-up, 24:00)."""
    out = np.empty((replications, len(STAGES)))
    for rep in range(replications):
        ciw.seed(CIW_SEED + rep)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(case.rate_per_hour / 3600.0), None, None],
            service_distributions=[ciw_dist(spec) for spec in case.service],
            number_of_servers=list(case.servers),
            routing=[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
        )
        simulation = ciw.Simulation(network)
        simulation.simulate_until_max_time(DAY_S + DRAIN_S)
        waits: dict[int, dict[int, float]] = {1: {}, 2: {}, 3: {}}
        came: dict[int, float] = {}
        for record in simulation.get_all_records():
            waits[record.node][record.id_number] = record.waiting_time
            if record.node == 1:
                came[record.id_number] = record.arrival_date
        kept = [i for i, t in came.items() if WARM_UP_S <= t < DAY_S]
        assert all(i in waits[3] for i in kept), "a customer kept did not finish before the end of the run"
        out[rep] = [np.mean([waits[node][i] for i in kept]) for node in (1, 2, 3)]
    return out


def welch(a: np.ndarray, b: np.ndarray, level: float = CONFIDENCE) -> tuple[float, float, float]:
    """Difference of means a - b, half-width of its Welch interval, and the Welch p-value."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    # Welch-Satterthwaite degrees of freedom.
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = stats.t.ppf(0.5 + level / 2.0, df) * math.sqrt(va + vb)
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    return a.mean() - b.mean(), half, float(p)


def jackson_wait(case: Case, stage: int) -> float:
    """Steady-state mean wait of an exponential tandem stage: M/M/c by Burke's theorem."""
    return mmc_mean_wait(case.servers[stage], case.service[stage]["mean"], case.utilisation(stage))


def assert_mean_sd(draws: np.ndarray, mean: float, sd: float) -> None:
    """Sample mean and variance within 4 standard errors of the law's (exact for a constant)."""
    n = draws.size
    var = draws.var()
    fourth = np.mean((draws - draws.mean()) ** 4)
    assert abs(draws.mean() - mean) <= 4 * math.sqrt(var / n) + 1e-9
    assert abs(var - sd**2) <= 4 * math.sqrt(max(fourth - var**2, 0.0) / n) + 1e-9


@pytest.mark.parametrize("spec", sorted({repr(s): s for c in CASES for s in c.service}.values(), key=repr), ids=repr)
def test_ciw_distributions_have_the_same_mean_and_sd(spec):
    """Both simulators draw service times with the spec's mean and sd (100k draws each).

    Checked on draws rather than on Ciw's ``mean``/``variance`` properties, which
    only recent Ciw versions have; the lognormal of sd 40 s has a heavy fourth
    moment, hence the tolerance in standard errors rather than in percent.
    """
    mean, sd = mean_sd(spec)
    scenario = validate_scenario(
        {
            "name": "d",
            "points": [{"id": "p", "population": 1, "tents": 1, "stages": {"swab": {"service_s": spec}}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 1},
        }
    )
    n = 100_000
    assert_mean_sd(sample(scenario.points[0].stages.swab.service_s, np.random.default_rng(SEED), n), mean, sd)
    ciw.seed(CIW_SEED)
    dist = ciw_dist(spec)
    assert_mean_sd(np.array([dist.sample() for _ in range(n)]), mean, sd)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_mean_wait_per_stage_agrees_with_ciw(case):
    assert 0.6 <= max(case.utilisation(k) for k in range(3)) <= 0.85
    ours, theirs = simsampling_waits(case), ciw_waits(case)
    for k, stage in enumerate(STAGES):
        diff, half, p = welch(ours[:, k], theirs[:, k])
        mean_wait = (ours[:, k].mean() + theirs[:, k].mean()) / 2.0
        where = (
            f"{case.label}, {stage}: simsampling {ours[:, k].mean():.2f} s, Ciw {theirs[:, k].mean():.2f} s, "
            f"difference {diff:+.2f} s, {CONFIDENCE:.0%} CI [{diff - half:.2f}, {diff + half:.2f}], p={p:.3f}"
        )
        assert p > 1.0 - CONFIDENCE, where
        assert abs(diff) <= half, where  # the same statement as p > 0.01, from the interval
        assert half < MAX_HALF_WIDTH * mean_wait, f"uninformative: {where}"
