"""simsampling.random: named streams and batched draws of scenario distributions.

Statistical checks use a fixed seed and a 99.9% interval, so they are
deterministic and would fail for a correct sampler with an arbitrary seed only
once in a thousand checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from simsampling.random import STREAMS, prefix_stable, roster_sample, roster_uniform, sample, stream, stream_number
from simsampling.scenario.distributions import Distribution, Fixed, Normal
from simsampling.stages.swab import SwabStage

SEED = 12345
N = 40_000
Z = stats.norm.ppf(0.9995)  # two-sided 99.9%
GOLDEN_NAMED = 0.014320715215625612  # first draw of stream "stage:id_check", seed 12345, replication 0, point p1

dist = TypeAdapter(Distribution).validate_python


def draws(spec: dict, n: int = N, signed: bool = False, name: str = "swab") -> np.ndarray:
    return sample(dist(spec), stream(SEED, 0, "p1", name), n, signed=signed)


def assert_mean_in_ci(values: np.ndarray, expected: float) -> None:
    half = Z * values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - expected) <= half, f"mean {values.mean():.4f} vs {expected:.4f} (+-{half:.4f})"


@pytest.mark.parametrize(
    "spec, mean",
    [
        ({"dist": "exponential", "mean": 25.0}, 25.0),
        ({"dist": "lognormal", "mean": 25.0, "sd": 8.0}, 25.0),
        ({"dist": "lognormal", "mean": 60.0, "sd": 90.0}, 60.0),
        ({"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 6.0}, 11.0 / 3.0),
        ({"dist": "uniform", "low": -5.0, "high": 15.0}, 5.0),
        ({"dist": "empirical", "values": [1.0, 2.0, 2.0, 10.0]}, 3.75),
        ({"dist": "gamma", "shape": 2.0, "scale": 12.5}, 25.0),
        ({"dist": "weibull", "shape": 1.5, "scale": 30.0}, 30.0 * math.gamma(1 + 1 / 1.5)),
        ({"dist": "normal", "mean": 0.0, "sd": 10.0}, 0.0),
    ],
)
def test_sample_mean_lies_in_a_ci_of_the_distribution_mean(spec, mean):
    d = dist(spec)
    assert d.mean_value == pytest.approx(mean)
    values = sample(d, stream(SEED, 0, "p1", "swab"), N, signed=True)
    assert values.shape == (N,) and values.dtype == np.float64
    assert_mean_in_ci(values, mean)


def test_fixed_is_constant_float():
    values = draws({"dist": "fixed", "value": 7}, 10)
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, np.full(10, 7.0))


def test_uniform_with_equal_bounds_is_constant():
    np.testing.assert_array_equal(draws({"dist": "uniform", "low": 3.0, "high": 3.0}, 5), np.full(5, 3.0))


def test_support_of_bounded_distributions():
    tri = draws({"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 6.0})
    assert tri.min() >= 2.0 and tri.max() <= 6.0
    uni = draws({"dist": "uniform", "low": 1.0, "high": 4.0})
    assert uni.min() >= 1.0 and uni.max() <= 4.0
    emp = draws({"dist": "empirical", "values": [1.0, 2.0, 10.0]})
    assert set(np.unique(emp)) == {1.0, 2.0, 10.0}
    assert draws({"dist": "exponential", "mean": 3.0}).min() >= 0.0


def test_empirical_draws_each_value_uniformly():
    values = draws({"dist": "empirical", "values": [5.0, 6.0, 7.0, 8.0]})
    counts = np.array([(values == v).sum() for v in (5.0, 6.0, 7.0, 8.0)])
    assert stats.chisquare(counts).pvalue > 0.001


def test_size_zero_gives_an_empty_array():
    for spec in ({"dist": "fixed", "value": 1.0}, {"dist": "lognormal", "mean": 5.0, "sd": 1.0}, {"dist": "normal", "mean": 1.0, "sd": 1.0}):
        assert draws(spec, 0).shape == (0,)


# ------------------------------------------------------------------ lognormal


@pytest.mark.parametrize("mean, sd", [(25.0, 8.0), (8.0, 3.0), (60.0, 20.0), (10.0, 30.0)])
def test_lognormal_is_parameterised_by_mean_and_sd_of_the_values(mean, sd):
    values = draws({"dist": "lognormal", "mean": mean, "sd": sd}, 200_000)
    # The logs are normal with sigma^2 = ln(1 + (sd/mean)^2), mu = ln(mean) - sigma^2/2.
    sigma2 = math.log1p((sd / mean) ** 2)
    logs = np.log(values)
    assert_mean_in_ci(logs, math.log(mean) - sigma2 / 2)
    # Sample variance of normal logs: (n-1) s^2 / sigma^2 ~ chi2(n-1).
    n = logs.size
    chi = (n - 1) * logs.var(ddof=1) / sigma2
    assert stats.chi2.ppf(0.0005, n - 1) <= chi <= stats.chi2.ppf(0.9995, n - 1)
    assert_mean_in_ci(values, mean)
    if sd <= mean:  # the sample sd of a heavier-tailed lognormal is too noisy to compare
        assert values.std() == pytest.approx(sd, rel=0.05)
    assert stats.kstest(values, stats.lognorm(s=math.sqrt(sigma2), scale=mean / math.sqrt(1 + (sd / mean) ** 2)).cdf).pvalue > 0.001


def test_lognormal_with_zero_sd_is_the_mean():
    np.testing.assert_array_equal(draws({"dist": "lognormal", "mean": 8.0, "sd": 0.0}, 7), np.full(7, 8.0))


# ------------------------------------------------------------------ normal


def test_normal_duration_is_truncated_at_zero_by_redrawing():
    spec = {"dist": "normal", "mean": 2.0, "sd": 10.0}  # ~42% of raw draws are negative
    values = draws(spec, 100_000, signed=False)
    assert values.min() >= 0.0
    truncated = stats.truncnorm(a=(0 - 2.0) / 10.0, b=np.inf, loc=2.0, scale=10.0)
    # Resampled (not clipped): no atom at zero, and the truncated normal's law.
    assert np.count_nonzero(values == 0.0) == 0
    assert stats.kstest(values, truncated.cdf).pvalue > 0.001
    assert_mean_in_ci(values, truncated.mean())


def test_normal_offset_keeps_negative_values():
    values = draws({"dist": "normal", "mean": 2.0, "sd": 10.0}, 100_000, signed=True)
    negative = np.mean(values < 0)
    p = stats.norm.cdf(-0.2)
    assert abs(negative - p) <= Z * math.sqrt(p * (1 - p) / values.size)
    assert stats.kstest(values, stats.norm(2.0, 10.0).cdf).pvalue > 0.001


def test_schema_refuses_normal_durations_that_cannot_be_truncated():
    with pytest.raises(ValueError):
        SwabStage(service_s={"dist": "normal", "mean": 0.0, "sd": 1.0})
    with pytest.raises(ValueError):
        SwabStage(service_s={"dist": "fixed", "value": -1.0})


@pytest.mark.parametrize(
    "spec, frozen",
    [
        ({"dist": "gamma", "shape": 2.0, "scale": 12.5}, stats.gamma(2.0, scale=12.5)),
        ({"dist": "weibull", "shape": 1.5, "scale": 30.0}, stats.weibull_min(1.5, scale=30.0)),
    ],
)
def test_gamma_and_weibull_follow_scipys_law(spec, frozen):
    """Same parameterisation as scipy.stats (which `simsampling fit` uses): KS on the draws."""
    assert stats.kstest(draws(spec), frozen.cdf).pvalue > 0.001


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "gamma", "shape": 0.0, "scale": 1.0},
        {"dist": "gamma", "shape": 2.0, "scale": -1.0},
        {"dist": "weibull", "shape": 0.01, "scale": 1.0},
        {"dist": "weibull", "shape": 2.0},
    ],
)
def test_gamma_and_weibull_parameters_are_checked(spec):
    with pytest.raises(ValueError):
        SwabStage(service_s=spec)


def test_unknown_distribution_is_refused():
    with pytest.raises(TypeError):
        sample(object(), stream(SEED, 0, "p", "swab"), 3)


# ------------------------------------------------------------------ streams


def first(seed=SEED, rep=0, point="p1", name="swab", n=16) -> np.ndarray:
    return stream(seed, rep, point, name).random(n)


def test_streams_are_reproducible():
    np.testing.assert_array_equal(first(), first())
    a = sample(Fixed(dist="fixed", value=1.0), stream(SEED, 0, "p1", "swab"), 3)
    np.testing.assert_array_equal(a, np.ones(3))
    np.testing.assert_array_equal(
        draws({"dist": "lognormal", "mean": 25, "sd": 8}, 100), draws({"dist": "lognormal", "mean": 25, "sd": 8}, 100)
    )


def test_stream_numbers_are_distinct():
    assert len(set(STREAMS.values())) == len(STREAMS)


@pytest.mark.parametrize(
    "other",
    [
        {"seed": SEED + 1},
        {"rep": 1},
        {"point": "p2"},
        {"name": "temperature"},
    ],
)
def test_streams_differ_by_seed_replication_point_and_name(other):
    a, b = first(n=1000), first(n=1000, **other)
    assert not np.array_equal(a, b)
    # And look independent: no correlation beyond chance (99.9%).
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < Z / math.sqrt(a.size)


def test_all_named_streams_of_a_point_are_pairwise_distinct():
    seqs = {name: first(name=name, n=8) for name in STREAMS}
    values = [tuple(v) for v in seqs.values()]
    assert len(set(values)) == len(values)


def test_a_stream_without_a_number_is_keyed_by_its_name():
    """Streams added since stages became data (a plain stage's, a divert's) are keyed by a hash
    of their name: the same in every run, other than every numbered stream and each other."""
    np.testing.assert_array_equal(first(name="stage:id_check"), first(name="stage:id_check"))
    named = {tuple(first(name=name, n=8)) for name in ("stage:id_check", "stage:isolation", "divert:temperature")}
    numbered = {tuple(first(name=name, n=8)) for name in STREAMS}
    assert len(named) == 3 and not named & numbered
    assert stream_number("stage:id_check") >= 2**64 > max(STREAMS.values())
    # Pinned: a change of how named streams are keyed shows here.
    assert first(name="stage:id_check", n=1)[0] == pytest.approx(GOLDEN_NAMED, abs=0, rel=0)


def test_points_with_colliding_crc32_ids_still_get_distinct_streams():
    # Regression: points were once keyed by CRC32, and these two valid ids collide.
    import zlib

    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    assert not np.array_equal(first(point="plumless"), first(point="buckeroo"))


def test_many_point_ids_get_distinct_streams():
    ids = [f"pt-{i:04d}" for i in range(2000)] + ["a", "A", "a.", "a-", "a_", "tjx-01"]
    firsts = {float(stream(SEED, 0, point, "swab").random()) for point in ids}
    assert len(firsts) == len(ids)


def test_normal_offset_accepts_a_negative_mean():
    # A normal duration needs mean > 0 (schema); as an offset (lateness) any mean is fine.
    values = sample(Normal(dist="normal", mean=-5.0, sd=1.0), stream(SEED, 0, "p", "lateness"), 1000, signed=True)
    assert values.mean() < 0


EVERY_KIND = [
    {"dist": "fixed", "value": 3.0},
    {"dist": "exponential", "mean": 25.0},
    {"dist": "lognormal", "mean": 25.0, "sd": 8.0},
    {"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 6.0},
    {"dist": "uniform", "low": 1.0, "high": 9.0},
    {"dist": "empirical", "values": [1.0, 2.5, 7.0]},
    {"dist": "gamma", "shape": 0.7, "scale": 20.0},  # below 1: numpy's rejection sampler, several raw draws a value
    {"dist": "gamma", "shape": 3.0, "scale": 8.0},
    {"dist": "weibull", "shape": 1.5, "scale": 25.0},
    {"dist": "normal", "mean": 1.0, "sd": 2.0},  # many negatives: redrawn as a duration, kept as an offset
]


@pytest.mark.parametrize("spec", EVERY_KIND, ids=lambda spec: spec["dist"])
@pytest.mark.parametrize("signed", [False, True])
def test_roster_draws_of_the_residents_who_came_equal_the_whole_roster_indexed(spec, signed):
    """Common random numbers and every figure rest on it: drawing up to the last resident who came
    gives each resident the value it gets when the whole roster is drawn."""
    roster = 5_000
    rng = np.random.default_rng(3)
    for who in (np.sort(rng.choice(roster, 40, replace=False)), rng.permutation(300), np.arange(0), np.array([roster - 1])):
        whole = sample(dist(spec), stream(SEED, 0, "p1", "swab"), roster, signed=signed)
        np.testing.assert_array_equal(roster_sample(dist(spec), stream(SEED, 0, "p1", "swab"), roster, who, signed=signed), whole[who])
        if prefix_stable(dist(spec), signed) and who.size:
            # ... and it really draws less: the first draws of a longer run are the shorter run's.
            np.testing.assert_array_equal(sample(dist(spec), stream(SEED, 0, "p1", "swab"), int(who.max()) + 1, signed=signed), whole[: who.max() + 1])
    who = np.array([7, 2, 4000])
    np.testing.assert_array_equal(roster_uniform(stream(SEED, 0, "p1", "qr"), who), stream(SEED, 0, "p1", "qr").random(roster)[who])
    # Nobody named: the first ``reach`` residents in order (walk-ins), the same values as naming them.
    for reach in (0, 1, 300):
        whole = sample(dist(spec), stream(SEED, 0, "p1", "swab"), roster, signed=signed)
        firsts = roster_sample(dist(spec), stream(SEED, 0, "p1", "swab"), roster, None, signed=signed, reach=reach)
        assert firsts.tobytes() == whole[:reach].tobytes()
        assert firsts.base is None or firsts.base.size == reach  # a truncated normal's whole roster is not kept
        assert roster_uniform(stream(SEED, 0, "p1", "qr"), None, reach).tobytes() == stream(SEED, 0, "p1", "qr").random(roster)[:reach].tobytes()


def test_a_truncated_normal_duration_is_drawn_for_the_whole_roster():
    assert not prefix_stable(dist({"dist": "normal", "mean": 1.0, "sd": 2.0}))
    assert prefix_stable(dist({"dist": "normal", "mean": 1.0, "sd": 2.0}), signed=True)
