"""simsampling.experiment.estimate: wall time and memory of a run, before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsampling import load_scenario
from simsampling.experiment import costs
from simsampling.experiment import estimate as est
from simsampling.experiment.replicate import KEEP_LOGS_UP_TO

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml"


@pytest.fixture(autouse=True)
def four_cpus(monkeypatch):
    """The same figures on any machine."""
    monkeypatch.setattr(est, "usable_cpus", lambda: 4)


def scenario(population: int = 2600, points: int = 1, replications: int = 5):
    demo = load_scenario(DEMO)
    point = demo.points[0].model_copy(update={"population": population})
    copies = [point.model_copy(update={"id": f"p{i}"}) for i in range(points)]
    return demo.model_copy(update={"points": copies, "replications": replications})


def test_larger_points_take_longer_per_resident_on_simpy():
    assert costs.task_s(2600) == pytest.approx(costs.SIMPY_TASK_S + 2600 * costs.SIMPY_RESIDENT_S)
    assert costs.task_s(260_000) / 260_000 > costs.task_s(2600) / 2600 * 1.2


def test_the_fast_engine_costs_a_small_fraction_per_resident():
    assert costs.task_s(2600, "fast") == pytest.approx(costs.FAST_TASK_S + 2600 * costs.FAST_RESIDENT_S)
    assert costs.task_s(100_000, "fast") < costs.task_s(100_000, "simpy") / 20


def test_the_estimate_follows_the_engine_each_point_runs_on():
    demo = scenario(100_000, replications=1)
    auto, simpy = est.estimate_run(demo), est.estimate_run(demo, engine="simpy")
    assert simpy.wall_s - auto.wall_s == pytest.approx(costs.task_s(100_000, "simpy") - costs.task_s(100_000, "fast"))
    assert est.estimate_run(demo, engine="fast").wall_s == auto.wall_s  # the demo point is in the fast engine's scope


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_time_and_memory_grow_with_residents(engine):
    small, large = est.estimate_run(scenario(100_000), engine=engine), est.estimate_run(scenario(400_000), engine=engine)
    simulate = 5 * (costs.task_s(400_000, engine) - costs.task_s(100_000, engine))
    persons = 300_000 * est.PERSONS_ROW_S
    # Four stations serve 100,000 residents in about 7 days, 400,000 in 29: their series (and tables) are that
    # long, up to two weeks of minutes (steps.MAX_SERIES_STEPS; longer spans take longer steps).
    days = [est.series_steps(s, s.points[0]) * 60 / 86_400 for s in (scenario(100_000), scenario(400_000))]
    assert days[1] == 14 > days[0] > 7
    steps = [d * 1440 for d in days]
    written = (steps[1] - steps[0]) * (est.WRITE_POINT_STEP_S + est.WRITE_CHART_STEP_S)
    assert large.wall_s - small.wall_s == pytest.approx(simulate + persons + written)
    per_resident = est.SIMULATE_BYTES_PER_RESIDENT[engine]
    assert large.memory_parts["--jobs"] - small.memory_parts["--jobs"] == 300_000 * per_resident
    assert large.memory_bytes > small.memory_bytes


def test_jobs_share_the_time_and_add_workers():
    one, four, eight = (est.estimate_run(scenario(100_000, points=8), jobs=jobs, engine="simpy") for jobs in (1, 4, 8))
    assert (one.processes, four.processes, eight.processes) == (1, 4, 8)
    # Four cores: four workers take a quarter of the simulation time; eight do no better.
    assert four.wall_s < one.wall_s / 2 and eight.wall_s == pytest.approx(four.wall_s)
    # Each worker holds its own interpreter and one point at a time.
    task = 100_000 * est.SIMULATE_BYTES_PER_RESIDENT["simpy"] + 4 * est.STATION_BYTES + est.SERIES_ARRAYS * 8 * est.MAX_SERIES_STEPS
    assert four.memory_parts["--jobs"] == pytest.approx(4 * (est.WORKER_BYTES + task))
    assert eight.memory_bytes > four.memory_bytes > one.memory_bytes


def test_no_more_processes_than_batches_and_one_for_a_single_batch():
    # Two SimPy tasks of 100,000 residents: a batch each, so two workers of the sixteen asked.
    assert est.estimate_run(scenario(100_000, replications=2), jobs=16, engine="simpy").processes == 2
    # The demo's five tasks are one batch, run in the calling process as run_scenario runs it: no workers' start.
    demo, alone = est.estimate_run(scenario(replications=5), jobs=2), est.estimate_run(scenario(replications=5), jobs=1)
    assert demo.processes == 1 and demo.wall_s == alone.wall_s


def test_persons_kept_streamed_or_left_out():
    round_ = scenario(200_000, points=4, replications=1)
    default = est.estimate_run(round_)
    left_out = est.estimate_run(round_, keep_logs=False)
    streamed = est.estimate_run(round_, keep_logs=False, persons=True)
    assert left_out.memory_parts["--persons"] == 0
    # Kept in memory: every resident of the first replication; streamed: one point at a time.
    assert default.memory_parts["--persons"] > streamed.memory_parts["--persons"] > 0
    assert default.wall_s == streamed.wall_s > left_out.wall_s
    big = scenario(KEEP_LOGS_UP_TO // 2 + 1, points=2, replications=1)
    assert est.estimate_run(big).memory_parts["--persons"] == 0  # over a million: not kept by default


def test_replications_multiply_simulation_time_and_kpi_memory():
    one, ten = est.estimate_run(scenario(replications=1)), est.estimate_run(scenario(replications=10))
    simulate = costs.task_s(2600, "fast") + est.FOLD_TASK_S  # and its folding in the main process
    assert ten.wall_s - one.wall_s == pytest.approx(9 * simulate)
    assert ten.memory_parts["replications"] == 10 * one.memory_parts["replications"]


def test_the_xian_round_is_close_to_its_benchmark():
    """benchmarks/README.md (end_to_end.py --parts xian, 2026-12-05, --jobs 2 on 2 cores): 11.0-11.5 s and
    0.68-0.70 GiB with the fast engine; 182 s with the SimPy engine (speed_record.py, 2026-11-29)."""
    xian = load_scenario(DEMO.parent / "calibration" / "xian-2021-round.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(est, "usable_cpus", lambda: 2)
        auto, simpy = est.estimate_run(xian, jobs=2), est.estimate_run(xian, jobs=2, engine="simpy")
    assert 11.2 / 1.5 < auto.wall_s < 11.2 * 1.5
    assert 182 / 1.5 < simpy.wall_s < 182 * 1.5
    assert 0.70 / 1.1 < auto.memory_bytes / 2**30 < 0.70 * 2  # memory is meant to err high


@pytest.mark.parametrize(
    "seconds, text", [(4.4, "4 s"), (59.6, "1 min 0 s"), (190, "3 min 10 s"), (7500, "2 h 05 min")]
)
def test_describe(seconds, text):
    estimate = est.Estimate(wall_s=seconds, memory_bytes=1.2 * 2**30, processes=2)
    assert estimate.describe() == f"estimated {text} and 1.2 GiB on 2 processes"
    assert est.Estimate(wall_s=seconds, memory_bytes=0, processes=1).describe().endswith("on 1 process")


def test_available_memory_is_read_on_linux():
    available = est.available_memory()
    if not Path("/proc/meminfo").exists():
        pytest.skip("not Linux")
    assert available is not None and 0 < available < 2**50


def with_swab(scenario_, service: dict, tents: int | None = None, queue: str | None = None):
    point = scenario_.points[0]
    swab = point.stages.swab.model_copy(update={"service_s": est.Fixed(**service)}) if service else point.stages.swab
    update = {"stages": point.stages.model_copy(update={"swab": swab})}
    if tents is not None:
        update["tents"] = tents
    if queue is not None:
        update["queue"] = queue
    return scenario_.model_copy(update={"points": [point.model_copy(update=update)]})


def test_lines_per_station_cost_time_per_station():
    shared = with_swab(scenario(100_000, replications=1), {}, tents=10_000)
    lines = with_swab(scenario(100_000, replications=1), {}, tents=10_000, queue="per_tent")
    extra = est.estimate_run(lines).wall_s - est.estimate_run(shared).wall_s
    assert extra == pytest.approx(100_000 * 10_000 * costs.LINE_CHOICE_S["fast"])
    extra = est.estimate_run(lines, engine="simpy").wall_s - est.estimate_run(shared, engine="simpy").wall_s
    assert extra == pytest.approx(100_000 * 10_000 * costs.LINE_CHOICE_S["simpy"])  # about 35 s


def test_what_grows_with_stations_and_span_is_bounded_in_the_estimate():
    demo = scenario(2_600, replications=1)
    days = est.series_steps(demo, demo.points[0])
    assert days == 1441  # a day of minutes, and the step after midnight
    # Ten-day swabs: 300 residents keep four stations busy for two years; the series take longer steps.
    slow = with_swab(scenario(300, replications=1), {"dist": "fixed", "value": 864_000.0})
    assert est.span_s(slow, slow.points[0]) > 700 * 86_400
    assert est.series_steps(slow, slow.points[0]) == est.MAX_SERIES_STEPS
    assert est.estimate_run(slow).wall_s > est.estimate_run(demo).wall_s + 1.0  # more rows and chart points
    # 10,000 stations: their timeline is 60 rows (of 167 stations) for the rota chart, whatever the stations.
    wide = with_swab(scenario(100_000, replications=1), {}, tents=10_000)
    cells = est.estimate_run(wide).memory_parts["points"] - est.estimate_run(with_swab(wide, {}, tents=60)).memory_parts["points"]
    assert cells == 0
    assert est.estimate_run(wide).memory_parts["--jobs"] > 10_000 * est.STATION_BYTES
