"""A point's waiting lines from its log: the longest line at a stage or in the whole point, the most
people in a side stage's area, time spent waiting beyond the waiting area's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..log import EventLog
from .compiled import merged_peaks, peak, sort_runs
from .durations import Durations, in_order, run_ends, summarised


MOST_MOVES = 8
"""Values an insertion may move past, a value of a line on average, before its sort is left to numpy (``sort_runs``)."""


def sorted_line(log: EventLog, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """``log.line(stage)``, joins and leaves each sorted (``in_order``'s values): for the line's peak and its
    series. Views of ``sorted_lines``."""
    return sorted_lines(log).lines[log.stages.index(stage)]


@dataclass(frozen=True)
class SortedLines:
    """Every stage's line sorted, in one array: the joins of each stage in flow order, then their leaves."""

    times: np.ndarray
    ends: np.ndarray
    """Where each of these runs ends in ``times``."""
    lines: tuple[tuple[np.ndarray, np.ndarray], ...]
    """Each stage's (joins, leaves): views of ``times``."""


def sorted_lines(log: EventLog) -> SortedLines:
    """Every stage's line sorted, in one array (once per log). Copied once and sorted in one compiled call
    (``sort_runs``: a line's times are nearly in order), not sorted and copied run by run, then concatenated for
    the peaks."""

    def compute() -> SortedLines:
        joins, leaves = zip(*(log.line(stage) for stage in log.stages)) if log.stages else ((), ())
        runs = joins + leaves
        times = np.concatenate(runs) if runs else np.zeros(0)
        ends = run_ends([run.size for run in runs])
        for run in np.flatnonzero(sort_runs(times, ends, MOST_MOVES)):  # (a NaN, or far from in order)
            times[ends[run - 1] if run else 0:ends[run]].sort(kind="stable")
        bounds = [0, *ends.tolist()]
        count = len(joins)
        lines = tuple((times[bounds[at]:bounds[at + 1]], times[bounds[count + at]:bounds[count + at + 1]]) for at in range(count))
        return SortedLines(times, ends, lines)

    return log.derived("sorted_lines", compute)


def nearly_in_order(values: np.ndarray) -> np.ndarray:
    """``in_order(values)`` of times nearly in order (a point's swabs' ends, its stations' interleaved): a copy sorted
    by insertion (``sort_runs``), left to numpy's stable sort when far from in order (or holding a NaN)."""
    ordered = np.array(values, dtype=np.float64)
    if sort_runs(ordered, np.array([ordered.size], dtype=np.intp), MOST_MOVES)[0]:
        ordered.sort(kind="stable")
    return ordered


def stage_waits(log: EventLog, stage: str) -> np.ndarray:
    """``log.wait(stage)``, once per log: for the wait statistics and the wait histograms alike."""
    return log.derived(("waits", stage), lambda: log.wait(stage))


def total_waits(log: EventLog) -> np.ndarray:
    """``log.total_wait()``, from the stages' waits already found (``stage_waits``) when they count the same
    residents (no side stage: every main stage counts the swabbed), added in the same order: the same values."""
    if log.sources:
        return log.total_wait()
    total = np.zeros(int(np.count_nonzero(log.served)))
    for stage in log.main:
        total += stage_waits(log, stage)
    return total


def point_durations(log: EventLog) -> tuple[dict[str, Durations], dict[str, np.ndarray]]:
    """A point's durations (its time in system, its waits at each stage and in all) and each stage's waits counted in
    ``WAIT_BINS`` (minutes), in one compiled call (``summarised``; once per log): for the tally and the wait
    histograms alike."""

    def compute() -> tuple[dict[str, Durations], dict[str, np.ndarray]]:
        stages = log.stages
        stays = log.finish_s - log.arrival_s
        durations, counts = summarised([stays if log.everyone_counted else stays[log.served], *(stage_waits(log, stage) for stage in stages),
                                        total_waits(log)], (False, *(True for _ in stages), False))
        return dict(zip(("time_in_system", *(f"wait.{stage}" for stage in stages), "wait.total"), durations)), dict(zip(stages, counts))

    return log.derived("point_durations", compute)


def queue_max(log: EventLog, stage: str) -> int:
    """The longest line ever seen at a stage: the peak of joins minus starts (or leaving)."""
    return int(line_peaks(log)[1][log.stages.index(stage)])


def line_peaks(log: EventLog) -> tuple[int, np.ndarray]:
    """The most people waiting at the point at once, whatever the stage, and the longest line at each
    stage (flow order): one pass over the stages' sorted lines, merged as it goes (once per log)."""

    def compute() -> tuple[int, np.ndarray]:
        runs = sorted_lines(log)
        count = len(log.stages)
        joined = runs.ends[count - 1] if count else 0
        total, each = merged_peaks(runs.times[:joined], runs.ends[:count], runs.times[joined:], runs.ends[count:] - joined)
        return int(total), each

    return log.derived("line_peaks", compute)


def area_max(log: EventLog, stage: str) -> int:
    """The most people in a side stage's area at once (waiting there or being served), from
    their joins and the ends of their service there."""
    through = np.isfinite(log.end[stage])
    return int(peak(in_order(log.enter(stage)[through]), in_order(log.end[stage][through])))


def waiting_intervals(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """(joined, left) of every stretch anyone spent in any line of the point."""
    lines = [log.line(stage) for stage in log.stages]
    return np.concatenate([joins for joins, _ in lines]), np.concatenate([leaves for _, leaves in lines])


def total_queue_max(log: EventLog) -> int:
    """The most people waiting at the point at once, whatever the stage."""
    return line_peaks(log)[0]


def over_capacity(joins: np.ndarray, leaves: np.ndarray, capacity: int) -> tuple[float, int]:
    """Person-seconds spent waiting beyond ``capacity`` people, and the peak overflow.

    The number waiting is a step function of the sorted joins and leaves
    (leaving first at equal times); its excess over the capacity is integrated exactly.
    """
    times = np.concatenate([leaves, joins])
    steps = np.concatenate([np.full(leaves.size, -1), np.full(joins.size, 1)])
    order = np.lexsort((steps, times))
    times, level = times[order], np.cumsum(steps[order])
    excess = np.clip(level - capacity, 0, None)
    person_s = float((excess[:-1] * np.diff(times)).sum()) if times.size else 0.0
    return person_s, int(excess.max(initial=0))


def waiting_before_opening_s(log: EventLog) -> float:
    """Resident-seconds spent in line before the point opened: before each day's opening, the first
    day's after its set-up (early arrivals, residents called before the set-up was done)."""
    if not log.stages or not log.arrived:
        return 0.0
    first = log.stages[0]
    ready = np.array([open_s + (log.setup_s if day == 0 else 0.0) for day, (open_s, _) in enumerate(log.hours)])
    if log.any_reneged:
        left_here = log.reneged & (log.left_stage == log.stages.index(first))
        leave = np.where(left_here, log.left_s, log.start[first])
    else:  # (nobody left a line: the starts themselves)
        leave = log.start[first]
    return float(np.clip(np.fmin(leave, ready[log.day]) - log.arrival_s, 0.0, None).sum())
