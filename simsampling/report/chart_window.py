"""The span of a run's charts: the hours from the first opening to the last activity and the
deadline, the openings and closings marked, the time axis of its series.
"""

from __future__ import annotations


import numpy as np

from ..experiment import RunResult
from ..labels import counted
from ..metrics import HOUR
from .files import active_window


def mark_hours(ax, result: RunResult, deadline: bool = False) -> None:
    marks = [(when, label) for open_s, close_s in result.scenario.hours for when, label in ((open_s, "open"), (close_s, "close"))]
    _, end_h = window_hours(result)
    for seconds, label in marks:
        # Labels beside their line, inside the chart: left of a line at its right edge; none off it.
        inside = seconds / 3600 < end_h
        ax.axvline(seconds / 3600, color="#888888", linestyle=":", linewidth=1)
        ax.annotate(label, (seconds / 3600, 0.0), xycoords=("data", "axes fraction"), xytext=(3 if inside else -3, 4),
                    textcoords="offset points", fontsize=8, color="#666666", ha="left" if inside else "right",
                    annotation_clip=True)
    if deadline:
        when = result.scenario.deadline_s / 3600
        ax.axvline(when, color="#c1121f", linestyle="--", linewidth=1.4)
        ax.annotate("deadline", (when, 0.5), xycoords=("data", "axes fraction"), xytext=(-4, 0), rotation=90,
                    textcoords="offset points", fontsize=8, color="#c1121f", ha="right", va="center", annotation_clip=True)


def window_hours(result: RunResult) -> tuple[float, float]:
    """Whole hours from the first opening (or arrival) to the last activity, deadline and closing.

    The closing counted is that of the last day opened before activity ended: later days
    of a multi-day round on which nothing happens are left out, not drawn empty.
    """
    start, end = active_window(result.run_bands)
    hours = result.scenario.hours
    active_end = end * result.step_s
    closing = max((close_s for open_s, close_s in hours if open_s <= active_end), default=hours[0][1])
    start_h = min(start * result.step_s / HOUR, hours[0][0] / HOUR)
    end_h = max(active_end / HOUR, closing / HOUR, result.scenario.deadline_s / HOUR)
    return np.floor(start_h), np.ceil(end_h)


def replications_text(result: RunResult) -> str:
    return counted(result.replications, "replication")


def steps_axis(result: RunResult, length: int) -> np.ndarray:
    """Hours since midnight of day 0 at the end of each step of a series."""
    return np.arange(1, length + 1) * result.step_s / HOUR


def step_text(result: RunResult) -> str:
    """How the series are averaged: "per-minute averages", "15-minute averages"."""
    minutes = result.step_s / 60.0
    return "per-minute averages" if minutes == 1 else f"{minutes:g}-minute averages"
