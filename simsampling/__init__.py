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

from .experiment import RunResult, run_scenario  # noqa: E402
from .experiment import Comparison, SweepResult, compare_scenarios, sweep  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["Comparison", "RunResult", "Scenario", "ScenarioError", "SweepResult", "__version__", "compare_scenarios",
           "load_scenario", "run_scenario", "sweep", "write_comparison", "write_results"]


def __getattr__(name: str):
    # The report layer imports matplotlib; load it only when asked for.
    if name == "write_results":
        from .report import write_results

        return write_results
    if name == "write_comparison":
        from .report.compare import write_comparison

        return write_comparison
    raise AttributeError(f"module 'simsampling' has no attribute {name!r}")
