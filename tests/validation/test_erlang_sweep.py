"""Erlang C over a grid of loads: M/M/c at 12 (servers, utilisation) pairs.

A swab-only point with one shared line, Poisson walk-ins and exponential swab
times is an M/M/c queue (see test_erlang_c.py). Here c runs over 1, 2, 5 and
10 stations and the utilisation rho over 0.2 ... 0.95, and three steady-state
figures are checked against theory:

* Wq, the mean wait in line (Erlang C / (c mu - lambda));
* P(wait), the probability that an arrival waits (Erlang C; by PASTA the share
  of arrivals who wait);
* Lq, the mean number waiting in line. It is measured as a *time* average of
  the queue over the measured window (``PointRun.series``, exact per-minute
  averages from ``metrics.point_series``), not from the waits, so it checks the
  series independently of Wq; theory Lq = lambda Wq (Little).

Warm-up and window from the relaxation time
-------------------------------------------
The relaxation time of M/M/c is about T = 1 / (c mu (1 - sqrt rho)^2), taken at
least one mean swab. It grows fast with the load: 3 mean swabs for c=1 at
rho 0.2, 312 for c=5 at rho 0.95. Each case is therefore written in units of T:

* warm-up: 5 T (rounded up to whole minutes); residents arriving earlier are
  left out, and the queue series is read from the end of the warm-up. The
  start-empty bias left is below e^-5 ~ 0.7% of the initial deficit (itself at
  most Wq), under a tenth of the CI half-widths (8-17% of the value).
* window: ``window_t`` x T (rounded up to whole minutes), measured, then the
  point closes (no arrival after the window; in a FIFO line waits and queue
  lengths up to a time do not depend on later arrivals, so closing biases
  nothing in the window).

``window_t`` is at least 60 relaxation times, and more at low loads where
precision, not relaxation, is the limit (99% half-widths of Wq and Lq of
8-17% of the value; the test requires < 25%, as test_erlang_c.py). Why 60: a
replication's mean wait is skewed to the right (a long busy period lifts it a
lot, a quiet day lowers it little), so with short windows the t interval is
too often entirely *below* the theory. Measured with an exact Lindley
recursion for M/M/1 in plain numpy (independent of the simulator; 1,000-3,000
seeds per design, 20 replications), the 99% interval of Wq missed in 2.2% of
seeds with 30 relaxation times at rho 0.8, 1.3-1.6% with 60 and 1.2% with 120
(2.0% at rho 0.95 with 60, over 300 seeds); P(wait) is not skewed and misses
about 1%. Longer windows approach 1% but cost in proportion: with 12 cases and
three measures each, a correct model fails some check for roughly one seed in
five (Wq and Lq are strongly correlated), the price of 99% per check.

The mean swab time only sets the time scale (theory scales with it): it is 60 s
unless warm-up plus window would not fit in a day 00:00-24:00, in which case it
is shortened so that they take about 23.5 h. The cost of a case is then set by
the number of arrivals, lambda (5 + window_t) T per replication, which for a
given rho does not depend on c.

Each case has its own point id, hence its own random streams: the 12 cases are
independent, as are the replications within a case (separate streams per
replication), so per-replication estimates are i.i.d. and a Student t interval
applies. 99% for the reason given in test_erlang_c.py.

Print the figures of docs/validation.md with

    python tests/validation/test_erlang_sweep.py
"""

from __future__ import annotations

import functools
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

try:
    from .test_erlang_c import CONFIDENCE, SEED, ZERO_S, erlang_c, t_interval
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_erlang_c import CONFIDENCE, SEED, ZERO_S, erlang_c, t_interval

from simsampling.experiment import simulate_task
from simsampling.scenario import validate_scenario

WARM_UP_T = 5.0  # warm-up, in relaxation times
DAY_MIN = 24 * 60
FIT_S = 0.98 * 86_400.0  # warm-up + window must fit in this (a day, with room for rounding up)
MAX_MEAN_SWAB_S = 60.0
MAX_HALF_WIDTH = 0.25  # informative CI: half-width under 25% of the theoretical value


