"""simsampling: a discrete-event simulator of mass nucleic-acid sampling campaigns.

The data path: scenario file -> validated Scenario -> SimPy model -> event log
-> metrics -> charts and report. The Python API mirrors the command line::

    import simsampling
    scenario = simsampling.load_scenario("scenarios/one-point-demo.yaml")
    result = simsampling.run_scenario(scenario, jobs=2)
    result.summary()["kpis"]["wait_min"]["swab"]["p90"]
    simsampling.write_results(result, "results/demo")
"""

__version__ = "0.1.0"

__all__ = ["Comparison", "RunResult", "Scenario", "ScenarioError", "SweepResult", "__version__", "compare_scenarios",
           "load_scenario", "run_scenario", "sweep", "write_comparison", "write_results"]

_WHERE = {
    "Comparison": "experiment", "RunResult": "experiment", "SweepResult": "experiment", "compare_scenarios": "experiment",
    "run_scenario": "experiment", "sweep": "experiment", "Scenario": "scenario", "ScenarioError": "scenario",
    "load_scenario": "scenario", "write_results": "report", "write_comparison": "report.compare",
}


def __getattr__(name: str):
    # Each part is imported when first asked for: ``simsampling validate`` loads the scenario layer
    # only, and the report layer (matplotlib) is loaded only by what writes results.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'simsampling' has no attribute {name!r}")
