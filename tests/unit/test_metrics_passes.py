"""The metrics' compiled passes against the numpy they replace: the same numbers to the bit, on random
inputs with ties, NaN, empty and one-element arrays."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simsampling.metrics import DURATION_EDGES, WAIT_BINS, WAIT_BIN_MIN, busiest_spell, busiest_spells, dispatchers, duration_summary, merged_peaks, peak, sorted_occupancy
from simsampling.metrics.compiled import counted_up_to, days_and_last_finish, duration_summaries, histogram_in, lines_and_busy, percentile_ranks, rows_busy, rows_busy_numpy, sort_runs_numpy, sorted_runs

@functools.lru_cache(maxsize=None)
def compiled_summary():
    """``duration_summary``, a helper the compiled ``duration_summaries`` compiles into itself, compiled on its own
    (numba, after the helpers are registered with it) to be called with any ranks."""
    import numba

    dispatchers()  # (registers the helpers)
    return numba.njit(lambda seconds, edges, fine, ranks, unit: duration_summary(seconds, edges, fine, ranks, unit))


@functools.lru_cache(maxsize=None)
def compiled_histogram():
    """``histogram_in``, a helper of ``duration_summaries``, compiled on its own (as ``compiled_summary``)."""
    import numba

    dispatchers()
    return numba.njit(lambda values, unit, edges, width: histogram_in(values, unit, edges, width))


# Times on a coarse grid, so that ties are common; NaN where a log may hold one.
TIMES = st.one_of(st.integers(-3, 40).map(float), st.just(np.nan))
# ... and where a line's peak may meet one: -0.0 and infinite times.
EDGE_TIMES = st.one_of(TIMES, st.sampled_from([-0.0, np.inf, -np.inf, 1e308, -1e308, 5e-324]))


@st.composite
def lines(draw) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to four lines: (joins, leaves) each sorted (NaN last), as ``sorted_line`` gives them."""
    result = []
    times = TIMES if draw(st.booleans()) else EDGE_TIMES
    for _ in range(draw(st.integers(1, 4))):
        joins = np.array(draw(st.lists(times, max_size=draw(st.sampled_from([25, 300])))), dtype=float)
        waits = np.array(draw(st.lists(st.integers(0, 6), min_size=joins.size, max_size=joins.size)), dtype=float)
        leaves = joins + waits
        if draw(st.booleans()):  # leaves of their own (a line read by its counts only: any times)
            leaves = np.array(draw(st.lists(times, min_size=joins.size, max_size=joins.size)), dtype=float)
        if leaves.size and draw(st.booleans()):
            leaves[draw(st.integers(0, leaves.size - 1))] = np.nan
        result.append((np.sort(joins, kind="stable"), np.sort(leaves, kind="stable")))
    return result


@settings(max_examples=300, deadline=None)
@given(lines())
@example([(np.zeros(0), np.zeros(0))])  # an empty point
@example([(np.array([-np.inf, 0.0, np.inf, np.nan]), np.array([-np.inf, np.inf, np.nan, np.nan]))])
@example([(np.arange(2000.0), np.arange(2000.0) + 30.0), (np.arange(2000.0) + 0.5, np.arange(2000.0) + 3.0)])
@example([(np.array([5.0]), np.array([5.0])), (np.zeros(0), np.zeros(0))])  # one resident, no wait
@example([(np.array([1.0, 1.0, np.nan]), np.array([1.0, 2.0, np.nan])), (np.array([1.0, np.nan]), np.array([1.0, 3.0]))])
def test_merged_peaks_are_the_peaks_of_each_line_and_of_their_stable_merge(runs):
    joins, leaves = zip(*runs)
    ends = lambda parts: np.cumsum([part.size for part in parts]).astype(np.intp)  # noqa: E731
    merged = [np.sort(np.concatenate(side), kind="stable") for side in (joins, leaves)]
    for loop in (merged_peaks, merged_peaks.__wrapped__):  # compiled, and as Python
        total, each = loop(np.concatenate(joins), ends(joins), np.concatenate(leaves), ends(leaves))
        assert total == peak(*merged)
        assert each.tolist() == [peak(j, leave) for j, leave in runs]


