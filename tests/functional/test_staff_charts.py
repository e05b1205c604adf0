"""rota.png and the waiting-area line of queues.png, from whole runs in-process.

The hand-checked case: one station, fixed 30 s swabs, 400 residents all called
at the 08:00 opening (households of one, no lateness, everyone comes), a
15-minute break after 60 minutes on duty and no relief. So the station swabs
120 residents 08:00-09:00, is closed 09:00-09:15, and swabs the other 280
09:15-11:35; the point closes at 10:00 and serves its line out.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import simsampling
from simsampling.experiment import RunResult, replicate, run_scenario, simulate_task
from simsampling.metrics import station_timeline
from simsampling.report import charts
from simsampling.scenario import validate_scenario

H = 3600.0
M = 60.0
SWAB_30 = {"swab": {"service_s": {"dist": "fixed", "value": 30}}}
BREAK = {"breaks": {"every_min": 60, "length_min": 15}}
CALL_ALL_AT_OPENING = {"kind": "calling", "batch_households": 100_000, "household_size": 1, "show_up": 1,
                       "lateness_min": {"dist": "fixed", "value": 0}}


def make_scenario(points: list[dict], replications: int = 1, **arrivals):
    return validate_scenario({
        "name": "staff $charts$",
        "seed": 5,
        "replications": replications,
        "clock": {"open": "08:00", "close": "10:00"},
        "round": {"days": 1},
        "arrivals": {**CALL_ALL_AT_OPENING, **arrivals},
        "points": points,
    })


def break_point(point_id: str = "p1", **fields) -> dict:
    return {"id": point_id, "population": 400, "tents": 1, "stages": SWAB_30, "staff": BREAK, **fields}


def assert_sensible_png(path: Path) -> None:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    assert 700 <= width <= 2500 and 300 <= height <= 2500, f"{path.name} is {width}x{height}"
    assert path.stat().st_size > 10_000, f"{path.name} looks empty"


@pytest.fixture(scope="module")
def one_break() -> RunResult:
    return run_scenario(make_scenario([break_point()], replications=2))


# ------------------------------------------------------------------ the timeline, by hand


def test_timeline_of_a_break_without_relief(one_break: RunResult):
    timeline = one_break.timelines["p1"]
    assert timeline.step_s == M and timeline.start_s == 8 * H
    # 08:00 to 11:35 (400 swabs of 30 s and the 15-minute break), one row.
    assert timeline.busy.shape == (1, 215)
    busy = timeline.busy[0]
    assert np.all(busy[:60] == 1.0)  # 08:00-09:00
    assert np.all(busy[60:75] == 0.0)  # the break, 09:00-09:15
    assert np.all(busy[75:] == 1.0)  # 09:15-11:35
    closures = timeline.closures
    assert list(closures.reason) == ["break"] and list(closures.slot) == [0]
    assert closures.start_s[0] == pytest.approx(9 * H)
    assert closures.end_s[0] - closures.start_s[0] == pytest.approx(15 * M)
    assert timeline.closed_s() == pytest.approx(15 * M) and timeline.closed_s("off_duty") == 0.0
    assert timeline.busy_s == pytest.approx(400 * 30.0)
    assert timeline.staffed == [(8 * H, 11 * H + 35 * M)]
    assert timeline.sampled == 400


def test_timeline_in_15_minute_steps(one_break: RunResult):
    log = simulate_task(one_break.scenario, 0, 0).log
    timeline = station_timeline(log, 15 * M)
    # 08:00-11:45: four full steps, the break, nine full steps, then 5 of the last step's 15 minutes.
    np.testing.assert_allclose(timeline.busy[0], [1, 1, 1, 1, 0, *[1] * 9, 1 / 3], rtol=1e-6)


def test_timeline_is_kept_for_the_first_replication_only(one_break: RunResult):
    assert one_break.replications == 2 and list(one_break.timelines) == ["p1"]
    assert simulate_task(one_break.scenario, 1, 0).timeline is None
    assert simulate_task(one_break.scenario, 0, 0).timeline is not None


def test_timeline_busy_time_matches_the_utilisation_kpi_with_pooling_and_disinfection():
    """Busy shares never pass 1 and add up to the stations' busy time of the KPIs (sealing tubes included)."""
    points = [
        {"id": "pooled", "population": 300, "tents": 2, "pooling": {"ratio": 5},
         "stages": {"swab": {"disinfection_s": {"dist": "fixed", "value": 4}}}, "staff": BREAK},
        {"id": "groups", "population": 300, "tents": 2, "queue": "shared",
         "pooling": {"ratio": 5, "group_entry": True}, "stages": {"swab": {"disinfection_s": {"dist": "fixed", "value": 4}}}},
        {"id": "plain", "population": 300, "tents": 2, "pooling": {"ratio": 10}, "stages": {"swab": {}}},
    ]
    scenario = make_scenario(points)
    for index, point in enumerate(points):
        run = simulate_task(scenario, 0, index)
        timeline = run.timeline
        assert timeline.busy.max() <= 1.0 + 1e-6, point["id"]
        assert timeline.busy_s == pytest.approx(run.tally.busy_s["swab"], rel=1e-5), point["id"]


