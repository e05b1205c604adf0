"""Experiments beside the data path: replications (later compare, sweep, optimise)."""

from .replicate import RunResult, run_scenario, simulate_task

__all__ = ["RunResult", "run_scenario", "simulate_task"]