def numpy_busiest_spell(line, busy, duty, threshold, gap) -> tuple:
    """``busiest_spell`` as busy_period computed it in numpy."""
    congested = np.flatnonzero((line >= threshold) & (duty > 0))
    if congested.size == 0:
        return -1, -1, 0.0, 0.0, 0.0
    breaks = np.flatnonzero(np.diff(congested) > gap)
    spells = zip(congested[np.concatenate([[0], breaks + 1])], congested[np.concatenate([breaks, [congested.size - 1]])] + 1)
    first, last = max(spells, key=lambda spell: float(line[spell[0]:spell[1]].sum()))
    return (first, last, float(line[first:last].sum()), float(busy[first:last].sum()),
            float(np.clip(duty[first:last], 0.0, None).sum()))


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 1.0, 2.5]), st.sampled_from([1.0, 3.0, 16.0, 1e9]))
@example(0, 1, 1.0, 16.0)  # no steps
@example(1, 3, 0.0, 1.0)  # one step
@example(400, 5, 1.0, 1e9)  # whole numbers: spells of equal sums, the first wins
def test_busiest_spell_is_numpys(steps, seed, threshold, gap):
    """The spell's logic as Python (compiled, it runs inside ``busiest_spells``: the next test)."""
    rng = np.random.default_rng(seed)
    # Lines of whole numbers (equal spells tie: the first wins) or of awkward floats over many scales.
    line = rng.integers(0, 4, steps).astype(float) if seed % 2 else rng.exponential(2.0, steps) * 10.0 ** rng.integers(-8, 8, steps)
    busy = rng.standard_normal(steps) * 10.0 ** rng.integers(-6, 6, steps)
    duty = rng.choice([-1.5, -0.0, 0.0, 1.0, 2.0, 1e-300, 3.3], steps)
    got = busiest_spell(line, busy, duty, threshold, gap)
    want = numpy_busiest_spell(line, busy, duty, threshold, gap)
    assert got[:2] == want[:2] and np.array_equal(np.array(got[2:]), np.array(want[2:])), (got, want)
    assert all(np.copysign(1.0, a) == np.copysign(1.0, b) for a, b in zip(got[2:], want[2:]))


def intervals(rng, count, span):
    """Sorted begins and ends (NaN last) of ``count`` intervals within about ``span`` seconds, ties common."""
    begin = np.floor(rng.uniform(-50.0, span, count) / 7.0) * 7.0 + rng.choice([0.0, 0.5, 1e-9], count)
    end = begin + rng.choice([0.0, 30.0, 61.0, 600.0, 3000.0], count) * rng.random(count)
    if count and rng.random() < 0.3:
        end[rng.integers(0, count)] = np.nan
    return np.sort(begin, kind="stable"), np.sort(end, kind="stable")


def split_runs(rng: np.random.Generator, runs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs split between two arrays at random, in any order: (times, more, each run's array, start and stop)."""
    source = rng.integers(0, 2, len(runs))
    times, more = (np.concatenate([np.zeros(0)] + [run for run, there in zip(runs, source) if there == side]) for side in (0, 1))
    at, places = [0, 0], []
    for run, there in zip(runs, source):
        places.append((there, at[there], at[there] + run.size))
        at[there] += run.size
    return times, more, np.array(places, dtype=np.intp)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(0, 400), st.integers(0, 2**32 - 1), st.integers(0, 900), st.sampled_from([0.0, 1.0, 2.5]),
       st.sampled_from([1.0, 3.0, 16.0, 1e9]))
@example(1, 0, 1, 0, 1.0, 16.0)  # nobody, no minute
@example(3, 3000, 2, 600, 1.0, 16.0)  # crowded lines over sums of more than 128 minutes
def test_every_stages_busiest_spell_in_one_call_is_the_long_way(stages, count, seed, minutes, threshold, gap):
    """Stages reading shared runs (a line's leaves its service's begins...), paired or not, with their own duty
    or a shared one: each stage's spell as its line's, busy servers' and duty's arrays make it one by one."""
    rng = np.random.default_rng(seed)
    span = minutes * 60.0
    edges = np.arange(0, minutes + 1) * 60.0 + rng.choice([0.0, 43_200.0])
    if seed % 4 == 0:
        edges = edges[:1]  # one edge: no minute
    runs = [run + (edges[0] if run.size else 0.0) for _ in range(int(rng.integers(1, 4))) for run in intervals(rng, count, span)]
    lines, services = (rng.integers(0, len(runs), (stages, 2)).astype(np.intp) for _ in range(2))
    paired = np.where(rng.random(stages) < 0.4, rng.integers(0, stages, stages), -1).astype(np.intp)
    duties = rng.choice([-1.5, -0.0, 0.0, 1.0, 0.25, 1e-300, 1 / 3], (int(rng.integers(1, 4)), max(edges.size - 1, 0)))
    duty_row = rng.integers(0, duties.shape[0], stages).astype(np.intp)
    servers = rng.integers(1, 5, stages).astype(np.int64)
    want = []
    for k in range(stages):
        line = sorted_occupancy(runs[lines[k, 0]], runs[lines[k, 1]], edges)
        busy = sorted_occupancy(runs[services[k, 0]], runs[services[k, 1]], edges)
        if paired[k] >= 0:
            busy = busy + sorted_occupancy(runs[lines[paired[k], 0]], runs[lines[paired[k], 1]], edges)
        want.append(numpy_busiest_spell(line, busy, int(servers[k]) * duties[duty_row[k]], threshold, gap))
    times, more, places = split_runs(rng, runs)
    layout = np.column_stack([lines, services, paired, duty_row, servers]).astype(np.intp)
    for loop in (busiest_spells, busiest_spells.__wrapped__):  # compiled, and as Python
        spells, sums = loop(times, more, places, layout, edges, duties, threshold, gap)
        for k, spell in enumerate(want):
            assert tuple(spells[k]) == spell[:2] and sums[k].tobytes() == np.array(spell[2:]).tobytes(), (k, spells[k], sums[k], spell)


def test_line_peaks_of_a_simulated_point_with_a_side_stage_are_numpys():
    from pathlib import Path

    from simsampling.experiment.replicate import point_log
    from simsampling.metrics import in_order, line_peaks, sorted_line
    from simsampling.scenario import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "health-code-and-isolation.yaml")
    log = point_log(scenario, 0, scenario.points[0], "fast")
    lines = [sorted_line(log, stage) for stage in log.stages]
    total, each = line_peaks(log)
    assert len(log.side) and each.tolist() == [peak(*line) for line in lines]
    assert total == peak(*(in_order(np.concatenate(side)) for side in zip(*lines))) > 0


