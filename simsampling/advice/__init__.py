"""Advice: what limits a round, and which change to make, read from a finished run.

The layer after metrics in the data path: it reads the KPIs and series every
run already has (and may simulate a point again to check a headroom), and never
the report or the command line.

* ``plans``: the arrival plan made shorter (a calling plan compressed in
  opening time) or busier (a walk-in rate scaled): what headroom measures and
  the calling-plan lever turns;
* ``capacity``: what each stage of a point can serve per hour, layout included;
* ``headroom``: how far the plan can be pushed before the p90 wait passes a
  target (a fluid model calibrated on the run, checked by simulation where it matters);
* ``diagnosis``: per point and for the run, ``limited_by``, the bottleneck
  stage and its busy period, the headroom, the evidence;
* ``ranking``: points by what a planner must act on;
* ``sentences``: all of it in words that say what to do;
* ``run_advice``: the three together, as summary.json's ``advice``;
* ``levers``, ``impact``, ``moves``, ``feasibility``, ``targets``, ``words``: the
  levers, their measured impact, moves between points, what no staffing can change.
"""

__all__ = ["Diagnosis", "RunAdvice", "diagnose", "end_plan_by", "plan_span_h", "plan_window", "run_advice",
           "scale_walk_in", "shorten_plan", "with_point_arrivals"]

# Names imported when first asked for, as in experiment/: the command line's parser reads
# ``levers`` without loading the diagnosis (numpy, the metrics), so that validate stays light.
_WHERE = {"Diagnosis": "diagnosis", "diagnose": "diagnosis", "RunAdvice": "run_advice", "run_advice": "run_advice",
          **{name: "plans" for name in ("end_plan_by", "plan_span_h", "plan_window", "scale_walk_in", "shorten_plan",
                                        "with_point_arrivals")}}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        module = importlib.import_module(f".{_WHERE[name]}", __name__)
        # bound here, over the submodule of the same name (run_advice) that the import just bound
        globals().update({known: getattr(module, known) for known, where in _WHERE.items() if where == _WHERE[name]})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
