"""Interactive charts of a run and a sweep: Vega-Lite specs built with Altair (which Streamlit ships with).

The same figures as the report's matplotlib charts (report/charts.py), drawn in the
browser so a planner can hover for values and zoom into an hour. Stage labels and
colours are the stage kinds' (``simsampling/stages``), as on the report's charts. Text from the scenario (names) reaches the charts as
data, which Vega draws as text, never as markup.

Each function returns the chart's Vega-Lite spec (a dict), its data given as plain
records beside it (``datasets``): building and serialising Altair objects over pandas
frames cost about 0.3 s a chart on the development machine, a third of the time from Run
to the first chart; records and an unvalidated spec cost a tenth of that, and the page
keeps each run's specs, so redrawing the page costs nothing. The unit tests validate
every spec against the Vega-Lite schema (``VALIDATE``).
"""

from __future__ import annotations

from typing import Any, Optional

import altair as alt
import numpy as np

from ..report.chart_style import DEADLINE, MAIN
from ..stages import colour as stage_colour, label as stage_label
from .views import RunView

HEIGHT = 280
VALIDATE = False
"""Validate each spec against the Vega-Lite schema (the tests do; the page need not)."""
Spec = dict[str, Any]


def spec(chart: alt.TopLevelMixin, **datasets: list[dict[str, Any]]) -> Spec:
    """The chart's Vega-Lite spec with its named datasets' records."""
    result = chart.to_dict(validate=VALIDATE)
    result["datasets"] = {**result.get("datasets", {}), **datasets}
    return result


def _records(**columns: Any) -> list[dict[str, Any]]:
    """Records from equal-length columns (numpy arrays or lists), numbers as Python floats."""
    names = list(columns)
    values = [c.tolist() if isinstance(c, np.ndarray) else list(c) for c in columns.values()]
    return [dict(zip(names, row)) for row in zip(*values)]
CLOCK = ("(datum.value >= 24 ? '+' + floor(datum.value / 24) + 'd ' : '') + format(floor(datum.value % 24), '02d')"
         " + ':' + format(round((datum.value % 1) * 60) % 60, '02d')")
"""Hours since midnight of day 0 as a clock ("07:00", "+1d 06:30"), as on the report's charts."""


def _clock_axis(title: str = "time of day") -> alt.X:
    return alt.X("hour:Q", title=title, axis=alt.Axis(labelExpr=CLOCK, tickMinStep=1), scale=alt.Scale(nice=False, zero=False))


def _clock(hours: np.ndarray) -> list[str]:
    """The clock text of each value, for tooltips."""
    texts = []
    for value in hours:
        day, minute = divmod(int(round(value * 60)), 24 * 60)
        texts.append(("" if day == 0 else f"+{day}d ") + f"{minute // 60:02d}:{minute % 60:02d}")
    return texts


def _named(name: str) -> alt.Chart:
    return alt.Chart(alt.NamedData(name=name))


def _few(records: list[dict[str, Any]]) -> alt.Chart:
    """A chart of a handful of inline records (rules: the deadline, the population)."""
    return alt.Chart(alt.InlineData(values=records))


def _marks(view: RunView, deadline: bool) -> list[alt.Chart]:
    """Openings and closings as dotted rules, the deadline as a red dashed one."""
    rows = [{"hour": h, "what": what} for open_h, close_h in view.openings for h, what in ((open_h, "open"), (close_h, "close"))
            if view.hours.size and view.hours[0] - 1 <= h <= view.hours[-1] + 1]
    layers = [_few(rows).mark_rule(color="#888888", strokeDash=[2, 3]).encode(
        x="hour:Q", tooltip=[alt.Tooltip("what:N")])] if rows else []
    if deadline:
        layers.append(_few([{"hour": view.deadline_h, "what": "deadline"}]).mark_rule(
            color=DEADLINE, strokeDash=[6, 4], size=2).encode(x="hour:Q", tooltip=[alt.Tooltip("what:N")]))
    return layers


def cumulative_chart(view: RunView) -> Spec:
    """Residents sampled over the round (mean, range across replications) against arrivals, population, deadline."""
    records = _records(hour=view.hours, clock=_clock(view.hours), sampled=view.sampled.mean, lowest=view.sampled.low,
                       highest=view.sampled.high, arrived=view.arrived.mean)
    base = _named("run").encode(x=_clock_axis())
    band = base.mark_area(opacity=0.2, color=MAIN).encode(y=alt.Y("lowest:Q", title="residents (cumulative)"),
                                                           y2="highest:Q")
    arrived = base.mark_line(color="#999999", strokeDash=[5, 3]).encode(y="arrived:Q")
    sampled = base.mark_line(color=MAIN, size=2.5).encode(
        y="sampled:Q",
        tooltip=[alt.Tooltip("clock:N", title="time"), alt.Tooltip("sampled:Q", format=",.0f", title="sampled (mean)"),
                 alt.Tooltip("lowest:Q", format=",.0f"), alt.Tooltip("highest:Q", format=",.0f"),
                 alt.Tooltip("arrived:Q", format=",.0f", title="arrived (mean)")])
    population = _few([{"population": view.population}]).mark_rule(color=DEADLINE).encode(
        y="population:Q", tooltip=[alt.Tooltip("population:Q", format=",")])
    chart = alt.layer(band, arrived, sampled, population, *_marks(view, deadline=True)).properties(
        height=HEIGHT, title="Residents sampled over the round"
    ).interactive(bind_y=False)
    return spec(chart, run=records)