def test_services_sorted_with_the_lines_are_their_own_times_sorted():
    """A stage's services reuse its line's sorted leaves and the next line's sorted joins only when the times
    are the same: with reneging (summer heat, patience cut to minutes) and diverts to a side stage (health
    code), as sorted alone."""
    from pathlib import Path

    from simsampling.experiment.replicate import point_log
    from simsampling.metrics import in_order
    from simsampling.metrics.series import sorted_service
    from simsampling.scenario import load_scenario
    from simsampling.scenario.schema import Reneging

    for name in ("summer-heat-rota.yaml", "health-code-and-isolation.yaml"):
        scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / name)
        point = scenario.points[0]
        if point.reneging is not None:
            point = point.model_copy(update={"reneging": Reneging.model_validate({"patience_min": {"dist": "fixed", "value": 5}})})
        log = point_log(scenario, 0, point, "fast")
        for stage in log.stages:
            through = log.through(stage)
            end = log.station_free_s()[through] if stage == "swab" else log.end[stage][through]
            begins, ends = sorted_service(log, stage)
            for got, want in ((begins, in_order(log.start[stage][through])), (ends, in_order(end))):
                assert got.tobytes() == want.tobytes(), (name, stage)
        assert log.reneged.any() or log.diverted.any()


def first_point_logs(names: tuple[str, ...]):
    """(name, the fast engine's log of the first point) of each shipped scenario named, patience cut to five
    minutes where residents renege (so that some do)."""
    from pathlib import Path

    from simsampling.experiment.replicate import point_log
    from simsampling.scenario import load_scenario
    from simsampling.scenario.schema import Reneging

    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    for name in names:
        scenario = load_scenario(scenarios / name)
        point = scenario.points[0]
        if point.reneging is not None:
            point = point.model_copy(update={"reneging": Reneging.model_validate({"patience_min": {"dist": "fixed", "value": 5}})})
        yield name, point_log(scenario, 0, point, "fast")


