"""Advice: what limits a round, and which change to make, read from a finished run.

The layer after metrics in the data path: it reads the KPIs and series every
run already has, and never the report or the command line.

* ``plans``: the arrival plan made shorter (a calling plan compressed in
  opening time) or busier (a walk-in rate scaled): what headroom measures and
  the calling-plan lever turns;
* ``levers``, ``impact``, ``moves``, ``feasibility``, ``targets``, ``words``: the
  levers, their measured impact, moves between points, what no staffing can change.
"""

from .plans import end_plan_by, plan_window, scale_walk_in, shorten_plan, with_point_arrivals

__all__ = ["end_plan_by", "plan_window", "scale_walk_in", "shorten_plan", "with_point_arrivals"]
