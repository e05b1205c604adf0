"""simsampling.metrics.station_timeline on a hand-built log: every share worked out by hand.

Two stations, one-minute steps, the point open 00:00:00-00:05:00 (0-300 s):

* station 0: resident A swabbed 0-30 s, disinfects 10 s (busy 0-40); resident B
  swabbed 90-150 s fills A's pooled tube (ratio 2), which the sampler seals
  150-170 s; B's 6 s of disinfection come after the sealing (170-176);
* station 1: resident C swabbed 30-60 s, disinfects 5 s (60-65); C's tube is
  left part-filled and sealed while idle at closing (not the sampler's time);
* resident D came after closing (not served);
* samplers' closures: station 1 on a break 125-185 s, station 0 off duty from
  240 s to the end (infinite); a registrar's closure that the timeline leaves out.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsampling.log import ClosureLog, EventLog, TubeLog
from simsampling.metrics import station_intervals, station_timeline, tally

NAN = np.nan


def hand_log() -> EventLog:
    served = np.array([True, True, True, False])
    log = EventLog(
        point_id="p",
        replication=0,
        open_s=0.0,
        close_s=300.0,
        population=4,
        no_show=0,
        servers={"swab": 2},
        resident=np.arange(4),
        arrival_s=np.array([0.0, 80.0, 30.0, 400.0]),
        qr=np.zeros(4, dtype=bool),
        served=served,
        station=np.array([0, 0, 1, -1], dtype=np.int32),
        overhead_s=np.array([10.0, 6.0, 5.0, 0.0]),
        pool_ratio=2,
        tube=np.array([0, 0, 1, -1], dtype=np.int32),
        tubes=TubeLog(
            station=np.array([0, 1], dtype=np.int32),
            opened_s=np.array([0.0, 30.0]),
            sealed_s=np.array([170.0, 300.0]),
            last_swab_s=np.array([150.0, 60.0]),
            members=np.array([2, 1]),
        ),
        closures=ClosureLog.of([
            ("sampler", 1, 120.0, 125.0, 185.0, "break"),
            ("registrar", 0, 0.0, 0.0, 100.0, "off_duty"),
            ("sampler", 0, 240.0, 240.0, math.inf, "off_duty"),
        ]),
    )
    log.start["swab"] = np.array([0.0, 90.0, 30.0, NAN])
    log.end["swab"] = np.array([30.0, 150.0, 60.0, NAN])
    return log


def test_busy_share_per_station_and_step():
    timeline = station_timeline(hand_log(), 60.0)
    assert timeline.start_s == 0.0 and timeline.step_s == 60.0
    assert timeline.busy.shape == (2, 5) and timeline.busy.dtype == np.float32
    np.testing.assert_allclose(timeline.busy[0], np.array([40, 30, 30 + 20 + 6, 0, 0]) / 60, rtol=1e-6)
    np.testing.assert_allclose(timeline.busy[1], np.array([30, 5, 0, 0, 0]) / 60, rtol=1e-6)
    np.testing.assert_array_equal(timeline.edges, np.arange(6) * 60.0)
    assert timeline.sampled == 3 and timeline.staffed == [(0.0, 300.0)]


def test_intervals_do_not_overlap_and_add_up_to_the_busy_time_of_the_kpis():
    log = hand_log()
    station, begin, end = station_intervals(log)
    for k in (0, 1):
        order = np.argsort(begin[station == k])
        b, e = begin[station == k][order], end[station == k][order]
        assert np.all(b[1:] >= e[:-1])
    timeline = station_timeline(log, 60.0)
    # Swabs 120 s + sealing one full tube 20 s + disinfection 21 s.
    assert timeline.busy_s == pytest.approx(161.0, rel=1e-6)
    assert timeline.busy_s == pytest.approx(tally(log, 300.0).busy_s["swab"], rel=1e-6)


def test_only_the_samplers_closures_are_kept_and_measured_within_the_staffed_span():
    timeline = station_timeline(hand_log(), 60.0)
    closures = timeline.closures
    assert list(closures.role) == ["sampler", "sampler"]
    assert list(closures.slot) == [1, 0]
    assert list(closures.reason) == ["break", "off_duty"]
    assert closures.end_s[1] == math.inf
    assert timeline.closed_s("break") == pytest.approx(60.0)
    assert timeline.closed_s("off_duty") == pytest.approx(60.0)  # 240 s to the closing at 300 s
    assert timeline.closed_s() == pytest.approx(120.0)


def test_coarser_steps_keep_the_total_and_start_on_a_step_edge():
    log = hand_log()
    log.open_s, log.hours = 30.0, [(30.0, 300.0)]
    timeline = station_timeline(log, 120.0)
    assert timeline.start_s == 0.0 and timeline.steps == 3
    np.testing.assert_allclose(timeline.busy[0], np.array([70, 56, 0]) / 120, rtol=1e-6)
    assert timeline.busy_s == pytest.approx(161.0, rel=1e-6)


def test_a_log_without_anyone_served_gives_idle_stations_over_opening_hours():
    log = hand_log()
    log.served = np.zeros(4, dtype=bool)
    log.tubes, log.tube, log.overhead_s = None, None, None
    log.closures = None
    timeline = station_timeline(log, 60.0)
    assert timeline.busy.shape == (2, 5) and not timeline.busy.any()
    assert timeline.closures.start_s.size == 0 and timeline.closed_s() == 0.0
