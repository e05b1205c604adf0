"""simsampling.metrics: KPIs, series and confidence intervals from event logs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simsampling.draws import ResidentDraws
from simsampling.experiment import simulate_task
from simsampling.log import EventLog
from simsampling.metrics.durations import run_ends
from simsampling.metrics import (
    DURATION_EDGES,
    TIME_STATS,
    WAIT_BIN_MIN,
    WAIT_BINS,
    Band,
    Durations,
    PooledBins,
    duration_summaries,
    mean_of,
    peak,
    Series,
    SeriesSum,
    add_series,
    band,
    estimate,
    flatten,
    occupancy,
    point_series,
    queue_max,
    replication_kpis,
    summarise,
    time_stats,
    wait_histograms,
)
from simsampling.metrics.compiled import histogram_in
from simsampling.model import simulate_point
from simsampling.scenario import validate_scenario


def swab_log(arrival, start, end, served=None, servers=1, open_s=0.0, close_s=100.0) -> EventLog:
    arrival = np.asarray(arrival, dtype=float)
    n = arrival.size
    served = np.ones(n, dtype=bool) if served is None else np.asarray(served)
    log = EventLog(
        point_id="p",
        replication=0,
        open_s=open_s,
        close_s=close_s,
        population=n,
        no_show=0,
        servers={"swab": servers},
        resident=np.arange(n),
        arrival_s=arrival,
        qr=np.zeros(n, dtype=bool),
        served=served,
        station=np.where(served, 0, -1).astype(np.int32),
    )
    log.start["swab"] = np.asarray(start, dtype=float)
    log.end["swab"] = np.asarray(end, dtype=float)
    return log


# ------------------------------------------------------------------ time_stats


def test_time_stats_in_minutes():
    seconds = np.array([60.0, 120.0, 180.0, 240.0, 600.0])
    result = time_stats(seconds)
    assert tuple(result) == TIME_STATS
    minutes = seconds / 60
    assert result["mean"] == pytest.approx(minutes.mean())
    assert result["p50"] == pytest.approx(3.0)
    assert result["p90"] == pytest.approx(np.percentile(minutes, 90))
    assert result["p95"] == pytest.approx(np.percentile(minutes, 95))
    assert result["max"] == 10.0
    assert all(isinstance(v, float) for v in result.values())


@given(st.lists(st.integers(0, 2**40), max_size=12))
def test_run_ends_are_numpys_cumsum(sizes):
    """``run_ends`` of runs' sizes (none, zeros, large): ``np.cumsum(sizes, dtype=np.intp)``, values and dtype."""
    ends = run_ends(sizes)
    expected = np.cumsum(sizes, dtype=np.intp)
    assert ends.dtype == expected.dtype and ends.shape == expected.shape
    np.testing.assert_array_equal(ends, expected)


def test_time_stats_of_nothing_is_nan():
    result = time_stats(np.empty(0))
    assert tuple(result) == TIME_STATS
    assert all(math.isnan(v) for v in result.values())


@given(st.lists(st.floats(-1e7, 1e7), min_size=1, max_size=300), st.sampled_from([1, 7, 8, 127, 128, 129, 1000, 2650]))
@settings(max_examples=100, deadline=None)
def test_mean_of_is_numpys_mean_to_the_bit(values, repeat):
    """Sums of every length around numpy's pairwise blocks (8 accumulators, blocks of 128), with -0.0, NaN and infinities."""
    array = np.resize(np.array(values), max(repeat, len(values)))
    for edge in (array, np.append(array, -0.0), np.append(array, math.nan), np.append(array, [math.inf, -math.inf])):
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN either way
            assert np.float64(mean_of(edge)).tobytes() == np.float64(edge.mean()).tobytes()


# ------------------------------------------------------------------ queue_max


def test_queue_max_on_a_hand_made_log():
    # A starts at once; B, C, D queue (3 in line at t=3); at t=5 B leaves the
    # line as F joins (still 3: leave before counting the newcomer); E never waits;
    # G arrived after closing and is not counted.
    arrival = [0.0, 1.0, 2.0, 3.0, 10.0, 5.0, 200.0]
    start = [0.0, 5.0, 6.0, 7.0, 10.0, 8.0, np.nan]
    end = [5.0, 6.0, 7.0, 8.0, 11.0, 9.0, np.nan]
    served = [True] * 6 + [False]
    assert queue_max(swab_log(arrival, start, end, served), "swab") == 3