def test_shortcuts_of_a_points_measuring_are_the_long_way_to_the_bit():
    """The lines read without reneging masks (and without any mask, read-only, when everyone came through), the
    waits and services without masks then, the total wait added from the stages' waits, the services sorted as the lines, the sampled times sorted
    from the sorted swabs: the same bits as the long way, on points with reneging (summer heat, patience cut to
    minutes), a side stage (health code), door-to-door teams (Xi'an) and the demo."""
    from simsampling.log import BALKED, DIVERTED, RENEGED, STAYED
    from simsampling.metrics import in_order, tally
    from simsampling.metrics.lines import total_waits, waiting_before_opening_s
    from simsampling.metrics.series import sorted_sampled_times, sorted_service
    from simsampling.checks import littles_law
    from simsampling.metrics import mean_of, point_series
    from simsampling.metrics.staff_time import overtime_by_day_s, staffed_days

    counted = []  # whether everyone came through every stage: the lines, waits and services read without masks
    left = []  # whether anyone left unswabbed
    for name, log in first_point_logs(("summer-heat-rota.yaml", "health-code-and-isolation.yaml", "calibration/xian-2021-round.yaml",
                                       "one-point-demo.yaml")):
        for stage in log.stages:
            joins, leaves = log.line(stage)
            left_here = (log.left == RENEGED) & (log.left_stage == log.stages.index(stage))
            stood = (np.isfinite(log.start[stage]) if stage in log.sources else log.served | np.isfinite(log.start[stage])) | left_here
            assert joins.tobytes() == log.enter(stage)[stood].tobytes(), (name, stage)
            assert leaves.tobytes() == np.where(left_here, log.left_s, log.start[stage])[stood].tobytes(), (name, stage)
            through = log.through(stage)
            assert log.wait(stage).tobytes() == (log.start[stage] - log.enter(stage))[through].tobytes(), (name, stage)
            assert log.service(stage).tobytes() == (log.end[stage] - log.start[stage])[through].tobytes(), (name, stage)
            assert not (joins.flags.writeable or leaves.flags.writeable) or not log.everyone_counted  # the log's own, lent
            begins, ends = sorted_service(log, stage)
            free = log.station_free_s() if stage == "swab" else log.end[stage]
            assert begins.tobytes() == in_order(log.start[stage][through]).tobytes(), (name, stage)
            assert ends.tobytes() == in_order(free[through]).tobytes(), (name, stage)
        counted.append(log.everyone_counted)
        counts = tally(log, log.close_s).counts  # who left, counted without masks where nobody did
        assert [counts[key] for key in ("balked", "reneged", "returned_after_balking", "turned_away", "diverted")] == [
            np.count_nonzero(log.left == BALKED), np.count_nonzero(log.left == RENEGED),
            np.count_nonzero((log.balks > 0) & (log.left != BALKED)), np.count_nonzero(~log.served & (log.left == STAYED)),
            np.count_nonzero(log.left == DIVERTED)], name
        assert log.everyone_counted == (not log.sources and bool(log.served.all())), name
        assert total_waits(log).tobytes() == log.total_wait().tobytes(), name
        assert sorted_sampled_times(log).tobytes() == in_order(log.sampled_times()).tobytes(), name
        first = log.stages[0]
        left_here = (log.left == RENEGED) & (log.left_stage == 0)
        ready = np.array([o + (log.setup_s if day == 0 else 0.0) for day, (o, _) in enumerate(log.hours)])
        leave = np.where(left_here, log.left_s, log.start[first])
        assert waiting_before_opening_s(log) == float(np.clip(np.fmin(leave, ready[log.day]) - log.arrival_s, 0.0, None).sum()), name
        assert name != "summer-heat-rota.yaml" or log.any_reneged
        assert staffed_days(log) == np.flatnonzero(np.bincount(log.day)).tolist(), name
        for check, stage in zip(littles_law(log, point_series(log)), log.stages):  # the waits' mean from their summary
            joins, leaves = log.line(stage)
            assert np.float64(check.wait_mean_s).tobytes() == np.float64(mean_of(leaves - joins) if joins.size else 0.0).tobytes(), name
        assert overtime_by_day_s(log) == [max(0.0, float(log.station_free_s()[log.served & (log.day == day)].max(initial=close_s)) - close_s)
                                          for day, (_, close_s) in enumerate(log.hours)], name
        left.append(bool(log.left.any()))
    assert True in counted and False in counted and True in left and False in left


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # in units of 1e-300, as Python
@settings(max_examples=120, deadline=None)
@given(st.integers(0, 20_000), st.integers(0, 2**32 - 1), st.sampled_from([1.0, 60.0, 3.0, 1e-300]))
@example(0, 1, 60.0)  # nothing to add
@example(9000, 2, 60.0)  # beyond numpy's 8,192-element buffer
@example(129, 3, 60.0)  # one past a pairwise block
def test_duration_summarys_sums_are_numpys(count, seed, unit):
    """The sums a point's duration summaries return (``pairwise_sum``, as compiled and as Python): the durations'
    ``np.sum`` and their ``np.sum`` in ``unit``s, to the bit (signed zeros and infinities included; NaN as NaN)."""
    rng = np.random.default_rng(seed)
    seconds = rng.exponential(300.0, count) * 10.0 ** rng.integers(-8, 8, count) * rng.choice([1.0, -1.0], count)
    if count and seed % 3 == 0:
        seconds[rng.integers(0, count, 1 + count // 50)] = rng.choice([-0.0, 0.0, np.inf, -np.inf, np.nan])
    if seed % 5 == 0:
        seconds = np.where(rng.random(count) < 0.5, -0.0, 0.0)  # signed zeros only: the sum's sign is numpy's
    ranks = np.array([0, count // 2], dtype=np.intp) if count else np.zeros(0, np.intp)
    want = (seconds.sum(), (seconds / unit).sum())
    for loop in (compiled_summary(), duration_summary):  # compiled, and as Python
        got = loop(seconds, DURATION_EDGES, 14_400, ranks, unit)[-2:]
        # A NaN's sign is the hardware's pick among the NaN operands (infinities of both signs make one of their
        # own): not held. A point's durations hold neither NaN nor infinities.
        assert [np.float64(x).tobytes() if x == x else "nan" for x in got] == [x.tobytes() if x == x else "nan" for x in want], (got, want)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1), st.lists(st.floats(0.0, 1.0), max_size=7))
@example(0, 1, [0.5])  # nobody
@example(2600, 2, [0.95, 0.5, 0.5, 0.0, 1.0])  # ranks back down: counted again from the first bin
def test_duration_summarys_bins_and_ranked_values_are_numpys(count, seed, where):
    """The bins that hold any and their counts (``np.unique`` of ``searchsorted``'s bins), the largest and the
    values at any ranks, in any order (``np.sort``'s), compiled and as Python: whole seconds, ties, signed zeros,
    negatives, hours beyond the second bins, infinities, and NaN (NaN at every rank). Which of -0.0 and 0.0 a rank
    holds is an unstable sort's pick (numpy's as much as the bin's): the values are compared as numbers."""
    rng = np.random.default_rng(seed)
    seconds = rng.choice(np.concatenate([
        rng.exponential(300.0, count), np.floor(rng.exponential(30.0, count)), rng.uniform(14_000.0, 30_000.0, count),
        [0.0, -0.0, -3.5, 0.999, 1.0, 14_399.999, 14_400.0, 14_460.0, 2e6, np.inf, -np.inf]]), count)
    if count and seed % 4 == 0:
        seconds[rng.integers(0, count)] = np.nan
    ranks = np.array([min(int(w * count), count - 1) for w in where] if count else [], dtype=np.intp)
    index = np.clip(np.searchsorted(DURATION_EDGES, seconds, side="right") - 1, 0, DURATION_EDGES.size - 1)
    bins, counts = np.unique(index, return_counts=True)
    nan = bool(np.isnan(seconds).any())
    ranked = np.full(ranks.size, np.nan) if nan else np.sort(seconds)[ranks]
    for loop in (compiled_summary(), duration_summary):  # compiled, and as Python
        got_bins, got_counts, largest, values = loop(seconds, DURATION_EDGES, 14_400, ranks, 60.0)[:4]
        assert got_bins.tobytes() == bins.tobytes() and got_counts.tobytes() == counts.tobytes()
        assert got_bins.dtype == np.intp and got_counts.dtype == np.intp
        assert np.float64(largest).tobytes() == (np.float64(np.nan) if nan else seconds.max(initial=-np.inf)).tobytes() or nan
        assert np.array_equal(values, ranked, equal_nan=True)


def bits(values) -> list:
    """Each value's bytes, NaN as "nan" (a NaN's sign is the hardware's pick among its operands: not held)."""
    return [np.float64(x).tobytes() if x == x else "nan" for x in np.asarray(values, dtype=float).ravel()]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # numpy's percentile meeting inf
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
@example([0], 1)  # nobody
@example([2600, 0, 1, 2600, 2], 2)  # a point's five: an empty one among them
def test_every_columns_summary_in_one_call_is_each_ones_and_numpys(sizes, seed):
    """A point's duration summaries in one call (``duration_summaries``, compiled and as Python): each column's
    bins, counts, largest and sum as ``duration_summary`` gives them alone at ``percentile_ranks``, and its mean,
    percentiles and largest in minutes as numpy makes them (``np.percentile``'s linear method, the sum of the
    minutes over the count): whole seconds, ties, signed zeros, negatives, hours beyond the second bins,
    infinities, NaN; empty columns NaN throughout; the columns asked for counted in minutes as ``np.histogram``
    counts them in ``WAIT_BINS``."""
    rng = np.random.default_rng(seed)
    pool = np.concatenate([rng.exponential(300.0, 50), np.floor(rng.exponential(30.0, 50)), rng.uniform(14_000.0, 30_000.0, 20),
                           [0.0, -0.0, -3.5, 0.999, 1.0, 14_399.999, 14_400.0, 14_460.0, 2e6, np.inf]])
    columns = [rng.choice(pool, size) for size in sizes]
    for column in columns:
        if column.size and rng.random() < 0.2:
            column[rng.integers(0, column.size)] = np.nan
    seconds, ends = np.concatenate(columns), np.cumsum(sizes).astype(np.intp)
    percents = np.array([50.0, 90.0, 95.0])
    counted = rng.random(len(sizes)) < 0.5
    got = [loop(seconds, ends, DURATION_EDGES, 14_400, percents, 60.0, counted, WAIT_BINS, WAIT_BIN_MIN)
           for loop in (duration_summaries, duration_summaries.__wrapped__)]
    for (bins, counts, bin_ends, largest, totals, stats, histograms), other in zip(got, got[::-1]):
        assert [bits(a) if a.dtype == float else a.tobytes() for a in (bins, counts, bin_ends, largest, totals, stats, histograms)] == [
            bits(a) if a.dtype == float else a.tobytes() for a in other]
        cuts = [0, *bin_ends.tolist()]
        for k, column in enumerate(columns):
            alone = duration_summary(column, DURATION_EDGES, 14_400, percentile_ranks(column.size, percents)[0], 60.0)
            assert bins[cuts[k]:cuts[k + 1]].tobytes() == alone[0].tobytes() and counts[cuts[k]:cuts[k + 1]].tobytes() == alone[1].tobytes()
            assert bits([largest[k], totals[k]]) == bits([alone[2] if column.size else np.nan, alone[4]])
            minutes = column / 60.0
            want = ([minutes.sum() / column.size, *np.percentile(minutes, [50, 90, 95]), column.max() / 60.0] if column.size
                    else [np.nan] * 5)
            assert bits(stats[k]) == bits(want), (k, stats[k], want)
        assert histograms.shape == (np.count_nonzero(counted), WAIT_BINS.size - 1)
        for row, column in zip(histograms, [column for column, count in zip(columns, counted) if count]):
            assert row.tolist() == np.histogram(column / 60.0, bins=WAIT_BINS)[0].tolist()


@st.composite
def nearly_sorted_runs(draw) -> list[np.ndarray]:
    """Up to four runs of times: in order, nearly (a few swapped by a little), or not at all; ties, signed zeros,
    infinities and NaN where a log's lines may hold them."""
    runs = []
    for _ in range(draw(st.integers(0, 4))):
        values = np.array(draw(st.lists(EDGE_TIMES, max_size=draw(st.sampled_from([5, 60, 400])))), dtype=float)
        how = draw(st.sampled_from(["sorted", "nearly", "any"]))
        if how != "any":
            values = np.sort(values, kind="stable")
        if how == "nearly" and values.size > 1:
            for i in draw(st.lists(st.integers(0, values.size - 2), max_size=10)):
                values[i], values[i + 1] = values[i + 1], values[i]
        runs.append(values)
    return runs


@settings(max_examples=200, deadline=None)
@given(nearly_sorted_runs(), st.sampled_from([0, 1, 8]))
@example([np.array([0.0, -0.0, 1.0, -0.0, 0.0]), np.array([np.nan, 1.0, 0.0])], 8)  # signed zeros in order; a NaN first
@example([np.arange(300.0)[::-1]], 8)  # far from in order: left to numpy
def test_runs_sorted_in_place_are_numpys_stable_sort(runs, most_moves):
    """``sort_runs`` then numpy's sort of the runs it leaves, compiled and as its numpy twin: each run as
    ``np.sort(kind="stable")`` sorts it, to the bit (-0.0 and 0.0 in their order, NaN last)."""
    from simsampling.metrics.compiled import sort_runs

    times = np.concatenate([np.zeros(0), *runs])
    ends = np.cumsum([run.size for run in runs], dtype=np.intp)
    want = np.concatenate([np.zeros(0), *(np.sort(run, kind="stable") for run in runs)])
    for loop in (sort_runs, sort_runs.__wrapped__, sort_runs_numpy):
        got = times.copy()
        for run in np.flatnonzero(loop(got, ends, most_moves)):
            got[ends[run - 1] if run else 0:ends[run]].sort(kind="stable")
        assert got.tobytes() == want.tobytes()


def test_a_points_lines_sorted_in_one_array_are_each_sorted_alone():
    """``sorted_lines`` (one array, sorted by ``sort_runs``) against each line sorted by numpy, and the peaks read
    from it against ``peak``: reneging (summer heat, patience cut to minutes), a side stage (health code), Xi'an."""
    from simsampling.metrics import line_peaks, sorted_line

    for name, log in first_point_logs(("summer-heat-rota.yaml", "health-code-and-isolation.yaml", "calibration/xian-2021-round.yaml")):
        for stage in log.stages:
            for got, want in zip(sorted_line(log, stage), log.line(stage)):
                assert got.tobytes() == np.sort(want, kind="stable").tobytes(), (name, stage)
        total, each = line_peaks(log)
        assert each.tolist() == [peak(*(np.sort(side, kind="stable") for side in log.line(stage))) for stage in log.stages]
        assert total == peak(*(np.sort(np.concatenate(side), kind="stable") for side in zip(*map(log.line, log.stages))))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e4, 4e7), st.sampled_from([-0.0, 0.0, 3600.0, -1e-300, np.nan, np.inf, -np.inf])), max_size=80),
       st.sampled_from([24, 24 * 366]))
