"""Interactive charts of a run, a comparison and a sweep (Altair, which Streamlit ships with).

The same figures as the report's matplotlib charts (report/charts.py), drawn in the
browser so a planner can hover for values and zoom into an hour. Stage names, colours
and labels come from the report's tables, so both say the same; a stage they do not
know is drawn under its own name. Text from the scenario (names) reaches the charts as
data, which Vega draws as text, never as markup.
"""

from __future__ import annotations

from typing import Any, Optional

import altair as alt
import numpy as np
import pandas as pd

from ..report.charts import DEADLINE, MAIN, STAGE_COLOURS, STAGE_LABELS
from .views import RunView

HEIGHT = 280
CLOCK = ("(datum.value >= 24 ? '+' + floor(datum.value / 24) + 'd ' : '') + format(floor(datum.value % 24), '02d')"
         " + ':' + format(round((datum.value % 1) * 60) % 60, '02d')")
"""Hours since midnight of day 0 as a clock ("07:00", "+1d 06:30"), as on the report's charts."""


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " "))


def _clock_axis(title: str = "time of day") -> alt.X:
    return alt.X("hour:Q", title=title, axis=alt.Axis(labelExpr=CLOCK, tickMinStep=1), scale=alt.Scale(nice=False))


def _clock(hours: np.ndarray) -> list[str]:
    """The clock text of each value, for tooltips."""
    texts = []
    for value in hours:
        day, minute = divmod(int(round(value * 60)), 24 * 60)
        texts.append(("" if day == 0 else f"+{day}d ") + f"{minute // 60:02d}:{minute % 60:02d}")
    return texts


def _marks(view: RunView, deadline: bool) -> list[alt.Chart]:
    """Openings and closings as dotted rules, the deadline as a red dashed one."""
    rows = [{"hour": h, "what": what} for open_h, close_h in view.openings for h, what in ((open_h, "open"), (close_h, "close"))
            if view.hours.size and view.hours[0] - 1 <= h <= view.hours[-1] + 1]
    layers = [alt.Chart(pd.DataFrame(rows)).mark_rule(color="#888888", strokeDash=[2, 3]).encode(
        x="hour:Q", tooltip=[alt.Tooltip("what:N")])] if rows else []
    if deadline:
        line = pd.DataFrame([{"hour": view.deadline_h, "what": "deadline"}])
        layers.append(alt.Chart(line).mark_rule(color=DEADLINE, strokeDash=[6, 4], size=2).encode(
            x="hour:Q", tooltip=[alt.Tooltip("what:N")]))
    return layers


def cumulative_chart(view: RunView) -> alt.LayerChart:
    """Residents sampled over the round (mean, range across replications) against arrivals, population, deadline."""
    frame = pd.DataFrame({"hour": view.hours, "clock": _clock(view.hours), "sampled": view.sampled.mean,
                          "lowest": view.sampled.low, "highest": view.sampled.high, "arrived": view.arrived.mean})
    base = alt.Chart(frame).encode(x=_clock_axis())
    band = base.mark_area(opacity=0.2, color=MAIN).encode(y=alt.Y("lowest:Q", title="residents (cumulative)"),
                                                           y2="highest:Q")
    arrived = base.mark_line(color="#999999", strokeDash=[5, 3]).encode(y="arrived:Q")
    sampled = base.mark_line(color=MAIN, size=2.5).encode(
        y="sampled:Q",
        tooltip=[alt.Tooltip("clock:N", title="time"), alt.Tooltip("sampled:Q", format=",.0f", title="sampled (mean)"),
                 alt.Tooltip("lowest:Q", format=",.0f"), alt.Tooltip("highest:Q", format=",.0f"),
                 alt.Tooltip("arrived:Q", format=",.0f", title="arrived (mean)")])
    population = alt.Chart(pd.DataFrame([{"population": view.population}])).mark_rule(color=DEADLINE).encode(
        y="population:Q", tooltip=[alt.Tooltip("population:Q", format=",")])
    return alt.layer(band, arrived, sampled, population, *_marks(view, deadline=True)).properties(
        height=HEIGHT, title="Residents sampled (line: mean; band: range across replications; grey: arrived)"
    ).interactive(bind_y=False)


def queue_chart(view: RunView, queues: Optional[dict[str, np.ndarray]] = None, title: str = "") -> alt.LayerChart:
    """People in line at each stage over the round (mean; band: range across replications)."""
    rows = []
    curves = {stage: (curve.mean, curve.low, curve.high) for stage, curve in view.queues.items()} if queues is None \
        else {stage: (mean, mean, mean) for stage, mean in queues.items()}
    for stage, (mean, low, high) in curves.items():
        size = min(mean.size, view.hours.size)
        rows.append(pd.DataFrame({"hour": view.hours[:size], "clock": _clock(view.hours[:size]), "stage": stage_label(stage),
                                  "in line": mean[:size], "lowest": low[:size], "highest": high[:size]}))
    frame = pd.concat(rows) if rows else pd.DataFrame(columns=["hour", "clock", "stage", "in line", "lowest", "highest"])
    order = [stage_label(stage) for stage in curves]
    colour = alt.Color("stage:N", sort=order, scale=alt.Scale(domain=order, range=[STAGE_COLOURS.get(s, MAIN) for s in curves]),
                       legend=alt.Legend(orient="top", title=None))
    base = alt.Chart(frame).encode(x=_clock_axis(), color=colour)
    layers = [] if queues is not None else [base.mark_area(opacity=0.18).encode(y="lowest:Q", y2="highest:Q")]
    layers.append(base.mark_line().encode(
        y=alt.Y("in line:Q", title="people in line"),
        tooltip=[alt.Tooltip("clock:N", title="time"), "stage:N", alt.Tooltip("in line:Q", format=",.1f")]))
    return alt.layer(*layers, *_marks(view, deadline=False)).properties(
        height=HEIGHT if queues is None else 170, title=title or "People in line at each stage (mean; band: range)"
    ).interactive(bind_y=False)


