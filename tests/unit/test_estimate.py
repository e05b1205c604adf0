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
    assert large.wall_s - small.wall_s == pytest.approx(simulate + persons)
    assert large.memory_parts["--jobs"] == 4 * small.memory_parts["--jobs"]
    assert large.memory_bytes > small.memory_bytes


def test_jobs_share_the_time_and_add_workers():
    one, four, eight = (est.estimate_run(scenario(100_000, points=8), jobs=jobs, engine="simpy") for jobs in (1, 4, 8))
    assert (one.processes, four.processes, eight.processes) == (1, 4, 8)
    # Four cores: four workers take a quarter of the simulation time; eight do no better.
    assert four.wall_s < one.wall_s / 2 and eight.wall_s == pytest.approx(four.wall_s)
    # Each worker holds its own interpreter and one point at a time.
    assert four.memory_parts["--jobs"] == pytest.approx(4 * (est.WORKER_BYTES + 100_000 * est.SIMULATE_BYTES_PER_RESIDENT["simpy"]))
    assert eight.memory_bytes > four.memory_bytes > one.memory_bytes


def test_no_more_processes_than_tasks():
    assert est.estimate_run(scenario(replications=2), jobs=16).processes == 2


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
    """benchmarks/README.md (speed_record.py, 2026-11-29, --jobs 2 on 2 cores): 22.9 s and 1.15 GiB
    with the fast engine (city_round.py: 20.4 s, 1.21 GiB), 182 s with the SimPy engine."""
    xian = load_scenario(DEMO.parent / "calibration" / "xian-2021-round.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(est, "usable_cpus", lambda: 2)
        auto, simpy = est.estimate_run(xian, jobs=2), est.estimate_run(xian, jobs=2, engine="simpy")
    assert 22.9 / 1.5 < auto.wall_s < 22.9 * 1.5
    assert 182 / 1.5 < simpy.wall_s < 182 * 1.5
    assert 1.15 / 1.1 < auto.memory_bytes / 2**30 < 1.21 * 1.5


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
