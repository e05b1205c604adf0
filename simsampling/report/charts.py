"""Charts of a run (matplotlib, written as PNG): made to be looked at, not read.

Every chart shows the mean over replications and, where it varies, the range
across replications (band) or the 95% confidence interval (error bars).

Runs with several points get three more charts (points_finish, queue_heatmap,
slowest_points) that compare the points; runs with a sample chain three more
(results, lab_backlog, specimen_age) that follow the tubes to their results. rota.png follows one
point's stations through the first replication: busy, idle, or closed for lack of staff. Scenario and point
names are user text: they go through :func:`plain` so that matplotlib prints them literally.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, PowerNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter  # noqa: E402

from ..advice import RunAdvice, run_advice  # noqa: E402
from ..experiment import RunResult  # noqa: E402
from ..log import day_clock  # noqa: E402
from ..metrics import HOUR, WAIT_BINS, estimate, occupancy  # noqa: E402
from ..model.chain import shift_windows  # noqa: E402
from ..steps import MAX_TIMELINE_STEPS, sum_of_groups  # noqa: E402
from ..scenario.errors import printable  # noqa: E402
from ..stages import colour as stage_colour, label as stage_label, union  # noqa: E402
from .files import active_window, chain_window  # noqa: E402
from .forked import share  # noqa: E402
from .text import isolated  # noqa: E402

MAIN = "#264653"
DEADLINE = "#c1121f"
LATE = "#e76f51"
DPI = 130

FEW_POINTS = 20
"""Up to this many points, points_finish.png draws one labelled bar per point."""
SLOWEST_BARS = 15
"""Beyond FEW_POINTS: the slowest points drawn as labelled bars under the ranked curve."""
HEATMAP_ROWS = 400
"""Beyond this many points, queue_heatmap.png shows groups of points (one row each)."""
DRILL_DOWN = 4
"""Points drawn in slowest_points.png."""
LEGEND_ROWS = 0.8
"""Headroom (in bars) above the slowest bar of points_finish.png, for its legend."""


def plain(text: object) -> str:
    """User text for matplotlib: a ``$`` is escaped so it prints as itself, never as mathtext; control
    characters are shown escaped and the text is isolated, so a direction override cannot reverse the title."""
    return isolated(printable(str(text))).replace("$", r"\$")


def clock_label(hours: float) -> str:
    """"HH:MM" on day 0, "+1d HH:MM" on the next (hours since midnight of day 0; seconds cut, as on a clock)."""
    return day_clock(hours * HOUR)


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _clock_axis(ax, start_h: float, end_h: float) -> None:
    ax.set_xlim(start_h, end_h)
    span = end_h - start_h
    # Up to a day: every hour to three; longer rounds: at most about 9 labels ("+1d 06:00" is wide).
    step = 1 if span <= 12 else 2 if span <= 20 else 3 if span <= 27 else next((s for s in (6, 12, 24, 48) if span / s <= 9),
                                                                               24 * max(3, math.ceil(span / 24 / 9)))
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda h, _: hour_label(h) if h >= 0 else ""))


def hour_label(hours: float) -> str:
    """"HH:00" on day 0, "+1d HH:00" on the next (days count from 0, as in scenario files)."""
    day, hour = divmod(int(round(hours)), 24)
    return f"{hour:02d}:00" if day == 0 else f"+{day}d {hour:02d}:00"


def _open_close(ax, result: RunResult, deadline: bool = False) -> None:
    marks = [(when, label) for open_s, close_s in result.scenario.hours for when, label in ((open_s, "open"), (close_s, "close"))]
    _, end_h = _window_hours(result)
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


def _window_hours(result: RunResult) -> tuple[float, float]:
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


def _replications(result: RunResult) -> str:
    return f"{result.replications} replication" + ("s" if result.replications != 1 else "")


def _steps_axis(result: RunResult, length: int) -> np.ndarray:
    """Hours since midnight of day 0 at the end of each step of a series."""
    return np.arange(1, length + 1) * result.step_s / HOUR


def _step_text(result: RunResult) -> str:
    """How the series are averaged: "per-minute averages", "15-minute averages"."""
    minutes = result.step_s / 60.0
    return "per-minute averages" if minutes == 1 else f"{minutes:g}-minute averages"


def _thousands(ax, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _count_axis(ax) -> None:
    """A y axis of people: whole-number ticks (never 0, 0, 1, 1 from half steps), thousands separated."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True, min_n_ticks=2))
    _thousands(ax)


def cumulative_chart(result: RunResult, path: Path) -> None:
    """The main chart: residents sampled over the day against the population."""
    bands = result.run_bands
    sampled, low, high = bands.sampled.mean, bands.sampled.low, bands.sampled.high
    arrived = bands.arrived.mean
    hours = _steps_axis(result, sampled.size)
    population = sum(p.population for p in result.scenario.points)
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.fill_between(hours, low, high, color=MAIN, alpha=0.2, linewidth=0, label="range across replications")
    ax.plot(hours, arrived, color="#999999", linestyle="--", linewidth=1.2, label="arrived (mean)")
    ax.plot(hours, sampled, color=MAIN, linewidth=2.2, label="sampled, at points and at home (mean)")
    ax.axhline(population, color="#c1121f", linewidth=1.2, label=f"population {population:,}")
    _open_close(ax, result, deadline=True)
    start_h, end_h = _window_hours(result)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, population * 1.08 if population else 1)
    if not population:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _thousands(ax)
    done = result.summary["kpis"]
    total = done["sampled_total"]["mean"]
    finish = done["finish_h"]["mean"]
    by_deadline = done["sampled_by_deadline_share"]["mean"]
    if population:
        text = (f"{total:,.0f} sampled ({total / population:.0%} of population), {by_deadline:.0%} by the deadline\n"
                + (f"last sample at {clock_label(result.scenario.hours[0][0] / 3600 + finish)} on average"
                   if total and finish is not None else "nobody sampled"))
    else:  # a round of nobody: no share, no last sample (null in summary.json)
        text = "nobody to sample: the population is 0"
    ax.annotate(text,
                xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"})
    span = "the day" if result.scenario.round.days == 1 else f"the {result.scenario.round.days}-day round"
    _style(ax, f"{plain(result.scenario.name)}: residents sampled over {span} ({_replications(result)})",
           "time of day", "residents (cumulative)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    _save(fig, path)


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
    _open_close(ax, result)
    _clock_axis(ax, *_window_hours(result))
    top = max(capacity if math.isfinite(capacity) else 0.0, float(np.max(means, initial=0)))
    ax.set_ylim(0, top * 1.3 if top > 0 else 1.0)
    _thousands(ax)
    _style(ax, f"{plain(result.scenario.name)}: throughput per hour", "time of day", "residents sampled per hour")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    _save(fig, path)


def queue_chart(result: RunResult, path: Path) -> None:
    """Line length at each stage over the day: mean and range across replications.

    With several points the lines are those of all points added up; the peak in
    the title is the longest line at any one point. When the points' waiting
    areas are known, their capacity is drawn against everyone waiting (all
    stages): on the only panel, or on a panel of all lines together.
    """
    stages = list(result.run_bands.queue)
    several = len(result.scenario.points) > 1
    capacity = _waiting_capacity(result)
    panels = stages + (["total"] if capacity is not None and len(stages) > 1 else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels) + 0.6), sharex=True, squeeze=False)
    start_h, end_h = _window_hours(result)
    for ax, stage in zip(axes[:, 0], panels):
        queue = result.run_bands.queue[stage] if stage != "total" else result.run_bands.queue_total
        mean, low, high = queue.mean, queue.low, queue.high
        hours = _steps_axis(result, mean.size)
        colour = stage_colour(stage) if stage != "total" else MAIN
        ax.fill_between(hours, low, high, color=colour, alpha=0.25, linewidth=0, label="range across replications")
        ax.plot(hours, mean, color=colour, linewidth=1.6, label=f"mean (highest {np.max(mean, initial=0):,.1f})")
        # The KPI is the longest line at any instant, a mean over replications; the curves are per-step averages.
        peak = result.summary["kpis"]["queue_max"][stage]["mean"]
        ax.plot([], [], linestyle="none", label=f"longest line at any instant{' at one point' if several else ''}: "
                                                 f"{peak:,.1f}\n(mean of the replications' longest)")
        label = "All lines together" if stage == "total" else stage_label(stage)
        _style(ax, f"{label}: {'all points together' if several else 'people waiting'}", "",
               "people waiting, all points" if several else "people in line")
        _open_close(ax, result)
        _clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        if capacity is not None and stage == panels[-1]:
            _capacity_line(ax, *capacity, float(np.max(high, initial=0)))
        _count_axis(ax)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1, 0].set_xlabel(f"time of day ({_step_text(result)})")
    fig.suptitle(f"{plain(result.scenario.name)}: queue length per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path)


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
        _style(ax, stage_label(stage), "wait (minutes)", "share of residents")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{plain(result.scenario.name)}: waiting time per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path)


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
    _style(ax, f"{plain(result.scenario.name)}: server utilisation (opening to closing or last swab)", "share of staffed time serving", "")
    _save(fig, path)