# ------------------------------------------------------------------ rota.png


def test_one_point_run_writes_the_rota_chart(one_break: RunResult, tmp_path: Path):
    out = simsampling.write_results(one_break, tmp_path / "one")
    assert_sensible_png(out / "charts" / "rota.png")
    point, why = charts.rota_point(one_break)
    assert point.id == "p1" and why == ""


def test_rota_chart_is_drawn_without_any_staff_plan(tmp_path: Path):
    result = run_scenario(make_scenario([{"id": "free", "population": 200, "tents": 2, "stages": SWAB_30}]))
    timeline = result.timelines["free"]
    assert timeline.closures.start_s.size == 0 and timeline.busy_s == pytest.approx(200 * 30.0)
    written = charts.write_charts(result, tmp_path)
    assert "rota.png" in [path.name for path in written]
    assert_sensible_png(tmp_path / "rota.png")


@pytest.mark.filterwarnings("ignore:No artists with labels")  # waits.png of a run without waits
def test_rota_chart_is_skipped_when_nobody_came(tmp_path: Path):
    result = run_scenario(make_scenario([{"id": "empty", "population": 50, "tents": 1, "stages": SWAB_30}], show_up=0))
    assert result.timelines["empty"].sampled == 0
    assert charts.rota_point(result) is None
    assert "rota.png" not in [path.name for path in charts.write_charts(result, tmp_path)]


def test_district_charts_the_point_closed_longest(tmp_path: Path, monkeypatch):
    points = [
        {"id": "calm", "population": 200, "tents": 2, "stages": SWAB_30},
        break_point("one-break"),
        # Two stations, each breaking once: 30 station-minutes closed.
        break_point("two-breaks", tents=2, population=800, name="Two $breaks$"),
    ]
    # Beyond 100 points a district uses 15-minute steps; the timelines follow.
    monkeypatch.setattr(replicate, "FINE_SERIES_UP_TO", 1)
    result = run_scenario(make_scenario(points))
    assert set(result.timelines) == {"calm", "one-break", "two-breaks"}
    assert all(t.step_s == 15 * M for t in result.timelines.values())
    assert result.timelines["two-breaks"].closed_s() == pytest.approx(30 * M)
    point, why = charts.rota_point(result)
    assert point.id == "two-breaks"
    assert "closed longest" in why and "30 station-min" in why
    written = charts.write_charts(result, tmp_path)
    assert written[-1].name == "rota.png"
    assert_sensible_png(tmp_path / "rota.png")


def test_district_ties_go_to_the_first_point():
    result = run_scenario(make_scenario([break_point("first"), break_point("second")]))
    point, why = charts.rota_point(result)
    assert point.id == "first" and "15 station-min" in why
    calm = run_scenario(make_scenario([{"id": f"c{k}", "population": 100, "tents": 1, "stages": SWAB_30} for k in range(2)]))
    point, why = charts.rota_point(calm)
    assert point.id == "c0" and why.startswith("no station of any point was closed")


# ------------------------------------------------------------------ waiting area on queues.png


def drawn_queue_chart(result: RunResult, monkeypatch) -> list:
    """The axes of queues.png as drawn (the figure is kept from being saved)."""
    kept = []
    monkeypatch.setattr(charts, "save", lambda fig, path, bottom=0.0: kept.append(fig))
    charts.queue_chart(result, Path("unused.png"))
    return kept[0].axes


def capacity_lines(ax) -> list:
    return [line for line in ax.get_lines() if line.get_label().startswith("waiting area")]


def test_one_point_waiting_area_is_a_line_on_the_only_panel(one_break: RunResult, monkeypatch, tmp_path: Path):
    area = {"length_m": 30, "spacing_m": 0.75}  # 40 people
    result = run_scenario(make_scenario([break_point(waiting_area=area)]))
    (ax,) = drawn_queue_chart(result, monkeypatch)
    (line,) = capacity_lines(ax)
    assert list(line.get_ydata()) == [40, 40]
    assert line.get_label().startswith("waiting area holds 40 (30 m at 0.75 m per person)")
    assert "person-min" in line.get_label()
    assert ax.get_ylim()[1] >= 40
    assert not capacity_lines(drawn_queue_chart(one_break, monkeypatch)[0])  # no waiting area, no line


def test_several_stages_get_a_panel_of_all_lines_with_the_capacity(monkeypatch):
    stages = {"registration": {"servers": 1, "service_s": {"qr": {"dist": "fixed", "value": 10},
                                                            "manual": {"dist": "fixed", "value": 10}}}, **SWAB_30}
    result = run_scenario(make_scenario([break_point(stages=stages, waiting_area={"length_m": 50})]))
    axes = drawn_queue_chart(result, monkeypatch)
    assert len(axes) == 3  # registration, swab, all lines together
    assert not capacity_lines(axes[0]) and not capacity_lines(axes[1])
    (line,) = capacity_lines(axes[2])
    assert list(line.get_ydata()) == [50, 50]
    assert axes[2].get_title(loc="left").startswith("All lines together")