@example([], 24)  # nobody sampled
def test_hour_counts_are_numpys_unique(times, most):
    """``hour_counts``, compiled, as Python and as its numpy twin: the hours (float64) and counts of
    ``np.floor(times / hour)`` from 0 on, as ``np.bincount`` and ``np.flatnonzero`` find them (``np.unique``'s
    values; an hour of -0.0 as 0.0), or nothing and ``False`` when an hour is ``most`` or beyond."""
    from simsampling.metrics.compiled import hour_counts, hour_counts_numpy

    values = np.array(times, dtype=float)
    hours = np.floor(values / 3600.0)
    hours = hours[hours >= 0]
    dense = not (hours.size and not hours.max() < most)
    unique_hours, unique_counts = np.unique(hours, return_counts=True)
    counted = np.bincount(hours.astype(np.intp)) if dense else np.zeros(0, np.intp)
    want_hours = np.flatnonzero(counted).astype(np.float64)
    want_counts = counted[np.flatnonzero(counted)]
    assert not dense or (np.array_equal(want_hours, unique_hours) and np.array_equal(want_counts, unique_counts))
    for loop in (hour_counts, hour_counts.__wrapped__, hour_counts_numpy):
        got_hours, got_counts, got_dense = loop(values, 3600.0, most)
        assert got_dense == dense
        if dense:
            assert got_hours.dtype == want_hours.dtype and got_counts.dtype == want_counts.dtype
            assert got_hours.tobytes() == want_hours.tobytes() and got_counts.tobytes() == want_counts.tobytes()