def test_queue_max_no_waiting_and_empty():
    assert queue_max(swab_log([0.0, 5.0], [0.0, 5.0], [4.0, 9.0]), "swab") == 0
    assert queue_max(swab_log([], [], []), "swab") == 0


def test_queue_max_counts_simultaneous_arrivals():
    log = swab_log([0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    assert queue_max(log, "swab") == 3


# ------------------------------------------------------------------ occupancy


def brute_force(begin, end, edges):
    """Average count per second of intervals [b, e) open, bin by bin (integer times)."""
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        seconds = np.arange(lo, hi)
        counts = [np.count_nonzero((begin <= s) & (s < end)) for s in seconds]
        out.append(np.mean(counts))
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_occupancy_matches_a_per_second_count(seed):
    rng = np.random.default_rng(seed)
    n = 40
    begin = rng.integers(0, 500, n).astype(float)
    end = begin + rng.integers(0, 120, n)  # zero-length intervals included
    edges = np.unique(np.concatenate([[0, 700], rng.integers(1, 700, 12)])).astype(float)
    np.testing.assert_allclose(occupancy(begin, end, edges), brute_force(begin, end, edges), rtol=0, atol=1e-9)


def test_occupancy_exact_for_fractional_times():
    result = occupancy(np.array([0.5]), np.array([2.25]), np.array([0.0, 1.0, 2.0, 3.0]))
    np.testing.assert_allclose(result, [0.5, 1.0, 0.25])
    # Intervals outside the edges count nothing; unsorted input is fine.
    result = occupancy(np.array([5.0, -10.0, 1.0]), np.array([6.0, -5.0, 3.0]), np.array([0.0, 2.0, 4.0]))
    np.testing.assert_allclose(result, [0.5, 0.5])


# ------------------------------------------------------------------ compiled loops, bit for bit with numpy
# The loops replace sorts and numpy calls; each must give what the numpy formula it
# replaces gives, to the last bit (results are reproducible across versions).


def awkward(rng: np.random.Generator, n: int) -> np.ndarray:
    """Durations with ties, whole seconds, bin edges, negatives, hours beyond the 1-second bins and inf."""
    pool = np.concatenate([
        rng.exponential(300.0, n), np.floor(rng.exponential(300.0, n)), rng.uniform(14_000.0, 20_000.0, n),
        [0.0, -0.0, -3.5, 0.999, 1.0, 14_399.999, 14_400.0, 14_459.9, 14_460.0, 15 * 86_400.0, 2e6, np.inf],
    ])
    return rng.choice(pool, n)


def numpy_durations(seconds: np.ndarray) -> tuple:
    """What Durations.of computed with numpy before its compiled loop."""
    index = np.clip(np.searchsorted(DURATION_EDGES, seconds, side="right") - 1, 0, DURATION_EDGES.size - 1)
    bins, counts = np.unique(index, return_counts=True)
    if seconds.size == 0:
        return bins, counts, math.nan, [math.nan] * 5
    minutes = seconds / 60.0
    p50, p90, p95 = np.percentile(minutes, [50, 90, 95])
    return bins, counts, float(seconds.max()), [float(minutes.mean()), float(p50), float(p90), float(p95), float(minutes.max())]


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # numpy's percentile meeting inf
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 20, 101, 2600])
@pytest.mark.parametrize("nan", [False, True])
def test_durations_are_numpys_to_the_bit(n, nan):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        seconds = awkward(rng, n)
        if nan and n:
            seconds[rng.integers(n)] = np.nan
        bins, counts, largest, stats_ = numpy_durations(seconds)
        got = Durations.of(seconds)
        assert got.bins.dtype == bins.dtype and got.counts.dtype == counts.dtype
        np.testing.assert_array_equal(got.bins, bins)
        np.testing.assert_array_equal(got.counts, counts)
        assert same(got.largest, largest) and got.count == n and same(got.total, float(seconds.sum()))
        assert np.float64(got.total).tobytes() == seconds.sum().tobytes() and type(got.total) is float
        assert np.float64(got.exact["mean"]).tobytes() == np.float64(stats_[0]).tobytes() or not n
        assert all(same(a, b) and type(a) is float for a, b in zip(got.exact.values(), stats_))
        assert all(same(a, b) for a, b in zip(time_stats(seconds).values(), stats_))