def queue_chart(view: RunView, queues: Optional[dict[str, np.ndarray]] = None, title: str = "") -> Spec:
    """People in line at each stage over the round (mean; band: range across replications), or one point's means."""
    curves = {stage: (curve.mean, curve.low, curve.high) for stage, curve in view.queues.items()} if queues is None \
        else {stage: (mean, mean, mean) for stage, mean in queues.items()}
    records = []
    for stage, (mean, low, high) in curves.items():
        size = min(mean.size, view.hours.size)
        records += _records(hour=view.hours[:size], clock=_clock(view.hours[:size]), stage=[stage_label(stage)] * size,
                            line=mean[:size], lowest=low[:size], highest=high[:size])
    order = [stage_label(stage) for stage in curves]
    colour = alt.Color("stage:N", sort=order, scale=alt.Scale(domain=order, range=[stage_colour(s) for s in curves]),
                       legend=alt.Legend(orient="top", title=None))
    base = _named("queues").encode(x=_clock_axis(), color=colour)
    layers = [] if queues is not None else [base.mark_area(opacity=0.18).encode(y="lowest:Q", y2="highest:Q")]
    layers.append(base.mark_line().encode(
        y=alt.Y("line:Q", title="people in line"),
        tooltip=[alt.Tooltip("clock:N", title="time"), "stage:N", alt.Tooltip("line:Q", format=",.1f", title="in line")]))
    chart = alt.layer(*layers, *_marks(view, deadline=False)).properties(
        height=HEIGHT if queues is None else 170, title=title or "People in line at each stage"
    ).interactive(bind_y=False)
    return spec(chart, queues=records)


def _interval(leaf: dict[str, Any]) -> tuple[float, float]:
    mean = leaf["mean"] if leaf["mean"] is not None else 0.0
    return tuple(leaf["ci95"]) if leaf.get("ci95") else (mean, mean)


def throughput_chart(view: RunView) -> Spec:
    """Residents sampled per clock hour (mean, 95% CI) against the stations' nominal swab capacity."""
    records = [{"hour": row["hour"] + 0.5, "from": row["hour"] + 0.08, "to": row["hour"] + 0.92,
                "clock": _clock([row["hour"]])[0], "sampled": row["mean"], "low": _interval(row)[0], "high": _interval(row)[1]}
               for row in view.hourly]
    axis = alt.Axis(labelExpr=CLOCK, tickMinStep=1)
    base = _named("hours")
    bars = base.mark_bar(color=MAIN, opacity=0.85).encode(
        x=alt.X("from:Q", title="clock hour", axis=axis, scale=alt.Scale(nice=False, zero=False)), x2="to:Q",
        y=alt.Y("sampled:Q", title="residents sampled per hour"), y2=alt.datum(0),
        tooltip=[alt.Tooltip("clock:N", title="hour from"), alt.Tooltip("sampled:Q", format=",.0f", title="mean"),
                 alt.Tooltip("low:Q", format=",.0f", title="95% CI low"), alt.Tooltip("high:Q", format=",.0f", title="95% CI high")])
    errors = base.mark_rule(color="#333333").encode(x="hour:Q", y="low:Q", y2="high:Q")
    capacity = _few([{"capacity": view.swab_capacity_per_hour}]).mark_rule(color=DEADLINE, strokeDash=[6, 4]).encode(
        y="capacity:Q", tooltip=[alt.Tooltip("capacity:Q", format=",.0f", title="nominal swab capacity per hour")])
    chart = alt.layer(bars, errors, capacity).properties(
        height=HEIGHT, title="Residents sampled per clock hour")
    return spec(chart, hours=records)


def utilisation_chart(summary: dict[str, Any]) -> Spec:
    """Share of staffed time each stage's servers spent serving (mean, 95% CI)."""
    records = [{"stage": stage_label(stage), "utilisation": leaf["mean"] or 0.0, "low": _interval(leaf)[0],
                "high": _interval(leaf)[1], "key": stage} for stage, leaf in summary["kpis"]["utilization"].items()]
    order = [row["stage"] for row in records]
    base = _named("stages").encode(y=alt.Y("stage:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("utilisation:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("stage:N", sort=order, legend=None,
                        scale=alt.Scale(domain=order, range=[stage_colour(row["key"]) for row in records])),
        tooltip=["stage:N", alt.Tooltip("utilisation:Q", format=".1%"), alt.Tooltip("low:Q", format=".1%", title="95% CI low"),
                 alt.Tooltip("high:Q", format=".1%", title="95% CI high")])
    errors = base.mark_rule(color="#333333").encode(x="low:Q", x2="high:Q")
    chart = alt.layer(bars, errors).properties(height=50 + 40 * len(records), title="Server utilisation")
    return spec(chart, stages=records)


def sweep_chart(rows: list[dict[str, Any]], field: str, kpi: str) -> Spec:
    """A KPI (mean, 95% CI) against the swept field's values."""
    records = [{"value": row["value"], "mean": row["mean"], "low": _interval(row)[0], "high": _interval(row)[1]}
               for row in rows]
    base = _named("sweep").encode(x=alt.X("value:Q", title=field))
    band = base.mark_area(opacity=0.2, color=MAIN).encode(y="low:Q", y2="high:Q")
    line = base.mark_line(point=True, color=MAIN).encode(
        y=alt.Y("mean:Q", title=kpi, scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("value:Q", title=field), alt.Tooltip("mean:Q", format=",.3f"),
                 alt.Tooltip("low:Q", format=",.3f", title="95% CI low"), alt.Tooltip("high:Q", format=",.3f", title="95% CI high")])
    chart = alt.layer(band, line).properties(height=HEIGHT, title=f"{kpi} against {field} (mean, 95% CI band)")
    return spec(chart, sweep=records)
