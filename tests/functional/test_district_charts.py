"""Charts of runs with several points: written for a district, not for a single point."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from matplotlib import cbook
from matplotlib.text import Text

import simsampling
from simsampling.experiment import RunResult, run_scenario
from simsampling.report import chart_style, charts, district_charts
from simsampling.scenario import validate_scenario

BASE_CHARTS = ["cumulative.png", "throughput.png", "queues.png", "waits.png", "utilization.png"]
POINT_CHARTS = ["points_finish.png", "queue_heatmap.png", "slowest_points.png"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Names are user text: with mathtext on, "$\nosuchmacro$" would fail to draw, "$5 ... $" would lose its dollars.
NAME = "ward $5 round $x_1$"
POINTS = [
    {"id": "north-1", "name": "North gate $\\nosuchmacro$", "population": 420, "tents": 1},
    {"id": "market-2", "name": "Market square", "population": 300, "tents": 2},
    {"id": "school-3", "population": 200, "tents": 1, "stages": {"swab": {}}},
]


def make_scenario(points: list[dict]):
    return validate_scenario({
        "name": NAME,
        "seed": 11,
        "replications": 2,
        "clock": {"open": "08:00", "close": "14:00"},
        "round": {"days": 1, "deadline_h": 5},
        "points": points,
        "arrivals": {"kind": "calling", "batch_households": 10, "gap_min": 15},
    })


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the signature and the IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def assert_sensible_png(path: Path) -> None:
    assert path.is_file(), f"{path.name} was not written"
    width, height = png_size(path)
    assert 700 <= width <= 2500 and 300 <= height <= 2500, f"{path.name} is {width}x{height}"
    assert path.stat().st_size > 10_000, f"{path.name} looks empty"


@pytest.fixture(scope="module")
def district() -> RunResult:
    return run_scenario(make_scenario(POINTS))


def test_district_run_writes_the_point_charts(district: RunResult, tmp_path: Path):
    out = simsampling.write_results(district, tmp_path / "district")
    for name in BASE_CHARTS + POINT_CHARTS:
        assert_sensible_png(out / "charts" / name)


def test_one_point_run_writes_only_the_usual_charts(tmp_path: Path):
    result = run_scenario(make_scenario(POINTS[:1]))
    out = simsampling.write_results(result, tmp_path / "one")
    for name in BASE_CHARTS:
        assert_sensible_png(out / "charts" / name)
    for name in POINT_CHARTS:
        assert not (out / "charts" / name).exists(), f"{name} written for a one-point run"


def test_large_district_layouts(district: RunResult, tmp_path: Path, monkeypatch):
    """The layouts for hundreds of points (ranked curve, grouped heat-map rows), on three points."""
    monkeypatch.setattr(district_charts, "FEW_POINTS", 1)
    monkeypatch.setattr(district_charts, "SLOWEST_BARS", 2)
    monkeypatch.setattr(district_charts, "HEATMAP_ROWS", 2)
    written = charts.write_charts(district, tmp_path)
    assert [p.name for p in written] == BASE_CHARTS + POINT_CHARTS + ["rota.png"]
    for path in written:
        assert_sensible_png(path)


def test_finish_order_matches_points_csv(district: RunResult):
    rows = district_charts._finish_rows(district)
    means = [row["mean"] for row in rows]
    assert means == sorted(means, reverse=True)
    assert {row["point"].id for row in rows} == {p["id"] for p in POINTS}


def test_user_text_is_never_mathtext():
    for text in (NAME, POINTS[0]["name"], "cost $5", "a \\$ b $c$"):
        assert not cbook.is_math_text(chart_style.plain(text))


def test_a_round_of_nobody_writes_every_output(tmp_path: Path):
    """A scenario whose points have no residents validates, so it must run and write its folder (no share of nobody)."""
    result = run_scenario(make_scenario([{"id": "empty-1", "population": 0, "tents": 1}]))
    folder = simsampling.write_results(result, tmp_path / "nobody")
    for name in BASE_CHARTS:
        assert_sensible_png(folder / "charts" / name)
    assert (folder / "report.html").is_file() and (folder / "summary.json").is_file()
    said = json.loads((folder / "summary.json").read_text())["advice"]["sentences"]
    assert said == ["Nobody came to empty-1 (a roster of 0): there is nothing to diagnose."]


def test_a_long_point_name_is_shortened_to_the_panels_width(monkeypatch, tmp_path: Path):
    """slowest_points.png's panel titles name each point: a long name ran past the figure's right edge."""
    from simsampling.advice import run_advice

    long_name = "Xinxing Chilun community sampling point (Caijia zhihui xincheng, north gate by the market)"
    result = run_scenario(make_scenario([{**POINTS[0], "name": long_name}, *POINTS[1:]]))
    drawn = []
    monkeypatch.setattr(district_charts, "save", lambda fig, path, **kwargs: drawn.append(fig))
    district_charts.slowest_points_chart(result, tmp_path / "slowest.png", run_advice(result).charted)
    fig, = drawn
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    renderer = fig.canvas.get_renderer()
    titles = [child for ax in fig.axes for child in ax.get_children()  # the left-aligned titles, as drawn
              if isinstance(child, Text) and ax.get_title(loc="left") and child.get_text() == ax.get_title(loc="left")]
    assert len(titles) == len(POINTS) and any("\u2026" in title.get_text() for title in titles)
    width = fig.bbox.width
    assert all(title.get_window_extent(renderer).x1 <= width for title in titles)