def test_durations_pooled_with_their_bins_added_up_elsewhere_are_the_same():
    """What a batch's worker does (replicate.pool_counts): each part's bins added up in groups, the parts pooled
    without them, the groups' sums added up and given back: the same durations as pooled at once."""
    rng = np.random.default_rng(3)
    parts = [{"wait": Durations.of(awkward(rng, n)), "stay": Durations.of(awkward(rng, 2 * n))} for n in (0, 1, 40, 7, 2600, 3)]
    at_once = {kind: Durations.pooled([part[kind] for part in parts]) for kind in ("wait", "stay")}
    total = PooledBins()
    for group in (parts[:1], parts[1:4], parts[4:]):
        bins = PooledBins()
        for part in group:
            bins.add_durations(part)
        total.add_pooled(bins.sparse())  # as sent: the bins that hold any
    without = {kind: Durations.pooled([part[kind].without_bins() for part in parts]) for kind in ("wait", "stay")}
    assert all(part.bins.size == 0 for part in without.values())
    for kind, got in total.attached(without).items():
        want = at_once[kind]
        assert (got.count, got.total, got.exact) == (want.count, want.total, want.exact) and same(got.largest, want.largest)
        for a, b in ((got.bins, want.bins), (got.counts, want.counts)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert got.stats() == want.stats()
    assert PooledBins().attached(without)["wait"].bins.size == 0  # a kind nobody counted: no bins
    for part in parts:  # a kind counted once (a batch of one point): held as it came, given back as pooled
        alone = PooledBins()
        alone.add_durations(part)
        for kind, got in alone.attached({kind: d.without_bins() for kind, d in part.items()}).items():
            want = Durations.pooled([part[kind]])
            assert got.bins.dtype == want.bins.dtype and got.counts.dtype == want.counts.dtype
            np.testing.assert_array_equal(got.bins, want.bins)
            np.testing.assert_array_equal(got.counts, want.counts)


def test_series_come_back_from_pickling_as_they_were():
    """A point's series travel as the rows of one array (Series.__reduce__); others as they are."""
    import pickle

    from simsampling.metrics import Series

    rng = np.random.default_rng(1)
    alike = Series(queue={"registration": rng.random(5), "swab": np.array([0.0, -0.0, np.nan, np.inf, 1e-300])},
                   busy={"registration": rng.random(5), "swab": rng.random(5)}, arrived=np.arange(5.0), sampled=np.zeros(5), step_s=900.0)
    unequal = Series(queue={"swab": rng.random(3)}, busy={"swab": rng.random(4)}, arrived=np.arange(4.0), sampled=np.arange(4.0))
    no_stages = Series(queue={}, busy={}, arrived=np.arange(2.0), sampled=np.ones(2), step_s=60.0)
    for series in (alike, unequal, no_stages):
        back = pickle.loads(pickle.dumps(series))
        assert back.step_s == series.step_s and list(back.queue) == list(series.queue) and list(back.busy) == list(series.busy)
        for got, want in [*zip(back.queue.values(), series.queue.values()), *zip(back.busy.values(), series.busy.values()),
                          (back.arrived, series.arrived), (back.sampled, series.sampled)]:
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes()  # to the bit: -0.0, NaN


def lexsort_peak(joins: np.ndarray, leaves: np.ndarray) -> int:
    """The most intervals open at once as computed before the compiled loop: every event sorted."""
    times = np.concatenate([leaves, joins])
    steps = np.concatenate([np.full(leaves.size, -1), np.full(joins.size, 1)])
    return int(np.cumsum(steps[np.lexsort((steps, times))]).max(initial=0))


@pytest.mark.parametrize("seed", range(20))
def test_peak_is_the_peak_of_all_events_sorted(seed):
    rng = np.random.default_rng(seed)
    runs = rng.integers(1, 4)
    sizes = rng.integers(0, 60, runs)
    joins = [rng.integers(0, 50, size).astype(float) for size in sizes]  # many ties
    leaves = [j + rng.integers(0, 10, j.size) for j in joins]
    for j, leave in zip(joins, leaves):
        if j.size and seed % 3 == 0:
            leave[rng.integers(j.size)] = np.nan  # a served resident with a NaN time stays in line
        if j.size and seed % 4 == 0:
            j[rng.integers(j.size)] = np.nan
    joins, leaves = np.concatenate(joins), np.concatenate(leaves)
    assert peak(np.sort(joins), np.sort(leaves)) == lexsort_peak(joins, leaves)


def numpy_occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """occupancy() as computed before the compiled loop."""

    def integral(points: np.ndarray) -> np.ndarray:
        points = np.sort(points)
        cumulative = np.concatenate([[0.0], np.cumsum(points)])
        k = np.searchsorted(points, edges, side="left")
        return k * edges - cumulative[k]

    return np.diff(integral(begin) - integral(end)) / np.diff(edges)


@pytest.mark.parametrize("seed", range(10))
def test_occupancy_is_numpys_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    begin = rng.uniform(-100.0, 90_000.0, n)
    end = begin + rng.exponential(600.0, n)
    if n and seed % 2:
        end[rng.integers(n)] = np.nan
    edges = np.arange(int(rng.integers(1, 200))) * rng.choice([60.0, 900.0, 7.3])
    np.testing.assert_array_equal(occupancy(begin, end, edges), numpy_occupancy(begin, end, edges))


def test_wait_counts_are_numpys_histogram():
    rng = np.random.default_rng(1)
    minutes = np.concatenate([
        rng.exponential(5.0, 5000), np.arange(0.0, 241.0, 0.25), [-0.0, -1.0, 239.99, 240.0, 240.01, 1e9, np.inf, np.nan],
        np.arange(0.0, 241.0, 0.25) + 1e-12, np.arange(0.0, 241.0, 0.25) - 1e-12,
    ])
    counts = histogram_in(minutes, 1.0, WAIT_BINS, WAIT_BIN_MIN)  # (as Python; compiled: test_metrics_passes.py)
    expected = np.histogram(minutes, bins=WAIT_BINS)[0]
    assert counts.dtype == expected.dtype
    np.testing.assert_array_equal(counts, expected)


# ------------------------------------------------------------------ KPIs and series


def three_residents() -> EventLog:
    # Served: waits 0, 3, 0; swabs 5, 3, 4 s; one unserved arrival after closing.
    return swab_log(
        arrival=[10.0, 12.0, 30.0, 150.0],
        start=[10.0, 15.0, 30.0, np.nan],
        end=[15.0, 18.0, 34.0, np.nan],
        served=[True, True, True, False],
        servers=2,
        open_s=0.0,
        close_s=100.0,
    )


def test_replication_kpis_on_a_hand_made_log():
    k = replication_kpis([three_residents()])
    assert k["arrived"] == 4 and k["sampled"] == 3 and k["unserved"] == 1
    assert k["population"] == 4 and k["no_show"] == 0
    assert k["completion_min"] == pytest.approx(34 / 60)
    assert k["overtime_min"] == 0.0
    assert k["wait_min"]["swab"]["mean"] == pytest.approx(1 / 60)
    assert k["wait_min"]["swab"]["max"] == pytest.approx(3 / 60)
    assert k["queue_max"]["swab"] == 1.0
    # 12 busy seconds over 2 stations x 100 s on duty.
    assert k["utilization"]["swab"] == pytest.approx(12 / 200)
    assert k["throughput_per_hour"] == pytest.approx(3 / (34 / 3600))
    assert k["throughput_per_station_hour"] == pytest.approx(k["throughput_per_hour"] / 2)
    assert k["peak_hour_sampled"] == 3.0
    assert k["time_in_system_min"]["mean"] == pytest.approx((5 + 6 + 4) / 3 / 60)


def test_point_series_integrates_to_total_wait_and_busy_time():
    log = three_residents()
    series = point_series(log)
    assert series.steps == 24 * 60
    assert series.queue["swab"].sum() * 60 == pytest.approx(log.wait("swab").sum())
    assert series.busy["swab"].sum() * 60 == pytest.approx(log.service("swab").sum())
    assert series.arrived[-1] == 4 and series.sampled[-1] == 3
    assert np.all(np.diff(series.arrived) >= 0) and np.all(np.diff(series.sampled) >= 0)


def test_point_series_of_a_simulated_day_integrates_to_its_waits():
    run = simulate_task(small_walk_in(seed=1), 0, 0)
    log, series = run.log, run.series
    for stage in log.stages:
        assert series.queue[stage].sum() * 60 == pytest.approx(log.wait(stage).sum(), rel=1e-9)
        assert series.busy[stage].sum() * 60 == pytest.approx(log.service(stage).sum(), rel=1e-9)
        assert series.busy[stage].max() <= log.servers[stage] + 1e-9


def test_add_series_and_band():
    a, b = point_series(three_residents()), point_series(swab_log([5.0], [5.0], [65.0]))
    total = add_series([a, b])
    np.testing.assert_allclose(total.busy["swab"], a.busy["swab"] + b.busy["swab"])
    assert total.sampled[-1] == 4
    mean, low, high = band([np.array([1.0, 2.0]), np.array([3.0])])
    np.testing.assert_array_equal(mean, [2.0, 2.5])
    np.testing.assert_array_equal(low, [1.0, 2.0])
    np.testing.assert_array_equal(high, [3.0, 3.0])


def random_series(rng, stages: tuple[str, ...], steps: int, step_s: float = 60.0) -> Series:
    def row() -> np.ndarray:
        return rng.random(steps) * 10.0

    return Series(queue={s: row() for s in stages}, busy={s: row() for s in stages}, arrived=np.cumsum(row()),
                  sampled=np.cumsum(row()), step_s=step_s)


def test_a_series_sum_is_add_series_point_by_point_to_the_bit():
    """Points alike, then one longer, one of other stages, one of a longer step: each added in place when alike."""
    rng = np.random.default_rng(5)
    parts = [random_series(rng, ("registration", "swab"), 30) for _ in range(6)]
    parts += [random_series(rng, ("registration", "swab"), 41), random_series(rng, ("registration", "swab"), 41),
              random_series(rng, ("swab",), 41), random_series(rng, ("temperature", "registration", "swab"), 41),
              random_series(rng, ("temperature", "registration", "swab"), 20, step_s=120.0),
              random_series(rng, ("temperature", "registration", "swab"), 20, step_s=120.0)]
    originals = [[array.copy() for array in series_arrays(part)] for part in parts]
    summed, expected = SeriesSum(), None
    for part in parts:
        summed.add(part)
        expected = part if expected is None else add_series([expected, part])
        got = summed.series
        assert list(got.queue) == list(expected.queue) and list(got.busy) == list(expected.busy)
        assert got.step_s == expected.step_s
        assert [a.tobytes() for a in series_arrays(got)] == [b.tobytes() for b in series_arrays(expected)]
    for part, original in zip(parts, originals):  # the points' own series are never added into
        assert [a.tobytes() for a in series_arrays(part)] == [b.tobytes() for b in original]


def series_arrays(series: Series) -> list[np.ndarray]:
    return [*series.queue.values(), *series.busy.values(), series.arrived, series.sampled]


def test_wait_histograms_count_every_served_wait_once():
    counts = wait_histograms([three_residents(), three_residents()])
    assert counts["swab"].sum() == 6
    assert counts["swab"][0] == 6  # all waits under a quarter of a minute


def small_walk_in(seed: int, stations: int = 200):
    return validate_scenario(
        {
            "name": "m",
            "seed": seed,
            "clock": {"open": "00:00", "close": "24:00"},
            "points": [{"id": "p", "population": 200, "tents": stations, "stages": {"swab": {"service_s": {"dist": "exponential", "mean": 600}}}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 10},
        }
    )


def test_wait_histograms_of_a_simulated_point_count_every_sampled_resident():
    scenario = validate_scenario(
        {
            "name": "m",
            "clock": {"open": "07:00", "close": "22:00"},
            "points": [{"id": "p", "population": 2, "tents": 1, "stages": {"swab": {}}}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 1},
        }
    )
    draws = ResidentDraws(
        resident=np.arange(2, dtype=np.int64),
        arrival_s=np.array([27901.313, 62587.782]),  # 07:45:01 and 17:23:07
        qr=np.zeros(2, dtype=bool),
        service_s={"swab": np.array([20.0, 20.0])},
        no_show=0,
    )
    log = simulate_point(scenario.points[0], scenario.clock, draws)
    assert log.sampled == 2
    assert wait_histograms([log])["swab"].sum() == log.sampled


# ------------------------------------------------------------------ across replications


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50).filter(lambda v: np.ptp(v) > 1e-3))
@settings(max_examples=100, deadline=None)
def test_estimate_ci_is_scipys_t_interval(values):
    result = estimate(values)
    arr = np.asarray(values)
    assert result["n"] == arr.size
    assert result["mean"] == pytest.approx(arr.mean(), abs=1e-6)
    low, high = stats.t.interval(0.95, arr.size - 1, loc=arr.mean(), scale=stats.sem(arr))
    assert result["ci95"] == pytest.approx([low, high], rel=1e-9, abs=1e-6)


