"""simsampling.experiment.estimate: wall time and memory of a run, before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsampling import load_scenario
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


def test_larger_points_take_longer_per_resident():
    assert est.point_s(2600) == pytest.approx(est.POINT_TASK_S + 2600 * est.RESIDENT_S)
    assert est.point_s(260_000) / 260_000 > est.point_s(2600) / 2600 * 1.2


def test_time_and_memory_grow_with_residents():
    small, large = est.estimate_run(scenario(100_000)), est.estimate_run(scenario(400_000))
    simulate = 5 * (est.point_s(400_000) - est.point_s(100_000))
    persons = 300_000 * est.PERSONS_ROW_S
    assert large.wall_s - small.wall_s == pytest.approx(simulate + persons)
    assert large.memory_parts["--jobs"] == 4 * small.memory_parts["--jobs"]
    assert large.memory_bytes > small.memory_bytes


def test_jobs_share_the_time_and_add_workers():
    one = est.estimate_run(scenario(100_000, points=8), jobs=1)
    four = est.estimate_run(scenario(100_000, points=8), jobs=4)
    eight = est.estimate_run(scenario(100_000, points=8), jobs=8)
    assert (one.processes, four.processes, eight.processes) == (1, 4, 8)
    # Four cores: four workers take a quarter of the simulation time; eight do no better.
    assert four.wall_s < one.wall_s / 2 and eight.wall_s == pytest.approx(four.wall_s)
    # Each worker holds its own interpreter and one point at a time.
    assert four.memory_parts["--jobs"] == pytest.approx(4 * (est.WORKER_BYTES + 100_000 * est.SIMULATE_BYTES_PER_RESIDENT))
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
    simulate = est.point_s(2600)
    assert ten.wall_s - one.wall_s == pytest.approx(9 * simulate)
    assert ten.memory_parts["replications"] == 10 * one.memory_parts["replications"]


def test_the_xian_round_is_close_to_its_benchmark():
    """benchmarks/README.md: 171 s and 0.81 GiB with --jobs 2 on 2 cores."""
    xian = load_scenario(DEMO.parent / "xian-2021-round.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(est, "usable_cpus", lambda: 2)
        estimate = est.estimate_run(xian, jobs=2)
    assert 171 / 1.5 < estimate.wall_s < 171 * 1.5
    assert 0.81 <= estimate.memory_bytes / 2**30 < 0.81 * 1.5


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
