"""`simsampling fit` gives back the laws records were drawn from, and a fitted point waits as its records did.

Recovery: times drawn from a known law (n = 2,000) are fitted; the fitted mean must lie within
4 standard errors of the true mean, the chosen law must be the true one, and the fitted CDF
must lie within the 99 % Kolmogorov band of the true one (1.63 / sqrt(n)), the sampling
error a sample of that size carries.

Round trip: the shipped synthetic records (scenarios/records/example-point.csv, made by the
reference model from a Weibull registration and a gamma swab) are fitted, the fitted scenario
is run (20 replications, fast engine), and the records' mean time in the point and mean wait
for the swab must lie in the 99 % prediction interval of one simulated day.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simsampling import cli
from simsampling.experiment import run_scenario
from simsampling.fitting import fit_stage
from simsampling.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "records" / "example-point.csv"
N = 2_000


@pytest.mark.parametrize(
    "law, frozen",
    [
        ("lognormal", stats.lognorm(0.45, scale=25.0)),
        ("gamma", stats.gamma(4.0, scale=6.0)),
        ("weibull", stats.weibull_min(2.2, scale=12.0)),
        ("weibull", stats.weibull_min(1.0, scale=40.0)),  # exponential: a gamma of shape 1 too; either may win
    ],
)
def test_known_laws_are_fitted_back_within_their_sampling_error(law, frozen):
    times = frozen.rvs(N, random_state=np.random.default_rng(20240601))
    fit = fit_stage("swab", times, "test")
    chosen = next(f for f in fit.fits if f.law == fit.chosen)
    if frozen.kwds == {"scale": 40.0}:
        assert fit.chosen in ("weibull", "gamma")
    else:
        assert fit.chosen == law
    assert abs(chosen.frozen.mean() - frozen.mean()) < 4 * frozen.std() / math.sqrt(N)
    grid = frozen.ppf(np.linspace(0.001, 0.999, 999))
    assert np.max(np.abs(chosen.frozen.cdf(grid) - frozen.cdf(grid))) < 1.63 / math.sqrt(N)
    assert chosen.ks_pvalue > 0.01


def test_a_mixture_no_law_fits_is_written_as_the_records_own_times():
    rng = np.random.default_rng(7)
    times = np.concatenate([rng.normal(10, 1, 1000), rng.normal(40, 2, 1000)]).clip(0.1)
    fit = fit_stage("swab", times, "test")
    assert fit.chosen == "empirical" and "rejected" in fit.reason
    assert len(fit.dist["values"]) == 2000


def test_round_trip_fit_run_compare_waits(tmp_path):
    out = tmp_path / "fit"
    assert cli.main(["fit", str(EXAMPLE), "--out", str(out), "--quiet"]) == 0
    records = json.loads((out / "fit.json").read_text())
    assert records["records_skipped"] == 6
    scenario = load_scenario(out / "scenario.yaml")
    laws = {s: records["stages"][s]["chosen"] for s in records["stages"]}
    assert laws == {"swab": "gamma", "registration": "weibull"}  # the laws the records were made from
    runs = 20
    result = run_scenario(scenario.model_copy(update={"replications": runs}), jobs=1, engine="fast")
    kpis = result.summary["kpis"]
    for observed, simulated in (
        (records["records_waits_s"]["time_in_system"]["mean"] / 60, kpis["time_in_system_min"]["mean"]),
        (records["records_waits_s"]["swab"]["mean"] / 60, kpis["wait_min"]["swab"]["mean"]),
    ):
        low, high = simulated["ci95"]
        sd = (high - low) / 2 / stats.t.ppf(0.975, runs - 1) * math.sqrt(runs)
        half = stats.t.ppf(0.995, runs - 1) * sd * math.sqrt(1 + 1 / runs)
        assert abs(observed - simulated["mean"]) <= half, (observed, simulated["mean"], half)