def test_t_quantile_is_scipy_stats_to_the_bit():
    """Runs take the t quantile from t_table.py, else scipy.special (lighter imports): the values scipy.stats gives."""
    from scipy.special import stdtrit

    from simsampling.metrics.estimates import _t975
    from simsampling.metrics.t_table import T975

    assert len(T975) == 199
    for df in (*range(1, 200), 200, 499, 1000, 4999):
        assert _t975(df) == float(stats.t.ppf(0.975, df)) == float(stdtrit(df, 0.975))


def test_estimate_small_samples_and_missing_values():
    assert estimate([]) == {"mean": None, "ci95": None, "n": 0}
    assert estimate([float("nan"), None]) == {"mean": None, "ci95": None, "n": 0}
    assert estimate([4.0]) == {"mean": 4.0, "ci95": None, "n": 1}
    assert estimate([4.0, float("nan"), float("inf"), None]) == {"mean": 4.0, "ci95": None, "n": 1}
    two = estimate([1.0, 3.0, float("nan")])
    assert two["n"] == 2 and two["mean"] == 2.0
    assert two["ci95"] == pytest.approx(list(stats.t.interval(0.95, 1, loc=2.0, scale=1.0)))
    assert estimate([5.0, 5.0, 5.0])["ci95"] == [5.0, 5.0]


