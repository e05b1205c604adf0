"""simsampling.checks: Little's law between a point's series and its log."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from simsampling.checks import LITTLE_TOLERANCE, LittleSummary, littles_law
from simsampling.metrics import point_series

from .test_log import make_log


def with_start(log, stage: str, resident: int, when: float):
    """A copy of the log in which ``resident`` started ``stage`` at ``when`` (a measured
    log is final: its metrics share what they derived from it)."""
    start = log.start[stage].copy()
    start[resident] = when
    return dataclasses.replace(log, start={**log.start, stage: start})


def test_hand_made_log_satisfies_littles_law_exactly():
    log = make_log()
    series = point_series(log)
    checks = littles_law(log, series)
    assert [c.stage for c in checks] == ["temperature", "registration", "swab"]
    temperature = checks[0]
    # Served residents wait 0, 2 and 0 s at the temperature check; the window is the day.
    assert temperature.window_s == 86400.0
    assert temperature.arrival_rate * temperature.window_s == 3
    assert temperature.wait_mean_s == pytest.approx(2 / 3)
    assert temperature.queue_mean * temperature.window_s == pytest.approx(2.0, rel=1e-12)
    assert all(c.relative_gap <= LITTLE_TOLERANCE for c in checks)
    summary = LittleSummary()
    summary.add(checks)
    assert summary.passed and summary.stages_checked == 3


def test_a_lost_wait_is_flagged():
    """A series that misses one resident's 10 s in the swab line fails the check."""
    log = make_log()
    series = point_series(log)
    later = with_start(log, "swab", 2, log.start["swab"][2] + 10.0)  # resident 2 waited 10 s more
    checks = {c.stage: c for c in littles_law(later, series)}
    assert checks["swab"].relative_gap > 0.1 and checks["temperature"].relative_gap <= LITTLE_TOLERANCE
    summary = LittleSummary()
    summary.add(list(checks.values()))
    assert not summary.passed and summary.worst == "p swab replication 0"


def test_a_wait_before_the_series_starts_is_flagged():
    """A resident who joined the line before midnight of day 0 is outside the series' window."""
    log = make_log()
    log.arrival_s[0] = -500.0  # waits 600 s at the temperature check, 500 s of them before 00:00
    checks = littles_law(log, point_series(log))
    assert checks[0].relative_gap > 0.5 and checks[1].relative_gap <= LITTLE_TOLERANCE


def test_nan_in_a_served_resident_fails_and_is_written_as_null():
    log = make_log()
    series = point_series(log)
    broken = with_start(log, "registration", 1, np.nan)
    summary = LittleSummary()
    summary.add(littles_law(broken, series))
    record = summary.as_dict()
    assert record["max_relative_gap"] is None and not record["passed"] and "registration" in record["worst"]
    json.dumps(record, allow_nan=False)


def test_tiny_waits_are_compared_against_the_floor():
    """Waits of microseconds: rounding alone must not fail the check."""
    log = make_log()
    for stage in log.stages:
        log.start[stage] = log.enter(stage) + np.array([1e-6, 0.0, 2e-6, np.nan])
        log.end[stage] = log.start[stage] + 1.0
    checks = littles_law(log, point_series(log))
    assert all(c.wait_mean_s > 0 and c.relative_gap <= LITTLE_TOLERANCE for c in checks)