@dataclass(frozen=True)
class Case:
    stations: int
    rho: float
    window_t: float  # measured window, in relaxation times
    replications: int = 20

    @property
    def id(self) -> str:
        return f"c{self.stations}-rho{self.rho:g}"

    @property
    def relaxation_swabs(self) -> float:
        """Relaxation time in mean swab times: 1 / (c (1 - sqrt rho)^2), at least 1."""
        return max(1.0 / (self.stations * (1.0 - math.sqrt(self.rho)) ** 2), 1.0)

    @property
    def mean_swab_s(self) -> float:
        fit = FIT_S / ((WARM_UP_T + self.window_t) * self.relaxation_swabs)
        return min(MAX_MEAN_SWAB_S, math.floor(fit * 10.0) / 10.0)

    @property
    def relaxation_s(self) -> float:
        return self.relaxation_swabs * self.mean_swab_s

    @property
    def warm_up_min(self) -> int:
        return math.ceil(WARM_UP_T * self.relaxation_s / 60.0)

    @property
    def window_min(self) -> int:
        return math.ceil(self.window_t * self.relaxation_s / 60.0)

    @property
    def rate_per_s(self) -> float:
        return self.rho * self.stations / self.mean_swab_s

    # Theory
    @property
    def p_wait(self) -> float:
        return erlang_c(self.stations, self.rho * self.stations)

    @property
    def wq_s(self) -> float:
        return self.p_wait * self.mean_swab_s / (self.stations * (1.0 - self.rho))

    @property
    def lq(self) -> float:
        return self.rate_per_s * self.wq_s


# Seven utilisations from 0.2 to 0.95 spread over 1, 2, 5 and 10 stations.
# Low loads with many stations are left out: there nearly nobody waits (C(10, 2)
# = 5e-5), so the estimates are mostly exact zeros and a t interval says nothing.
CASES = [
    Case(1, 0.2, 1000),
    Case(1, 0.5, 240),
    Case(1, 0.8, 60),
    Case(2, 0.35, 1500),
    Case(2, 0.65, 200),
    Case(2, 0.9, 60),
    Case(5, 0.5, 500),
    Case(5, 0.8, 60),
    Case(5, 0.95, 60),
    Case(10, 0.65, 500),
    Case(10, 0.9, 60),
    Case(10, 0.95, 60),
]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def scenario_of(case: Case):
    end_min = case.warm_up_min + case.window_min
    assert end_min <= DAY_MIN, f"{case.id}: warm-up and window do not fit in a day"
    expected = case.rate_per_s * end_min * 60.0
    return validate_scenario(
        {
            "name": f"erlang-sweep-{case.id}",
            "seed": SEED,
            "replications": case.replications,
            "clock": {"open": "00:00", "close": hhmm(end_min)},
            "points": [
                {
                    "id": case.id,
                    # Far above the expected count (10 sd): the cap must not bind (checked).
                    "population": int(expected + 10.0 * math.sqrt(expected) + 100),
                    "tents": case.stations,
                    "queue": "shared",
                    "stages": {"swab": {"service_s": {"dist": "exponential", "mean": case.mean_swab_s}}},
                }
            ],
            "arrivals": {"kind": "poisson", "rate_per_hour": case.rate_per_s * 3600.0},
        }
    )


@dataclass
class Estimates:
    wq_s: np.ndarray
    p_wait: np.ndarray
    lq: np.ndarray
    arrivals: int
    seconds: float


