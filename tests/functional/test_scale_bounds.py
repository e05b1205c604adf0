"""What grows with stations and span is bounded by design: a whole run of each extreme, quick and small.

Before: the rota chart of 10,000 tents grew to 24 GiB (a row per station, a cell per
minute), and 300 residents with ten-day swabs wrote millions of rows for hours.
Now a station timeline has at most 60 rows and 2,880 steps, a series at most
steps.MAX_SERIES_STEPS, and a chart of residents per hour at most charts.MAX_BARS bars.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simsampling import load_scenario
from simsampling.experiment import run_scenario, simulate_task
from simsampling.metrics import MAX_TIMELINE_ROWS
from simsampling.scenario.distributions import Fixed
from simsampling.report import write_results
from simsampling.steps import MAX_SERIES_STEPS, MAX_TIMELINE_STEPS

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_scenario(ROOT / "scenarios" / "one-point-demo.yaml")


def demo(population: int, tents: int = 4, swab_s: float | None = None):
    point = DEMO.points[0]
    stages = point.stages
    if swab_s is not None:
        swab = stages.swab.model_copy(update={"service_s": Fixed(dist="fixed", value=swab_s)})
        stages = stages.model_copy(update={"swab": swab})
    point = point.model_copy(update={"population": population, "tents": tents, "stages": stages})
    return DEMO.model_copy(update={"points": [point], "replications": 1})


def test_ten_thousand_stations_are_drawn_in_sixty_rows(tmp_path: Path):
    scenario = demo(2_000, tents=10_000)
    run = simulate_task(scenario, 0, 0, keep_log=False)
    timeline = run.timeline
    assert timeline.rows == MAX_TIMELINE_ROWS and timeline.per_row == 167 and timeline.stations == 10_000
    assert timeline.busy.nbytes <= MAX_TIMELINE_ROWS * MAX_TIMELINE_STEPS * 4
    assert timeline.busy_s == pytest.approx(run.tally.busy_s["swab"], rel=1e-5)  # rows average their stations
    folder = write_results(run_scenario(scenario, jobs=1, executor="serial"), tmp_path / "out")
    assert (folder / "charts" / "rota.png").stat().st_size > 0


@pytest.mark.parametrize("swab_s", [864_000.0])  # the schema's longest service: ten days
def test_lines_that_drain_for_years_take_longer_steps(swab_s: float, tmp_path: Path):
    scenario = demo(40, swab_s=swab_s)
    result = run_scenario(scenario, jobs=1, executor="serial")
    assert result.step_s > 60 and result.run_bands.steps <= MAX_SERIES_STEPS  # 40 x 10 days / 4 stations: 100 days
    folder = write_results(result, tmp_path / "out")
    with (folder / "timeseries.csv").open(newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle))
    assert rows <= 3 * MAX_SERIES_STEPS + 1
    assert load_scenario(folder / "scenario.yaml") == scenario
