"""Experiments beside the data path: replications, compare, sweep, optimise.

Names are imported when first asked for, as in the package itself: the command line's
parser reads ``executors`` without loading the simulation (numpy, the metrics).
"""

__all__ = ["Comparison", "RunResult", "SweepResult", "compare_scenarios", "run_scenario", "simulate_task", "sweep"]

_WHERE = {
    "RunResult": "replicate", "run_scenario": "replicate", "simulate_task": "replicate",
    "Comparison": "compare", "compare_scenarios": "compare", "SweepResult": "factorial", "sweep": "factorial",
}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
