"""Validation of stages as data against theory: a plain stage is a queue like any other, and a
side route takes its share.

* A plain stage at the entrance (any name, one server, exponential service) before a swab
  stage that never queues is an M/M/1 queue: its mean wait in line and its probability of
  waiting must match Erlang C (here rho and rho / (mu - lambda)) within the 99% t interval
  over independent replications, as in test_erlang_c.py (same estimator: one day from
  empty, residents of the first 3 h left out, at least 4.8 relaxation times).
* A divert of share p after the temperature check: the number diverted among the n residents
  checked is Binomial(n, p), so it must lie in the binomial 99% interval in total, and in
  each replication's interval at 99.9% (ten replications: Bonferroni, 1% in all); every
  diverted resident went through the side stage and none was swabbed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simsampling.experiment import simulate_task
from simsampling.scenario import validate_scenario

from .test_erlang_c import CONFIDENCE, SEED, WARM_UP_S, ZERO_S, mmc_mean_wait, t_interval


def day_point(stages: dict, rate_per_hour: float, point_id: str) -> object:
    return validate_scenario({
        "name": "flow-validation", "seed": SEED, "clock": {"open": "00:00", "close": "24:00"},
        "points": [{"id": point_id, "population": 1_000_000, "tents": 1, "queue": "shared", "stages": stages}],
        "arrivals": {"kind": "poisson", "rate_per_hour": rate_per_hour},
    })


RHO, MEAN_S, REPLICATIONS = 0.7, 60.0, 40


def plain_mm1() -> tuple[np.ndarray, np.ndarray]:
    """Per replication, the mean wait (s) at a plain stage at the entrance and the share who waited, after the warm-up."""
    stages = {"id_check": {"servers": 1, "service_s": {"dist": "exponential", "mean": MEAN_S}},
              "swab": {"servers": 100, "service_s": {"dist": "fixed", "value": 1}}}
    scenario = day_point(stages, RHO / MEAN_S * 3600.0, "mm1-plain")
    means, waited = [], []
    for rep in range(REPLICATIONS):
        log = simulate_task(scenario, rep, 0).log
        assert log.stages == ("id_check", "swab") and log.sampled == log.arrived < log.population
        keep = log.arrival_s[log.served] >= WARM_UP_S
        wait = log.wait("id_check")[keep]
        means.append(wait.mean())
        waited.append(np.mean(wait > ZERO_S))
        assert np.all(log.wait("swab") <= ZERO_S)  # the swab never queues: the entrance is the whole queue
    return np.asarray(means), np.asarray(waited)


def test_a_plain_stage_at_the_entrance_is_an_mm1_queue():
    """One ID-check server, exponential 60 s, 42 walk-ins an hour (rho 0.7), before a swab that never queues."""
    rho, mean_s = RHO, MEAN_S
    means, waited = plain_mm1()
    theory = mmc_mean_wait(1, mean_s, rho)
    low, high = t_interval(means)
    assert low <= theory <= high, f"Wq {means.mean():.2f} s, {CONFIDENCE:.0%} CI [{low:.2f}, {high:.2f}], theory {theory:.2f} s"
    assert (high - low) / 2 < 0.25 * theory
    low, high = t_interval(waited)
    assert low <= rho <= high, f"P(wait) {waited.mean():.4f}, CI [{low:.4f}, {high:.4f}], theory {rho}"


def diverted_counts(share: float) -> list[tuple[int, int]]:
    """Per replication: residents checked at the temperature check, and residents diverted after it."""
    stages = {"temperature": {"servers": 2, "divert": {"share": share, "to": "isolation"}}, "swab": {"servers": 4},
              "isolation": {"servers": 50, "service_s": {"dist": "exponential", "mean": 600}}}
    scenario = day_point(stages, 120.0, f"divert-{share}")
    counts = []
    for rep in range(10):
        log = simulate_task(scenario, rep, 0).log
        n = int(np.count_nonzero(np.isfinite(log.end["temperature"])))
        d = int(np.count_nonzero(log.diverted))
        assert n == log.arrived  # everyone is checked (nobody gives up, nobody comes after closing)
        went = np.isfinite(log.end["isolation"])
        np.testing.assert_array_equal(went, log.diverted)  # every diverted resident went through isolation...
        assert not np.any(log.served & went) and log.sampled == n - d  # ... and none of them was swabbed
        counts.append((n, d))
    return counts


@pytest.mark.parametrize("share", [0.02, 0.3])
def test_a_diverted_share_is_binomial(share):
    """Walk-ins over a day; after the temperature check a ``share`` go to an isolation tent."""
    counts = diverted_counts(share)
    each = 1 - (1 - CONFIDENCE) / len(counts)  # Bonferroni: all replications together fail 1% of seeds at most
    for rep, (n, d) in enumerate(counts):
        low, high = stats.binom.interval(each, n, share)
        assert low <= d <= high, f"replication {rep}: {d} of {n} diverted, {each:.1%} interval [{low:.0f}, {high:.0f}]"
    checked, diverted = (sum(column) for column in zip(*counts))
    low, high = stats.binom.interval(CONFIDENCE, checked, share)
    assert low <= diverted <= high, f"{diverted} of {checked} diverted, {CONFIDENCE:.0%} interval [{low:.0f}, {high:.0f}]"