def throughput_chart(view: RunView) -> alt.LayerChart:
    """Residents sampled per clock hour (mean, 95% CI) against the stations' nominal swab capacity."""
    frame = pd.DataFrame([{"hour": row["hour"] + 0.5, "from": row["hour"] + 0.08, "to": row["hour"] + 0.92,
                           "clock": _clock([row["hour"]])[0], "sampled": row["mean"],
                           "low": (row["ci95"] or [row["mean"]] * 2)[0], "high": (row["ci95"] or [row["mean"]] * 2)[1]}
                          for row in view.hourly])
    if frame.empty:
        frame = pd.DataFrame(columns=["hour", "from", "to", "clock", "sampled", "low", "high"])
    base = alt.Chart(frame).encode(x=_clock_axis("clock hour"))
    bars = base.mark_bar(color=MAIN, opacity=0.85).encode(
        x=alt.X("from:Q", title="clock hour", axis=alt.Axis(labelExpr=CLOCK, tickMinStep=1), scale=alt.Scale(nice=False)),
        x2="to:Q", y=alt.Y("sampled:Q", title="residents sampled per hour"),
        tooltip=[alt.Tooltip("clock:N", title="hour from"), alt.Tooltip("sampled:Q", format=",.0f", title="mean"),
                 alt.Tooltip("low:Q", format=",.0f", title="95% CI low"), alt.Tooltip("high:Q", format=",.0f", title="95% CI high")])
    errors = base.mark_rule(color="#333333").encode(y="low:Q", y2="high:Q")
    capacity = alt.Chart(pd.DataFrame([{"capacity": view.swab_capacity_per_hour}])).mark_rule(
        color=DEADLINE, strokeDash=[6, 4]).encode(y="capacity:Q", tooltip=[alt.Tooltip("capacity:Q", format=",.0f",
                                                                                      title="nominal swab capacity per hour")])
    return alt.layer(bars, errors, capacity).properties(
        height=HEIGHT, title="Residents sampled per clock hour (mean, 95% CI); dashed: nominal swab capacity")


def utilisation_chart(summary: dict[str, Any]) -> alt.LayerChart:
    """Share of staffed time each stage's servers spent serving (mean, 95% CI)."""
    rows = []
    for stage, leaf in summary["kpis"]["utilization"].items():
        mean = leaf["mean"] or 0.0
        low, high = leaf["ci95"] or (mean, mean)
        rows.append({"stage": stage_label(stage), "utilisation": mean, "low": low, "high": high, "key": stage})
    frame = pd.DataFrame(rows)
    order = [row["stage"] for row in rows]
    base = alt.Chart(frame).encode(y=alt.Y("stage:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("utilisation:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("stage:N", sort=order, legend=None,
                        scale=alt.Scale(domain=order, range=[STAGE_COLOURS.get(row["key"], MAIN) for row in rows])),
        tooltip=["stage:N", alt.Tooltip("utilisation:Q", format=".1%"), alt.Tooltip("low:Q", format=".1%", title="95% CI low"),
                 alt.Tooltip("high:Q", format=".1%", title="95% CI high")])
    errors = base.mark_rule(color="#333333").encode(x="low:Q", x2="high:Q")
    return alt.layer(bars, errors).properties(height=50 + 40 * len(rows), title="Server utilisation (mean, 95% CI)")


def sweep_chart(rows: list[dict[str, Any]], field: str, kpi: str) -> alt.LayerChart:
    """A KPI (mean, 95% CI) against the swept field's values."""
    frame = pd.DataFrame([{"value": row["value"], "mean": row["mean"], "low": (row["ci95"] or [row["mean"]] * 2)[0],
                           "high": (row["ci95"] or [row["mean"]] * 2)[1]} for row in rows])
    base = alt.Chart(frame).encode(x=alt.X("value:Q", title=field))
    band = base.mark_area(opacity=0.2, color=MAIN).encode(y="low:Q", y2="high:Q")
    line = base.mark_line(point=True, color=MAIN).encode(
        y=alt.Y("mean:Q", title=kpi, scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("value:Q", title=field), alt.Tooltip("mean:Q", format=",.3f"),
                 alt.Tooltip("low:Q", format=",.3f", title="95% CI low"), alt.Tooltip("high:Q", format=",.3f", title="95% CI high")])
    return alt.layer(band, line).properties(height=HEIGHT, title=f"{kpi} against {field} (mean, 95% CI band)")