# ---------------------------------------------------------------- several points


def _deadline_h(result: RunResult) -> float:
    """The deadline in hours since the first opening (the unit of ``finish_h``)."""
    return (result.scenario.deadline_s - result.scenario.hours[0][0]) / HOUR


def _finish_rows(result: RunResult) -> list[dict]:
    """Every point with its finish time (``finish_h``: mean and 95% CI), slowest first as in points.csv."""
    rows = []
    for point in result.scenario.points:
        leaf = result.point_summaries[point.id]["finish_h"]
        mean = math.nan if leaf["mean"] is None else float(leaf["mean"])
        low, high = leaf["ci95"] if leaf["ci95"] else (mean, mean)
        rows.append({"point": point, "mean": mean, "low": float(low), "high": float(high)})
    rows.sort(key=lambda row: (not math.isfinite(row["mean"]), -row["mean"] if math.isfinite(row["mean"]) else 0.0))
    return rows


def _point_label(point, width: int = 40) -> str:
    name = point.name.strip()
    text = point.id if not name or name == point.id else f"{point.id} \u00b7 {name}"
    return plain(text if len(text) <= width else text[: width - 1] + "\u2026")


def _deadline_key(deadline_h: float, open_h: float) -> Line2D:
    return Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4,
                  label=f"deadline {deadline_h:g} h ({clock_label(open_h + deadline_h)})")


def _hours_axis(ax, right: float) -> None:
    """Whole hours on an axis of durations from 0 to ``right`` hours."""
    ax.set_xlim(0, right)
    ax.xaxis.set_major_locator(MultipleLocator(1 if right <= 14 else 2 if right <= 30 else 6 if right <= 96 else 24))


