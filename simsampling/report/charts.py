"""A run's charts over the day (cumulative, throughput, queues, waits, utilisation), and which
charts a run writes (:func:`write_charts`), PNG through matplotlib: made to be looked at, not read.

Every chart shows the mean over replications and, where it varies, the range across
replications (band) or the 95% confidence interval (error bars). Runs with several points add
the charts of district_charts.py, runs with a sample chain those of chain_charts.py, and
rota.png (rota_chart.py) follows one point's stations. Their look is chart_style.py's (user
text goes through its ``plain``), their span of hours chart_window.py's.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..advice import RunAdvice, run_advice
from ..advice.ranking import Ranking
from ..experiment import RunResult
from ..metrics import HOUR, WAIT_BINS, estimate
from ..steps import sum_of_groups
from ..stages import colour as stage_colour, label as stage_label
from .forked import share
from .chart_style import DEADLINE, DPI, MAIN, clock_axis, clock_label, count_axis, plain, plt, save, style_axes, thousands
from .chart_window import mark_hours, replications_text, step_text, steps_axis, window_hours
from .district_charts import POINT_CHARTS
from .rota_chart import rota_chart, rota_point
from .chain_charts import CHAIN_CHARTS


def cumulative_chart(result: RunResult, path: Path) -> None:
    """The main chart: residents sampled over the day against the population."""
    bands = result.run_bands
    sampled, low, high = bands.sampled.mean, bands.sampled.low, bands.sampled.high
    arrived = bands.arrived.mean
    hours = steps_axis(result, sampled.size)
    population = sum(p.population for p in result.scenario.points)
    fig, ax = plt.subplots(figsize=(9, 5))
    replicated = result.replications > 1  # one replication has no range and no mean to speak of
    if replicated:
        ax.fill_between(hours, low, high, color=MAIN, alpha=0.2, linewidth=0, label="range across replications")
    ax.plot(hours, arrived, color="#999999", linestyle="--", linewidth=1.2, label="arrived" + " (mean)" * replicated)
    ax.plot(hours, sampled, color=MAIN, linewidth=2.2, label="sampled, at points and at home" + " (mean)" * replicated)
    ax.axhline(population, color="#c1121f", linewidth=1.2, label=f"population {population:,}")
    mark_hours(ax, result, deadline=True)
    start_h, end_h = window_hours(result)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, population * 1.08 if population else 1)
    if not population:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    thousands(ax)
    done = result.summary["kpis"]
    total = done["sampled_total"]["mean"]
    finish = done["finish_h"]["mean"]
    by_deadline = done["sampled_by_deadline_share"]["mean"]
    if population:
        text = (f"{total:,.0f} sampled ({total / population:.0%} of population), {by_deadline:.0%} by the deadline\n"
                + (f"last sample at {clock_label(result.scenario.hours[0][0] / 3600 + finish)}" + " on average" * replicated
                   if total and finish is not None else "nobody sampled"))
    else:  # a round of nobody: no share, no last sample (null in summary.json)
        text = "nobody to sample: the population is 0"
    ax.annotate(text,
                xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"})
    span = "the day" if result.scenario.round.days == 1 else f"the {result.scenario.round.days}-day round"
    style_axes(ax, f"{plain(result.scenario.name)}: residents sampled over {span} ({replications_text(result)})",
           "time of day", "residents (cumulative)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    save(fig, path)


MAX_BARS = 720
"""Bars of a chart of residents sampled per hour: a bar per hour up to 30 days; beyond, a bar per several
hours (their mean per hour), so a round that drains for months is drawn in seconds."""


def hourly_rates(bands) -> tuple[np.ndarray, float, list[dict]]:
    """Residents sampled per hour, a bar per hour (or per several: MAX_BARS): the bars' centres and width
    in hours since midnight of day 0, and each bar's mean and 95% CI across replications (a leaf)."""
    per_bar_h = bands.period_s / HOUR  # an hour; a step when steps are longer (steps.py)
    length = max(h.size for h in bands.hourly_sampled)
    group = -(-length // MAX_BARS)
    padded = [sum_of_groups(np.pad(h, (0, length - h.size)), group) / (per_bar_h * group) for h in bands.hourly_sampled]
    bars = padded[0].size
    leaves = [estimate([float(p[i]) for p in padded]) for i in range(bars)]
    return (np.arange(bars) + 0.5) * per_bar_h * group, per_bar_h * group, leaves


def throughput_chart(result: RunResult, path: Path) -> None:
    """Residents sampled per clock hour, with the stations' nominal swab capacity."""
    centres, per_bar_h, leaves = hourly_rates(result.run_bands)
    means = np.array([leaf["mean"] for leaf in leaves])
    errors = np.array([[leaf["mean"] - leaf["ci95"][0], leaf["ci95"][1] - leaf["mean"]] if leaf["ci95"] else [0, 0] for leaf in leaves]).T
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(centres, means, width=0.85 * per_bar_h, color=MAIN, alpha=0.85, label="sampled per hour (mean)")
    ax.errorbar(centres, means, yerr=errors, fmt="none", ecolor="#333333", elinewidth=0.8, capsize=2, label="95% CI")
    means_s = [p.stages.swab.service_s.mean_value for p in result.scenario.points]
    capacity = sum(p.stations * 3600.0 / m for p, m in zip(result.scenario.points, means_s)) if min(means_s) > 0 else math.inf
    if math.isfinite(capacity):  # a swab of no time has no nominal capacity
        ax.axhline(capacity, color="#c1121f", linestyle="--", linewidth=1.2,
                   label=f"nominal swab capacity {capacity:,.0f}/h (stations x 3600 / mean swab time)")
    mark_hours(ax, result)
    clock_axis(ax, *window_hours(result))
    top = max(capacity if math.isfinite(capacity) else 0.0, float(np.max(means, initial=0)))
    ax.set_ylim(0, top * 1.3 if top > 0 else 1.0)
    thousands(ax)
    style_axes(ax, f"{plain(result.scenario.name)}: throughput per hour", "time of day", "residents sampled per hour")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    save(fig, path)


def queue_chart(result: RunResult, path: Path) -> None:
    """Line length at each stage over the day: mean and range across replications.

    With several points the lines are those of all points added up; the peak in
    the title is the longest line at any one point. When the points' waiting
    areas are known, their capacity is drawn against everyone waiting (all
    stages): on the only panel, or on a panel of all lines together.
    """
    stages = list(result.run_bands.queue)
    several = len(result.scenario.points) > 1
    replicated = result.replications > 1  # one replication has no range and no mean to speak of
    capacity = _waiting_capacity(result)
    panels = stages + (["total"] if capacity is not None and len(stages) > 1 else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels) + 0.6), sharex=True, squeeze=False)
    start_h, end_h = window_hours(result)
    for ax, stage in zip(axes[:, 0], panels):
        queue = result.run_bands.queue[stage] if stage != "total" else result.run_bands.queue_total
        mean, low, high = queue.mean, queue.low, queue.high
        hours = steps_axis(result, mean.size)
        colour = stage_colour(stage) if stage != "total" else MAIN
        if replicated:
            ax.fill_between(hours, low, high, color=colour, alpha=0.25, linewidth=0, label="range across replications")
        ax.plot(hours, mean, color=colour, linewidth=1.6,
                label=f"{'mean' if replicated else 'per-step average'} (highest {np.max(mean, initial=0):,.1f})")
        # The KPI is the longest line at any instant, a mean over replications; the curves are per-step averages.
        peak = result.summary["kpis"]["queue_max"][stage]["mean"]
        ax.plot([], [], linestyle="none", label=f"longest line at any instant{' at one point' if several else ''}: "
                                                 f"{peak:,.1f}" + "\n(mean of the replications' longest)" * replicated)
        label = "All lines together" if stage == "total" else stage_label(stage)
        style_axes(ax, f"{label}: {'all points together' if several else 'people waiting'}", "",
               "people waiting, all points" if several else "people in line")
        mark_hours(ax, result)
        clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        if capacity is not None and stage == panels[-1]:
            _capacity_line(ax, *capacity, float(np.max(high, initial=0)))
        count_axis(ax)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1, 0].set_xlabel(f"time of day ({step_text(result)})")
    fig.suptitle(f"{plain(result.scenario.name)}: queue length per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    save(fig, path)


def _waiting_capacity(result: RunResult):
    """(people, label) of the marked waiting area: the point's, or the sum when every point has one; else None."""
    points = result.scenario.points
    areas = [point.waiting_area for point in points]
    if any(area is None for area in areas):
        return None
    if len(points) == 1:
        area = areas[0]
        people = area.capacity
        label = f"waiting area holds {people:,} ({area.length_m:g} m at {area.spacing_m:g} m per person)"
    else:
        people = sum(area.capacity for area in areas)
        label = f"waiting areas of all {len(points):,} points hold {people:,} together (one may overflow before the sum)"
    over = result.summary["kpis"]["waiting_over_capacity_person_min"]["mean"]
    if over is not None:
        beyond = "it" if len(points) == 1 else "each point's own"
        label += f"\nwaiting beyond {beyond}: {over:,.0f} person-min (mean)"
    return people, label


def _capacity_line(ax, people: int, label: str, highest: float) -> None:
    """The waiting area's capacity as a line; left off the scale (said in the legend) when far above the curves."""
    style = {"color": DEADLINE, "linestyle": "--", "linewidth": 1.3}
    if highest > 0 and people > 4 * highest:
        ax.plot([], [], label=f"{label}\n(far above the chart: line not drawn)", **style)
        return
    ax.axhline(people, label=label, **style)
    ax.set_ylim(0, max(highest, people) * 1.25 if max(highest, people) > 0 else 1)


def wait_chart(result: RunResult, path: Path) -> None:
    """Distribution of waits per stage over all replications, with p50 and p90 marked."""
    stages = list(result.wait_counts)
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3.8), squeeze=False)
    waits = result.summary["kpis"]["wait_min"]
    for ax, stage in zip(axes[0], stages):
        counts = result.wait_counts[stage].astype(float)
        total = counts.sum()
        shares = counts / total if total else counts
        top = min(int(np.searchsorted(np.cumsum(shares), 0.995)) + 2, shares.size - 1)
        # Merge the fixed bins so the visible range shows about 40 bars.
        merge = max(1, -(-top // 40))
        top = -(-top // merge) * merge
        merged = np.add.reduceat(shares[:top], np.arange(0, top, merge))
        edges = WAIT_BINS[: top + 1 : merge]
        ax.bar(edges[:-1], merged[: edges.size - 1], width=np.diff(edges), align="edge", color=stage_colour(stage), alpha=0.85)
        for key, style in (("p50", "--"), ("p90", ":")):
            value = waits[stage][key]["mean"]
            if value is not None:
                ax.axvline(value, color="#333333", linestyle=style, linewidth=1.2, label=f"{key} {value:.1f} min")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        style_axes(ax, stage_label(stage), "wait (minutes)", "share of residents")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{plain(result.scenario.name)}: waiting time per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    save(fig, path)


def utilization_chart(result: RunResult, path: Path) -> None:
    """Share of staffed time each stage's servers spent serving, with 95% CI."""
    utilization = result.summary["kpis"]["utilization"]
    stages = list(utilization)
    means = [utilization[s]["mean"] or 0.0 for s in stages]
    errors = np.array([[m - (utilization[s]["ci95"] or [m, m])[0], (utilization[s]["ci95"] or [m, m])[1] - m] for s, m in zip(stages, means)]).T
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.8 * len(stages)))
    positions = np.arange(len(stages))[::-1]
    ax.barh(positions, means, color=[stage_colour(s) for s in stages], height=0.6)
    ax.errorbar(means, positions, xerr=errors, fmt="none", ecolor="#333333", capsize=3)
    for y, value in zip(positions, means):
        ax.annotate(f"{value:.0%}", (value, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_yticks(positions, [stage_label(s) for s in stages])
    ax.set_xlim(0, 1.05)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    style_axes(ax, f"{plain(result.scenario.name)}: server utilisation (opening to closing or last swab)", "share of staffed time serving", "")
    save(fig, path)


CHARTS = {
    "cumulative.png": cumulative_chart,
    "throughput.png": throughput_chart,
    "queues.png": queue_chart,
    "waits.png": wait_chart,
    "utilization.png": utilization_chart,
}

# rota.png (rota_chart) is written whenever rota_point finds a point with anything to show.
DRAWN_FIRST = ("queues.png", "waits.png", "slowest_points.png", "queue_heatmap.png", "points_finish.png", "lab_backlog.png",
               "rota.png")
"""The charts of several panels (or many points, or stations), the slowest to draw: started first."""


def write_charts(result: RunResult, folder: Path, advice: Optional[RunAdvice] = None,
                 rota_point_id: Optional[str] = None, processes: int = 2) -> list[Path]:
    """Every chart of the run into ``folder``, in ``processes`` processes; the district charts follow ``advice``'s
    ranking (made here, without checks by simulation, when not given), rota.png shows ``rota_point_id`` if given.
    Returns the paths written, in report order."""
    if advice is None and len(result.scenario.points) > 1:
        advice = run_advice(result, check_by_simulation=False)
    plain, advised = _plain_drawings(result), _advised_drawings(result, advice.charted if advice is not None else None,
                                                                   rota_point_id)
    _draw(result, folder, {**plain, **advised}, processes)
    return _in_report_order(folder, plain, advised)


def write_plain_charts(result: RunResult, folder: Path, processes: int = 1) -> None:
    """The charts that do not depend on the run's advice (``CHARTS``, the chain's) into ``folder``: a city's are drawn
    while the run is diagnosed, by the child that writes its tables (``report.results_writer``)."""
    _draw(result, folder, _plain_drawings(result), processes)


def write_advised_charts(result: RunResult, folder: Path, ranking: Ranking, rota_point_id: Optional[str] = None,
                         processes: int = 2) -> list[Path]:
    """The charts ``write_plain_charts`` leaves (those that follow the advice's ``ranking``, ``RunAdvice.charted``);
    returns the paths of every chart of the run, in report order, as ``write_charts`` does."""
    advised = _advised_drawings(result, ranking, rota_point_id)
    _draw(result, folder, advised, processes)
    return _in_report_order(folder, _plain_drawings(result), advised)


def _plain_drawings(result: RunResult) -> dict[str, Callable]:
    charts = dict(CHARTS)
    if result.scenario.chain is not None and result.first_chain is not None:
        charts.update(CHAIN_CHARTS)
    return charts


def _advised_drawings(result: RunResult, ranking: Optional[Ranking], rota_point_id: Optional[str]) -> dict[str, Callable]:
    charts: dict[str, Callable] = {}
    if len(result.scenario.points) > 1:
        charts.update({name: functools.partial(draw, advice=ranking) for name, draw in POINT_CHARTS.items()})
    if rota_point(result, ranking, rota_point_id) is not None:
        charts["rota.png"] = functools.partial(rota_chart, advice=ranking, chosen=rota_point_id)
    return charts


def _in_report_order(folder: Path, plain: dict[str, Callable], advised: dict[str, Callable]) -> list[Path]:
    """The day's charts, the points' (and rota.png), then the chain's."""
    names = [name for name in plain if name in CHARTS] + list(advised) + [name for name in plain if name not in CHARTS]
    return [folder / name for name in names]


def _draw(result: RunResult, folder: Path, charts: dict[str, Callable], processes: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Two processes draw (forked.share), the charts of several panels first so that both end about together;
    # figures are made at the resolution they are saved at, so that savefig does not lay out every text again.
    names = sorted(charts, key=lambda name: name not in DRAWN_FIRST)
    with plt.rc_context({"figure.dpi": DPI}):
        share(names, lambda name: charts[name](result, folder / name), processes)
