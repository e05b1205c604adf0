"""Experiments beside the data path: replications (later compare, sweep, optimise)."""

from .replicate import RunResult, run_scenario, simulate_task
from .compare import Comparison, compare_scenarios  # noqa: E402
from .factorial import SweepResult, sweep  # noqa: E402

__all__ = ["Comparison", "RunResult", "SweepResult", "compare_scenarios", "run_scenario", "simulate_task", "sweep"]