def test_summarise_mirrors_the_kpi_tree_with_estimate_leaves():
    reps = [replication_kpis([three_residents()]), replication_kpis([swab_log([5.0, 6.0], [5.0, 9.0], [9.0, 12.0])])]
    summary = summarise(reps)

    def same_shape(tree, kpis):
        assert set(tree) == set(kpis)
        for key, value in kpis.items():
            if isinstance(value, dict):
                same_shape(tree[key], value)
            else:
                assert set(tree[key]) == {"mean", "ci95", "n"}

    same_shape(summary, reps[0])
    assert summary["sampled"]["mean"] == 2.5 and summary["sampled"]["n"] == 2
    assert summary["wait_min"]["swab"]["max"]["n"] == 2
    flat = flatten(summary)
    assert "wait_min.swab.p90" in flat and flat["sampled"] == summary["sampled"]
    assert all(set(leaf) == {"mean", "ci95", "n"} for leaf in flat.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e4, 3e7), st.just(math.nan), st.just(math.inf)), max_size=60))
def test_hour_counts_are_numpys_unique(times):
    """Counted in an array of hours where the hours allow it, else by np.unique: the same arrays either way."""
    from simsampling.metrics.tally import HOUR, HourCounts

    values = np.array(times, dtype=float)
    hours = np.floor(values / HOUR)
    expected_hours, expected_counts = np.unique(hours[hours >= 0], return_counts=True)
    counted = HourCounts.of(values)
    assert counted.hours.dtype == expected_hours.dtype and counted.counts.dtype == expected_counts.dtype
    assert np.array_equal(counted.hours, expected_hours) and np.array_equal(counted.counts, expected_counts)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.one_of(st.floats(allow_nan=True), st.integers(-10, 10), st.none()),
                    lambda leaves: st.dictionaries(st.text("abc", min_size=1, max_size=2), leaves, min_size=1, max_size=3),
                    max_leaves=8).filter(lambda tree: isinstance(tree, dict)))
