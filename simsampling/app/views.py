"""What the page draws of a run: summary.json and the run's series, cut to the active hours.

A :class:`RunView` is made in the runner process from the :class:`RunResult` and sent to
the page (a few hundred kB for a district); the page never sees the run itself. Every
figure in it is one the results folder holds: ``summary`` is summary.json's content, and
the series are the bands of timeseries.csv and throughput.csv.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..experiment import RunResult
from ..metrics import HOUR, Band, estimate
from ..report.files import active_window

SLOWEST_POINTS = 4
"""Points whose lines the page draws one by one (the slowest by mean finish)."""


CHART_POINTS = 300
"""At most this many steps per curve: a longer series is shown in coarser steps (a browser draws 300
points as fast as it draws 3,000, but Altair and Streamlit serialise every one of them)."""


@dataclass
class Curve:
    """A series across replications: mean, and the lowest and highest replication."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, band: Band, start: int, end: int, stride: int, cumulative: bool = False) -> "Curve":
        """The band between steps ``start`` and ``end``, in steps of ``stride`` of the series' own.

        A coarser step of a count is its value at the step's end; of a line, its time average
        (the mean of the finer steps), with the lowest and highest replication's extremes.
        """
        parts = [values[start:end] for values in (band.mean, band.low, band.high)]
        if stride == 1:
            return cls(*parts)
        if cumulative:
            return cls(*(values[stride - 1 :: stride] for values in parts))
        edges = np.arange(0, parts[0].size, stride)
        return cls(np.add.reduceat(parts[0], edges) / np.diff(np.append(edges, parts[0].size)),
                   np.minimum.reduceat(parts[1], edges), np.maximum.reduceat(parts[2], edges))


@dataclass
class RunView:
    name: str
    summary: dict[str, Any]
    hours: np.ndarray
    """Hours since midnight of day 0 at the end of each step shown."""
    openings: list[tuple[float, float]]
    """(open, close) of each day, hours since midnight of day 0."""
    deadline_h: float
    """The deadline, hours since midnight of day 0 (summary's ``round.deadline_h`` counts from the opening)."""
    population: int
    sampled: Curve
    arrived: Curve
    queues: dict[str, Curve]
    hourly: list[dict[str, Any]]
    """Per clock hour with activity: ``hour`` (since midnight of day 0) and the leaf of residents sampled."""
    swab_capacity_per_hour: float
    slowest: list[dict[str, Any]] = field(default_factory=list)
    """The slowest points: ``id``, ``name``, ``finish_h`` (leaf) and ``queues`` (stage -> mean line)."""
    step_s: float = 60.0
    """The step of the curves as drawn (a multiple of the run's)."""
    specs: dict[str, Any] = field(default_factory=dict)
    """The page's charts of this run, once drawn (Vega-Lite specs by name)."""
    animations: dict[Optional[str], Any] = field(default_factory=dict)
    """animation.html's text (or the error met drawing it) by point id asked (None: the longest line), once drawn."""

    @property
    def several_points(self) -> bool:
        return len(self.summary["points"]) > 1

    @property
    def advice(self) -> Optional[Any]:
        """summary.json's ``advice``, when the run's diagnosis wrote one (set once the results folder is written)."""
        return self.summary.get("advice")


def run_view(result: RunResult) -> RunView:
    bands = result.run_bands
    start, end = active_window(bands)
    end = max(end, min(bands.steps, int(math.ceil(result.scenario.deadline_s / result.step_s))))
    stride = max(1, -(-(end - start) // CHART_POINTS))
    end = start + (end - start) // stride * stride  # whole coarser steps
    hours = np.arange(start + stride, end + 1, stride) * result.step_s / HOUR
    return RunView(
        name=result.scenario.name,
        summary=result.summary,
        hours=hours,
        openings=[(open_s / HOUR, close_s / HOUR) for open_s, close_s in result.scenario.hours],
        deadline_h=result.scenario.deadline_s / HOUR,
        population=sum(point.population for point in result.scenario.points),
        sampled=Curve.of(bands.sampled, start, end, stride, cumulative=True),
        arrived=Curve.of(bands.arrived, start, end, stride, cumulative=True),
        queues={stage: Curve.of(band, start, end, stride) for stage, band in bands.queue.items()},
        hourly=_hourly(bands.hourly_sampled),
        swab_capacity_per_hour=sum(p.stations * HOUR / p.stages.swab.service_s.mean_value for p in result.scenario.points),
        slowest=_slowest(result, start, end, stride),
        step_s=result.step_s * stride,
    )


def _hourly(per_replication: list[np.ndarray]) -> list[dict[str, Any]]:
    """Residents sampled per clock hour: the leaf across replications, for hours where anyone was sampled."""
    length = max((h.size for h in per_replication), default=0)
    padded = [np.pad(h, (0, length - h.size)) for h in per_replication]
    rows = []
    for hour in range(length):
        values = [float(p[hour]) for p in padded]
        if any(values):
            rows.append({"hour": hour, **estimate(values)})
    return rows


def _slowest(result: RunResult, start: int, end: int, stride: int) -> list[dict[str, Any]]:
    if len(result.scenario.points) < 2:
        return []
    summaries = result.point_summaries
    ranked = sorted(result.scenario.points, key=lambda p: -(summaries[p.id]["finish_h"]["mean"] or 0.0))
    return [{"id": point.id, "name": point.name or point.id, "finish_h": summaries[point.id]["finish_h"],
             "queues": {stage: Curve.of(band, start, end, stride).mean
                        for stage, band in result.point_bands[point.id].queue.items()}}
            for point in ranked[:SLOWEST_POINTS]]


def results_of(option: dict) -> Optional[Path]:
    """The option's results folder once it is written whole (it is renamed into place at the end)."""
    folder = Path(option["folder"]) / "results"
    if not folder.is_dir():
        return None
    summary = option["view"].summary
    if "advice" not in summary:  # the diagnosis of the run, when summary.json has one
        advice = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("advice")
        if advice is not None:
            summary["advice"] = advice
    return folder


def advice_lines(advice: Any) -> list[str]:
    """Sentences of the advice: its ``sentences`` (or ``text``), else every text it holds."""
    if isinstance(advice, str):
        return [advice]
    if isinstance(advice, dict):
        for key in ("sentences", "text", "summary"):
            if key in advice:
                return advice_lines(advice[key])
        return [f"{key.replace('_', ' ')}: {line}" for key, value in advice.items() for line in advice_lines(value)]
    if isinstance(advice, list):
        return [line for item in advice for line in advice_lines(item)]
    return [str(advice)]