# Times of a point's spells: a coarse grid (ties), signed zeros, and NaN where a log may hold one.
SPELL_TIMES = st.one_of(st.integers(-2, 30).map(lambda t: t * 7.5), st.sampled_from([-0.0, 0.0, np.nan]))


@settings(max_examples=200, deadline=None)
@given(st.lists(SPELL_TIMES, max_size=40), st.lists(st.integers(-5, 300).map(lambda t: t * 2.5), max_size=30))
@example([], [0.0])
@example([np.nan, 1.0], [0.0, 1.0])
@example([-0.0, 0.0, 0.0], [-0.0, 1.0])
def test_counted_up_to_is_numpys_searchsorted(values, ends):
    """Sorted values (NaN last) counted at or before increasing ends: ``np.searchsorted(..., side="right")`` as
    float64, compiled and as Python."""
    values = np.sort(np.array(values, dtype=float), kind="stable")
    ends = np.unique(np.array(ends, dtype=float))
    want = np.searchsorted(values, ends, side="right").astype(float)
    for loop in (counted_up_to, counted_up_to.__wrapped__):
        assert loop(values, ends).tobytes() == want.tobytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(SPELL_TIMES, max_size=30), st.lists(SPELL_TIMES, max_size=30), st.booleans())
@example([], [], True)
@example([np.nan], [1.0, 0.0], True)
@example([0.0, -0.0, 0.0], [-0.0, 0.0], True)
def test_sorted_runs_are_numpys_sorted_values(first, second, as_runs):
    """Two sorted runs one after the other are merged, anything else sorted: numpy's sorted values, NaN last (0.0
    and -0.0, equal, may come in either order)."""
    first, second = np.array(first, dtype=float), np.array(second, dtype=float)
    values = np.concatenate([np.sort(first), np.sort(second)]) if as_runs else np.concatenate([first, second])
    got, want = sorted_runs(values), np.sort(values)
    assert got.size == want.size and np.array_equal(got, want, equal_nan=True)