def test_one_replication_summarised_as_every_estimate(tree):
    """A single replication's shortcut gives estimate() of each leaf."""

    def slow(node):
        return {key: slow(value) if isinstance(value, dict) else estimate([value]) for key, value in node.items()}

    assert summarise([tree]) == slow(tree)


def _means(node):
    for value in node.values():
        if isinstance(value, dict) and "mean" not in value:
            yield from _means(value)
        else:
            yield value["mean"]


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, 1e-3, 9.9e-4, 1e15, 1e16, -5e-5]),
                              st.integers(-10, 10), st.booleans(), st.none()),
                    lambda leaves: st.dictionaries(st.text("abc", min_size=1, max_size=2), leaves, min_size=1, max_size=3),
                    max_leaves=8).filter(lambda tree: isinstance(tree, dict)))
def test_one_replication_summary_is_a_plain_tree_when_orjson_writes_every_mean_as_json(tree):
    """A subtree is a PlainTree exactly when each of its means is None or a float orjson writes as repr does."""
    from simsampling.plain_json import REPR_BELOW, REPR_FROM, PlainTree

    def plain_float(mean):  # finite, and 0 or where orjson's text is repr's
        return REPR_FROM <= abs(mean) < REPR_BELOW or mean == 0.0

    def check(node):
        branches = [value for value in node.values() if "mean" not in value]
        for branch in branches:
            check(branch)
        plain = all(mean is None or plain_float(mean) for mean in _means(node))
        assert (type(node) is PlainTree) == plain and (plain or type(node) is dict)

    check(summarise([tree]))