def test_district_capacity_is_the_sum_only_when_every_point_has_an_area(monkeypatch):
    both = [break_point("a", waiting_area={"length_m": 20}), break_point("b", waiting_area={"length_m": 30, "spacing_m": 1.5})]
    (ax,) = drawn_queue_chart(run_scenario(make_scenario(both)), monkeypatch)
    (line,) = capacity_lines(ax)
    assert list(line.get_ydata()) == [40, 40]
    assert line.get_label().startswith("waiting areas of all 2 points hold 40 together")
    one_missing = [both[0], break_point("b")]
    result = run_scenario(make_scenario(one_missing))
    assert charts._waiting_capacity(result) is None
    assert not capacity_lines(drawn_queue_chart(result, monkeypatch)[0])


def test_a_capacity_far_above_the_lines_is_named_not_drawn(monkeypatch):
    result = run_scenario(make_scenario([break_point(waiting_area={"length_m": 100_000})]))
    (ax,) = drawn_queue_chart(result, monkeypatch)
    (line,) = capacity_lines(ax)
    assert line.get_xydata().size == 0 and "not drawn" in line.get_label()
    assert ax.get_ylim()[1] < 100_000


def test_one_replication_has_no_range_or_mean_in_its_legends(one_break: RunResult, monkeypatch):
    single = run_scenario(make_scenario([break_point()]))
    for result, replicated in ((single, False), (one_break, True)):
        (ax,) = drawn_queue_chart(result, monkeypatch)
        labels = [artist.get_label() for artist in (*ax.get_lines(), *ax.collections)]
        assert any(label == "range across replications" for label in labels) is replicated
        assert any("mean of the replications' longest" in label for label in labels) is replicated
        assert any(label.startswith("mean (highest") for label in labels) is replicated
        kept = []
        monkeypatch.setattr(charts, "save", lambda fig, path, bottom=0.0: kept.append(fig))
        charts.cumulative_chart(result, Path("unused.png"))
        labels = [artist.get_label() for artist in (*kept[0].axes[0].get_lines(), *kept[0].axes[0].collections)]
        assert ("range across replications" in labels) is replicated
        assert ("arrived (mean)" in labels) is replicated and ("arrived" in labels) is not replicated


def test_a_district_beyond_the_kept_timelines_draws_the_same_rota_from_its_points_staffing(tmp_path: Path, monkeypatch):
    """A run of more points than ``FULL_TIMELINES_UP_TO`` keeps each point's staffing only (stations.csv, the rota
    point's choice); the timeline of the point rota.png draws is made again, the same to the bit."""
    from simsampling.metrics import StaffedStations, StationTimeline
    from simsampling.report.files import station_rows
    from simsampling.report.rota_chart import rota_chart

    points = [{"id": "calm", "population": 200, "tents": 2, "stages": SWAB_30}, break_point("one-break"),
              break_point("two-breaks", tents=2, population=800)]
    scenario = make_scenario(points)
    whole = run_scenario(scenario)
    monkeypatch.setattr(replicate, "FULL_TIMELINES_UP_TO", 2)
    kept = run_scenario(scenario, jobs=2)
    assert {type(timeline) for timeline in whole.timelines.values()} == {StationTimeline}
    assert {type(timeline) for timeline in kept.timelines.values()} == {StaffedStations}
    for point_id, full in whole.timelines.items():
        staffing, again = kept.timelines[point_id], kept.station_timeline(point_id)
        assert (staffing.staffed, staffing.sampled) == (full.staffed, full.sampled)
        assert staffing.closed_s("break") == full.closed_s("break")
        assert type(again) is StationTimeline and again.busy.tobytes() == full.busy.tobytes()
        assert (again.step_s, again.start_s, again.per_row, again.staffed) == (full.step_s, full.start_s, full.per_row,
                                                                                 full.staffed)
    assert list(station_rows(kept)) == list(station_rows(whole))
    assert charts.rota_point(kept)[0].id == charts.rota_point(whole)[0].id == "two-breaks"
    rota_chart(whole, tmp_path / "whole.png")
    rota_chart(kept, tmp_path / "kept.png")
    assert (tmp_path / "kept.png").read_bytes() == (tmp_path / "whole.png").read_bytes()


def test_without_a_ranking_the_rota_chart_says_it_shows_the_first_point():
    points = [{"id": "first", "population": 200, "tents": 2, "stages": SWAB_30},
              {"id": "second", "population": 200, "tents": 2, "stages": SWAB_30}]
    point, why = charts.rota_point(run_scenario(make_scenario(points)))
    assert point.id == "first"
    assert why.endswith("in replication 1: the first point") and "the the" not in why