@st.composite
def station_spells(draw):
    """(station, begin, end) of a point's spells: each kind's spells in time order per station (the swab's, then the
    disinfection's from the swabs' ends), or in no order; unknown stations (-1, beyond the last) in no row."""
    stations = draw(st.integers(1, 7))
    count = draw(st.integers(0, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    station = rng.integers(-1 if draw(st.booleans()) else 0, stations + (1 if draw(st.booleans()) else 0), count)
    begin = np.floor(rng.uniform(-100.0, 2000.0, count) / 15.0) * 15.0 + rng.choice([0.0, 0.5, 1e-9], count)
    if draw(st.booleans()):
        begin = np.sort(begin)
    end = begin + rng.choice([0.0, 20.0, 61.0, 600.0], count) * rng.random(count)
    if count and draw(st.booleans()):
        pick = rng.integers(0, count, 2)
        begin[pick[0]], end[pick[1]] = rng.choice([np.nan, -0.0, 0.0]), rng.choice([np.nan, -0.0, 0.0])
    overhead = rng.choice([0.0, 0.0, 5.0, 1e-7], count)
    return (stations, np.concatenate([station, station]).astype(np.int32), np.concatenate([begin, end]),
            np.concatenate([end, end + overhead]))


@settings(max_examples=200, deadline=None)
@given(station_spells(), st.integers(1, 3), st.sampled_from([1.0, 60.0, 7.5]), st.integers(-3, 3))
def test_rows_busy_is_the_rows_measured_in_numpy(spells, per_row, step, first):
    """A station timeline's rows in one call (compiled and as Python) against each row's spells gathered, sorted by
    numpy and measured by ``sorted_occupancy``, then clipped by ``np.clip`` (NaN, signed zeros, empty rows, rows of
    several stations, the last holding fewer): the same float32 bits."""
    stations, station, begin, end = spells
    rows = -(-stations // per_row)
    edges = np.arange(first, first + 2 + int(2100 // step)) * step
    want = rows_busy_numpy(station, begin, end, rows, per_row, stations, edges)
    for loop in (rows_busy, rows_busy.__wrapped__):
        got = loop(station, begin, end, rows, per_row, stations, edges)
        assert got.dtype == np.float32 and got.shape == want.shape and got.tobytes() == want.tobytes()



@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1))
@example(0, 1)
def test_waits_counted_in_minutes_are_numpys_histogram_of_the_minutes(count, seed):
    """Waits in seconds divided as they are counted: ``np.histogram(waits / 60, WAIT_BINS)`` (the last bin closed,
    NaN and negative waits out), on the bins' edges, beyond the last finite one, signed zeros, NaN and infinities;
    compiled and as Python."""
    rng = np.random.default_rng(seed)
    seconds = rng.exponential(1200.0, count) * rng.choice([1.0, 1.0, 1.0, -1.0], count)
    if count:
        seconds[: count // 3] = rng.integers(-2, 15_000, count // 3) * 15.0  # on the edges (a quarter minute)
        seconds[rng.integers(0, count, 1 + count // 40)] = rng.choice([-0.0, 0.0, np.nan, np.inf, -np.inf, 14_400.0, 1e300])
    want = np.histogram(seconds / 60.0, bins=WAIT_BINS)[0]
    for loop in (compiled_histogram(), histogram_in):  # compiled, and as Python
        got = loop(seconds, 60.0, WAIT_BINS, WAIT_BIN_MIN)
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.integers(0, 400), st.integers(0, 2**32 - 1), st.integers(0, 900))
@example(1, 0, 1, 0)  # nobody, one edge
@example(3, 3000, 2, 600)
def test_every_stages_line_and_busy_servers_in_one_call_are_their_occupancies(stages, count, seed, minutes):
    """Each stage's line and services' ``sorted_occupancy`` in one call (compiled and as Python), the runs shared
    between stages and split between two arrays: the same bits, with ties, NaN last, intervals before the first
    edge and after the last, edges of uneven widths."""
    rng = np.random.default_rng(seed)
    runs = [run for _ in range(int(rng.integers(1, 4))) for run in intervals(rng, int(rng.integers(0, count + 1)), minutes * 60.0)]
    edges = np.cumsum(rng.choice([60.0, 60.0, 7.5, 1e-9, 900.0], minutes + 1)) - 300.0
    if seed % 5 == 0:
        edges = edges[:1]  # one edge: no step
    layout = rng.integers(0, len(runs), (stages, 4)).astype(np.intp)
    want = [sorted_occupancy(runs[layout[k, 0]], runs[layout[k, 1]], edges) for k in range(stages)]
    want += [sorted_occupancy(runs[layout[k, 2]], runs[layout[k, 3]], edges) for k in range(stages)]
    times, more, places = split_runs(rng, runs)
    for loop in (lines_and_busy, lines_and_busy.__wrapped__):
        got = loop(times, more, places, layout, edges)
        assert got.shape == (2 * stages, max(edges.size - 1, 0))
        assert [row.tobytes() for row in got] == [row.tobytes() for row in want]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**32 - 1), st.integers(1, 4))
@example(0, 1, 1)  # nobody came
@example(5, 2, 2)
def test_the_days_seen_and_each_days_last_finish_in_one_pass_are_numpys(count, seed, days):
    """The days residents came on and each day's last finish among the served from its closing (compiled and as
    Python) against ``np.bincount``'s days and ``max(initial=...)`` of the masked finishes: days beyond the round's and
    negative ones, nobody served on a day, ties with the closing, NaN finishes."""
    rng = np.random.default_rng(seed)
    day = rng.integers(-1 if seed % 5 == 0 else 0, days + 1, count).astype(np.int16)
    served = rng.random(count) < 0.8
    closes = 43_200.0 + 86_400.0 * np.arange(days)
    finish = np.where(rng.random(count) < 0.5, closes[np.clip(day, 0, days - 1)], 0.0) + rng.choice([-600.0, 0.0, 1.5, 3600.0], count)
    if count and seed % 3 == 0:
        finish[rng.integers(0, count)] = np.nan
    want_last = [np.float64(finish[served & (day == d)].max(initial=closes[d])) for d in range(days)]
    counted = bool(count == 0 or day.min() >= 0)
    for loop in (days_and_last_finish, days_and_last_finish.__wrapped__):
        seen, all_counted, last = loop(day, served, finish, closes)
        assert all_counted == counted and bits(last) == bits(want_last)
        if counted:
            assert seen.tolist() == np.flatnonzero(np.bincount(day.astype(np.intp))).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-2e5, 3e6), st.just(np.nan)), max_size=40), st.sampled_from([0.0, 28_800.0, 43_200.5]))