@pytest.mark.parametrize("n", [1, 6, 2600])
def test_durations_crowded_in_few_bins_are_numpys_to_the_bit(n):
    """Every percentile's values gathered from one or two crowded bins (one second wide, or 0 with -0.0 in it)."""
    rng = np.random.default_rng(n)
    for seconds in (100.0 + rng.random(n), np.where(rng.random(n) < 0.5, -0.0, 0.0) + rng.random(n) * (rng.random(n) < 0.3),
                    rng.choice([3.25, 3.5, 7.0, 7.5], n)):
        bins, counts, largest, stats_ = numpy_durations(seconds)
        got = Durations.of(seconds)
        np.testing.assert_array_equal(got.bins, bins)
        np.testing.assert_array_equal(got.counts, counts)
        assert all(same(a, b) and math.copysign(1.0, a) == math.copysign(1.0, b) for a, b in zip(got.exact.values(), stats_))
        # The loop run as Python (a first run's, while it compiles aside) finds the same values.
        percents = np.array([0.0, 50.0, 100.0, 95.0])  # the first, middle and last ranks among them
        compiled, interpreted = (loop(seconds, np.array([n], dtype=np.intp), DURATION_EDGES, 14_400, percents, 60.0, np.ones(1, np.bool_), WAIT_BINS, WAIT_BIN_MIN)
                                 for loop in (duration_summaries, duration_summaries.__wrapped__))
        for a, b in zip(compiled, interpreted):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_band_of_one_replication_holds_its_series_once_and_is_never_changed_in_place():
    first, second = np.array([1.0, 3.0, 2.0]), np.array([2.0, 1.0, 5.0, 4.0])
    band_ = Band()
    band_.add(first)
    assert band_.total is band_.low is band_.high is first
    band_.add(second)
    np.testing.assert_array_equal(first, [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(band_.total, [3.0, 4.0, 7.0, 6.0])
    np.testing.assert_array_equal(band_.low, [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(band_.high, [2.0, 3.0, 5.0, 4.0])
    np.testing.assert_array_equal(band_.mean, [1.5, 2.0, 3.5, 3.0])


@pytest.mark.parametrize("replications", [1, 3, 7])
def test_a_bands_mean_at_a_step_and_its_sum_are_its_means(replications):
    rng = np.random.default_rng(replications)
    band_ = Band()
    for _ in range(replications):
        band_.add(rng.uniform(0.0, 100.0, 50) / 3.0)
    assert band_.mean_sum() == band_.mean.sum()
    assert [band_.mean_at(step) for step in range(50)] == band_.mean.tolist()