@functools.lru_cache(maxsize=None)
def simulate(case: Case) -> Estimates:
    """Per-replication Wq, P(wait) and Lq over the window after the warm-up."""
    scenario = scenario_of(case)
    start, end = case.warm_up_min, case.warm_up_min + case.window_min
    wq, waited, lq, arrivals = [], [], [], 0
    began = time.perf_counter()
    for rep in range(case.replications):
        run = simulate_task(scenario, rep, 0)
        log = run.log
        assert log.arrived < log.population, "the population cap must not bind"
        assert log.sampled == log.arrived, "everyone arriving before closing is served"
        arrivals += log.arrived
        keep = log.arrival_s[log.served] >= start * 60.0
        wait = log.wait("swab")[keep]
        wq.append(wait.mean())
        waited.append(np.mean(wait > ZERO_S))
        # Exact time average of the line over [start, end): per-minute averages, whole minutes.
        assert run.series.step_s == 60.0
        queue = run.series.queue["swab"]
        assert queue.size >= end
        lq.append(queue[start:end].mean())
    return Estimates(np.asarray(wq), np.asarray(waited), np.asarray(lq), arrivals, time.perf_counter() - began)


MEASURES = {
    "Wq": (lambda e: e.wq_s, lambda c: c.wq_s),
    "P(wait)": (lambda e: e.p_wait, lambda c: c.p_wait),
    "Lq": (lambda e: e.lq, lambda c: c.lq),
}


def test_grid_covers_the_loads_and_server_counts():
    rhos = {case.rho for case in CASES}
    assert len(rhos) >= 7 and min(rhos) == 0.2 and max(rhos) == 0.95
    assert {case.stations for case in CASES} == {1, 2, 5, 10}
    for case in CASES:
        assert case.warm_up_min + case.window_min <= DAY_MIN
        # Warm-up really is at least 5 relaxation times, window at least as long as stated.
        assert case.warm_up_min * 60.0 >= WARM_UP_T * case.relaxation_s
        assert case.window_min * 60.0 >= case.window_t * case.relaxation_s
    assert len({case.id for case in CASES}) == len(CASES)


def test_theory_is_little_consistent():
    for case in CASES:
        # Lq = C rho / (1 - rho), the textbook form of lambda Wq.
        assert case.lq == pytest.approx(case.p_wait * case.rho / (1.0 - case.rho), rel=1e-12)


@pytest.mark.parametrize("measure", list(MEASURES))
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_mmc_matches_erlang_c(case: Case, measure: str):
    get_simulated, get_theory = MEASURES[measure]
    simulated, theory = get_simulated(simulate(case)), get_theory(case)
    low, high = t_interval(simulated)
    assert low <= theory <= high, (
        f"{case.id}: Erlang C {measure}={theory:.4g} outside {CONFIDENCE:.0%} CI [{low:.4g}, {high:.4g}] "
        f"(mean {simulated.mean():.4g} over {simulated.size} replications)"
    )
    assert (high - low) / 2.0 < MAX_HALF_WIDTH * theory, f"{case.id}: CI of {measure} too wide to be informative"


def main() -> None:
    print(f"Seed {SEED}; {CONFIDENCE:.0%} Student t intervals over replications; warm-up {WARM_UP_T:g} relaxation times.\n")
    print("| c | rho | reps | mean swab (s) | warm-up + window (min) | arrivals | "
          "Wq theory (s) | Wq simulated, CI (s) | P(wait) theory | P(wait) simulated, CI | Lq theory | Lq simulated, CI |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    total = 0.0
    for case in CASES:
        est = simulate(case)
        total += est.seconds
        cells = []
        for measure, (get, theory) in MEASURES.items():
            values = get(est)
            low, high = t_interval(values)
            digits = 4 if measure == "P(wait)" else 2 if measure == "Wq" else 3
            cells += [f"{theory(case):.{digits}f}", f"{values.mean():.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"]
        print(f"| {case.stations} | {case.rho:g} | {case.replications} | {case.mean_swab_s:g} | "
              f"{case.warm_up_min} + {case.window_min} | {est.arrivals:,} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nsimulation time {total:.1f} s")


if __name__ == "__main__":
    main()