def test_the_home_teams_last_day_is_the_latest_visits(starts, open_s):
    """Every household visited: the door-to-door teams work up to the day of the latest visit, as the largest of
    ``home_days`` (NaN starts as the opening, days before the opening as day 0)."""
    from types import SimpleNamespace

    from simsampling.log import EventLog, HomeLog
    from simsampling.metrics.staff_time import home_team_days

    start = np.array(starts, dtype=float)
    count = start.size
    home = HomeLog(np.arange(count), np.arange(count), np.zeros(count, np.int64), start, np.zeros(count), 1, 2)
    log = SimpleNamespace(home=home, open_s=open_s, hours=[(open_s, open_s + 3600.0)], day=np.zeros(0, np.int16))
    assert home_team_days(log) == list(range(int(EventLog.home_days(log).max(initial=0)) + 1))


@settings(max_examples=200, deadline=None)
@given(st.lists(EDGE_TIMES, max_size=400), st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 3, 30]))
def test_times_nearly_in_order_sorted_by_insertion_are_numpys_stable_sort(times, seed, swaps):
    """A copy sorted as numpy's stable sort sorts it (signed zeros in their order, NaN last), whether nearly in order
    (a few neighbours swapped) or not; the times themselves left as they were."""
    from simsampling.metrics.lines import nearly_in_order

    rng = np.random.default_rng(seed)
    values = np.sort(np.array(times, dtype=float), kind="stable") if seed % 3 else np.array(times, dtype=float)
    for _ in range(swaps if values.size > 1 else 0):
        at = int(rng.integers(0, values.size - 1))
        values[at], values[at + 1] = values[at + 1], values[at]
    before = values.copy()
    assert nearly_in_order(values).tobytes() == np.sort(values, kind="stable").tobytes()
    assert values.tobytes() == before.tobytes()
