"""The collector's permanent generation while a run keeps results (collector.Tenure), paused while a scenario is built."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from simsampling.collector import Tenure, paused

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml"


class Cycle:
    def __init__(self):
        self.me = self


def test_kept_results_are_frozen_every_so_often_and_given_back():
    assert gc.get_freeze_count() == 0
    kept = Tenure(every=3)
    try:
        frozen_at_start = gc.get_freeze_count()
        held = []
        for _ in range(3):
            held.append({"kpis": [1.0, 2.0]})
            kept.add()
        assert frozen_at_start > 0
        assert gc.get_freeze_count() > frozen_at_start  # the three results' objects too
        # Cycles made after a freeze are still collected.
        Cycle()
        assert gc.collect() >= 1
    finally:
        kept.release()
    assert gc.get_freeze_count() == 0
    kept.release()  # twice: nothing more to give back
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_someone_else_stay_frozen():
    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        kept = Tenure(every=1)
        kept.add()
        kept.release()
        assert gc.get_freeze_count() == theirs
    finally:
        gc.unfreeze()


def test_a_tenure_inside_another_freezes_and_leaves_the_giving_back_to_the_outer_one():
    """A command's run is kept from its scenario on (``cli._run``): the run's own Tenure, inside, still freezes
    every so often, and what it froze stays frozen until the outer block ends."""
    assert gc.get_freeze_count() == 0
    outer = Tenure()
    try:
        inner = Tenure(every=1)
        frozen = gc.get_freeze_count()
        held = [{"kpis": [float(i)]} for i in range(100)]
        inner.add()
        assert gc.get_freeze_count() >= frozen + len(held)
        inner.release()
        assert gc.get_freeze_count() >= frozen + len(held)  # the outer block still holds it
    finally:
        outer.release()
    assert gc.get_freeze_count() == 0
    again = Tenure()  # the outer one closed: the next is outermost again, and gives back
    again.release()
    assert gc.get_freeze_count() == 0


def test_a_tenure_inside_one_that_owns_nothing_freezes_nothing():
    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        outer = Tenure()
        inner = Tenure(every=1)
        held = [{"kpis": [1.0]} for _ in range(10)]
        inner.add()
        inner.release()
        outer.release()
        assert gc.get_freeze_count() == theirs and held
    finally:
        gc.unfreeze()


def test_a_tenure_in_another_thread_is_its_own_outermost():
    import threading

    assert gc.get_freeze_count() == 0
    seen = []
    outer = Tenure()
    try:
        thread = threading.Thread(target=lambda: seen.append(Tenure().inner))
        thread.start()
        thread.join()
    finally:
        outer.release()
    assert seen == [False] and gc.get_freeze_count() == 0


def test_a_scenario_built_inside_a_kept_block_is_frozen_before_the_collector_is_back():
    """Loaded inside ``kept_frozen`` (a command's run), a scenario's objects go to the permanent generation at
    once: no collection walks them as young objects; outside one, they are left to the collector as before."""
    from simsampling.collector import kept_frozen
    from simsampling.scenario import load_scenario

    assert gc.get_freeze_count() == 0
    with kept_frozen():
        frozen = gc.get_freeze_count()
        demo = load_scenario(DEMO)
        assert gc.get_freeze_count() > frozen and gc.get_count()[0] < 50 and demo.points
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    load_scenario(DEMO)
    assert gc.get_freeze_count() == 0


def test_a_finished_run_is_kept_frozen_through_its_diagnosis_and_forks_aside():
    """``kept_frozen`` around what a run does after its simulation; a child forked aside meanwhile
    (``forked.aside``) leaves the run frozen when it unfreezes its own freeze."""
    from simsampling.collector import kept_frozen
    from simsampling.report.forked import aside

    assert gc.get_freeze_count() == 0
    run = [{"kpis": [float(i)]} for i in range(1_000)]
    with kept_frozen():
        frozen = gc.get_freeze_count()
        assert frozen >= len(run)
        with aside(lambda: len(run)) as result:
            assert result() == len(run)
        assert gc.get_freeze_count() >= frozen
    assert gc.get_freeze_count() == 0


def test_a_scenario_is_built_with_the_collector_paused_and_given_back_as_it_was(tmp_path):
    from simsampling.scenario import ScenarioError, load_scenario

    seen = []
    with paused():
        seen.append(gc.isenabled())
        with paused():  # nested: still off, and off again after the inner block
            pass
        seen.append(gc.isenabled())
    assert seen == [False, False] and gc.isenabled()
    demo = load_scenario(DEMO)
    assert gc.isenabled() and demo.points
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npoints: 3\n", encoding="utf-8")
    with pytest.raises(ScenarioError):
        load_scenario(bad)
    assert gc.isenabled()  # given back after a refused file too
    gc.disable()
    try:
        load_scenario(DEMO)
        assert not gc.isenabled()  # left off when it was off
    finally:
        gc.enable()


def test_a_command_collects_its_youngest_generation_less_often():
    from simsampling.cli import command
    from simsampling.collector import COMMAND_THRESHOLD

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        assert command(["validate", str(DEMO)]) == 0
        assert gc.get_threshold() == (COMMAND_THRESHOLD, *before[1:])  # the older generations as before
    finally:
        gc.set_threshold(*before)
        if not frozen:
            gc.unfreeze()  # command leaves what it made frozen for the process's end


LEFT_PROBE = """
import gc, sys, weakref
import simsampling.experiment as experiment
from simsampling import cli

runs = []
simulate = experiment.run_scenario
def run_scenario(*args, **kwargs):
    result = simulate(*args, **kwargs)
    runs.append(weakref.ref(result))
    return result
experiment.run_scenario = run_scenario
how, scenario, out = sys.argv[1:]
status = getattr(cli, how)(["run", scenario, "--out", out, "--quiet"])
gc.collect()
print(status, "kept" if runs[0]() is not None else "freed")
"""


@pytest.mark.parametrize("how, fate", [("command", "kept"), ("main", "freed")])
def test_the_command_leaves_its_run_to_the_system_and_main_frees_it(how: str, fate: str, tmp_path: Path):
    """``simsampling`` (``cli.command``) ends without freeing its run (``collector.left_to_the_system``); ``main``,
    which tests and other callers use in a process that goes on, frees it as before."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", LEFT_PROBE, how, str(DEMO), str(tmp_path / "out")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["0", fate]
    assert (tmp_path / "out" / "summary.json").exists()