def _finish_bars(ax, rows: list[dict], deadline_h: float, open_h: float, right: float) -> None:
    """One horizontal bar per point (slowest at the top): mean finish, 95% CI, coloured by lateness."""
    positions = np.arange(len(rows))[::-1]
    means = np.array([row["mean"] for row in rows])
    late = means > deadline_h
    ax.barh(positions, np.nan_to_num(means), height=0.65, color=[LATE if x else MAIN for x in late])
    errors = np.array([[row["mean"] - row["low"], row["high"] - row["mean"]] for row in rows]).T
    ax.errorbar(means, positions, xerr=np.nan_to_num(errors), fmt="none", ecolor="#222222", elinewidth=0.9, capsize=2.5)
    for y, row in zip(positions, rows):
        if not math.isfinite(row["mean"]):
            continue
        text = f"{row['mean']:.1f} h, {clock_label(open_h + row['mean'])}"
        if row["mean"] > 0.35 * right:  # inside the bar, at its base
            ax.annotate(text, (0, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8, color="white")
        else:
            ax.annotate(text, (row["high"], y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(deadline_h, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_yticks(positions, [_point_label(row["point"]) for row in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4 + LEGEND_ROWS)  # headroom above the slowest bar for the legend
    keys = [Patch(color=MAIN, label="mean finish by the deadline"), Patch(color=LATE, label="after the deadline"),
            _deadline_key(deadline_h, open_h)]
    ax.legend(handles=keys, loc="upper left", ncol=3, fontsize=8, frameon=False, borderaxespad=0.2)
    ax.grid(False, axis="y")


def _finish_curve(ax, rows: list[dict], deadline_h: float, open_h: float, result: RunResult) -> dict:
    """Share of points finished by each time: points sorted by mean finish, with each point's 95% CI.

    Returns the legend's arguments and the curve's points (hours, share) for :func:`_place_legend`.
    """
    ordered = [row for row in rows if math.isfinite(row["mean"])][::-1]  # fastest first
    n = len(ordered)
    if n == 0:
        return {"handles": [_deadline_key(deadline_h, open_h)], "title": "no finish times", "x": [], "y": []}
    means = np.array([row["mean"] for row in ordered])
    share = np.arange(1, n + 1) / n
    drawn_x, drawn_y = [means], [share]
    if result.replications > 1:
        # Lower and upper CI bounds, each sorted: the optimistic and pessimistic curves.
        lows = np.sort([row["low"] for row in ordered])
        highs = np.sort([row["high"] for row in ordered])
        ax.fill_betweenx(share, lows, highs, step="post", color=MAIN, alpha=0.22, linewidth=0,
                         label="95% CI (CI bounds, sorted)")
        drawn_x += [lows, highs]
        drawn_y += [share, share]
    x = np.concatenate([[means[0]], means])
    y = np.concatenate([[0.0], share])
    ax.step(x, y, where="post", color=MAIN, linewidth=2, label="mean finish, points sorted")
    late = np.flatnonzero(means > deadline_h)
    if late.size:
        k = int(late[0])
        ax.step(np.concatenate([[means[k]], means[k:]]), np.concatenate([[y[k]], share[k:]]), where="post",
                color=LATE, linewidth=2.4, label="after the deadline")
    ax.axvline(deadline_h, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    done = result.summary["kpis"]["points_finished_by_deadline_share"]["mean"]
    median = float(np.median(means))
    lines = ["mean finish after the deadline:", f"   {late.size:,} of {n:,} points ({late.size / n:.0%})",
             f"median point {median:.1f} h ({clock_label(open_h + median)})",
             f"slowest point {means[-1]:.1f} h ({clock_label(open_h + means[-1])})"]
    if done is not None:
        lines += ["done by the deadline, per replication:", f"   {done:.0%} of points (mean)"]
    # The curve as drawn, densely (steps included), to keep the legend off it.
    grid = np.linspace(means[0], means[-1], 400)
    drawn_x.append(grid)
    drawn_y.append(np.searchsorted(means, grid, side="right") / n)
    handles, _ = ax.get_legend_handles_labels()
    return {"handles": handles + [_deadline_key(deadline_h, open_h)], "title": "\n".join(lines),
            "x": np.concatenate(drawn_x), "y": np.concatenate(drawn_y)}


def _place_legend(fig, ax, legend: dict) -> None:
    """The legend (its title a summary) in the corner of ``ax`` that hides the fewest drawn points."""
    options = {"handles": legend["handles"], "title": legend["title"], "fontsize": 8, "title_fontsize": 8.5,
               "alignment": "left", "framealpha": 0.95, "edgecolor": "#cccccc"}
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    x, y = np.asarray(legend["x"], dtype=float), np.asarray(legend["y"], dtype=float)
    best = None
    for loc in ("upper left", "lower right", "center right", "upper right", "lower left"):
        box = ax.legend(loc=loc, **options).get_window_extent(renderer).transformed(ax.transData.inverted())
        hidden = int(np.count_nonzero((x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)))
        if best is None or hidden < best[0]:
            best = (hidden, loc)
        if hidden == 0:
            break
    ax.legend(loc=best[1], **options).get_frame().set_boxstyle("round")


def points_finish_chart(result: RunResult, path: Path, advice: RunAdvice) -> None:
    """Points ranked by finish time (mean, 95% CI) against the deadline.

    Up to FEW_POINTS points: one bar each. More: the ranked curve of all points
    (share finished by each time) over bars for the SLOWEST_BARS slowest. When
    every point's finish is set by its calling plan (the finish times tie), the
    chart says so, the bars follow the ranking of what to act on, and with many
    points the lower panel shows the first SLOWEST_BARS of that ranking by p90 wait.
    """
    rows = _finish_rows(result)
    deadline_h = _deadline_h(result)
    open_h = result.scenario.hours[0][0] / HOUR
    ends = [row["high"] for row in rows if math.isfinite(row["high"])]
    right = max([deadline_h, *ends]) * 1.06
    name = plain(result.scenario.name)
    xlabel = f"finish time (last sample at the point): hours after the first opening, {clock_label(open_h)}"
    ci = "mean, 95% CI" if result.replications > 1 else "no CI from one replication"
    tied = advice.diagnosis.run.finish_set_by_plan
    plan_end = advice.diagnosis.run.plan_end_s
    note = (f"Every point's finish is set by its calling plan (the plans end by {day_clock(plan_end)}):\n"
            "finish times tie; the points are ranked by waits and lines instead") if tied else ""
    if len(rows) <= FEW_POINTS:
        if tied:
            rows = _ranked_rows(rows, advice)
        fig, ax = plt.subplots(figsize=(9, 1.7 + 0.42 * (len(rows) + LEGEND_ROWS) + (0.4 if tied else 0)))
        _finish_bars(ax, rows, deadline_h, open_h, right)
        _style(ax, f"{name}: finish time per point ({ci}; {_replications(result)})" + (f"\n{note}" if tied else ""),
               xlabel, "")
        ax.grid(False, axis="y")
    else:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 10.5), sharex=not tied, gridspec_kw={"height_ratios": [1, 1.2]})
        legend = _finish_curve(top, rows, deadline_h, open_h, result)
        _style(top, f"All {len(rows):,} points, fastest to slowest: share finished by each time", "", "share of points finished")
        top.tick_params(labelbottom=True)
        if tied:
            top.set_xlabel(xlabel)
            top.annotate(note, (0.02, 0.5), xycoords="axes fraction", fontsize=9, va="center",
                         bbox={"boxstyle": "round", "facecolor": "#fff4e5", "edgecolor": LATE})
            first = _ranked_rows(rows, advice)[:SLOWEST_BARS]
            _wait_bars(bottom, first, advice)
            _style(bottom, f"The {len(first)} points to act on first: p90 wait against the {advice.target_min:g}-min target",
                   "p90 total wait, minutes (mean over replications)", "")
        else:
            _finish_bars(bottom, rows[:SLOWEST_BARS], deadline_h, open_h, right)
            _style(bottom, f"The {SLOWEST_BARS} slowest points ({ci})", xlabel, "")
        bottom.grid(False, axis="y")
        fig.suptitle(f"{name}: finish time per point ({_replications(result)})",
                     x=0.01, ha="left", fontsize=12, fontweight="bold")
    _hours_axis(fig.axes[0], right)
    if len(rows) > FEW_POINTS:
        _place_legend(fig, fig.axes[0], legend)
    _save(fig, path)


def _ranked_rows(rows: list[dict], advice: RunAdvice) -> list[dict]:
    """The rows of ``_finish_rows`` in the order of the ranking of what to act on."""
    order = {point_id: rank for rank, point_id in enumerate(advice.ranked_ids())}
    return sorted(rows, key=lambda row: order.get(row["point"].id, len(order)))


def _wait_bars(ax, rows: list[dict], advice: RunAdvice) -> None:
    """One bar per point (first to act on at the top): its p90 total wait, against the target."""
    waits = np.array([advice.diagnosis.point(row["point"].id).evidence.p90_wait_min or 0.0 for row in rows])
    target = advice.target_min
    positions = np.arange(len(rows))[::-1]
    ax.barh(positions, waits, height=0.65, color=[LATE if w > target else MAIN for w in waits])
    for y, row, wait in zip(positions, rows, waits):
        rank = advice.rank_of(row["point"].id)
        ax.annotate(f"{wait:.1f} min; longest line {rank.peak_line:,.0f}", (wait, y), xytext=(5, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axvline(target, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_yticks(positions, [_point_label(row["point"]) for row in rows], fontsize=8)
    ax.set_xlim(0, max(target, float(waits.max(initial=0))) * 1.35)
    ax.legend(handles=[Patch(color=MAIN, label="within the target"), Patch(color=LATE, label="over the target"),
                       Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label=f"target {target:g} min")],
              loc="lower right", fontsize=8, frameon=False)


def queue_heatmap(result: RunResult, path: Path, advice: RunAdvice) -> None:
    """People waiting at each point (all stages) over time; points ranked by what to act on, the first at the top."""
    rows = _ranked_rows(_finish_rows(result), advice)
    n = len(rows)
    open_h = result.scenario.hours[0][0] / HOUR
    finish = np.array([open_h + row["mean"] for row in rows])
    start_h, end_h = _window_hours(result)
    end_h = max(end_h, float(np.ceil(np.nanmax(finish, initial=end_h))))
    step_h = result.step_s / HOUR
    first, last = int(round(start_h / step_h)), int(round(end_h / step_h))
    group = -(-n // HEATMAP_ROWS) if n > HEATMAP_ROWS else 1
    starts = np.arange(0, n, group)
    sizes = np.diff(np.append(starts, n))
    # Rows of `group` points added up as they are read: the matrix is never points x steps (a city's would be GBs).
    columns = -(-max(1, last - first) // (per_column := -(-max(1, last - first) // MAX_TIMELINE_STEPS)))
    matrix = np.zeros((starts.size, columns * per_column))
    for index, row in enumerate(rows):
        waiting = result.point_bands[row["point"].id].queue_total.mean[first:last]
        matrix[index // group, : waiting.size] += waiting
    matrix = matrix.reshape(starts.size, columns, per_column).mean(axis=2) / sizes[:, None]
    if group > 1:
        finish = np.array([np.nanmean(finish[a : a + size]) if np.isfinite(finish[a : a + size]).any() else np.nan
                           for a, size in zip(starts, sizes)])
    centres = starts + sizes / 2.0
    labelled = n <= 30 and group == 1
    fig, ax = plt.subplots(figsize=(10, max(3.4, 1.8 + 0.2 * n) if labelled else 7.5))
    # Square-root colour scale: short daytime lines stay visible beside the morning rush.
    norm = PowerNorm(0.5, vmin=0, vmax=max(1.0, float(matrix.max(initial=0))))
    # Rows of `group` points each; the last, shorter group is cut at n by the y limits below.
    image = ax.imshow(matrix, aspect="auto", interpolation="nearest", cmap="magma_r", norm=norm,
                      extent=(start_h, start_h + columns * per_column * step_h, len(starts) * group, 0))
    row_pt = (fig.get_figheight() - 1.6) * 72 / len(starts)  # a row's height, roughly, in points
    ticks = row_pt >= 3  # a tick per row while rows are tall enough, else dots
    ax.plot(finish, centres, linestyle="none", marker="|" if ticks else ".", markersize=min(9, 0.8 * row_pt) if ticks else 3,
            markeredgewidth=2 if row_pt >= 8 else 1.2, color="#00a6d6", label="finish (last sample at the point, mean)")
    _open_close(ax, result, deadline=True)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(n, 0)
    if labelled:
        ax.set_yticks(centres, [plain(row["point"].id) for row in rows], fontsize=8)
        ylabel = "points, the first to act on at the top"
    else:
        ranks = [int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(1, n) if 1 <= v <= n]
        ranks = sorted({1, *ranks})
        ax.set_yticks(np.array(ranks) - 0.5, [f"{r:,}" for r in ranks])
        ylabel = "points by what to act on (rank, 1 = first)"
        if group > 1:
            ylabel += f"\neach row: mean of {group} points in that order"
    what = "mean over replications" if group == 1 else f"mean over replications and the row's {group} points"
    span = "the day" if result.scenario.round.days == 1 else "the round"
    tied = (f"\nevery point's finish is set by its calling plan (by {day_clock(advice.diagnosis.run.plan_end_s)}): "
            "ranked by deadline, waiting space, p90 wait") if advice.diagnosis.run.finish_set_by_plan else (
        "\nranked by time past the deadline, line over the waiting space, p90 wait")
    _style(ax, f"{plain(result.scenario.name)}: people waiting at each point over {span} ({n:,} points){tied}",
           f"time of day ({_step_text(result)})", ylabel)
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, pad=0.015, fraction=0.04, aspect=30)
    bar.set_label(f"people waiting at the point, all stages\n({what}; square-root scale)", fontsize=9)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    fig.legend(handles=ax.get_legend_handles_labels()[0], loc="lower right", fontsize=8, frameon=False)
    _save(fig, path, bottom=0.22 / fig.get_figheight())


def slowest_points_chart(result: RunResult, path: Path, advice: RunAdvice) -> None:
    """The points to act on first, one by one: line length per stage over time, finish time and deadline."""
    rows = _ranked_rows(_finish_rows(result), advice)[:DRILL_DOWN]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.7 * len(rows) + 0.8), sharex=True, squeeze=False)
    open_h = result.scenario.hours[0][0] / HOUR
    start_h, end_h = _window_hours(result)
    ends = [open_h + row["high"] for row in rows if math.isfinite(row["high"])]
    end_h = max([end_h, *np.ceil(ends)])  # the finish times and their CIs in view
    for index, (ax, row) in enumerate(zip(axes[:, 0], rows)):
        point = row["point"]
        bands = result.point_bands[point.id]
        for stage, queue in bands.queue.items():
            hours = _steps_axis(result, queue.mean.size)
            colour = stage_colour(stage)
            ax.fill_between(hours, queue.low, queue.high, color=colour, alpha=0.22, linewidth=0)
            ax.plot(hours, queue.mean, color=colour, linewidth=1.5, label=stage_label(stage))
        if math.isfinite(row["mean"]):
            finish = open_h + row["mean"]
            ax.axvline(finish, color=MAIN, linewidth=1.6)
            if row["high"] > row["low"]:  # the CI as a whisker across the top of the finish line
                ax.plot([open_h + row["low"], open_h + row["high"]], [0.93, 0.93], color=MAIN, linewidth=1.2,
                        marker="|", markersize=8, transform=ax.get_xaxis_transform())
            ax.annotate(f"finish {clock_label(finish)}\n({row['mean']:.1f} h)", (open_h + row["low"], 0.88),
                        xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                        fontsize=8, color=MAIN, ha="right", va="top")
        _open_close(ax, result, deadline=True)
        _clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        _thousands(ax)
        name = point.name.strip()
        heading = f"{index + 1}. {point.id}" + (f" \u00b7 {name[:50]}" if name and name != point.id else "")
        stations = f"{point.stations} station" + ("s" if point.stations != 1 else "")
        _style(ax, plain(f"{heading} ({point.population:,} residents, {stations}): {_concern_label(advice, point.id)}"),
               "", "people in line")
        ax.title.set_fontsize(10)
    keys = [Line2D([], [], color=stage_colour(stage), linewidth=1.5, label=stage_label(stage))
            for stage in union(tuple(result.point_bands[row["point"].id].queue) for row in rows)]
    keys += [Patch(color="#999999", alpha=0.35, linewidth=0, label="range across replications"),
             Line2D([], [], color=MAIN, linewidth=1.6,
                    label="finish (mean; whisker: 95% CI)" if result.replications > 1 else "finish"),
             Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label="deadline")]
    axes[-1, 0].set_xlabel(f"time of day ({_step_text(result)})")
    height = fig.get_figheight()
    fig.legend(handles=keys, loc="lower center", ncol=len(keys), fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{plain(result.scenario.name)}: the {len(rows)} points to act on first, people waiting per stage",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path, bottom=0.35 / height)


def _concern_label(advice: RunAdvice, point_id: str) -> str:
    """Why a point is where it is in the ranking, in a few words."""
    rank = advice.rank_of(point_id)
    if rank.concern == "late":
        return f"{rank.late_h:.1f} h past the deadline" if rank.late_h > 0 else "residents left unserved"
    if rank.concern == "overflow":
        return f"line of {rank.peak_line:,.0f} for a waiting area of {rank.waiting_space:,}"
    wait = f"p90 wait {rank.p90_wait_min:.1f} min" if rank.p90_wait_min is not None else "no wait"
    return wait + (" (over the target)" if rank.concern == "long_wait" else "")


# ---------------------------------------------------------------- staff

BUSY_COLOURS = LinearSegmentedColormap.from_list("busy", ["#cfeae6", "#2a9d8f", "#12403a"])
BREAK_COLOUR, BREAK_EDGE = "#f4a261", "#a8561b"
OFF_DUTY_COLOUR, OFF_DUTY_EDGE = "#b8bec6", "#5c6470"
POINT_CLOSED = "#ececec"
BUSY_FLOOR = 0.005
"""Busy shares at or below this are drawn as idle (a blank cell, not a faint one)."""
ROTA_LABELLED = 30
"""Up to this many stations, rota.png names every row."""
ROTA_EXACT_CLOSURES = 2_000
"""Up to this many closures, a row per station, rota.png draws each at its exact times; beyond (or with rows of
several stations), a cell is drawn closed when half its row's stations were closed for most of it."""


def rota_point(result: RunResult, advice: Optional[RunAdvice] = None, chosen: Optional[str] = None):
    """The point rota.png shows, and why; None when there is nothing to show.

    ``chosen`` (``--rota-point``) if given; the only point of a one-point run; in a
    district, the point whose stations were closed longest in replication 1, or when
    none was closed the first point with anything to show in the ranking of what to
    act on (``advice``; without it, in the scenario's order).
    """
    timelines = result.timelines
    points = [point for point in result.scenario.points if point.id in timelines]
    if chosen is not None:
        points = [point for point in points if point.id == chosen]
        if not points or not _has_activity(timelines[chosen]):
            return None
        return points[0], f"as asked (--rota-point {chosen})" if len(result.scenario.points) > 1 else ""
    if not points:
        return None
    if advice is not None:
        order = {point_id: rank for rank, point_id in enumerate(advice.ranked_ids())}
        points.sort(key=lambda point: order.get(point.id, len(order)))
    closed = [result.point_kpis[point.id][0]["stations_closed_min"] if result.point_kpis.get(point.id) else 0.0
              for point in points]
    shown = [_has_activity(timelines[point.id]) for point in points]
    best = max(range(len(points)), key=lambda i: (closed[i], shown[i], -i))
    if not shown[best]:
        return None
    if len(result.scenario.points) == 1:
        why = ""
    elif closed[best] > 0:
        why = (f"its stations were closed longest of the {len(result.scenario.points):,} points in replication 1 "
               f"({closed[best]:,.0f} station-min)")
    else:
        first = "first in the ranking of what to act on" if advice is not None else "the first point"
        why = f"no station of any point was closed for lack of staff in replication 1: the {first}"
    return points[best], why


def _has_activity(timeline) -> bool:
    return timeline.sampled > 0 or timeline.closures.start_s.size > 0


def _closed_shares(timeline, window: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """Per kind of closure, the share of each row's station-time closed in each step, within ``window``."""
    closures, edges = timeline.closures, timeline.edges
    sizes = timeline.row_stations()[:, None]
    shares = {}
    for kind in ("break", "off_duty"):
        mine = (closures.reason == "break") if kind == "break" else (closures.reason != "break")
        mine &= closures.slot < timeline.stations
        share = np.zeros((timeline.rows, timeline.steps))
        for low, high in window:
            begin = np.clip(closures.start_s[mine], low, high)
            end = np.clip(np.minimum(closures.end_s[mine], edges[-1]), low, high)
            rows = closures.slot[mine] // timeline.per_row
            for row in np.unique(rows):
                here = rows == row
                share[row] += occupancy(begin[here], end[here], edges)
        if share.any():
            shares[kind] = share / sizes
    return shares


def _row_edges(rows: int) -> np.ndarray:
    """y edges of ``rows`` bars of height 0.8 centred on 0, 1, ...: bar, gap, bar, ..."""
    return np.column_stack([np.arange(rows) - 0.4, np.arange(rows) + 0.4]).ravel()


def rota_chart(result: RunResult, path: Path, advice: Optional[RunAdvice] = None, chosen: Optional[str] = None) -> None:
    """One point's sampling stations over the round (replication 1): busy, idle, or closed for lack of staff.

    A row per station; per time step the shade is the share of the step spent
    serving. Closures are drawn at their exact times, hatched: a sampler's break
    (no relief free) or the station unstaffed by the rota (off duty).
    """
    point, why = rota_point(result, advice, chosen)
    timeline = result.timelines[point.id]
    stations, rows = timeline.stations, timeline.rows
    start_h, end_h = _window_hours(result)
    height = min(14.0, max(3.8, 2.4 + 0.34 * rows))
    fig, ax = plt.subplots(figsize=(10.5, height))
    ax.set_facecolor(POINT_CLOSED)
    for begin, end in timeline.staffed:
        ax.axvspan(begin / HOUR, end / HOUR, color="white", linewidth=0, zorder=0)
    # Station 1 (the first row) at the top: row y = rows - 1 - k. Gap rows between bars stay masked.
    shares = np.full((2 * rows - 1, timeline.steps), np.nan)
    shares[::2] = timeline.busy[::-1]
    cells = np.ma.masked_where(~(shares > BUSY_FLOOR), shares)
    mesh = ax.pcolorfast(timeline.edges / HOUR, _row_edges(rows), cells, cmap=BUSY_COLOURS, vmin=0.0, vmax=1.0,
                         zorder=1)
    closures = timeline.closures
    kinds = {"break": (BREAK_COLOUR, BREAK_EDGE, "////"), "off_duty": (OFF_DUTY_COLOUR, OFF_DUTY_EDGE, "xxx")}
    # Drawn within the staffed spans only: at night the whole point is closed, whoever is on duty.
    window = [(max(a, start_h * HOUR), min(b, end_h * HOUR)) for a, b in timeline.staffed]
    if timeline.per_row == 1 and closures.start_s.size <= ROTA_EXACT_CLOSURES:
        spans: dict[tuple[int, str], list] = {}
        for slot, begin, end, reason in zip(closures.slot.tolist(), closures.start_s.tolist(), closures.end_s.tolist(),
                                            closures.reason.tolist()):
            if slot < stations:
                kind = reason if reason in kinds else "off_duty"
                spans.setdefault((slot, kind), []).extend(
                    (max(begin, a) / HOUR, (min(end, b) - max(begin, a)) / HOUR) for a, b in window if min(end, b) > max(begin, a))
        for (slot, kind), bars in spans.items():  # one collection per station and kind
            face, edge, hatch = kinds[kind]
            ax.broken_barh(bars, (rows - 1 - slot - 0.4, 0.8), facecolor=face, edgecolor=edge, hatch=hatch,
                           linewidth=0, zorder=2)
    else:
        for kind, closed_share in _closed_shares(timeline, window).items():
            closed = np.full((2 * rows - 1, timeline.steps), np.nan)
            closed[::2] = closed_share[::-1]
            ax.pcolormesh(timeline.edges / HOUR, _row_edges(rows), np.ma.masked_where(~(closed >= 0.5), closed),
                          cmap=ListedColormap([kinds[kind][0]]), shading="flat", zorder=2, rasterized=True)
    _open_close(ax, result)
    _clock_axis(ax, start_h, end_h)
    # Room below the last row for the open and close labels: about 16 points, in rows.
    ax.set_ylim(-0.4 - min(0.8, 16 / 72 * rows / max(height - 2.2, 1.0)), rows - 0.4)
    green = point.green_channel
    dedicated = green.stations if green is not None and green.channel == "dedicated" else 0
    if timeline.per_row > 1:
        ranks = sorted({0, rows - 1, *(int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(0, rows - 1)
                                       if 0 <= v < rows)})
        first = [k * timeline.per_row + 1 for k in ranks]
        ax.set_yticks([rows - 1 - k for k in ranks],
                      [f"stations {a}-{a + n - 1}" for a, n in zip(first, timeline.row_stations()[ranks])], fontsize=8)
    elif stations <= ROTA_LABELLED:
        labels = [f"station {k + 1}" + (" (green channel)" if k < dedicated else "") for k in range(stations)]
        ax.set_yticks(np.arange(stations)[::-1], labels, fontsize=8 if stations > 12 else 9)
    else:
        ranks = sorted({1, stations, *(int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(1, stations)
                                         if 1 <= v <= stations)})
        ax.set_yticks([stations - r for r in ranks], [f"station {r}" for r in ranks], fontsize=8)
    ax.tick_params(axis="y", length=0)
    step = "minute" if timeline.step_s == 60 else f"{timeline.step_s / 60:g}-minute step"
    if timeline.per_row > 1:
        step += f"; a row per {timeline.per_row} stations, averaged"
    staffed_s = stations * sum(end - begin for begin, end in timeline.staffed)
    on_break, off_duty = timeline.closed_s("break") / 60, timeline.closed_s("off_duty") / 60
    open_s = staffed_s - timeline.closed_s()
    facts = [f"{timeline.sampled:,} residents swabbed"]
    if open_s > 0:
        facts.append(f"stations busy {timeline.busy_s / open_s:.0%} of the time they were open")
    facts.append(f"closed {on_break:,.0f} station-min for breaks, {off_duty:,.0f} off duty"
                 if on_break or off_duty else "no station closed for lack of staff")
    lines = ([why[:1].upper() + why[1:] + "."] if why else []) + ["; ".join(facts)]
    if len(result.scenario.points) > 1:
        lines.append("Another point: simsampling run SCENARIO --rota-point ID (every point's stations are kept).")
    _style(ax, "", f"time of day (shade: share of each {step} serving)", "")
    ax.set_title("\n".join(lines), loc="left", fontsize=9, color="#333333")
    ax.grid(False, axis="y")
    where = "" if len(result.scenario.points) == 1 else f" at {_point_label(point, 60)}"
    fig.suptitle(f"{plain(result.scenario.name)}: sampling stations{where}, replication 1",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    bar = fig.colorbar(mesh, ax=ax, pad=0.012, fraction=0.035, aspect=25)
    bar.set_label("busy: share of the step serving", fontsize=8.5)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    keys = [Patch(facecolor=BUSY_COLOURS(0.55), label="busy (swab, disinfection, sealing tubes)"),
            Patch(facecolor="white", edgecolor="#999999", linewidth=0.6, label="idle: staffed, no resident")]
    present = set(closures.reason.tolist())
    most = "" if timeline.per_row == 1 and closures.start_s.size <= ROTA_EXACT_CLOSURES else " (half the row or more)"
    if "break" in present:
        keys.append(Patch(facecolor=BREAK_COLOUR, edgecolor=BREAK_EDGE, hatch="////", linewidth=0,
                          label=f"closed: sampler on a break, no relief{most}"))
    if present - {"break"}:
        keys.append(Patch(facecolor=OFF_DUTY_COLOUR, edgecolor=OFF_DUTY_EDGE, hatch="xxx", linewidth=0,
                          label=f"closed: no sampler on duty{most}"))
    keys.append(Patch(facecolor=POINT_CLOSED, label="point closed"))
    fig.legend(handles=keys, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=len(keys), fontsize=8, frameon=False,
               columnspacing=1.4, handlelength=1.8)
    _save(fig, path, bottom=0.3 / height)


# ---------------------------------------------------------------- sample chain

RESULTS = "#2a9d8f"
BACKLOG = "#7b2cbf"
SHIFT = "#e9f5ec"
GANTT_LABS = 12
"""Up to this many laboratories, lab_backlog.png draws the first replication's runs, a row per laboratory."""


def _chain_hours(result: RunResult) -> tuple[float, float]:
    """Whole hours from the first opening to the end of the chain's window (and the deadline)."""
    _, end = chain_window(result)
    first_h, last_h = _window_hours(result)
    return first_h, max(last_h, float(np.ceil(end * result.step_s / HOUR)))


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """A series drawn over ``length`` steps: past its end it stays at its last value (0 when empty)."""
    if values.size >= length:
        return values[:length]
    return np.pad(values, (0, length - values.size), mode="edge") if values.size else np.zeros(length)


def _last_results(result: RunResult) -> tuple[float, float, float]:
    """Mean, min and max over replications of the time of the last result (hours since midnight of day 0)."""
    open_h = result.scenario.hours[0][0] / HOUR
    times = [open_h + kpis["chain"]["last_result_h"] for kpis in result.run_kpis
             if math.isfinite(kpis["chain"]["last_result_h"])]
    if not times:
        return math.nan, math.nan, math.nan
    return float(np.mean(times)), float(min(times)), float(max(times))


def _vertical(x: float, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Points along a vertical line from 0 to ``top``, for :func:`_place_clear` to keep clear of it."""
    return np.full(50, x), np.linspace(0, top, 50)


def _place_clear(fig, ax, legend: dict) -> None:
    """The legend (its title a summary) where it hides the fewest drawn points: along the top,
    the middle or the bottom of ``ax``, anywhere across; corners first on a tie.

    Like :func:`_place_legend`, but not only in corners: charts with vertical marks (limits,
    medians, last results) near every corner still find a clear spot.
    """
    options = {"handles": legend["handles"], "title": legend["title"], "fontsize": 8, "title_fontsize": 8.5,
               "alignment": "left", "framealpha": 0.95, "edgecolor": "#cccccc", "borderaxespad": 0.0}
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    size = ax.legend(loc="upper left", **options).get_window_extent(renderer)
    frame = ax.get_window_extent(renderer)
    width, height = size.width / frame.width, size.height / frame.height
    x, y = np.asarray(legend["x"], dtype=float), np.asarray(legend["y"], dtype=float)
    points = ax.transAxes.inverted().transform(ax.transData.transform(np.column_stack([x, y]))) if x.size else np.zeros((0, 2))
    margin = 0.012
    lefts = np.linspace(margin, max(margin, 1 - margin - width), 21)
    best = None
    for row, top in enumerate((1 - margin, 0.5 + height / 2, margin + height)):
        for left in lefts:
            inside = ((points[:, 0] >= left - margin) & (points[:, 0] <= left + width + margin)
                      & (points[:, 1] >= top - height - margin) & (points[:, 1] <= top + margin))
            corner = min(left - lefts[0], lefts[-1] - left)  # 0 at either side
            key = (int(np.count_nonzero(inside)), row, round(corner, 6))
            if best is None or key < best[0]:
                best = (key, (float(left), float(top)))
    ax.legend(loc="upper left", bbox_to_anchor=best[1], **options).get_frame().set_boxstyle("round")


def results_chart(result: RunResult, path: Path) -> None:
    """Residents with a released result over time, against residents sampled; deadline and last result."""
    start_h, end_h = _chain_hours(result)
    length = int(round(end_h * HOUR / result.step_s))
    hours = _steps_axis(result, length)
    band = result.chain_bands["results"]
    sampled = result.run_bands.sampled
    drawn = {"sampled": _padded(sampled.mean, length), "results": _padded(band.mean, length)}
    fig, ax = plt.subplots(figsize=(10, 5.2))
    if result.replications > 1:
        ax.fill_between(hours, _padded(sampled.low, length), _padded(sampled.high, length), color="#999999",
                        alpha=0.18, linewidth=0)
        ax.fill_between(hours, _padded(band.low, length), _padded(band.high, length), color=RESULTS, alpha=0.25,
                        linewidth=0, label="range across replications")
        drawn.update(low=_padded(band.low, length), high=_padded(band.high, length))
    ax.plot(hours, drawn["sampled"], color="#777777", linestyle="--", linewidth=1.4, label="sampled (mean)")
    ax.plot(hours, drawn["results"], color=RESULTS, linewidth=2.2, label="with the result of their pool (mean)")
    _open_close(ax, result, deadline=True)
    top = max(float(np.max(sampled.high, initial=0)), float(np.max(band.high, initial=0)))
    top = top * 1.16 if top else 1.0
    xs, ys = [hours] * len(drawn), list(drawn.values())
    x, y = _vertical(result.scenario.deadline_s / HOUR, top)
    xs.append(x)
    ys.append(y)
    last, low, high = _last_results(result)
    if math.isfinite(last):
        ax.axvline(last, color=MAIN, linewidth=1.4, label="last result, recalls included (mean)")
        if high > low:  # the range across replications as a whisker near the top
            ax.plot([low, high], [0.92, 0.92], color=MAIN, linewidth=1.2, marker="|", markersize=8,
                    transform=ax.get_xaxis_transform())
        ax.annotate(f"last result {clock_label(last)}", (last, 0.985), xycoords=("data", "axes fraction"),
                    xytext=(-4, 0), textcoords="offset points", fontsize=8, color=MAIN, ha="right", va="top")
        x, y = _vertical(last, top)
        xs.append(x)
        ys.append(y)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, top)
    _thousands(ax)
    chain = result.summary["kpis"]["chain"]
    lines = []
    share = chain["results_by_deadline_share"]["mean"]
    if share is not None:
        lines.append(f"{share:.0%} with a result by the deadline ({clock_label(result.scenario.deadline_s / HOUR)})")
    p90, median = chain["swab_to_result_h"]["p90"]["mean"], chain["swab_to_result_h"]["p50"]["mean"]
    if p90 is not None and median is not None:
        lines.append(f"swab to result: median {median:.1f} h, p90 {p90:.1f} h")
    if math.isfinite(last):
        whisker = " (whisker: range)" if high > low else ""
        lines.append(f"last result {clock_label(last)} on average{whisker}")
    _style(ax, f"{plain(result.scenario.name)}: residents with a result ({_replications(result)})",
           f"time of day ({_step_text(result)})", "residents (cumulative)")
    handles, _ = ax.get_legend_handles_labels()
    _place_clear(fig, ax, {"handles": handles, "title": "\n".join(lines), "x": np.concatenate(xs), "y": np.concatenate(ys)})
    _save(fig, path)


def _lanes(runs: list[tuple[float, float, int]]) -> list[int]:
    """An instrument lane for each run (in start order): the first lane free when it starts."""
    free: list[float] = []
    lanes = []
    for start, end, _ in runs:
        lane = next((i for i, until in enumerate(free) if until <= start + 1e-6), len(free))
        if lane == len(free):
            free.append(end)
        else:
            free[lane] = end
        lanes.append(lane)
    return lanes


def _runs_panel(ax, result: RunResult, start_h: float, end_h: float) -> None:
    """The first replication's runs: a row per laboratory, a lane per instrument, shifts shaded."""
    chain = result.first_chain
    labs = chain.labs
    rows = len(labs)
    recall_lab = chain.tube_lab[chain.recall_positive_tube] if chain.recall_positive_tube.size else np.zeros(0, dtype=int)
    for index, lab in enumerate(labs):
        recall_ends = set(chain.recall_released_s[recall_lab == index].tolist())  # a run's end is its release
        top = rows - index  # first laboratory at the top
        base = top - 0.9
        for begin, finish in shift_windows(lab, result.scenario.round.days):
            if math.isinf(begin):
                continue
            ax.fill_between([begin / HOUR, finish / HOUR], base - 0.04, top - 0.06, color=SHIFT, linewidth=0, zorder=0)
        runs = sorted((start, end, size) for number, start, end, size in chain.runs if number == index)
        lanes = _lanes(runs)
        height = 0.82 / max(lab.instruments, max(lanes, default=0) + 1)
        for (begin, finish, size), lane in zip(runs, lanes):
            y = top - 0.08 - (lane + 1) * height
            colour = LATE if finish in recall_ends else BACKLOG
            ax.broken_barh([(begin / HOUR, (finish - begin) / HOUR)], (y, height * 0.85), facecolors=colour,
                           alpha=0.85, edgecolor="white", linewidth=0.6)
            wide = (finish - begin) / HOUR / max(end_h - start_h, 1) > 0.025
            if wide and height >= 0.2:
                ax.annotate(f"{size}", ((begin + finish) / 2 / HOUR, y + height * 0.42), ha="center", va="center",
                            fontsize=7, color="white", annotation_clip=True)
    ax.set_ylim(0, rows + 0.05)
    ax.set_yticks([rows - i - 0.45 for i in range(rows)],
                  [plain(lab.id if lab.instruments == 1 else f"{lab.id} ({lab.instruments} instr.)") for lab in labs],
                  fontsize=8)
    ax.grid(False, axis="y")


def lab_backlog_chart(result: RunResult, path: Path) -> None:
    """Tubes waiting at the laboratories over time (mean and range), above the first replication's runs."""
    start_h, end_h = _chain_hours(result)
    length = int(round(end_h * HOUR / result.step_s))
    hours = _steps_axis(result, length)
    band = result.chain_bands["lab_backlog"]
    labs = result.first_chain.labs if result.first_chain is not None else []
    gantt = 0 < len(labs) <= GANTT_LABS
    if gantt:
        fig, (ax, runs_ax) = plt.subplots(2, 1, figsize=(10, 5.4 + 0.45 * len(labs)), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 0.5 + 0.45 * len(labs)]})
    else:
        fig, ax = plt.subplots(figsize=(10, 5))
    mean = _padded(band.mean, length)
    if result.replications > 1:
        ax.fill_between(hours, _padded(band.low, length), _padded(band.high, length), color=BACKLOG, alpha=0.22,
                        linewidth=0, label="range across replications")
    ax.plot(hours, mean, color=BACKLOG, linewidth=1.6, label="mean")
    _open_close(ax, result, deadline=True)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(bottom=0, top=max(1.0, float(np.max(band.high, initial=0))) * 1.15)
    _thousands(ax)
    chain = result.summary["kpis"]["chain"]
    tubes, utilisation = chain["tubes"]["mean"], chain["lab_utilization"]["mean"]
    peak = float(np.max(mean, initial=0))
    lines = [f"{tubes:,.0f} pooled tubes per replication (mean)", f"most waiting at once: {peak:,.0f} (mean curve)"]
    if utilisation is not None:
        lines.append(f"laboratory utilisation {utilisation:.0%}")
        lines.append("   (all instruments, first arrival to last result)")
    _style(ax, f"{plain(result.scenario.name)}: tubes waiting at the laboratories ({_replications(result)})",
           "" if gantt else f"time of day ({_step_text(result)})", "tubes waiting for a run (recall tubes included)")
    drawn = [mean, _padded(band.high, length)]
    handles, _ = ax.get_legend_handles_labels()
    _place_clear(fig, ax, {"handles": handles, "title": "\n".join(lines), "x": np.concatenate([hours] * len(drawn)),
                           "y": np.concatenate(drawn)})
    bottom = 0.0
    if gantt:
        _runs_panel(runs_ax, result, start_h, end_h)
        keys = [Patch(color=BACKLOG, alpha=0.85, label="run of pooled tubes"),
                Patch(color=LATE, alpha=0.85, label="run with single tubes of recalled residents")]
        if any(lab.shifts for lab in labs):
            keys.append(Patch(color=SHIFT, label="shift (runs may start)"))
        fig.legend(handles=keys, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=len(keys), fontsize=8, frameon=False)
        bottom = 0.25 / fig.get_figheight()
        _clock_axis(runs_ax, start_h, end_h)
        _style(runs_ax, "Runs in replication 1: a lane per instrument, the tubes in each run",
               f"time of day ({_step_text(result)})", "")
        runs_ax.title.set_fontsize(9.5)
    _save(fig, path, bottom=bottom)


def specimen_age_chart(result: RunResult, path: Path) -> None:
    """Age of the specimens on arrival at the laboratory (first swab in the tube to arrival), first replication."""
    chain = result.first_chain
    reached = ~np.isnan(chain.arrived_s)
    ages = (chain.arrived_s - chain.opened_s)[reached] / HOUR
    limit = result.scenario.chain.freshness_limit_h
    over = int(np.count_nonzero(ages > limit))
    right = max(limit * 1.25, float(np.max(ages, initial=0)) * 1.05, 1.0)
    width = next((w for w in (1 / 12, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0) if right / w <= 60), 12.0)
    # The limit is a bin edge, so every bar is wholly within it or wholly over it.
    below = np.arange(0, limit - 1e-9, width)
    edges = np.concatenate([below, np.arange(limit, max(right, limit + width) + width, width)])
    counts, _ = np.histogram(ages, bins=edges)
    shares = counts / ages.size if ages.size else counts.astype(float)
    top = max(float(np.max(shares, initial=0)) * 1.3, 0.01)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    widths = np.diff(edges)
    fresh = edges[:-1] < limit
    ax.bar(edges[:-1], shares, width=widths, align="edge", color=[MAIN if f else LATE for f in fresh], alpha=0.9,
           edgecolor="white", linewidth=0.5)
    ax.axvline(limit, color=DEADLINE, linestyle="--", linewidth=1.4)
    centres = edges[:-1] + widths / 2
    xs = [np.repeat(centres, 5), _vertical(limit, top)[0]]
    ys = [np.outer(shares, np.linspace(0, 1, 5)).ravel(), _vertical(limit, top)[1]]
    share_over = over / ages.size if ages.size else 0.0
    keys = [Patch(color=MAIN, alpha=0.9, label="tubes within the limit"),
            Patch(color=LATE, alpha=0.9, label="older than the limit"),
            Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label=f"freshness limit {limit:g} h")]
    if ages.size:
        median = float(np.median(ages))
        ax.axvline(median, color="#333333", linestyle=":", linewidth=1.2)
        keys.append(Line2D([], [], color="#333333", linestyle=":", linewidth=1.2, label=f"median {median:.1f} h"))
        x, y = _vertical(median, top)
        xs.append(x)
        ys.append(y)
    lines = [f"replication 1: {over:,} of {ages.size:,} tubes ({share_over:.1%})", f"older than {limit:g} h on arrival"]
    kpi = result.summary["kpis"]["chain"]
    mean_over, mean_tubes = kpi["specimens_over_limit"]["mean"], kpi["tubes"]["mean"]
    if result.replications > 1 and mean_over is not None and mean_tubes:
        lines.append(f"all {result.replications} replications: {mean_over / mean_tubes:.1%} on average")
    ax.set_xlim(0, edges[-1])
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    _style(ax, f"{plain(result.scenario.name)}: specimen age on arrival at the laboratory (replication 1)",
           "hours from the first swab in the tube to the tube's arrival at the laboratory", "share of tubes")
    _place_clear(fig, ax, {"handles": keys, "title": "\n".join(lines), "x": np.concatenate(xs), "y": np.concatenate(ys)})
    _save(fig, path)


CHAIN_CHARTS = {
    "results.png": results_chart,
    "lab_backlog.png": lab_backlog_chart,
    "specimen_age.png": specimen_age_chart,
}
"""Written only when the scenario has a sample chain."""


CHARTS = {
    "cumulative.png": cumulative_chart,
    "throughput.png": throughput_chart,
    "queues.png": queue_chart,
    "waits.png": wait_chart,
    "utilization.png": utilization_chart,
}
POINT_CHARTS = {
    "points_finish.png": points_finish_chart,
    "queue_heatmap.png": queue_heatmap,
    "slowest_points.png": slowest_points_chart,
}
"""Written only when the scenario has more than one point."""
# rota.png (rota_chart) is written whenever rota_point finds a point with anything to show.
DRAWN_FIRST = ("queues.png", "waits.png", "slowest_points.png", "queue_heatmap.png", "points_finish.png", "lab_backlog.png")
"""The charts of several panels (or many points), the slowest to draw: started first."""


def write_charts(result: RunResult, folder: Path, advice: Optional[RunAdvice] = None,
                 rota_point_id: Optional[str] = None, processes: int = 2) -> list[Path]:
    """Every chart of the run into ``folder``, in ``processes`` processes; the district charts follow ``advice``'s
    ranking (made here, without checks by simulation, when not given), rota.png shows ``rota_point_id`` if given.
    Returns the paths written, in report order."""
    folder.mkdir(parents=True, exist_ok=True)
    several = len(result.scenario.points) > 1
    if advice is None and several:
        advice = run_advice(result, check_by_simulation=False)
    charts = {name: draw for name, draw in CHARTS.items()}
    if several:
        charts.update({name: functools.partial(draw, advice=advice) for name, draw in POINT_CHARTS.items()})
    if rota_point(result, advice, rota_point_id) is not None:
        charts["rota.png"] = functools.partial(rota_chart, advice=advice, chosen=rota_point_id)
    if result.scenario.chain is not None and result.first_chain is not None:
        charts.update(CHAIN_CHARTS)
    # Two processes draw (forked.share), the charts of several panels first so that both end about together;
    # figures are made at the resolution they are saved at, so that savefig does not lay out every text again.
    names = sorted(charts, key=lambda name: name not in DRAWN_FIRST)
    with plt.rc_context({"figure.dpi": DPI}):
        share(names, lambda name: charts[name](result, folder / name), processes)
    return [folder / name for name in charts]


def _save(fig, path: Path, bottom: float = 0.0) -> None:
    """Lay out (leaving ``bottom``, a fraction of the height, free for a figure legend) and write."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
